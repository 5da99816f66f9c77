// The CPU's block-wise interpreter of a traced program (detail/program.hpp):
// each instruction is one SIMD loop over a block of elements small enough to
// stay in the core's cache, so a program of k instructions reads its input
// and writes its output once, like a fused loop. Compiled once per
// instruction set (detail/cpu_isa.hpp) and AVX-512 width, like the built-in
// ops' loops.
#include "cpu_kernels.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>

namespace parmap::detail {
namespace {

constexpr std::size_t block = 512;  // elements: the registers' blocks stay in L1 (measured: 256 and 1024 are slower)
constexpr std::size_t prefetch_from = std::size_t{1} << 20;  // bytes a chunk reads and writes
// Registers sit a few cache lines more than a block apart, so that the same
// element of each does not fall into the same L1 set (4 KiB aliasing).
constexpr std::size_t stride = block * sizeof(value) + 320;

// Register k's block; the input register reads the caller's array in place,
// and the last instruction writes the caller's output (`result`, when set):
// element i of every operand is read before element i of the result is
// written, so this holds in place too.
struct block_regs {
  std::byte* slots = nullptr;
  const std::byte* input = nullptr;
  std::byte* result = nullptr;
  int result_reg = -1;
  template <class V>
  V* at(int k) noexcept {
    if (k == 0) return reinterpret_cast<V*>(const_cast<std::byte*>(input));
    if (k == result_reg) return reinterpret_cast<V*>(result);
    return reinterpret_cast<V*>(slots + static_cast<std::size_t>(k) * stride);
  }
};

// This thread's registers, kept for the next call.
std::byte* scratch(std::size_t registers) {
  thread_local std::unique_ptr<value[]> buffer;
  thread_local std::size_t size = 0;
  const std::size_t need = (registers * stride + sizeof(value) - 1) / sizeof(value);
  if (size < need) {
    buffer = std::make_unique<value[]>(need);
    size = need;
  }
  return reinterpret_cast<std::byte*>(buffer.get());
}

// One instruction over a block: run_instr, compiled once per instruction set
// below (a single copy each: the interpreter's loop calls it, so that three
// inlined copies do not triple the compile time).
using step_fn = void (*)(const program&, const instr&, block_regs&, std::size_t);

template <step_fn run_step>
inline void program_body(const program& p, const void* in, void* out, std::size_t b, std::size_t e) {
  if (b >= e) return;
  const std::size_t in_size = vtype_size(p.in);
  const std::size_t out_size = vtype_size(p.out);
  block_regs regs{scratch(p.registers), static_cast<const std::byte*>(in) + b * in_size};
  for (int k = 0; k < p.first_body; ++k) run_step(p, p.code[k], regs, block);  // constants, once
  // The last instruction computes the result straight into out, unless the
  // result is the input or a constant (then it is copied).
  const bool direct = p.count > p.first_body && p.code[p.count - 1].dst == p.result_reg && p.result_reg != 0;
  const bool prefetch = (e - b) * (in_size + out_size) > prefetch_from;
  // The first block ends at the output's first cache-line start, so that
  // every later block's stores start on a line (cpu_loop.hpp's line_start).
  const std::size_t head = direct ? elements_to_line(static_cast<std::byte*>(out) + b * out_size, out_size) : 0;
  std::size_t len = std::min(head != 0 ? head : block, e - b);
  for (std::size_t s = b; s < e; s += len, len = std::min(block, e - s)) {
    std::byte* to = static_cast<std::byte*>(out) + s * out_size;
    regs.input = static_cast<const std::byte*>(in) + s * in_size;
    // The next block's input and output, fetched while this block computes:
    // the passes over a block run from cache, so memory would wait otherwise.
    // Only for chunks larger than a core's cache: for data already in cache
    // the prefetches cost a third of the time (measured, AVX2).
    if (prefetch && s + len < e) {
      const std::size_t next = std::min(block, e - s - len);
      const char* nin = static_cast<const char*>(in) + (s + len) * in_size;
      char* nout = static_cast<char*>(out) + (s + len) * out_size;
      for (std::size_t off = 0; off < next * in_size; off += 64) __builtin_prefetch(nin + off, 0, 3);
      for (std::size_t off = 0; off < next * out_size; off += 64) __builtin_prefetch(nout + off, 1, 3);
    }
    const int last = direct ? p.count - 1 : p.count;
    for (int k = p.first_body; k < last; ++k) run_step(p, p.code[k], regs, len);
    if (direct) {
      regs.result = to;
      regs.result_reg = p.result_reg;
      run_step(p, p.code[last], regs, len);
      regs.result_reg = -1;
    } else {
      std::memcpy(to, regs.at<std::byte>(p.result_reg), len * out_size);
    }
  }
}

void step_baseline(const program& p, const instr& i, block_regs& regs, std::size_t len) {
  run_instr(p, i, regs, len);
}
#if PARMAP_CPU_ISA_X86
PARMAP_CPU_TARGET_AVX2 __attribute__((noinline)) void step_avx2(const program& p, const instr& i, block_regs& regs,
                                                                std::size_t len) {
  run_instr(p, i, regs, len);
}
PARMAP_CPU_TARGET_AVX512 __attribute__((noinline)) void step_avx512(const program& p, const instr& i,
                                                                    block_regs& regs, std::size_t len) {
  run_instr(p, i, regs, len);
}
#endif
#if PARMAP_CPU_AVX512_WIDE
PARMAP_CPU_TARGET_AVX512_WIDE __attribute__((noinline)) void step_avx512_wide(const program& p, const instr& i,
                                                                              block_regs& regs, std::size_t len) {
  run_instr(p, i, regs, len);
}
#endif

}  // namespace

void program_chunk_baseline(const program& p, const void* in, void* out, std::size_t b, std::size_t e) {
  program_body<&step_baseline>(p, in, out, b, e);
}
#if PARMAP_CPU_ISA_X86
PARMAP_CPU_TARGET_AVX2 void program_chunk_avx2(const program& p, const void* in, void* out, std::size_t b,
                                               std::size_t e) {
  program_body<&step_avx2>(p, in, out, b, e);
}
PARMAP_CPU_TARGET_AVX512 void program_chunk_avx512(const program& p, const void* in, void* out, std::size_t b,
                                                   std::size_t e) {
  program_body<&step_avx512>(p, in, out, b, e);
}
#endif
#if PARMAP_CPU_AVX512_WIDE
PARMAP_CPU_TARGET_AVX512_WIDE void program_chunk_avx512_wide(const program& p, const void* in, void* out,
                                                             std::size_t b, std::size_t e) {
  program_body<&step_avx512_wide>(p, in, out, b, e);
}
#endif

}  // namespace parmap::detail
