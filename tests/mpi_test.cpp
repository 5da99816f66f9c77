// parmap::mpi under mpirun (ctest runs it with 2 and 3 ranks): block layout,
// uneven sizes (n = 0, n < ranks, prime n), results against the serial
// reference, failures on one or several ranks reaching every rank with the
// global index, per-rank reports. Collective calls are never skipped after a
// failed expectation (EXPECT, not ASSERT), so a failure cannot hang the others.
#include "parmap/mpi.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using parmap::mpi::rank_task_error;

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int world_size() {
  int s = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(MpiLayout, BlocksSpreadTheRemainderOverTheFirstRanks) {
  using parmap::mpi::block_counts;
  EXPECT_EQ(block_counts(10, 3), (std::vector<std::uint64_t>{4, 3, 3}));
  EXPECT_EQ(block_counts(2, 3), (std::vector<std::uint64_t>{1, 1, 0}));
  EXPECT_EQ(block_counts(0, 2), (std::vector<std::uint64_t>{0, 0}));
  EXPECT_EQ(block_counts(10007, 4), (std::vector<std::uint64_t>{2502, 2502, 2502, 2501}));
  const auto big = block_counts((std::uint64_t{1} << 40) + 5, 1024);
  EXPECT_EQ(std::accumulate(big.begin(), big.end(), std::uint64_t{0}), (std::uint64_t{1} << 40) + 5);
  EXPECT_THROW((void)block_counts(5, 0), std::invalid_argument);
}

TEST(MpiScatterMapGather, UnevenSizesMatchTheSerialReference) {
  const int size = world_size();
  for (const std::size_t n : {std::size_t{0}, std::size_t{1}, static_cast<std::size_t>(size - 1),
                              std::size_t{10007}, (std::size_t{1} << 20) + 3}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    std::vector<float> x;
    if (world_rank() == 0) {
      x.resize(n);
      std::iota(x.begin(), x.end(), -500.0F);
    }
    const auto y = parmap::mpi::scatter_map_gather(parmap::ops::square, x, MPI_COMM_WORLD);
    const auto z = parmap::mpi::scatter_map_gather(
        [](float v) { return static_cast<std::int64_t>(v) * 3 + 1; }, x, MPI_COMM_WORLD);
    if (world_rank() == 0) {
      EXPECT_EQ(y.size(), n);
      EXPECT_EQ(z.size(), n);
      std::size_t wrong = 0;
      for (std::size_t i = 0; i < n && i < y.size() && i < z.size(); ++i) {
        wrong += (y[i] != x[i] * x[i]) + (z[i] != static_cast<std::int64_t>(x[i]) * 3 + 1);
      }
      EXPECT_EQ(wrong, 0U);
    } else {
      EXPECT_TRUE(y.empty());
      EXPECT_TRUE(z.empty());
    }
  }
}

TEST(MpiScatterMapGather, AnyRootAndABadRoot) {
  const int size = world_size();
  const int root = size - 1;
  std::vector<double> x;
  if (world_rank() == root) x.assign(1001, 2.0);
  const auto y = parmap::mpi::scatter_map_gather(parmap::ops::affine(3.0, 1.0), x, MPI_COMM_WORLD, root);
  if (world_rank() == root) {
    EXPECT_EQ(y, std::vector<double>(1001, 7.0));
  } else {
    EXPECT_TRUE(y.empty());
  }
  try {
    (void)parmap::mpi::scatter_map_gather(parmap::ops::square, x, MPI_COMM_WORLD, size);
    ADD_FAILURE() << "root == size accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(contains(e.what(), "root")) << e.what();
  }
}

// Already distributed data: rank r holds r * 1000 + 7 elements (rank 1: none).
TEST(MpiMap, EachRankMapsItsOwnBlock) {
  const int rank = world_rank();
  const std::size_t n = rank == 1 ? 0 : static_cast<std::size_t>(rank) * 1000 + 7;
  std::vector<std::int32_t> mine(n);
  std::iota(mine.begin(), mine.end(), rank * 100000);
  std::vector<std::int32_t> out(n, -1);
  parmap::report r;
  parmap::mpi::map(parmap::ops::negate, mine, out, MPI_COMM_WORLD, {.out_report = &r});
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < n; ++i) wrong += out[i] != -mine[i];
  EXPECT_EQ(wrong, 0U);
  EXPECT_EQ(r.n, n);

  // Spans of non-const elements and std::array work as well.
  std::array<std::int32_t, 3> small = {1, 2, 3};
  std::vector<std::int32_t> small_out(3);
  parmap::mpi::map(parmap::ops::square, std::span<std::int32_t>(small), std::span<std::int32_t>(small_out),
                   MPI_COMM_WORLD);
  EXPECT_EQ(small_out, (std::vector<std::int32_t>{1, 4, 9}));

  const auto reports = parmap::mpi::gather_reports(r, MPI_COMM_WORLD);
  if (rank == 0) {
    EXPECT_EQ(reports.size(), static_cast<std::size_t>(world_size()));
    for (const auto& rr : reports) {
      EXPECT_EQ(rr.local.n, rr.rank == 1 ? 0U : static_cast<std::size_t>(rr.rank) * 1000 + 7);
      EXPECT_FALSE(rr.host.empty());
      if (!parmap::gpu_available()) {
        EXPECT_EQ(rr.gpu, -1);
        if (rr.local.n > 0) {
          EXPECT_EQ(rr.local.used, parmap::backend::cpu) << rr.local.reason;
        }
      }
    }
  } else {
    EXPECT_TRUE(reports.empty());
  }
}

