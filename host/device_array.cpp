// parmap::device_array's argument errors.
#include <stdexcept>
#include <string>

#include "parmap/detail/device_array_errors.hpp"

namespace parmap::detail {

void throw_size_mismatch(const char* what, std::size_t host_n, std::size_t device_n) {
  throw std::invalid_argument(std::string("parmap::device_array::") + what + ": host span has " +
                              std::to_string(host_n) + " elements, the device array " +
                              std::to_string(device_n));
}

void throw_not_host_memory(const char* what) {
  throw std::invalid_argument(std::string("parmap::device_array::") + what +
                              ": the host span points into GPU memory (pass host memory, or map "
                              "device to device with parmap::map)");
}

}  // namespace parmap::detail
