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
		bool da = a.n_independent < a.insns.size(), db = b.n_independent < b.insns.size();
		return da != db ? !da : a.insns.size() < b.insns.size();
	});
	return p;
}

Program::Code Program::compile_one(const z3::expr &root, const std::unordered_map<unsigned, unsigned> &slot_of,
				   unsigned search_first)
{
	std::vector<Insn> code;
	std::vector<uint8_t> dep;
	std::unordered_map<unsigned, uint32_t> reg_of; // Z3 AST id -> instruction
	// Iterative post-order walk: formulas can be deep chains of || and &&.
	std::vector<std::pair<z3::expr, bool>> stack{{root, false}};
	while (!stack.empty()) {
		auto [e, expanded] = stack.back();
		stack.pop_back();
		if (reg_of.count(e.id()))
			continue;
		if (!expanded && e.is_app() && e.num_args() > 0) {
			stack.push_back({e, true});
			for (unsigned i = 0; i < e.num_args(); i++)
				stack.push_back({e.arg(i), false});
			continue;
		}
		Insn in{CONST, 0, 0, 0, 0};
		auto arg = [&](unsigned i) { return reg_of.at(e.arg(i).id()); };
		Z3_decl_kind k = e.decl().decl_kind();
		bool d = false;
		switch (k) {
		case Z3_OP_TRUE: in.imm = 1; break;
		case Z3_OP_FALSE: in.imm = 0; break;
		case Z3_OP_BNUM: in.imm = e.get_numeral_uint64(); break;
		case Z3_OP_UNINTERPRETED: {
			auto it = slot_of.find(e.id());
			if (it == slot_of.end())
				throw std::logic_error("compile: unknown variable " + e.decl().name().str());
			in.op = SLOT; // the slot goes in imm: a, b, c name registers only
			in.imm = it->second;
			d = it->second >= search_first;
			break;
		}
		case Z3_OP_ITE:
			in = {ITE, arg(0), arg(1), arg(2), 0};
			d = dep[in.a] || dep[in.b] || dep[in.c];
			break;
		case Z3_OP_NOT:
			in = {LNOT, arg(0), 0, 0, 0};
			d = dep[in.a];
			break;
		default: {
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
			in = {op, arg(0), arg(1), 0, 0};
			d = dep[in.a] || dep[in.b];
		}
		}
		reg_of[e.id()] = uint32_t(code.size());
		code.push_back(in);
		dep.push_back(d);
	}

	// Stable partition: independent instructions first.  Operands precede
	// users in both halves, because an independent instruction never reads a
	// dependent one.  Every instruction is reachable from the root, so either
	// the root is dependent (and last of the second half) or all are
	// independent: the root stays last either way.
	std::vector<uint32_t> order, renum(code.size());
	for (uint8_t pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < code.size(); i++)
			if (dep[i] == pass)
				order.push_back(i);
	Code c;
	for (uint32_t n = 0; n < order.size(); n++)
		renum[order[n]] = n;
	for (uint32_t i : order) {
		Insn in = code[i];
		if (in.op != CONST && in.op != SLOT) {
			in.a = renum[in.a];
			in.b = renum[in.b];
			if (in.op == ITE)
				in.c = renum[in.c];
		}
		c.insns.push_back(in);
		if (!dep[i])
			c.n_independent++;
	}
	c.regs.resize(c.insns.size());
	return c;
}

void Program::Code::run(size_t from, size_t to, const uint64_t *slots) const
{
	uint64_t *r = regs.data();
	const Insn *code = insns.data();
	for (size_t i = from; i < to; i++) {
		const Insn &in = code[i];
		const uint64_t a = r[in.a], b = r[in.b];
		uint64_t v;
		switch (in.op) {
		case CONST: v = in.imm; break;
		case SLOT: v = slots[in.imm]; break;
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
		r[i] = v;
	}
}

uint64_t Program::eval(const uint64_t *slots) const
{
	uint64_t v = 1;
	for (const auto &c : conjuncts_) {
		c.run(0, c.insns.size(), slots);
		v = c.result();
		if (conjuncts_.size() > 1 && !v)
			return 0;
	}
	return v;
}

bool Program::reads_searched_slots() const
{
	for (const auto &c : conjuncts_)
		if (c.n_independent < c.insns.size())
			return true;
	return false;
}

bool Program::prepare(const uint64_t *slots) const
{
	for (const auto &c : conjuncts_) {
		c.run(0, c.n_independent, slots);
		if (c.n_independent == c.insns.size() && !c.result())
			return false; // an independent conjunct is false: no crash can help
	}
	return true;
}

bool Program::eval_dependent(const uint64_t *slots) const
{
	for (const auto &c : conjuncts_) {
		if (c.n_independent == c.insns.size())
			continue; // decided by prepare()
		c.run(c.n_independent, c.insns.size(), slots);
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
