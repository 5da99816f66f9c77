// The per-thread depth of parmap workers (see nesting.hpp).
#include "parmap/detail/nesting.hpp"

namespace parmap::detail {
namespace {
thread_local int depth = 0;
}  // namespace

int nested_depth() noexcept { return depth; }
nested_scope::nested_scope() noexcept { ++depth; }
nested_scope::~nested_scope() { --depth; }

}  // namespace parmap::detail
