// parmap: the embarrassingly parallel map, on the GPU (Thrust) when it pays,
// on the host (OpenMP) otherwise. The one header callers include; it pulls in
// no CUDA header.
#pragma once

#include "config.hpp"
#include "device.hpp"
#include "elementwise.hpp"
#include "errors.hpp"
#include "map.hpp"
#include "ops.hpp"
#include "tasks.hpp"
#include "options.hpp"
#include "traits.hpp"
