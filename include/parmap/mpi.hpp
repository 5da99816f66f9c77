// parmap::mpi: the map across the ranks of an MPI communicator (target
// parmap::mpi, built when CMake finds MPI; Open MPI from Debian in CI).
//
// Each rank maps its own block with its own dispatcher (its GPU where it has
// one, its cores otherwise); MPI only moves data and agrees on failures.
// Every function here is collective: all ranks of `comm` call it, in the same
// order. MPI must be initialised with at least MPI_THREAD_FUNNELED (parmap's
// worker threads never call MPI), and parmap::mpi is called from the thread
// that initialised it.
//
// GPU per rank: on the first call, a rank on a node with several GPUs uses
// GPU local_rank % device_count (local rank from MPI_Comm_split_type with
// MPI_COMM_TYPE_SHARED), unless CUDA_VISIBLE_DEVICES is set (the launcher
// already chose).
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <ranges>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "parmap.hpp"

namespace parmap::mpi {

/// @brief An element failed on some rank; thrown on every rank of the
/// communicator. index() is the global index (the failing rank's offset plus
/// its local index); cause() is the original exception on the failing rank,
/// and a std::runtime_error with its message on the others.
struct rank_task_error : task_error {
  rank_task_error(std::size_t global_index, int rank, std::size_t local_index,
                  std::exception_ptr cause, const std::string& message);
  /// The rank whose element failed.
  [[nodiscard]] int rank() const noexcept { return rank_; }
  /// The element's index within that rank's block.
  [[nodiscard]] std::size_t local_index() const noexcept { return local_index_; }

 private:
  int rank_;
  std::size_t local_index_;
};

/// @brief Another rank failed outside its elements (bad arguments, a GPU
/// error, ...). The failing rank gets its own exception; every other rank gets
/// this one, naming the rank and its message.
struct peer_error : error {
  peer_error(int rank, const std::string& message);
  /// The rank that failed.
  [[nodiscard]] int rank() const noexcept { return rank_; }

