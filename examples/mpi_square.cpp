// Squares n floats across the ranks of MPI_COMM_WORLD with parmap::mpi:
//   mpirun -np 4 ./mpi_square --n 100000000
// 1. scatter_map_gather from rank 0 (the whole job, end to end), checked
//    element by element against x * x on rank 0;
// 2. already distributed data: each rank makes its own block and calls
//    mpi::map; then the results are gathered to rank 0 with MPI_Gatherv,
//    timed apart (the bandwidth docs/scaling.md builds on).
// Prints each rank's backend, block and map time. Best of --reps runs
// (buffers are touched before timing: first-touch page faults are not the map).
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "parmap/mpi.hpp"

namespace {

double now() { return MPI_Wtime(); }

[[noreturn]] void usage(int rank, const char* why) {
  if (rank == 0) {
    std::fprintf(stderr, "mpi_square: %s\nusage: mpirun -np P mpi_square [--n N] [--reps R]\n", why);
  }
  MPI_Finalize();
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0;
  int size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  std::uint64_t n = 10'000'000;
  int reps = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--n" || a == "--reps") && i + 1 < argc) {
      char* end = nullptr;
      const unsigned long long v = std::strtoull(argv[++i], &end, 10);
      if (*end != '\0' || v == 0) usage(rank, ("bad value for " + a).c_str());
      if (a == "--n") {
        n = v;
      } else {
        reps = static_cast<int>(std::min<unsigned long long>(v, 100));
      }
    } else {
      usage(rank, ("unknown argument " + a).c_str());
    }
  }
  if (n > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
    usage(rank, "--n must be below 2^31 (MPI int counts)");
  }

  try {
    // 1. The whole job from rank 0.
    std::vector<float> x;
    if (rank == 0) {
      x.resize(n);
      for (std::uint64_t i = 0; i < n; ++i) x[i] = static_cast<float>(i % 4096) * 0.25F - 512.0F;
    }
    double best_smg = 1e30;
    std::vector<float> y;
    for (int r = 0; r < reps; ++r) {
      MPI_Barrier(MPI_COMM_WORLD);
      const double t0 = now();
      y = parmap::mpi::scatter_map_gather(parmap::ops::square, x, MPI_COMM_WORLD);
      best_smg = std::min(best_smg, now() - t0);
    }
    bool ok = true;
    if (rank == 0) {
      ok = y.size() == n;
      for (std::uint64_t i = 0; ok && i < n; ++i) ok = y[i] == x[i] * x[i];
    }

    // 2. Distributed data: this rank's block of the same array.
    const auto counts = parmap::mpi::block_counts(n, size);
    std::uint64_t first = 0;
    for (int r = 0; r < rank; ++r) first += counts[static_cast<std::size_t>(r)];
    const std::uint64_t local_n = counts[static_cast<std::size_t>(rank)];
    std::vector<float> mine(local_n);
    for (std::uint64_t i = 0; i < local_n; ++i) {
      mine[i] = static_cast<float>((first + i) % 4096) * 0.25F - 512.0F;
    }
    std::vector<float> out(local_n, 0.0F);
    parmap::report rep;
    double best_map = 1e30;
    for (int r = 0; r < reps; ++r) {
      MPI_Barrier(MPI_COMM_WORLD);
      const double t0 = now();
      parmap::mpi::map(parmap::ops::square, std::span<const float>(mine), std::span<float>(out),
                       MPI_COMM_WORLD, {.out_report = &rep});
      double t = now() - t0;
      MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);  // slowest rank
      best_map = std::min(best_map, t);
    }
    const auto reports = parmap::mpi::gather_reports(rep, MPI_COMM_WORLD);

    // The results to rank 0 with MPI_Gatherv (receive buffer touched beforehand).
    std::vector<int> cnt(static_cast<std::size_t>(size));
    std::vector<int> displs(static_cast<std::size_t>(size));
    for (int r = 0, d = 0; r < size; ++r) {
      cnt[static_cast<std::size_t>(r)] = static_cast<int>(counts[static_cast<std::size_t>(r)]);
      displs[static_cast<std::size_t>(r)] = d;
      d += cnt[static_cast<std::size_t>(r)];
    }
    std::vector<float> all(rank == 0 ? n : 0, 1.0F);
    double best_gather = 1e30;
    for (int r = 0; r < reps; ++r) {
      MPI_Barrier(MPI_COMM_WORLD);
      const double t0 = now();
      MPI_Gatherv(out.data(), static_cast<int>(local_n), MPI_FLOAT, all.data(), cnt.data(),
                  displs.data(), MPI_FLOAT, 0, MPI_COMM_WORLD);
      best_gather = std::min(best_gather, now() - t0);
    }
    if (rank == 0) {
      for (std::uint64_t i = 0; ok && i < n; ++i) ok = all[i] == x[i] * x[i];
      std::printf("parmap::mpi square, n = %llu floats over %d ranks, best of %d\n",
                  static_cast<unsigned long long>(n), size, reps);
      std::printf("%4s  %-16s %4s  %-8s %12s %10s  %s\n", "rank", "host", "gpu", "backend", "n",
                  "map ms", "reason");
      for (const auto& rr : reports) {
        std::printf("%4d  %-16s %4d  %-8s %12zu %10.3f  %s\n", rr.rank, rr.host.c_str(), rr.gpu,
                    parmap::to_string(rr.local.used), rr.local.n, rr.local.seconds * 1e3,
                    rr.local.reason.c_str());
      }
      const double bytes = static_cast<double>(n) * sizeof(float);
      std::printf("scatter_map_gather (end to end on rank 0): %.6g ms\n", best_smg * 1e3);
      std::printf("mpi::map on distributed data (slowest rank): %.6g ms\n", best_map * 1e3);
      std::printf("MPI_Gatherv of the results to rank 0: %.6g ms = %.3g GB/s (%.3g GB/s from the other ranks)\n",
                  best_gather * 1e3, bytes / best_gather / 1e9,
                  bytes * (size - 1) / size / best_gather / 1e9);
      std::printf("check: %s\n", ok ? "all elements equal x * x" : "MISMATCH");
    }
    int good = ok ? 1 : 0;
    MPI_Bcast(&good, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize();
    return good == 1 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpi_square (rank %d): %s\n", rank, e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  return 1;
}
