#include "parmap/detail/task_loop.hpp"

#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace parmap::detail {
double thread_cpu_seconds(std::thread::native_handle_type h) noexcept {
  clockid_t id{};
  if (pthread_getcpuclockid(h, &id) != 0) return -1;
  timespec ts{};
  if (clock_gettime(id, &ts) != 0) return -1;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double process_cpu_seconds() noexcept {
  timespec ts{};
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int current_thread_id() noexcept { return static_cast<int>(::syscall(SYS_gettid)); }

bool thread_waiting(int tid) noexcept {
  if (tid <= 0) return false;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  std::FILE* f = std::fopen(path, "r");
  if (f == nullptr) return false;
  char buf[512];
  const std::size_t len = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[len] = '\0';
  const char* close = std::strrchr(buf, ')');  // the name may hold spaces and parentheses
  if (close == nullptr || close[1] != ' ') return false;
  const char state = close[2];
  return state == 'S' || state == 'D';
}


}  // namespace parmap::detail
