// Recording a traced program (program_builder, detail/program.hpp): the
// operand checks, the text of an expression, and finish(): unused values
// dropped, constants hoisted, registers allocated.
#include "parmap/detail/program.hpp"
#include "parmap/detail/program_gpu.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace parmap::detail {

const char* vtype_numpy_name(vtype t) noexcept {
  switch (t) {
#define PARMAP_V(name, type, numpy) \
  case vtype::name:                 \
    return numpy;
    PARMAP_VALUE_TYPE_LIST(PARMAP_V)
#undef PARMAP_V
  }
  return "?";
}

const char* iop_name(iop op) noexcept {
  switch (op) {
#define PARMAP_I(name, ...) \
  case iop::name:           \
    return #name;
    PARMAP_INSTR_LIST(PARMAP_I)
#undef PARMAP_I
  }
  return "?";
}

namespace {

enum class kind { any, number, integer, floating, compare };

kind kind_of(iop op) noexcept {
  switch (op) {
#define PARMAP_I(name, operands, k) \
  case iop::name:                   \
    return kind::k;
    PARMAP_INSTR_LIST(PARMAP_I)
#undef PARMAP_I
  }
  return kind::any;
}

int operands_of(iop op) noexcept {
  switch (op) {
#define PARMAP_I(name, operands, k) \
  case iop::name:                   \
    return operands;
    PARMAP_INSTR_LIST(PARMAP_I)
#undef PARMAP_I
  }
  return 0;
}

[[noreturn]] void bad(const std::string& what) {
  throw std::invalid_argument("parmap::elementwise: " + what);
}

void check_kind(iop op, vtype t) {
  const kind k = kind_of(op);
  const bool ok = k == kind::any || k == kind::compare || (k == kind::number && t != vtype::b8) ||
                  (k == kind::integer && is_integer(t)) || (k == kind::floating && is_float(t));
  if (ok) return;
  const char* needs = k == kind::integer ? "integer" : k == kind::floating ? "floating-point" : "numeric (not bool)";
  bad(std::string(iop_name(op)) + " needs " + needs + " operands, not " + vtype_numpy_name(t));
}

std::string constant_text(vtype t, const value& v) {
  char buf[64];
  std::to_chars_result r{};
  switch (t) {
    case vtype::b8: return v.b8 ? "true" : "false";
    case vtype::i32: r = std::to_chars(buf, buf + sizeof buf, v.i32); break;
    case vtype::i64: r = std::to_chars(buf, buf + sizeof buf, v.i64); break;
    case vtype::u32: r = std::to_chars(buf, buf + sizeof buf, v.u32); break;
    case vtype::u64: r = std::to_chars(buf, buf + sizeof buf, v.u64); break;
    case vtype::f32: r = std::to_chars(buf, buf + sizeof buf, v.f32); break;
    case vtype::f64: r = std::to_chars(buf, buf + sizeof buf, v.f64); break;
  }
  return std::string(buf, r.ptr);
}

// Binding strength of an instruction written as an expression.
int precedence(iop op) noexcept {
  switch (op) {
    case iop::add: case iop::sub: return 6;
    case iop::mul: case iop::div: case iop::mod: case iop::floordiv: case iop::floormod: return 7;
    case iop::neg: return 8;
    case iop::eq: case iop::ne: case iop::lt: case iop::le: case iop::gt: case iop::ge: return 4;
    default: return 10;
  }
}

const char* infix(iop op) noexcept {
  switch (op) {
    case iop::add: return " + ";
    case iop::sub: return " - ";
    case iop::mul: return "*";
    case iop::div: return "/";
    case iop::mod: case iop::floormod: return "%";
    case iop::floordiv: return "//";
    case iop::eq: return " == ";
    case iop::ne: return " != ";
    case iop::lt: return " < ";
    case iop::le: return " <= ";
    case iop::gt: return " > ";
    case iop::ge: return " >= ";
    default: return nullptr;
  }
}

}  // namespace

program_builder::program_builder(vtype in) {
  node x;
  x.op = iop::convert;  // the input: a node with no operand
  x.type = x.operand = in;
  nodes_.push_back(x);
}

