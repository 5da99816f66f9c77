// The GPU's accumulator machine (detail/program_gpu.hpp) run here on the
// host: the code the GPU functor runs, instantiated once, in
// gpu_interpreter.cpp, for the element types of PARMAP_TYPE_LIST (each is a
// large instantiation; compiling it in every test file that checks a program
// would cost minutes per build).
#pragma once

#include <cstddef>

#include "parmap/detail/program_gpu.hpp"

namespace parmap::test {

// y[i] = the program g on x[i] for i in [0, n): `lanes` (1 or 4) elements at
// a time, the tail one by one. narrow: the interpreter built for T and bool
// alone (the one the GPU runs for a narrow program); otherwise the one built
// for every type.
template <class T>
void run_gpu_interpreter(const detail::gpu_program& g, const T* x, T* y, std::size_t n, std::size_t lanes,
                         bool narrow);

}  // namespace parmap::test
