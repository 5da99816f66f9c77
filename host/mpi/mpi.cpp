// parmap::mpi: offsets, failure agreement, GPU selection per rank, block
// layout and the Scatterv / Gatherv of scatter_map_gather.
#include "parmap/mpi.hpp"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>

namespace parmap::mpi {
namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw error(std::string("parmap::mpi: ") + what + " failed (" + std::string(text, len) + ")");
}

int rank_of(MPI_Comm comm) {
  int r = 0;
  check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank");
  return r;
}

int size_of(MPI_Comm comm) {
  int s = 0;
  check(MPI_Comm_size(comm, &s), "MPI_Comm_size");
  return s;
}

int selected_gpu = -1;
std::exception_ptr selection_failure;
std::once_flag selection;

}  // namespace

rank_task_error::rank_task_error(std::size_t global_index, int rank, std::size_t local_index,
                                 std::exception_ptr cause, const std::string& message)
    : task_error(global_index, std::move(cause),
                 "parmap::mpi: the callable threw at global index " + std::to_string(global_index) +
                     " (rank " + std::to_string(rank) + ", local index " +
                     std::to_string(local_index) + "): " + message),
      rank_(rank),
      local_index_(local_index) {}

peer_error::peer_error(int rank, const std::string& message)
    : error("parmap::mpi: rank " + std::to_string(rank) + " failed: " + message), rank_(rank) {}

int select_device(MPI_Comm comm) {
  std::call_once(selection, [comm] {
    // Collective on every rank, whatever the outcome below.
    MPI_Comm node = MPI_COMM_NULL;
    check(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node),
          "MPI_Comm_split_type");
    const int local_rank = rank_of(node);
    MPI_Comm_free(&node);
    auto& b = parmap::detail::current_device_backend();
    const int count = b.device_count();
    if (count <= 0) return;
    if (std::getenv("CUDA_VISIBLE_DEVICES") != nullptr || count == 1) {
      selected_gpu = 0;  // the launcher narrowed the choice, or there is none to make
      return;
    }
    // Not thrown from here: call_once would run the collective again next time.
    try {
      parmap::detail::select_context_device(local_rank % count);
      selected_gpu = local_rank % count;
    } catch (...) {
      selection_failure = std::current_exception();
    }
  });
  if (selection_failure) std::rethrow_exception(selection_failure);
  return selected_gpu;
}

std::vector<rank_report> gather_reports(const report& local, MPI_Comm comm, int root) {
  const int rank = rank_of(comm);
  const int size = size_of(comm);
  char host[MPI_MAX_PROCESSOR_NAME];
  int host_len = 0;
  check(MPI_Get_processor_name(host, &host_len), "MPI_Get_processor_name");
  // One line per rank: used n seconds gpu host \t reason
  std::ostringstream line;
  line.precision(17);
  line << static_cast<int>(local.used) << ' ' << local.n << ' ' << local.seconds << ' '
       << selected_gpu << ' ' << std::string(host, host_len) << '\t' << local.reason;
  const std::string mine = line.str();
  const int len = static_cast<int>(mine.size());
  std::vector<int> lens(rank == root ? size : 0);
  check(MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, root, comm), "MPI_Gather");
  std::vector<int> displs(lens.size());
  std::string all;
  if (rank == root) {
    int total = 0;
    for (int r = 0; r < size; ++r) {
      displs[r] = total;
      total += lens[r];
    }
    all.resize(static_cast<std::size_t>(total));
  }
  check(MPI_Gatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), displs.data(), MPI_CHAR,
                    root, comm),
        "MPI_Gatherv");
  std::vector<rank_report> out;
  if (rank != root) return out;
  for (int r = 0; r < size; ++r) {
    const std::string text = all.substr(static_cast<std::size_t>(displs[r]),
                                        static_cast<std::size_t>(lens[r]));
    const auto tab = text.find('\t');
    std::istringstream fields(text.substr(0, tab));
    rank_report rr;
    rr.rank = r;
    int used = 0;
    fields >> used >> rr.local.n >> rr.local.seconds >> rr.gpu >> rr.host;
    rr.local.used = static_cast<backend>(used);
    rr.local.reason = tab == std::string::npos ? "" : text.substr(tab + 1);
    out.push_back(std::move(rr));
  }
  return out;
}

std::vector<std::uint64_t> block_counts(std::uint64_t n, int ranks) {
  if (ranks < 1) throw std::invalid_argument("parmap::mpi: a communicator needs at least one rank");
  const auto p = static_cast<std::uint64_t>(ranks);
  std::vector<std::uint64_t> counts(p, n / p);
  for (std::uint64_t r = 0; r < n % p; ++r) ++counts[r];
  return counts;
}

