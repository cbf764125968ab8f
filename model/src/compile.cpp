#include "compile.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

namespace untorn::spec {

static void flatten_and(const z3::expr &e, std::vector<z3::expr> &out)
{
	if (e.is_app() && e.decl().decl_kind() == Z3_OP_AND) {
		for (unsigned i = 0; i < e.num_args(); i++)
			flatten_and(e.arg(i), out);
		return;
	}
	out.push_back(e);
}

Program Program::compile(const z3::expr &root, const std::vector<z3::expr> &slot_vars, unsigned search_first)
{
	std::unordered_map<unsigned, unsigned> slot_of; // AST id of the variable -> slot
	for (unsigned i = 0; i < slot_vars.size(); i++)
		slot_of[slot_vars[i].id()] = i;
	Program p;
	std::vector<z3::expr> parts;
	if (root.is_bool())
		flatten_and(root, parts);
	else
		parts.push_back(root);
	// Cheap, search-independent conjuncts first: they decide most layouts.
	for (const auto &part : parts)
		p.conjuncts_.push_back(compile_one(part, slot_of, search_first));
	std::stable_sort(p.conjuncts_.begin(), p.conjuncts_.end(), [](const Code &a, const Code &b) {
		bool da = !a.all_independent(), db = !b.all_independent();
		return da != db ? !da : a.insns.size() < b.insns.size();
	});
	return p;
}

Program::Code Program::compile_one(const z3::expr &root, const std::unordered_map<unsigned, unsigned> &slot_of,
				   unsigned search_first)
{
	// First pass: a post-order list of the distinct terms (iterative: the
	// formulas can be deep chains of || and &&).
	std::vector<z3::expr> order;
	std::unordered_map<unsigned, uint32_t> index; // AST id -> position in order
	std::vector<std::pair<z3::expr, bool>> stack{{root, false}};
	while (!stack.empty()) {
		auto [e, expanded] = stack.back();
		stack.pop_back();
		if (index.count(e.id()))
			continue;
		if (!expanded && e.is_app() && e.num_args() > 0) {
			stack.push_back({e, true});
			for (unsigned i = 0; i < e.num_args(); i++)
				stack.push_back({e.arg(i), false});
			continue;
		}
		index[e.id()] = uint32_t(order.size());
		order.push_back(e);
	}

	// Classify: constants, slots (searched or not), operations (dependent on
	// a searched slot or not).
	enum Kind : uint8_t { K_CONST, K_SLOT, K_OP };
	const size_t n = order.size();
	std::vector<Kind> kind(n);
	std::vector<uint8_t> dep(n, 0);
	std::vector<uint64_t> value(n, 0);
	for (size_t i = 0; i < n; i++) {
		const z3::expr &e = order[i];
		switch (e.decl().decl_kind()) {
		case Z3_OP_TRUE: kind[i] = K_CONST; value[i] = 1; break;
		case Z3_OP_FALSE: kind[i] = K_CONST; value[i] = 0; break;
		case Z3_OP_BNUM: kind[i] = K_CONST; value[i] = e.get_numeral_uint64(); break;
		case Z3_OP_UNINTERPRETED: {
			auto it = slot_of.find(e.id());
			if (it == slot_of.end())
				throw std::logic_error("compile: unknown variable " + e.decl().name().str());
			kind[i] = K_SLOT;
			value[i] = it->second;
			dep[i] = it->second >= search_first;
			break;
		}
		default:
			kind[i] = K_OP;
			for (unsigned a = 0; a < e.num_args(); a++)
				dep[i] |= dep[index.at(e.arg(a).id())];
		}
	}

	// Register numbering: constants, independent slots, searched slots,
	// independent operations, dependent operations.  Operands precede users
	// within each group, and no independent item reads a dependent one.
	Code c;
	std::vector<uint32_t> reg(n);
	uint32_t next = 0;
	for (size_t i = 0; i < n; i++)
		if (kind[i] == K_CONST)
			reg[i] = next++;
	c.n_const = next;
	for (uint8_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++)
			if (kind[i] == K_SLOT && dep[i] == pass) {
				reg[i] = next++;
				c.gather.push_back(uint32_t(value[i]));
				c.n_gather_independent += !pass;
			}
	const uint32_t first_op = next;
	std::vector<size_t> ops;
	for (uint8_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++)
			if (kind[i] == K_OP && dep[i] == pass) {
				reg[i] = next++;
				ops.push_back(i);
				c.n_independent += !pass;
			}
	c.regs.assign(next, 0);
	for (size_t i = 0; i < n; i++)
		if (kind[i] == K_CONST)
			c.regs[reg[i]] = value[i];
	for (size_t i : ops) {
		const z3::expr &e = order[i];
		auto arg = [&](unsigned a) { return reg[index.at(e.arg(a).id())]; };
		Z3_decl_kind k = e.decl().decl_kind();
		Insn in{ADD, 0, 0, 0};
		if (k == Z3_OP_ITE)
			in = {ITE, arg(0), arg(1), arg(2)};
		else if (k == Z3_OP_NOT)
			in = {LNOT, arg(0), 0, 0};
		else {
			if (e.num_args() != 2)
				throw std::logic_error("compile: unsupported term " + e.to_string());
			Op op;
			switch (k) {
			case Z3_OP_BADD: op = ADD; break;
			case Z3_OP_BSUB: op = SUB; break;
			case Z3_OP_BMUL: op = MUL; break;
			case Z3_OP_BAND: op = AND; break;
			case Z3_OP_BOR: op = OR; break;
			case Z3_OP_BUREM: case Z3_OP_BUREM_I: op = UREM; break;
			case Z3_OP_BUDIV: case Z3_OP_BUDIV_I: op = UDIV; break;
			case Z3_OP_EQ: case Z3_OP_IFF: op = EQ; break;
			case Z3_OP_DISTINCT: op = NE; break;
			case Z3_OP_ULT: op = ULT; break;
			case Z3_OP_ULEQ: op = ULE; break;
			case Z3_OP_UGT: op = UGT; break;
			case Z3_OP_UGEQ: op = UGE; break;
			case Z3_OP_AND: op = LAND; break;
			case Z3_OP_OR: op = LOR; break;
			case Z3_OP_IMPLIES: op = IMPLIES; break;
			case Z3_OP_XOR: op = XOR; break;
			default: throw std::logic_error("compile: unsupported operator in " + e.to_string());
			}
			in = {op, arg(0), arg(1), 0};
		}
		c.insns.push_back(in);
	}
	(void)first_op;
	c.result_reg = reg[n - 1];
	return c;
}

void Program::Code::gather_slots(size_t from, size_t to, const uint64_t *slots) const
{
	uint64_t *r = regs.data() + n_const;
	for (size_t i = from; i < to; i++)
		r[i] = slots[gather[i]];
}

void Program::Code::run(size_t from, size_t to) const
{
	uint64_t *r = regs.data();
	uint64_t *out = r + n_const + gather.size();
	const Insn *code = insns.data();
	for (size_t i = from; i < to; i++) {
		const Insn &in = code[i];
		const uint64_t a = r[in.a], b = r[in.b];
		uint64_t v;
		switch (in.op) {
		case ADD: v = a + b; break;
		case SUB: v = a - b; break;
		case MUL: v = a * b; break;
		case AND: v = a & b; break;
		case OR: v = a | b; break;
		case UREM: v = b ? a % b : a; break;	    // SMT-LIB: bvurem x 0 = x
		case UDIV: v = b ? a / b : ~0ULL; break;    // SMT-LIB: bvudiv x 0 = all ones
		case EQ: v = a == b; break;
		case NE: v = a != b; break;
		case ULT: v = a < b; break;
		case ULE: v = a <= b; break;
		case UGT: v = a > b; break;
		case UGE: v = a >= b; break;
		case LAND: v = a && b; break;
		case LOR: v = a || b; break;
		case LNOT: v = !a; break;
		case IMPLIES: v = !a || b; break;
		case ITE: v = a ? b : r[in.c]; break;
		case XOR: v = (a != 0) != (b != 0); break;
		default: v = 0; break;
		}
		out[i] = v;
	}
}

void Program::Code::run_independent(const uint64_t *slots) const
{
	gather_slots(0, n_gather_independent, slots);
	run(0, n_independent);
}

void Program::Code::run_dependent(const uint64_t *slots) const
{
	gather_slots(n_gather_independent, gather.size(), slots);
	run(n_independent, insns.size());
}

uint64_t Program::eval(const uint64_t *slots) const
{
	uint64_t v = 1;
	for (const auto &c : conjuncts_) {
		c.run_independent(slots);
		c.run_dependent(slots);
		v = c.result();
		if (conjuncts_.size() > 1 && !v)
			return 0;
	}
	return v;
}

bool Program::reads_searched_slots() const
{
	for (const auto &c : conjuncts_)
		if (!c.all_independent())
			return true;
	return false;
}

bool Program::prepare(const uint64_t *slots) const
{
	for (const auto &c : conjuncts_) {
		c.run_independent(slots);
		if (c.all_independent() && !c.result())
			return false; // an independent conjunct is false: no crash can help
	}
	return true;
}

bool Program::eval_dependent(const uint64_t *slots) const
{
	for (const auto &c : conjuncts_) {
		if (c.all_independent())
			continue; // decided by prepare()
		c.run_dependent(slots);
		if (!c.result())
			return false;
	}
	return true;
}

size_t Program::size() const
{
	size_t n = 0;
	for (const auto &c : conjuncts_)
		n += c.insns.size();
	return n;
}

} // namespace untorn::spec
