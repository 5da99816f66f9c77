#include "environment.hpp"

#include <charconv>
#include <cstring>
#include <string>
#include <string_view>

#include "parmap/errors.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX

namespace parmap::detail {
namespace {

[[noreturn]] void bad(std::string_view name, std::string_view value, const char* expected) {
  throw config_error("parmap: bad value for " + std::string(name) + ": \"" + std::string(value) +
                     "\" (expected " + expected + ")");
}

bool parse_flag(std::string_view name, std::string_view v) {
  if (v.empty() || v == "0" || v == "false" || v == "off" || v == "no") return false;
  if (v == "1" || v == "true" || v == "on" || v == "yes") return true;
  bad(name, v, "0 or 1");
}

std::size_t parse_count(std::string_view name, std::string_view v, std::size_t min) {
  std::size_t out = 0;
  const auto* end = v.data() + v.size();
  const auto [p, ec] = std::from_chars(v.data(), end, out);
  if (v.empty() || ec == std::errc::result_out_of_range) {
    bad(name, v, "a non-negative integer that fits in 64 bits");
  }
  if (ec != std::errc{} || p != end) bad(name, v, "a non-negative integer");
  if (out < min) bad(name, v, min == 0 ? "a non-negative integer" : "an integer >= 1");
  return out;
}

// "auto" (or empty), "on", "off", or the CPU's share of a split map in [0, 1].
split_setting parse_split(std::string_view name, std::string_view v) {
  if (v.empty() || v == "auto") return {};
  if (v == "off") return {split_setting::mode::off, 0};
  if (v == "on") return {split_setting::mode::always, 0};
  double share = -1;
  const auto* end = v.data() + v.size();
  const auto [p, ec] = std::from_chars(v.data(), end, share);
  if (ec != std::errc{} || p != end || !(share >= 0 && share <= 1)) {
    bad(name, v, "auto, on, off, or the CPU's share of a split map from 0 to 1");
  }
  return {split_setting::mode::fixed, share};
}

}  // namespace

environment read_environment() {
  environment env;
  std::optional<cpu_isa> isa;  // auto
  unsigned vector_bits = 0;    // auto
  constexpr std::string_view prefix = "PARMAP_";
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    // Most variables fail on the first letter.
    if ((*e)[0] != 'P' || std::strncmp(*e, prefix.data(), prefix.size()) != 0) continue;
    const std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = entry.substr(0, eq);
    const std::string_view value = entry.substr(eq + 1);
    if (name == "PARMAP_BACKEND") {
      if (value == "cpu") env.where = backend::cpu;
      else if (value == "gpu") env.where = backend::gpu;
      else if (value == "auto" || value == "automatic" || value.empty()) env.where = std::nullopt;
      else bad(name, value, "cpu, gpu or auto");
    } else if (name == "PARMAP_VERBOSE") {
      env.verbose = parse_flag(name, value);
    } else if (name == "PARMAP_PROGRESS") {
      env.progress = value == "force" ? 2 : (parse_flag(name, value) ? 1 : 0);
    } else if (name == "PARMAP_GPU_MIN_ELEMENTS") {
      env.gpu_min_elements = parse_count(name, value, 0);
    } else if (name == "PARMAP_MAX_BLOCKING") {
      env.max_blocking = parse_count(name, value, 1);
    } else if (name == "PARMAP_SPLIT") {
      env.split = parse_split(name, value);
    } else if (name == "PARMAP_HOST_REGISTER") {
      if (value == "auto" || value.empty()) env.register_host = std::nullopt;
      else env.register_host = parse_flag(name, value);
    } else if (name == "PARMAP_CPU_ISA") {
      if (value == "auto" || value.empty()) isa = std::nullopt;
      else if (!(isa = parse_cpu_isa(value))) bad(name, value, "auto, baseline, avx2 or avx512");
    } else if (name == "PARMAP_CPU_VECTOR_BITS") {
      if (value == "auto" || value.empty()) vector_bits = 0;
      else if (value == "128") vector_bits = 128;
      else if (value == "256") vector_bits = 256;
      else if (value == "512") vector_bits = 512;
      else bad(name, value, "auto, 128, 256 or 512");
    }
  }
  env.cpu = &cpu_kernels_for(select_cpu_isa(isa, supported_cpu_isas()), vector_bits);
  return env;
}

}  // namespace parmap::detail