// Rank `bad` fails at local index 5 (and, when `also_last`, the last rank at
// local index 2): every rank gets rank_task_error with the lowest global index.
void expect_failure_everywhere(int bad, bool also_last) {
  const int rank = world_rank();
  const int size = world_size();
  const std::size_t per = 100;
  std::vector<int> mine(per);
  std::iota(mine.begin(), mine.end(), 0);
  std::vector<int> out(per);
  const int fail_at = rank == bad ? 5 : (also_last && rank == size - 1 ? 2 : -1);
  try {
    parmap::mpi::map(
        [fail_at](int v) {
          if (v == fail_at) throw std::runtime_error("element failed");
          return v;
        },
        mine, out, MPI_COMM_WORLD);
    ADD_FAILURE() << "rank " << rank << ": no exception";
  } catch (const rank_task_error& e) {
    EXPECT_EQ(e.rank(), bad);
    EXPECT_EQ(e.local_index(), 5U);
    EXPECT_EQ(e.index(), static_cast<std::size_t>(bad) * per + 5);
    EXPECT_TRUE(contains(e.what(), "element failed")) << e.what();
    EXPECT_TRUE(contains(e.what(), "rank " + std::to_string(bad))) << e.what();
    try {
      std::rethrow_exception(e.cause());
    } catch (const std::runtime_error& cause) {
      EXPECT_STREQ(cause.what(), "element failed");
    }
  } catch (...) {
    ADD_FAILURE() << "rank " << rank << ": another exception";
  }
}

TEST(MpiMap, AFailureOnOneRankReachesEveryRank) {
  expect_failure_everywhere(world_size() - 1, false);
  expect_failure_everywhere(0, false);
}

TEST(MpiMap, TheLowestGlobalIndexWinsAcrossRanks) {
  if (world_size() < 2) GTEST_SKIP() << "needs two ranks";
  expect_failure_everywhere(0, true);
}

// A rank that fails before its elements (here: a short output span) gets its
// own exception; the others get peer_error naming it. Nobody hangs.
TEST(MpiMap, ABadArgumentOnOneRankIsAPeerErrorElsewhere) {
  const int rank = world_rank();
  const int bad = world_size() - 1;
  std::vector<float> mine(10, 1.0F);
  std::vector<float> out(rank == bad ? 3 : 10);
  try {
    parmap::mpi::map(parmap::ops::square, mine, out, MPI_COMM_WORLD);
    ADD_FAILURE() << "rank " << rank << ": no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(rank, bad) << e.what();
    EXPECT_TRUE(contains(e.what(), "output span too short")) << e.what();
  } catch (const parmap::mpi::peer_error& e) {
    EXPECT_NE(rank, bad);
    EXPECT_EQ(e.rank(), bad);
    EXPECT_TRUE(contains(e.what(), "output span too short")) << e.what();
  }
  // The communicator still works afterwards.
  std::vector<float> ok(10);
  parmap::mpi::map(parmap::ops::square, mine, ok, MPI_COMM_WORLD);
  EXPECT_EQ(ok[9], 1.0F);
}

TEST(MpiDevice, SelectionMatchesTheMachine) {
  const int gpu = parmap::mpi::select_device(MPI_COMM_WORLD);
  if (parmap::gpu_available()) {
    EXPECT_GE(gpu, 0);
  } else {
    EXPECT_EQ(gpu, -1);
  }
}

}  // namespace

// On ranks other than 0: only failures, each naming the rank.
class failures_only : public ::testing::EmptyTestEventListener {
 public:
  explicit failures_only(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (r.failed()) {
      std::fprintf(stderr, "[rank %d] %s:%d: %s\n", rank_, r.file_name() ? r.file_name() : "?",
                   r.line_number(), r.summary());
    }
  }

 private:
  int rank_;
};

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  ::testing::InitGoogleTest(&argc, argv);
  if (world_rank() != 0) {  // one rank prints; every rank's result counts
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new failures_only(world_rank()));
  }
  int failed = RUN_ALL_TESTS();
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (failed != 0) std::fprintf(stderr, "parmap mpi tests: rank %d had failures\n", world_rank());
  MPI_Finalize();
  return any;
}
