// The invariants' symbolic view of a trace, and the catalogue.
#pragma once

#include "facts.h"
#include "smt.h"
#include "untorn/model.h"

#include <vector>

namespace untorn::spec {

// Z3 variables for every fact and crash choice of one shape.
class Sym {
public:
	explicit Sym(const Shape &sh) : sh_(sh)
	{
		for (unsigned i = 0; i < sh.slot_count(); i++)
			vars_.push_back(smt::Expr::var(slot_name(sh, i)));
	}
	const Shape &shape() const { return sh_; }
	const smt::Expr &slot(unsigned i) const { return vars_[i]; }
	const smt::Expr &g(Global x) const { return vars_[x]; }
	const smt::Expr &seg_len(unsigned s) const { return vars_[sh_.seg_len(s)]; }
	const smt::Expr &seg(unsigned s, unsigned k, SegField f) const { return vars_[sh_.seg(s, k, f)]; }
	const smt::Expr &bio(unsigned b, BioField f) const { return vars_[sh_.bio(b, f)]; }
	const smt::Expr &call(unsigned c, CallField f) const { return vars_[sh_.call(c, f)]; }
	const smt::Expr &crash_k() const { return vars_[sh_.crash_k()]; }
	bool atomic_bit_exists(unsigned b) const { return b < 64 && (sh_.atomic_mask >> b) & 1; }
	const smt::Expr &crash_atomic(unsigned b) const { return vars_[sh_.crash_atomic(b)]; }

private:
	Shape sh_;
	std::vector<smt::Expr> vars_;
};

struct Invariant {
	InvariantInfo info;
	smt::Expr (*broken)(const Sym &);
};
const std::vector<Invariant> &invariants();

// The crash choice in `slots` (crash_k, one bit per REQ_ATOMIC bio), as
// judgements and proofs report it.
Witness crash_witness(const Shape &sh, const uint64_t *slots);

} // namespace untorn::spec
