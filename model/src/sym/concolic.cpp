// The concolic value type's out-of-line parts: recording decisions and the
// kernel's builtins (clz-based) as branch-free terms.
#include "concolic.h"

#include "bridge.h"

#include "../smt.h"

namespace untorn_concolic
{

z3::context &ctx()
{
	return untorn::smt::ctx();
}

Path *&current_path()
{
	thread_local Path *p = nullptr;
	return p;
}

bool &choose_decides()
{
	thread_local bool on = false;
	return on;
}

void record(const z3::expr &cond, bool taken)
{
	Path *p = current_path();
	if (!p || p->quiet)
		return;
	p->conds.push_back(taken ? cond : !cond);
}

namespace
{
// The highest set bit of n as a term: ite over the 64 positions.
z3::expr highbit_term(const z3::expr &n)
{
	z3::expr r = ctx().bv_val(0, 64);
	for (unsigned i = 1; i < 64; i++)
		r = z3::ite(z3::uge(n, ctx().bv_val(uint64_t(1) << i, 64)), ctx().bv_val(i, 64u),
		            r);
	return r;
}
} // namespace

Val rounddown_pow_of_two(const Val &n)
{
	uint64_t c = n.concrete() == 0 ? 0 : 1ULL << (63 - __builtin_clzll(n.concrete()));
	if (!n.is_symbolic())
		return c;
	z3::expr e = n.expr();
	z3::expr t =
	    z3::ite(e == 0, ctx().bv_val(0, 64), z3::shl(ctx().bv_val(1, 64), highbit_term(e)));
	return Val::symbolic(c, t.simplify());
}

Val max_pow_of_two_factor(const Val &n)
{
	return n & -n;
}

z3::expr ilog2_roundup_term(const z3::expr &e)
{
	return z3::ite(z3::ule(e, ctx().bv_val(1, 64)), ctx().bv_val(0, 64),
	               highbit_term(e - 1) + 1)
	    .simplify();
}

Val ilog2_roundup(const Val &n)
{
	uint64_t c = n.concrete() <= 1 ? 0 : 64 - __builtin_clzll(n.concrete() - 1);
	if (!n.is_symbolic())
		return c;
	return Val::symbolic(c, ilog2_roundup_term(n.expr()));
}

std::pair<z3::expr, bool> literal(z3::expr e)
{
	bool pos = true;
	while (e.is_app() && e.decl().decl_kind() == Z3_OP_NOT) {
		e = e.arg(0);
		pos = !pos;
	}
	return {e, pos};
}

std::string path_outcomes(const std::vector<z3::expr> &conds)
{
	std::string s;
	for (const auto &c : conds)
		s += literal(c).second ? '1' : '0';
	return s;
}

uint64_t to_count(const Val &v)
{
	if (v.is_symbolic())
		record(v.expr() == ctx().bv_val(v.concrete(), 64), true);
	return v.concrete();
}

} // namespace untorn_concolic
