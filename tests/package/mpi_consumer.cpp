// parmap::mpi through the installed package, under mpirun -np 2: a scatter,
// map and gather checked on rank 0, and a failure on rank 1 seen by both ranks.
#include <parmap/mpi.hpp>

#include <cstdio>
#include <stdexcept>
#include <vector>

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int bad = 0;

  std::vector<double> x;
  if (rank == 0) x.assign(100003, 1.5);
  const auto y = parmap::mpi::scatter_map_gather(parmap::ops::square, x, MPI_COMM_WORLD);
  if (rank == 0) {
    if (y.size() != x.size()) ++bad;
    for (const double v : y) bad += v != 2.25;
  }

  std::vector<int> mine(50, rank);
  std::vector<int> out(50);
  try {
    parmap::mpi::map(
        [](int v) {
          if (v == 1) throw std::runtime_error("rank 1 fails");
          return v;
        },
        mine, out, MPI_COMM_WORLD);
    ++bad;
  } catch (const parmap::mpi::rank_task_error& e) {
    bad += e.rank() != 1 || e.index() != 50;
  }

  int any = 0;
  MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) std::printf("mpi_consumer: %s\n", any == 0 ? "ok" : "FAILED");
  MPI_Finalize();
  return any == 0 ? 0 : 1;
}
