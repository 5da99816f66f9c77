// The calibration's cache on disk (see calibration_cache.hpp).
#include "parmap/detail/calibration_cache.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace parmap::detail {

namespace {

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// The fields of the cache file, in order.
struct field {
  const char* name;
  double calibration::*member;
};
constexpr field number_fields[] = {
    {"cpu_bandwidth", &calibration::cpu_bandwidth},
    {"cpu_transcendental", &calibration::cpu_transcendental},
    {"h2d_bandwidth", &calibration::h2d_bandwidth},
    {"d2h_bandwidth", &calibration::d2h_bandwidth},
    {"gpu_bandwidth", &calibration::gpu_bandwidth},
    {"gpu_transcendental", &calibration::gpu_transcendental},
    {"gpu_launch", &calibration::gpu_launch},
    {"pipeline_bandwidth", &calibration::pipeline_bandwidth},
    {"pipeline_registered_bandwidth", &calibration::pipeline_registered_bandwidth},
    {"split_cpu_bandwidth", &calibration::split_cpu_bandwidth},
    {"split_gpu_bandwidth", &calibration::split_gpu_bandwidth},
    {"split_launch", &calibration::split_launch},
};

}  // namespace

std::string calibration_path(const std::string& key) {
  std::filesystem::path dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    dir = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    dir = std::filesystem::path(home) / ".cache";
  } else {
    return "";
  }
  char name[64];
  std::snprintf(name, sizeof name, "calibration-%016llx.json",
                static_cast<unsigned long long>(fnv1a(key)));
  return (dir / "parmap" / name).string();
}

std::optional<calibration> load_calibration(const std::string& key) {
  const std::string path = calibration_path(key);
  if (path.empty()) return std::nullopt;
  std::ifstream f(path);
  if (!f) return std::nullopt;
  // Damaged, another machine's, or of another layout: nullopt, and it is measured again.
  const nlohmann::json j = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  const auto text = [&](const char* name) -> std::optional<std::string> {
    const auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  const auto number = [&](const char* name) -> std::optional<double> {
    const auto it = j.find(name);
    if (it == j.end() || !it->is_number()) return std::nullopt;
    const double x = it->get<double>();
    if (!std::isfinite(x) || x < 0) return std::nullopt;
    return x;
  };
  if (text("key") != key) return std::nullopt;
  calibration c;
  c.key = key;
  c.source = "cache " + path;
  const auto threads = j.find("cpu_threads");
  if (threads == j.end() || !threads->is_number_integer()) return std::nullopt;
  c.cpu_threads = threads->get<int>();
  for (const auto& fld : number_fields) {
    const auto v = number(fld.name);
    if (!v) return std::nullopt;
    c.*fld.member = *v;
  }
  const auto by_size = j.find("cpu_threads_by_size");
  if (by_size == j.end() || !by_size->is_array() || by_size->size() != cpu_thread_buckets) return std::nullopt;
  for (int k = 0; k < cpu_thread_buckets; ++k) {
    const auto& t = (*by_size)[static_cast<std::size_t>(k)];
    if (!t.is_number_integer() || t.get<int>() < 0) return std::nullopt;
    c.cpu_threads_by_size[k] = t.get<int>();
  }
  if (c.cpu_threads < 1 || c.cpu_bandwidth <= 0) return std::nullopt;
  return c;
}

bool save_calibration(const calibration& c) {
  const std::string path = calibration_path(c.key);
  if (path.empty()) return false;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return false;
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  nlohmann::ordered_json j;
  j["key"] = c.key;
  j["cpu_threads"] = c.cpu_threads;
  for (const auto& fld : number_fields) j[fld.name] = c.*fld.member;
  j["cpu_threads_by_size"] = c.cpu_threads_by_size;
  {
    std::ofstream f(tmp);
    if (!f) return false;
    f << j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
    if (!f) return false;
  }
  std::filesystem::rename(tmp, path, ec);  // atomic: concurrent processes see old or new
  if (ec) std::filesystem::remove(tmp, ec);
  return !ec;
}

}  // namespace parmap::detail
