// Checks of the CPU + GPU split and of registered memory that run the same on
// the simulated GPU and on a real one (the backend in use, or a
// fault_injector over it). Each is called from a TEST body; failures are
// reported with GoogleTest's EXPECT macros.
#pragma once

#include <cstddef>
#include <cstring>
#include <vector>

#include "sim_backend.hpp"

namespace parmap::test {

// n values from -150 up in steps of 0.37, repeating every 1013 (converted to T).
template <class T>
std::vector<T> inputs(std::size_t n) {
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<T>(static_cast<double>(i % 1013) * 0.37 - 150.0);
  return v;
}

// Indices where got differs from op applied once to x, bit for bit.
template <class Op, class T>
std::size_t mismatches(const Op& op, const std::vector<T>& x, const std::vector<T>& got) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const T want = op(x[i]);
    bad += std::memcmp(&got[i], &want, sizeof(T)) == 0 ? 0 : 1;
  }
  return bad;
}


// Elements per chunk of a host-data job of n elements of elem_bytes with the
// backend in use (makes the staging pool first).
std::size_t chunk_elements(std::size_t n, std::size_t elem_bytes);

// A map smaller than a chunk split at every point (PARMAP_SPLIT=<share>):
// square f32 and affine i64 bit for bit, and exp f64 too when same_libm (the
// simulated GPU runs the CPU's libm).
void check_every_split_point(bool same_libm);
// Split points around the chunk boundaries of a map of three chunks and a bit.
void check_split_at_chunk_boundaries();
// In place at several shares: each element mapped once.
void check_split_in_place();
// The GPU's share fails at each of its chunks (upload, launch, download), in
// place: the CPU maps the rest of that share, each element once, and the
// report says so; nothing stays allocated after release_cached_memory().
void check_split_failures(fault_injector& faults);
// Out of place and in place with PARMAP_HOST_REGISTER=on and off, forced to
// the GPU and split: every result right.
void check_registered_results();

}  // namespace parmap::test