 private:
  int rank_;
};

/// @brief What one rank did in a map: gathered by gather_reports().
struct rank_report {
  int rank = 0;
  std::string host;    ///< MPI_Get_processor_name
  int gpu = -1;        ///< the GPU index this rank uses, -1 for none
  report local;        ///< the rank's own report (backend used, reason, n, seconds)
};

/// @brief The GPU this rank uses (selecting it on the first call, see the top
/// of this header), or -1 when it has none. Collective on the first call.
/// @throws gpu_error if selecting the GPU failed (then on every later call too).
int select_device(MPI_Comm comm);

/// @brief Gathers every rank's report on `root` (ordered by rank; empty on the
/// other ranks). Pass each rank's options::out_report from the map.
std::vector<rank_report> gather_reports(const report& local, MPI_Comm comm, int root = 0);

/// @brief The block distribution scatter_map_gather uses: n elements over
/// `ranks`, the first n % ranks ranks getting one more. For laying out your
/// own distributed data the same way.
/// @throws std::invalid_argument when ranks < 1.
std::vector<std::uint64_t> block_counts(std::uint64_t n, int ranks);

namespace detail {
// Selects the GPU on the first call (a failure there is stored in `failure`,
// not thrown, so that every rank reaches the collectives); returns the local
// block's global offset (exclusive prefix sum).
std::uint64_t begin_map(MPI_Comm comm, std::uint64_t local_n, std::exception_ptr& failure);
// Collective: when any rank failed, every rank throws (see rank_task_error, peer_error).
void settle(MPI_Comm comm, std::uint64_t offset, const std::exception_ptr& failure);

// Scatterv / Gatherv of elements of `bytes` bytes in block distribution.
struct layout {
  std::uint64_t n = 0;        // total (as the root knows it)
  std::uint64_t local_n = 0;  // this rank's block
  std::vector<int> counts;    // per rank, in elements (root)
  std::vector<int> displs;
  int rank = 0;
};
// Broadcasts n from root and computes the layout; std::invalid_argument on
// every rank when n needs counts or displacements beyond MPI's int.
layout make_layout(MPI_Comm comm, int root, std::uint64_t root_n);
void scatter(const void* root_in, void* local, std::size_t bytes, const layout& l, MPI_Comm comm,
             int root);
void gather(const void* local, void* root_out, std::size_t bytes, const layout& l, MPI_Comm comm,
            int root);
}  // namespace detail

/// @brief Maps each rank's own block: local_out[i] = f(local_in[i]) with the
/// rank's dispatcher; returns when every rank has finished. If any rank
/// fails, every rank throws: rank_task_error for an element (the lowest global
/// index), else peer_error (the failing rank rethrows its own exception).
/// @code
/// parmap::mpi::map(parmap::ops::square, std::span<const float>(mine), std::span<float>(out),
///                  MPI_COMM_WORLD);
/// @endcode
template <class F, class T, class U>
  requires parmap::mappable_to<F, T, U>
void map(const F& f, std::span<const T> local_in, std::span<U> local_out, MPI_Comm comm,
         const options& opt = {}) {
  std::exception_ptr failure;
  const std::uint64_t offset = detail::begin_map(comm, local_in.size(), failure);
  if (!failure) {
    try {
      parmap::map(f, local_in, local_out, opt);
    } catch (...) {
      failure = std::current_exception();
    }
  }
  detail::settle(comm, offset, failure);
}

/// @brief The same, for any contiguous input and output ranges (std::vector,
/// std::array, spans of non-const elements).
template <class F, class In, class Out>
  requires parmap::detail::contiguous_sized<In> && parmap::detail::contiguous_sized<Out> &&
           (!std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<Out>>>) &&
           parmap::mappable_to<F, std::ranges::range_value_t<In>, std::ranges::range_value_t<Out>>
void map(const F& f, In&& local_in, Out&& local_out, MPI_Comm comm, const options& opt = {}) {
  using T = std::ranges::range_value_t<In>;
  using U = std::ranges::range_value_t<Out>;
  mpi::map(f, std::span<const T>(std::ranges::data(local_in), std::ranges::size(local_in)),
           std::span<U>(std::ranges::data(local_out), std::ranges::size(local_out)), comm, opt);
}

/// @brief Distributes root_in from `root` in blocks (remainders spread over
/// the first ranks, MPI_Scatterv), maps each block on its rank, and gathers
/// the results on `root` (MPI_Gatherv). Returns the whole result on `root`, an
/// empty vector elsewhere. root_in is only read on `root`. Element and result
/// types must be trivially copyable; at most 2^31 - 1 elements (MPI's int
/// counts): for more, distribute the data yourself and use mpi::map.
template <class F, class T>
  requires parmap::mappable<F, T>
auto scatter_map_gather(const F& f, const std::vector<T>& root_in, MPI_Comm comm, int root = 0,
                        const options& opt = {}) {
  using R = std::decay_t<std::invoke_result_t<const F&, const T&>>;
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_copyable_v<R> &&
                    std::is_default_constructible_v<R> && !std::is_same_v<R, bool>,
                "parmap::mpi::scatter_map_gather: element and result types must be trivially "
                "copyable and default-constructible (not bool)");
  const detail::layout l = detail::make_layout(comm, root, root_in.size());
  std::vector<T> local(l.local_n);
  detail::scatter(root_in.data(), local.data(), sizeof(T), l, comm, root);
  std::vector<R> local_out(l.local_n);
  mpi::map(f, std::span<const T>(local), std::span<R>(local_out), comm, opt);
  std::vector<R> out(l.rank == root ? l.n : 0);
  detail::gather(local_out.data(), out.data(), sizeof(R), l, comm, root);
  return out;
}

}  // namespace parmap::mpi