void program_builder::check(int v) const {
  if (v < 0 || static_cast<std::size_t>(v) >= nodes_.size()) {
    bad("a value from another trace (a traced value was kept, or captured, from another call)");
  }
}

vtype program_builder::type_of(int v) const {
  check(v);
  return nodes_[static_cast<std::size_t>(v)].type;
}

int program_builder::add_node(const node& n) {
  nodes_.push_back(n);
  return static_cast<int>(nodes_.size()) - 1;
}

int program_builder::constant(vtype t, value v) {
  // One node per distinct constant.
  for (std::size_t k = 1; k < nodes_.size(); ++k) {
    const node& n = nodes_[k];
    if (n.op == iop::constant && n.type == t && std::memcmp(&n.k, &v, sizeof v) == 0) return static_cast<int>(k);
  }
  node n;
  n.op = iop::constant;
  n.type = n.operand = t;
  n.k = v;
  return add_node(n);
}

int program_builder::convert(int v, vtype to) {
  if (type_of(v) == to) return v;
  node n;
  n.op = iop::convert;
  n.type = to;
  n.operand = type_of(v);
  n.a = v;
  return add_node(n);
}

int program_builder::unary(iop op, int a) {
  if (operands_of(op) != 1 || op == iop::convert || op == iop::apply) bad(std::string(iop_name(op)) + " is not a unary instruction");
  const vtype t = type_of(a);
  check_kind(op, t);
  node n;
  n.op = op;
  n.type = n.operand = t;
  n.a = a;
  return add_node(n);
}

int program_builder::binary(iop op, int a, int b) {
  if (operands_of(op) != 2) bad(std::string(iop_name(op)) + " is not a binary instruction");
  const vtype t = type_of(a);
  if (type_of(b) != t) {
    bad(std::string(iop_name(op)) + " of " + vtype_numpy_name(t) + " and " + vtype_numpy_name(type_of(b)) +
        ": convert the operands to one type first");
  }
  check_kind(op, t);
  node n;
  n.op = op;
  n.operand = t;
  n.type = kind_of(op) == kind::compare ? vtype::b8 : t;
  n.a = a;
  n.b = b;
  return add_node(n);
}

int program_builder::where(int c, int a, int b) {
  if (type_of(c) != vtype::b8) bad("where's condition must be a bool value");
  const vtype t = type_of(a);
  if (type_of(b) != t) bad("where's two values must have one type");
  node n;
  n.op = iop::where;
  n.type = n.operand = t;
  n.a = c;
  n.b = a;
  n.c = b;
  return add_node(n);
}

int program_builder::apply(const op_call& op, int a) {
  const vtype t = type_of(a);
  if (op.code == op_code::program || vtype_of(op.type) != t) {
    bad(std::string(op_name(op.code)) + " was made for " + numpy_name(op.type) + ", applied to " + vtype_numpy_name(t));
  }
  node n;
  n.op = iop::apply;
  n.type = n.operand = t;
  n.a = a;
  n.call = op;
  return add_node(n);
}

std::string program_builder::text(int v) const {
  check(v);
  const node& n = nodes_[static_cast<std::size_t>(v)];
  if (v == 0) return "x";
  auto sub = [&](int k, int parent, bool right) {
    const node& c = nodes_[static_cast<std::size_t>(k)];
    std::string s = text(k);
    const int p = c.op == iop::convert ? 10 : c.op == iop::constant && s[0] == '-' ? 8 : precedence(c.op);
    if (p < parent || (right && p == parent)) s = std::string(1, '(').append(s).append(1, ')');
    return s;
  };
  switch (n.op) {
    case iop::constant: return constant_text(n.type, n.k);
    case iop::convert: return text(n.a);
    case iop::neg: return std::string(1, '-').append(sub(n.a, precedence(iop::neg), false));
    case iop::where: return "where(" + text(n.a) + ", " + text(n.b) + ", " + text(n.c) + ")";
    case iop::apply: return std::string(op_name(n.call.code)) + "(" + text(n.a) + ")";
    default: break;
  }
  if (const char* op = infix(n.op)) {
    const int p = precedence(n.op);
    const bool chain = n.op == iop::add || n.op == iop::mul;  // a + b + c needs no parentheses
    return sub(n.a, p, false) + op + sub(n.b, p, !chain);
  }
  std::string s = std::string(iop_name(n.op)) + "(" + text(n.a);
  if (n.b >= 0) s += ", " + text(n.b);
  return s + ")";
}

