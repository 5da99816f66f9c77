// The built-in ops' precompiled CPU loops (host/cpu_catalogue.cpp, built with
// -O3 so each op's loop vectorises whatever the caller's flags).
#pragma once

#include <cstddef>

#include "catalogue.hpp"
#include "cpu_loop.hpp"

namespace parmap::detail {

// The chunk body of a built-in op: out[i] = op(in[i]) for i in [b, e).
void catalogue_chunk(const op_call& c, const void* in, void* out, std::size_t b, std::size_t e,
                     failure& fail);

// out[i] = op(in[i]) for i in [first, last), on `threads` OpenMP threads.
void cpu_catalogue(const op_call& c, const void* in, void* out, std::size_t first, std::size_t last,
                   int threads);

}  // namespace parmap::detail
