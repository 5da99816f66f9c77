// The calibration's cache on disk, one JSON file per machine
// (host/calibration_cache.cpp).
#pragma once

#include <optional>
#include <string>

#include "cost_model.hpp"

namespace parmap::detail {

// $XDG_CACHE_HOME/parmap (else $HOME/.cache/parmap) / calibration-<hash of key>.json,
// or "" when neither variable is set.
std::string calibration_path(const std::string& key);
// Writes c to calibration_path(c.key) (atomically); false when it could not.
bool save_calibration(const calibration& c);
// The cached calibration for `key`; nullopt when there is none, it is another
// machine's, or the file is damaged.
std::optional<calibration> load_calibration(const std::string& key);

}  // namespace parmap::detail