// The values `result` depends on.
std::vector<bool> program_builder::live_values(const std::vector<node>& nodes, int result) {
  std::vector<bool> live(nodes.size(), false);
  live[static_cast<std::size_t>(result)] = true;
  for (std::size_t k = nodes.size(); k-- > 1;) {
    if (!live[k]) continue;
    for (int o : {nodes[k].a, nodes[k].b, nodes[k].c}) {
      if (o >= 0) live[static_cast<std::size_t>(o)] = true;
    }
  }
  return live;
}

// Fewer passes for the CPU's interpreter, the same results: a + b * c (the
// product used nowhere else) becomes one muladd, still rounded twice; a
// constant operand of a two-operand instruction is held in the
// instruction (konst) instead of a register.
void program_builder::fuse(std::vector<node>& nodes, int result) {
  std::vector<int> uses(nodes.size(), 0);
  const std::vector<bool> live = live_values(nodes, result);
  for (std::size_t k = 1; k < nodes.size(); ++k) {
    if (!live[k]) continue;
    for (int o : {nodes[k].a, nodes[k].b, nodes[k].c}) {
      if (o >= 0) ++uses[static_cast<std::size_t>(o)];
    }
  }
  auto single_mul = [&](int v, vtype t) {
    if (v <= 0 || v == result) return false;
    const node& m = nodes[static_cast<std::size_t>(v)];
    return m.op == iop::mul && m.type == t && t != vtype::b8 && uses[static_cast<std::size_t>(v)] == 1;
  };
  for (std::size_t k = 1; k < nodes.size(); ++k) {
    node& n = nodes[k];
    if (!live[k] || n.op != iop::add) continue;
    int product = -1, addend = -1;
    if (single_mul(n.a, n.type)) {
      product = n.a;
      addend = n.b;
    } else if (single_mul(n.b, n.type)) {
      product = n.b;
      addend = n.a;
    }
    if (product < 0) continue;
    const node& m = nodes[static_cast<std::size_t>(product)];
    n.op = iop::muladd;
    n.a = m.a;
    n.b = m.b;
    n.c = addend;
  }
  auto is_constant = [&](int v) { return v > 0 && nodes[static_cast<std::size_t>(v)].op == iop::constant; };
  for (std::size_t k = 1; k < nodes.size(); ++k) {
    node& n = nodes[k];
    const bool two = (n.op >= iop::add && n.op <= iop::floormod) || (n.op >= iop::eq && n.op <= iop::ge) ||
                     (n.op >= iop::min && n.op <= iop::maximum) || n.op == iop::pow;
    if (two && is_constant(n.b) && !is_constant(n.a)) {
      n.konst = 2;
      n.k = nodes[static_cast<std::size_t>(n.b)].k;
      n.b = -1;
    } else if (two && is_constant(n.a) && !is_constant(n.b)) {
      n.konst = 1;
      n.k = nodes[static_cast<std::size_t>(n.a)].k;
      n.a = -1;
    } else if (n.op == iop::muladd && is_constant(n.c) && !is_constant(n.a) && !is_constant(n.b)) {
      n.konst = 3;
      n.k = nodes[static_cast<std::size_t>(n.c)].k;
      n.c = -1;
    } else if (n.op == iop::muladd && !is_constant(n.c) && (is_constant(n.a) != is_constant(n.b))) {
      if (is_constant(n.a)) std::swap(n.a, n.b);  // a product commutes exactly
      n.konst = 2;
      n.k = nodes[static_cast<std::size_t>(n.b)].k;
      n.b = -1;
    }
  }
}

