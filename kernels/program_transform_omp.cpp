// The program's Thrust code built for Thrust's OpenMP device system (g++,
// THRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_OMP), so that tests exercise it on
// machines without a GPU.
#if THRUST_DEVICE_SYSTEM != THRUST_DEVICE_SYSTEM_OMP
#error "program_transform_omp.cpp must be built with THRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_OMP"
#endif
#include "program_transform.cu"
