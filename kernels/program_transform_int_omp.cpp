// The integer types' program kernels built for Thrust's OpenMP device system
// (g++, THRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_OMP), for the tests.
#if THRUST_DEVICE_SYSTEM != THRUST_DEVICE_SYSTEM_OMP
#error "program_transform_int_omp.cpp must be built with THRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_OMP"
#endif
#include "program_transform_int.cu"
