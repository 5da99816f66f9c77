// Portability macros, defined once for the whole library.
#pragma once

#define PARMAP_VERSION_MAJOR 0
#define PARMAP_VERSION_MINOR 1
#define PARMAP_VERSION_PATCH 0

/// Marks a function callable from host and device code. Expands to
/// `__host__ __device__` under nvcc and to nothing elsewhere, so one functor
/// definition serves the OpenMP loop and the Thrust transform.
#if defined(__CUDACC__)
#define PARMAP_HOST_DEVICE __host__ __device__
#else
#define PARMAP_HOST_DEVICE
#endif

// OpenMP pragmas that vanish (without -Wunknown-pragmas noise) when the
// translation unit is compiled without OpenMP.
#if defined(_OPENMP)
#define PARMAP_PRAGMA(x) _Pragma(#x)
#else
#define PARMAP_PRAGMA(x)
#endif
#define PARMAP_OMP(x) PARMAP_PRAGMA(omp x)

// `omp simd` on the chunk bodies compiled in the caller's translation unit:
// with -fopenmp, or with -fopenmp-simd, which parmap's CMake package adds for
// g++ and clang (PARMAP_OPENMP_SIMD; it needs no OpenMP runtime).
#if defined(_OPENMP) || defined(PARMAP_OPENMP_SIMD)
#define PARMAP_SIMD _Pragma("omp simd")
#else
#define PARMAP_SIMD
#endif
