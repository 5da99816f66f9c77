// The built-in ops' and the traced programs' precompiled CPU loops
// (host/cpu_catalogue.cpp, host/program_cpu.cpp), in the instruction set of
// a cpu_kernels table (cpu_isa.hpp).
#pragma once

#include <cstddef>

#include "catalogue.hpp"
#include "cpu_isa.hpp"
#include "cpu_loop.hpp"

namespace parmap::detail {

// The chunk body of a built-in op or a program with k's loops: out[i] =
// op(in[i]) for i in [b, e).
inline void catalogue_chunk(const cpu_kernels& k, const op_call& c, const void* in, void* out, std::size_t b,
                            std::size_t e, failure& fail) {
  if (c.code == op_code::program) {
    k.program(program_of(c), in, out, b, e);
  } else {
    k.catalogue(c, in, out, b, e, fail);
  }
}

// out[i] = op(in[i]) for i in [first, last), on `threads` OpenMP threads.
void cpu_catalogue(const cpu_kernels& k, const op_call& c, const void* in, void* out, std::size_t first,
                   std::size_t last, int threads);

}  // namespace parmap::detail
