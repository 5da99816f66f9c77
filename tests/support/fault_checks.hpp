// Checks that run the same on the simulated GPU and on a real one (through a
// fault_injector over the backend in use): injected faults, faults in the
// middle of the pipeline, and the staging pool's bound under many sizes and
// concurrent callers. Each is called from a TEST body; failures are
// reported with GoogleTest's EXPECT macros.
#pragma once

#include <cstddef>

#include "sim_backend.hpp"

namespace parmap::test {

// For every kind of fault, on host data of n floats: automatic mode falls
// back to the CPU and says so, forced gpu throws gpu_error, a failed in-place
// map leaves the data unchanged, and the GPU works again once the fault is
// cleared. On device data a failed launch is gpu_error even in automatic
// mode, with the data unchanged. Nothing is held after release_cached_memory().
void check_injected_faults(fault_injector& faults, std::size_t n);

// Faults after several chunks went through (n floats, at least 8 chunks):
// automatic mode finishes the map on the CPU from the first element whose
// result had not arrived (in place too: each element mapped once); forced,
// in place after results arrived, gpu_error saying how far they got.
void check_faults_mid_pipeline(fault_injector& faults, std::size_t n);

// 300 maps of distinct sizes (most smaller than one slot or 1 MiB, every
// tenth up to four of those larger), then 8 concurrent callers of 20 sizes each, all forced onto
// the GPU and checked against the reference: the allocations that reach the
// backend stop after warm-up and never exceed the pool's bound, and nothing
// is held after release_cached_memory().
void check_staging_bounded(fault_injector& counted);

}  // namespace parmap::test
