// The CPU's block-wise interpreter of a traced program (detail/program.hpp):
// each instruction is one SIMD loop over a block of elements small enough to
// stay in the core's cache, so a program of k instructions reads its input
// and writes its output once, like a fused loop.
#include "parmap/detail/program_cpu.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>

namespace parmap::detail {
namespace {

constexpr std::size_t block = 512;  // elements: 4 KiB per 8-byte register

// Register k's block; the input register reads the caller's array in place.
struct block_regs {
  std::byte* slots = nullptr;
  const std::byte* input = nullptr;
  template <class V>
  V* at(int k) noexcept {
    if (k == 0) return reinterpret_cast<V*>(const_cast<std::byte*>(input));
    return reinterpret_cast<V*>(slots + static_cast<std::size_t>(k) * block * sizeof(value));
  }
};

// This thread's registers, kept for the next call.
std::byte* scratch(std::size_t registers) {
  thread_local std::unique_ptr<value[]> buffer;
  thread_local std::size_t size = 0;
  const std::size_t need = registers * block;
  if (size < need) {
    buffer = std::make_unique<value[]>(need);
    size = need;
  }
  return reinterpret_cast<std::byte*>(buffer.get());
}

}  // namespace

void program_chunk(const program& p, const void* in, void* out, std::size_t b, std::size_t e) {
  if (b >= e) return;
  const std::size_t in_size = vtype_size(p.in);
  const std::size_t out_size = vtype_size(p.out);
  block_regs regs{scratch(p.registers), static_cast<const std::byte*>(in) + b * in_size};
  for (int k = 0; k < p.first_body; ++k) run_instr(p, p.code[k], regs, block);  // constants, once
  for (std::size_t s = b; s < e; s += block) {
    const std::size_t len = std::min(block, e - s);
    regs.input = static_cast<const std::byte*>(in) + s * in_size;
    for (int k = p.first_body; k < p.count; ++k) run_instr(p, p.code[k], regs, len);
    std::memcpy(static_cast<std::byte*>(out) + s * out_size, regs.at<std::byte>(p.result_reg), len * out_size);
  }
}

}  // namespace parmap::detail