namespace detail {

std::uint64_t begin_map(MPI_Comm comm, std::uint64_t local_n, std::exception_ptr& failure) {
  try {
    (void)select_device(comm);
  } catch (...) {
    failure = std::current_exception();
  }
  std::uint64_t offset = 0;
  check(MPI_Exscan(&local_n, &offset, 1, MPI_UINT64_T, MPI_SUM, comm), "MPI_Exscan");
  if (rank_of(comm) == 0) offset = 0;  // MPI_Exscan leaves rank 0's result undefined
  return offset;
}

void settle(MPI_Comm comm, std::uint64_t offset, const std::exception_ptr& failure) {
  const int rank = rank_of(comm);
  // The lowest failing rank describes its failure to everyone (ranks hold
  // consecutive blocks, so its element is the lowest failing global index).
  const int mine = failure ? rank : INT_MAX;
  int first = INT_MAX;
  check(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce");
  if (first == INT_MAX) return;

  // head: element failure?, local index, the failing rank's offset, message length
  std::uint64_t head[4] = {0, 0, 0, 0};
  std::string message;
  std::exception_ptr original;
  if (rank == first) {
    try {
      std::rethrow_exception(failure);
    } catch (const task_error& e) {
      head[0] = 1;
      head[1] = e.index();
      original = e.cause();
      message = parmap::detail::describe(e.cause());
    } catch (...) {
      message = parmap::detail::describe(failure);
    }
    head[2] = offset;
    head[3] = message.size();
  }
  check(MPI_Bcast(head, 4, MPI_UINT64_T, first, comm), "MPI_Bcast");
  message.resize(head[3]);
  check(MPI_Bcast(message.data(), static_cast<int>(head[3]), MPI_CHAR, first, comm), "MPI_Bcast");

  if (head[0] == 1) {
    if (rank != first) original = std::make_exception_ptr(std::runtime_error(message));
    throw rank_task_error(head[2] + head[1], first, head[1], original, message);
  }
  if (rank == first) std::rethrow_exception(failure);
  throw peer_error(first, message);
}


layout make_layout(MPI_Comm comm, int root, std::uint64_t root_n) {
  const int size = size_of(comm);
  if (root < 0 || root >= size) {
    throw std::invalid_argument("parmap::mpi::scatter_map_gather: root " + std::to_string(root) +
                                " is not a rank of the communicator (size " +
                                std::to_string(size) + ")");
  }
  layout l;
  l.rank = rank_of(comm);
  l.n = root_n;
  check(MPI_Bcast(&l.n, 1, MPI_UINT64_T, root, comm), "MPI_Bcast");
  if (l.n > static_cast<std::uint64_t>(INT_MAX)) {
    throw std::invalid_argument(
        "parmap::mpi::scatter_map_gather: " + std::to_string(l.n) +
        " elements exceed MPI's int counts (2^31 - 1); distribute the data and use mpi::map");
  }
  const auto counts = block_counts(l.n, size);
  l.local_n = counts[static_cast<std::size_t>(l.rank)];
  int displ = 0;
  for (const auto c : counts) {
    l.counts.push_back(static_cast<int>(c));
    l.displs.push_back(displ);
    displ += static_cast<int>(c);
  }
  return l;
}

namespace {
// A contiguous MPI type of `bytes` bytes, freed with the guard.
class element_type {
 public:
  explicit element_type(std::size_t bytes) {
    check(MPI_Type_contiguous(static_cast<int>(bytes), MPI_BYTE, &type_), "MPI_Type_contiguous");
    check(MPI_Type_commit(&type_), "MPI_Type_commit");
  }
  ~element_type() { MPI_Type_free(&type_); }
  element_type(const element_type&) = delete;
  element_type& operator=(const element_type&) = delete;
  [[nodiscard]] MPI_Datatype get() const { return type_; }

 private:
  MPI_Datatype type_ = MPI_DATATYPE_NULL;
};
}  // namespace

void scatter(const void* root_in, void* local, std::size_t bytes, const layout& l, MPI_Comm comm,
             int root) {
  const element_type t(bytes);
  check(MPI_Scatterv(root_in, l.counts.data(), l.displs.data(), t.get(), local,
                     static_cast<int>(l.local_n), t.get(), root, comm),
        "MPI_Scatterv");
}

void gather(const void* local, void* root_out, std::size_t bytes, const layout& l, MPI_Comm comm,
            int root) {
  const element_type t(bytes);
  check(MPI_Gatherv(local, static_cast<int>(l.local_n), t.get(), root_out, l.counts.data(),
                    l.displs.data(), t.get(), root, comm),
        "MPI_Gatherv");
}

}  // namespace detail
}  // namespace parmap::mpi
