// One run of impl's logic over concolic values (this file is compiled with
// -Duntorn=untorn_sym, like the impl sources it calls): builds the case from
// the prover's inputs, runs the variant, measures the facts, and hands back
// the decisions taken, the facts and the outcome as Z3 terms.
#include "bridge.h"

#include "facts.h"
#include "untorn/impl.h"

namespace untorn_concolic
{

namespace
{

using untorn::u64;

u64 value_of(const In &in)
{
	return in.var ? Val::symbolic(in.value, *in.var) : Val(in.value);
}
u64 pow2_or_zero(const In &in)
{
	return in.var ? Val::symbolic_pow2_or_zero(in.value, *in.var) : Val(in.value);
}

void add_fork(RunOut &o, const std::vector<untorn::xfs_bmbt_irec> &f)
{
	o.outcome_shape += std::to_string(f.size()) + " ";
	for (const auto &e : f)
		for (const u64 *x :
		     {&e.br_startoff, &e.br_startblock, &e.br_blockcount, &e.br_state})
			o.outcome.push_back(x->expr());
}

} // namespace

RunOut run_symbolic(const InCase &c, bool split_facts)
{
	Path path;
	untorn_scopes::Recording<Path, current_path> recording(path);

	untorn::FileState st = file_state<untorn::FileState>(c, value_of, pow2_or_zero);
	untorn::WriteReq w{value_of(c.offset),
	                   c.length_pow2 ? pow2_or_zero(c.length) : value_of(c.length)};
	untorn::Trace t = untorn::run_atomic_write(st, w, untorn::Variant(c.variant));
	struct Deciding {
		explicit Deciding(bool on) { choose_decides() = on; }
		~Deciding() { choose_decides() = false; }
	} deciding(split_facts);
	untorn::spec::Facts f = untorn::spec::extract_facts(t);

	RunOut o;
	o.segs = f.shape.segs;
	o.bios = f.shape.bios;
	o.txns = f.shape.txns;
	o.calls = f.shape.calls;
	o.atomic_mask = f.shape.atomic_mask;
	for (const auto &v : f.v)
		o.facts.push_back(v.expr());
	o.result = t.result;
	o.path = unsigned(t.path);
	o.admitted = t.admitted;
	o.outcome.push_back(t.bytes_written.expr());
	add_fork(o, t.final_state.data_fork);
	add_fork(o, t.final_state.cow_fork);
	o.outcome_shape += std::to_string(t.final_state.refcount.size());
	for (const auto &r : t.final_state.refcount)
		for (const u64 *x : {&r.rc_startblock, &r.rc_blockcount, &r.rc_refcount})
			o.outcome.push_back(x->expr());
	o.branches = untorn::decision_signature(t);
	o.conds = std::move(path.conds);
	return o;
}

} // namespace untorn_concolic
