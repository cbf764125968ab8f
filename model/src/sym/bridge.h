// The bridge between the prover (model/src/prove.cpp, ordinary namespace
// untorn) and impl's logic compiled over the concolic value type (namespace
// untorn_sym, see model/CMakeLists.txt).  It speaks only plain structs and
// Z3 terms, so both sides can include it.
#pragma once

#include <z3++.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace untorn_concolic
{

// One number of the case: its Z3 variable when the prover leaves it free,
// and its value on this run (a model of the path condition).
struct In {
	std::optional<z3::expr> var;
	uint64_t value = 0;
};

struct InExtent {
	In startoff, startblock, blockcount, state;
};
struct InRefcount {
	In startblock, blockcount, refcount;
};
struct InAlloc {
	In startblock, blockcount;
};

// A case whose shape (how many extents of each kind) is fixed and whose
// numbers may be symbolic.
struct InCase {
	unsigned variant = 0; // index into untorn::all_variants
	In block_size, ag_blocks, ag_count, cowextsize, max_atomic_ioend, awu_min, awu_max;
	bool reflink = false;
	bool inode_dax = false;
	unsigned iter_flags = 1u << 4; // IterEnv::iter_flags: IOMAP_DIRECT and/or IOMAP_DAX
	std::vector<InExtent> data, cow;
	std::vector<InRefcount> refcount;
	std::vector<InAlloc> alloc;
	In offset, length;
	bool length_pow2 = false; // length is symbolic and a power of two
};

// What one run under the concolic type yields.
struct RunOut {
	std::vector<z3::expr> conds; // the path condition, one decision each
	// The facts' shape and values (model/src/facts.h), as terms.
	unsigned segs = 0, bios = 0, txns = 0, calls = 0;
	uint64_t atomic_mask = 0;
	std::vector<z3::expr> facts;
	// What a reader of the write sees, for `untorn diff`.
	int result = 0;
	unsigned path = 0;
	bool admitted = false;
	std::vector<z3::expr> outcome; // bytes written, final data/CoW fork and refcounts as terms
	std::string outcome_shape;     // their structure (extent counts), concrete
	std::string branches;          // every decision, "func:line:taken;" (concrete)
};

// impl's FileState for a case -- the concrete one (a counterexample) or the
// concolic one (a run): both have the same fields, by the same names.
// `value` gives a number in the target's type; `unit` gives a device atomic
// write unit (0 or a power of two, which the concolic type can exploit).
template <class State, class Value, class Unit>
State file_state(const InCase &c, Value value, Unit unit)
{
	State st;
	st.geo.block_size = value(c.block_size);
	st.geo.ag_blocks = value(c.ag_blocks);
	st.geo.ag_count = value(c.ag_count);
	st.geo.reflink = c.reflink;
	st.geo.cowextsize = value(c.cowextsize);
	st.geo.max_atomic_ioend = value(c.max_atomic_ioend);
	st.dev.awu_min = unit(c.awu_min);
	st.dev.awu_max = unit(c.awu_max);
	for (auto [from, to] : {std::pair{&c.data, &st.data_fork}, std::pair{&c.cow, &st.cow_fork}})
		for (const InExtent &e : *from) {
			auto &x = to->emplace_back();
			x.br_startoff = value(e.startoff);
			x.br_startblock = value(e.startblock);
			x.br_blockcount = value(e.blockcount);
			x.br_state = decltype(x.br_state)(value(e.state));
		}
	for (const InRefcount &r : c.refcount) {
		auto &x = st.refcount.emplace_back();
		x.rc_startblock = value(r.startblock);
		x.rc_blockcount = value(r.blockcount);
		x.rc_refcount = value(r.refcount);
	}
	for (const InAlloc &a : c.alloc) {
		auto &x = st.alloc.emplace_back();
		x.startblock = value(a.startblock);
		x.blockcount = value(a.blockcount);
	}
	st.alloc_policy = decltype(st.alloc_policy)::script_only; // the prover's allocator
	st.env.inode_dax = c.inode_dax;
	st.env.iter_flags = c.iter_flags;
	return st;
}

// `split_facts`: the facts' choose() decide (one path per case of the
// measurement) instead of building ite terms.
RunOut run_symbolic(const InCase &c, bool split_facts = false);

// A decision as (core term, polarity): NOTs stripped, so that a decision and
// its negation taken on another run compare equal up to polarity.
std::pair<z3::expr, bool> literal(z3::expr e);

// A path as the outcome of each of its decisions, in order: '1' where the
// decision's literal() is positive, '0' where it is negated.  Two runs of
// the same inputs' structure take the same path iff their strings are equal.
std::string path_outcomes(const std::vector<z3::expr> &conds);

// ceil(log2(n)) as a term, exactly as ilog2_roundup() computes sb_agblklog.
z3::expr ilog2_roundup_term(const z3::expr &n);

// Every number of a case, in a fixed order (the order of variables, of
// models' values, and of what a counterexample carries).
template <class F> void for_each_input(InCase &c, F f)
{
	for (In *x : {&c.ag_blocks, &c.ag_count, &c.cowextsize, &c.max_atomic_ioend, &c.awu_min,
	              &c.awu_max})
		f(*x);
	for (auto *fork : {&c.data, &c.cow})
		for (auto &e : *fork)
			for (In *x : {&e.startoff, &e.startblock, &e.blockcount, &e.state})
				f(*x);
	for (auto &r : c.refcount)
		for (In *x : {&r.startblock, &r.blockcount, &r.refcount})
			f(*x);
	for (auto &a : c.alloc)
		for (In *x : {&a.startblock, &a.blockcount})
			f(*x);
	f(c.offset);
	f(c.length);
}

} // namespace untorn_concolic