program program_builder::finish(int result, vtype out) const {
  program_builder b = *this;
  const int r = b.convert(result, out);
  std::vector<node> nodes = b.nodes_;
  const std::size_t total = nodes.size();
  fuse(nodes, r);
  const std::vector<bool> live = live_values(nodes, r);
  // Constants first, then the rest in order.
  std::vector<int> order;
  for (std::size_t k = 1; k < total; ++k) {
    if (live[k] && nodes[k].op == iop::constant) order.push_back(static_cast<int>(k));
  }
  const std::size_t constants = order.size();
  for (std::size_t k = 1; k < total; ++k) {
    if (live[k] && nodes[k].op != iop::constant) order.push_back(static_cast<int>(k));
  }
  std::size_t ops = 0;
  for (int k : order) ops += nodes[static_cast<std::size_t>(k)].op == iop::apply ? 1 : 0;
  if (order.size() > static_cast<std::size_t>(program::max_instructions)) {
    bad("the traced function needs " + std::to_string(order.size()) + " instructions; a program holds at most " +
        std::to_string(program::max_instructions));
  }
  if (constants > static_cast<std::size_t>(program::max_constants)) {
    bad("the traced function uses " + std::to_string(constants) + " distinct constants; a program holds at most " +
        std::to_string(program::max_constants));
  }
  if (ops > static_cast<std::size_t>(program::max_ops)) {
    bad("the traced function applies " + std::to_string(ops) + " parameterised built-in ops; a program holds at most " +
        std::to_string(program::max_ops));
  }

  // The last instruction (position in `order`) reading each value.
  std::vector<std::size_t> last_use(total, 0);
  for (std::size_t pos = 0; pos < order.size(); ++pos) {
    const node& n = nodes[static_cast<std::size_t>(order[pos])];
    for (int o : {n.a, n.b, n.c}) {
      if (o >= 0) last_use[static_cast<std::size_t>(o)] = pos + 1;
    }
  }
  last_use[static_cast<std::size_t>(r)] = order.size() + 1;  // read by the store

  program p;
  p.in = nodes[0].type;
  p.out = out;
  std::vector<int> reg(total, -1);
  std::vector<int> free_regs;
  int registers = 1;  // register 0: the input, never reused
  int next_op = 0;
  std::size_t fused_constants = constants;  // operands held in the instruction follow the loaded ones
  reg[0] = 0;
  auto take = [&] {
    if (!free_regs.empty()) {
      const int k = free_regs.back();
      free_regs.pop_back();
      return k;
    }
    return registers++;
  };
  for (std::size_t pos = 0; pos < order.size(); ++pos) {
    const auto k = static_cast<std::size_t>(order[pos]);
    const node& n = nodes[k];
    instr ins;
    ins.op = n.op;
    ins.type = n.op >= iop::eq && n.op <= iop::ge ? n.operand : n.type;
    ins.from = n.operand;
    ins.a = static_cast<std::uint8_t>(n.a >= 0 ? reg[static_cast<std::size_t>(n.a)] : 0);
    ins.b = static_cast<std::uint8_t>(n.b >= 0 ? reg[static_cast<std::size_t>(n.b)] : 0);
    ins.c = static_cast<std::uint8_t>(n.c >= 0 ? reg[static_cast<std::size_t>(n.c)] : 0);
    // Operands read for the last time free their registers: those of the
    // result's width before it is placed (out[i] = f(a[i]) in place is
    // safe), the others after (a block of another width would overlap).
    auto release = [&](bool same_width) {
      for (int o : {n.a, n.b, n.c}) {
        if (o <= 0) continue;
        const auto u = static_cast<std::size_t>(o);
        if (nodes[u].op == iop::constant || last_use[u] != pos + 1 || reg[u] < 0) continue;
        if ((vtype_size(nodes[u].type) == vtype_size(n.type)) != same_width) continue;
        if (std::find(free_regs.begin(), free_regs.end(), reg[u]) == free_regs.end()) free_regs.push_back(reg[u]);
      }
    };
    // The result's own register never holds one of its operands: the CPU
    // interpreter writes the last instruction straight into the output.
    const bool last = pos + 1 == order.size();
    if (n.op != iop::constant && !last) release(true);
    reg[k] = take();
    if (last && n.op != iop::constant) release(true);
    if (n.op != iop::constant) release(false);
    ins.dst = static_cast<std::uint8_t>(reg[k]);
    ins.konst = n.konst;
    if (n.op == iop::constant) {
      ins.aux = static_cast<std::uint8_t>(pos);
      p.consts[pos] = n.k;
    } else if (n.konst != 0) {
      if (fused_constants >= static_cast<std::size_t>(program::max_constants)) {
        bad("the traced function uses more than " + std::to_string(program::max_constants) +
            " constants; a program holds at most " + std::to_string(program::max_constants));
      }
      ins.aux = static_cast<std::uint8_t>(fused_constants);
      p.consts[fused_constants++] = n.k;
    } else if (n.op == iop::apply) {
      ins.aux = static_cast<std::uint8_t>(next_op++);
      p.ops[ins.aux] = n.call;
    }
    p.code[pos] = ins;
  }
  if (registers > program::max_registers) {
    bad("the traced function keeps " + std::to_string(registers) + " values alive at once; a program holds at most " +
        std::to_string(program::max_registers));
  }
  p.count = static_cast<std::uint8_t>(order.size());
  p.first_body = static_cast<std::uint8_t>(constants);
  p.registers = static_cast<std::uint8_t>(registers);
  p.input_reg = 0;
  p.result_reg = static_cast<std::uint8_t>(reg[static_cast<std::size_t>(r)]);
  p.cost = cost_class::memory;
  for (std::size_t pos = constants; pos < order.size(); ++pos) {
    const node& n = nodes[static_cast<std::size_t>(order[pos])];
    const bool heavy = (n.op >= iop::sqrt && n.op <= iop::pow) ||
                       (n.op == iop::apply && cost_of(n.call.code) == cost_class::transcendental);
    if (heavy) p.cost = cost_class::transcendental;
  }
  return p;
}

