// Squares 10^7 floats through the installed package and checks the errors a
// user meets first.
#include <parmap/parmap.hpp>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) {                                                   \
      std::fprintf(stderr, "consumer: check failed: %s\n", #cond);   \
      return 1;                                                      \
    }                                                                \
  } while (0)

int main() {
  std::vector<float> x(10'000'000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 1000) * 0.5F;
  parmap::report r;
  const auto y = parmap::map(parmap::ops::square, x, {.out_report = &r});
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(y[i] == x[i] * x[i]);
  std::printf("consumer: squared %zu floats on %s in %.3f s (%s)\n", r.n, parmap::to_string(r.used),
              r.seconds, r.reason.c_str());
  if (!parmap::gpu_available()) {
    CHECK(r.used == parmap::backend::cpu);
    bool refused = false;
    try {
      (void)parmap::map(parmap::ops::square, x, {.where = parmap::backend::gpu});
    } catch (const parmap::backend_unavailable&) {
      refused = true;
    }
    CHECK(refused);
  }
  try {
    (void)parmap::map([](float v) { if (v == 7.0F) throw std::runtime_error("seven"); return v; }, x);
    CHECK(false);
  } catch (const parmap::task_error& e) {
    CHECK(e.index() == 14);
  }
  std::vector<float> shorter(x.size() - 1);
  try {
    parmap::map(parmap::ops::square, x, shorter);
    CHECK(false);
  } catch (const std::invalid_argument&) {
  }
  ::setenv("PARMAP_BACKEND", "bogus", 1);
  parmap::reload_environment();  // PARMAP_* are read once; a change needs a reload
  try {
    (void)parmap::map(parmap::ops::square, x);
    CHECK(false);
  } catch (const parmap::config_error&) {
  }
  std::printf("consumer: all checks passed\n");
  return 0;
}
