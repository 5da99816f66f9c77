// Measuring the machine for the cost model (host/calibration.cpp): the CPU's
// bandwidth, thread counts and libm cost; the GPU's copy and transform
// bandwidth, transcendental cost and fixed cost per call; a split's rates.
// The process's calibration has one owner, the context (context.hpp).
#pragma once

#include <string>

#include "calibration_cache.hpp"
#include "cost_model.hpp"
#include "device_backend.hpp"

namespace parmap::detail {

// The machine's key for `b` (the backend in use).
std::string calibration_key(device_backend& b);
// Measures every figure now (about 0.1 - 0.5 s; the GPU ones need b's GPU),
// the GPU ones on GPU `device` (every thread it uses makes it current).
calibration measure_calibration(device_backend& b, int threads, int device = 0);

// The cached calibration of b's machine, else one measured now and cached
// (not cached when measured inside a parallel region: its CPU figure would be
// one thread's). Throws gpu_error when measuring the GPU fails.
calibration load_or_measure_calibration(device_backend& b, int threads, int device = 0);

}  // namespace parmap::detail
