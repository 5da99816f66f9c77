// PARMAP_* environment variables: their parsing (host/environment.cpp). They
// are read once, at the first call that needs them, and the context keeps the
// reading (context.hpp): a call costs no pass over environ. A program that
// changes them while it runs calls parmap::reload_environment() afterwards.
#pragma once

#include <cstddef>
#include <optional>

#include "parmap/detail/cpu_isa.hpp"
#include "parmap/detail/dispatch.hpp"
#include "parmap/options.hpp"

namespace parmap::detail {


struct environment {
  std::optional<backend> where;                    // PARMAP_BACKEND=cpu|gpu|auto
  bool verbose = false;                            // PARMAP_VERBOSE=1
  int progress = 0;                                // PARMAP_PROGRESS=0|1|force -> 0, 1, 2
  std::optional<std::size_t> gpu_min_elements;     // PARMAP_GPU_MIN_ELEMENTS=N
  std::optional<std::size_t> max_blocking;         // PARMAP_MAX_BLOCKING=N (>= 1)
  split_setting split;                             // PARMAP_SPLIT=auto|off|<cpu share>
  std::optional<bool> register_host;               // PARMAP_HOST_REGISTER=auto|on|off (auto: nullopt)
  const cpu_kernels* cpu = nullptr;                // PARMAP_CPU_ISA=auto|baseline|avx2|avx512 and
                                                   // PARMAP_CPU_VECTOR_BITS=auto|128|256|512: the loops
};

// Reads environ now. Throws config_error naming the variable and the value
// when one is bad, PARMAP_CPU_ISA names a set this CPU cannot run, or
// PARMAP_CPU_VECTOR_BITS a width the set is not built in.
environment read_environment();
// The kept reading is the context's (current_environment, context.hpp).

}  // namespace parmap::detail
