#include "compile.h"

#include <stdexcept>
#include <unordered_map>

namespace untorn::spec {

Program Program::compile(const z3::expr &root, const std::vector<std::string> &slot_names)
{
	std::unordered_map<std::string, unsigned> slot_of;
	for (unsigned i = 0; i < slot_names.size(); i++)
		slot_of[slot_names[i]] = i;

	Program p;
	std::unordered_map<unsigned, uint32_t> reg_of; // Z3 AST id -> register
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
		switch (k) {
		case Z3_OP_TRUE: in.imm = 1; break;
		case Z3_OP_FALSE: in.imm = 0; break;
		case Z3_OP_BNUM: in.imm = e.get_numeral_uint64(); break;
		case Z3_OP_UNINTERPRETED: {
			auto it = slot_of.find(e.decl().name().str());
			if (it == slot_of.end())
				throw std::logic_error("compile: unknown variable " + e.decl().name().str());
			in.op = SLOT;
			in.a = it->second;
			p.slots_read_.push_back(it->second);
			break;
		}
		case Z3_OP_ITE: in = {ITE, arg(0), arg(1), arg(2), 0}; break;
		case Z3_OP_NOT: in = {LNOT, arg(0), 0, 0, 0}; break;
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
		}
		}
		reg_of[e.id()] = uint32_t(p.code_.size());
		p.code_.push_back(in);
	}
	p.regs_.resize(p.code_.size());
	return p;
}

uint64_t Program::eval(const uint64_t *slots) const
{
	uint64_t *r = regs_.data();
	for (size_t i = 0; i < code_.size(); i++) {
		const Insn &in = code_[i];
		uint64_t a = r[in.a], b = r[in.b];
		switch (in.op) {
		case CONST: r[i] = in.imm; break;
		case SLOT: r[i] = slots[in.a]; break;
		case ADD: r[i] = a + b; break;
		case SUB: r[i] = a - b; break;
		case MUL: r[i] = a * b; break;
		case AND: r[i] = a & b; break;
		case OR: r[i] = a | b; break;
		case UREM: r[i] = b ? a % b : a; break;	     // SMT-LIB: bvurem x 0 = x
		case UDIV: r[i] = b ? a / b : ~0ULL; break;   // SMT-LIB: bvudiv x 0 = all ones
		case EQ: r[i] = a == b; break;
		case NE: r[i] = a != b; break;
		case ULT: r[i] = a < b; break;
		case ULE: r[i] = a <= b; break;
		case UGT: r[i] = a > b; break;
		case UGE: r[i] = a >= b; break;
		case LAND: r[i] = a && b; break;
		case LOR: r[i] = a || b; break;
		case LNOT: r[i] = !a; break;
		case IMPLIES: r[i] = !a || b; break;
		case ITE: r[i] = a ? b : r[in.c]; break;
		case XOR: r[i] = (a != 0) != (b != 0); break;
		}
	}
	return r[code_.size() - 1];
}

bool Program::reads_slot_at_or_above(unsigned first) const
{
	for (unsigned s : slots_read_)
		if (s >= first)
			return true;
	return false;
}

} // namespace untorn::spec
