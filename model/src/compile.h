// A Z3 term (bit-vectors of 64 bits and booleans) compiled once into a flat,
// register-based program that evaluates on concrete values -- the same
// formula, no second hand-written copy.  Booleans are 0/1.
#pragma once

#include <z3++.h>

#include <cstdint>
#include <string>
#include <vector>

namespace untorn::spec {

class Program {
public:
	// `slot_of` maps a variable's name to its input slot.
	static Program compile(const z3::expr &e, const std::vector<std::string> &slot_names);
	uint64_t eval(const uint64_t *slots) const;
	bool reads_slot_at_or_above(unsigned first) const; // e.g. does it depend on crash choices?
	size_t size() const { return code_.size(); }

private:
	enum Op : uint8_t {
		CONST, SLOT, ADD, SUB, MUL, AND, OR, UREM, UDIV, EQ, NE, ULT, ULE, UGT, UGE,
		LAND, LOR, LNOT, IMPLIES, ITE, XOR
	};
	struct Insn {
		Op op;
		uint32_t a, b, c; // operand registers (or slot for SLOT)
		uint64_t imm;
	};
	std::vector<Insn> code_;
	mutable std::vector<uint64_t> regs_;
	unsigned max_slot_ = 0;
	std::vector<unsigned> slots_read_;
};

} // namespace untorn::spec
