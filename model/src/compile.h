// A Z3 term (bit-vectors of 64 bits and booleans) compiled once into flat,
// register-based code that evaluates on concrete values -- the same formula,
// no second hand-written copy.  Booleans are 0/1.
//
// A boolean term whose root is a conjunction is compiled conjunct by
// conjunct and evaluated with early exit (the value is the same).  Each
// conjunct's instructions are ordered so that those not depending on the
// searched slots (the crash choices) come first: prepare() runs them once,
// eval_dependent() reruns only the rest for each crash choice.
#pragma once

#include <z3++.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace untorn::spec {

class Program {
public:
	// Slot i is the variable slot_vars[i]; slots at or above `search_first`
	// are the searched ones.
	static Program compile(const z3::expr &e, const std::vector<z3::expr> &slot_vars, unsigned search_first);
	uint64_t eval(const uint64_t *slots) const; // full evaluation
	bool reads_searched_slots() const;
	// Search protocol: if prepare() returns false the term is false for every
	// value of the searched slots; otherwise eval_dependent() decides each.
	bool prepare(const uint64_t *slots) const;
	bool eval_dependent(const uint64_t *slots) const;
	size_t size() const;

private:
	enum Op : uint8_t { ADD, SUB, MUL, AND, OR, UREM, UDIV, EQ, NE, ULT, ULE, UGT, UGE, LAND, LOR, LNOT, IMPLIES, ITE, XOR };
	struct Insn {
		Op op;
		uint32_t a, b, c; // operand registers (0 when unused)
	};
	// Registers: [constants | gathered slots | one per instruction].
	// Constants are set once at compile time; slots are copied in by a tight
	// loop; only real operations are dispatched.
	struct Code {
		std::vector<Insn> insns;
		std::vector<uint32_t> gather;	 // slot for each gathered register
		uint32_t n_const = 0;		 // registers [0, n_const) are constants
		size_t n_gather_independent = 0; // gathered slots that are not searched
		size_t n_independent = 0;	 // insns [0, n) do not depend on searched slots
		uint32_t result_reg = 0;
		mutable std::vector<uint64_t> regs;
		void gather_slots(size_t from, size_t to, const uint64_t *slots) const;
		void run(size_t from, size_t to) const;
		uint64_t result() const { return regs[result_reg]; }
		bool all_independent() const { return n_independent == insns.size() && n_gather_independent == gather.size(); }
		void run_independent(const uint64_t *slots) const;
		void run_dependent(const uint64_t *slots) const;
	};
	static Code compile_one(const z3::expr &e, const std::unordered_map<unsigned, unsigned> &slot_of,
				unsigned search_first);
	std::vector<Code> conjuncts_;
};

} // namespace untorn::spec