gpu_program make_gpu_program(const program& p) {
  gpu_program g;
  g.p = p;
  // writer[r]: the step that last wrote register r (-1: the input, or a
  // constant's register, which are never written again).
  int writer[program::max_registers];
  std::uint8_t constant_of[program::max_registers] = {};
  for (int& w : writer) w = -1;
  for (int k = 0; k < p.first_body; ++k) constant_of[p.code[k].dst] = p.code[k].aux;
  auto source_of = [&](int reg, int step) -> std::uint8_t {
    if (reg == p.input_reg) return source(source_kind::input, 0);
    const int w = writer[reg];
    if (w < 0) return source(source_kind::konst, constant_of[reg]);
    if (w == step - 1) return source(source_kind::acc, 0);
    g.steps[w].spill = static_cast<std::uint8_t>(reg);
    return source(source_kind::file, reg);
  };
  int step = 0;
  for (int k = p.first_body; k < p.count; ++k, ++step) {
    const instr& ins = p.code[k];
    gpu_step& s = g.steps[step];
    s.ins = ins;
    const std::uint8_t regs[3] = {ins.a, ins.b, ins.c};
    const int n = operands_of(ins.op);
    for (int o = 0; o < 3; ++o) {
      if (o >= n) {
        // Not an operand, but run_instr may still ask for it: the input,
        // which reads as T or as a zero, never as another type's bits.
        s.src[o] = source(source_kind::input, 0);
      } else if (ins.konst == o + 1) {
        s.src[o] = source(source_kind::konst, ins.aux);
      } else {
        s.src[o] = source_of(regs[o], step);
      }
    }
    writer[ins.dst] = step;
  }
  g.count = static_cast<std::uint8_t>(step);
  g.result = source_of(p.result_reg, step);
  auto narrow_type = [&](vtype t) { return t == p.in || t == vtype::b8; };
  g.narrow = p.out == p.in;
  for (int k = 0; k < p.count; ++k) {
    const instr& ins = p.code[k];
    g.narrow = g.narrow && narrow_type(ins.type) && (ins.op != iop::convert || narrow_type(ins.from));
  }
  return g;
}

}  // namespace parmap::detail
