// The CPU's interpreter of a traced program (host/program_cpu.cpp).
#pragma once

#include <cstddef>

#include "program.hpp"

namespace parmap::detail {

// out[i] = p(in[i]) for i in [b, e), block by block on the calling thread;
// in has p.in's type, out p.out's.
void program_chunk(const program& p, const void* in, void* out, std::size_t b, std::size_t e);

}  // namespace parmap::detail
