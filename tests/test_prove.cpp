// untorn prove / diff (issue 5).  First the ground they stand on: impl
// compiled over the concolic value type must be the same program as the
// concrete impl -- same decisions, same facts -- on every generated layout.
// Then the prover and the differ on bounds small enough for CI.
#include "facts.h"
#include "generate.h"
#include "smt.h"
#include "sym/bridge.h"
#include "untorn/model.h"
#include "untorn/prove.h"

#include <catch2/catch.hpp>

using namespace untorn;
using namespace untorn_concolic;

namespace
{

In sym(const std::string &name, uint64_t v)
{
	return In{smt::ctx().bv_const(name.c_str(), 64), v};
}

// The case with every number a variable set to its concrete value.
InCase symbolic_copy(const Case &c)
{
	InCase s;
	s.variant = unsigned(c.variant);
	const auto &g = c.state.geo;
	s.block_size = In{std::nullopt, g.block_size};
	s.ag_blocks = sym("agb", g.ag_blocks);
	s.ag_count = sym("agc", g.ag_count);
	s.cowextsize = sym("cowext", g.cowextsize);
	s.max_atomic_ioend = sym("ioend", g.max_atomic_ioend);
	s.awu_min = sym("amin", c.state.dev.awu_min);
	s.awu_max = sym("amax", c.state.dev.awu_max);
	s.reflink = g.reflink;
	int n = 0;
	auto ext = [&](const xfs_bmbt_irec &e) {
		std::string k = "e" + std::to_string(n++);
		return InExtent{sym(k + "o", e.br_startoff), sym(k + "b", e.br_startblock),
		                sym(k + "l", e.br_blockcount), sym(k + "s", e.br_state)};
	};
	for (const auto &e : c.state.data_fork)
		s.data.push_back(ext(e));
	for (const auto &e : c.state.cow_fork)
		s.cow.push_back(ext(e));
	for (const auto &r : c.state.refcount) {
		std::string k = "r" + std::to_string(n++);
		s.refcount.push_back({sym(k + "b", r.rc_startblock), sym(k + "l", r.rc_blockcount),
		                      sym(k + "c", r.rc_refcount)});
	}
	for (const auto &a : c.state.alloc) {
		std::string k = "a" + std::to_string(n++);
		s.alloc.push_back({sym(k + "b", a.startblock), sym(k + "l", a.blockcount)});
	}
	s.offset = sym("pos", c.write.offset);
	s.length = sym("len", c.write.length);
	return s;
}

} // namespace

TEST_CASE("concolic impl: same decisions and facts as the concrete impl, and its path holds",
          "[prove][concolic]")
{
	unsigned checked = 0;
	for (Variant v : all_variants)
		for (uint64_t i = 0; i < 150; i++) {
			Case c = generate_layout(7, i, v);
			if (c.state.alloc_policy != AllocPolicy::default_policy ||
			    !validate_state(c.state, c.write).empty())
				continue;
			c.state.alloc_policy = AllocPolicy::script_only; // the prover's allocator
			InCase s = symbolic_copy(c);
			RunOut r = run_symbolic(s);
			Trace t = run_atomic_write(c.state, c.write, v);
			INFO(variant_name(v) << " layout " << i);
			CHECK(r.branches == decision_signature(t));
			CHECK(r.result == t.result);
			CHECK(r.path == unsigned(t.path));
			spec::Facts f = spec::extract_facts(t);
			INFO("shape sym " << r.segs << "/" << r.bios << "/" << r.txns << "/"
			                  << r.calls << " concrete " << f.shape.key());
			REQUIRE(r.facts.size() == f.v.size());
			// every fact term, at the inputs' values, is the concrete fact
			z3::solver z(smt::ctx());
			for (auto *fork : {&s.data, &s.cow})
				for (auto &e : *fork)
					for (In *x :
					     {&e.startoff, &e.startblock, &e.blockcount, &e.state})
						z.add(*x->var == smt::ctx().bv_val(x->value, 64));
			for (auto &rc : s.refcount)
				for (In *x : {&rc.startblock, &rc.blockcount, &rc.refcount})
					z.add(*x->var == smt::ctx().bv_val(x->value, 64));
			for (auto &a : s.alloc)
				for (In *x : {&a.startblock, &a.blockcount})
					z.add(*x->var == smt::ctx().bv_val(x->value, 64));
			for (In *x : {&s.ag_blocks, &s.ag_count, &s.cowextsize, &s.max_atomic_ioend,
			              &s.awu_min, &s.awu_max, &s.offset, &s.length})
				z.add(*x->var == smt::ctx().bv_val(x->value, 64));
			REQUIRE(z.check() == z3::sat);
			z3::model m = z.get_model();
			for (size_t k = 0; k < f.v.size(); k++)
				CHECK(m.eval(r.facts[k], true).get_numeral_uint64() == f.v[k]);
			// and the recorded path condition holds there (it describes this run)
			for (const auto &cond : r.conds)
				CHECK(m.eval(cond, true).is_true());
			checked++;
		}
	CHECK(checked > 200);
}

namespace
{
// Bounds CI can afford: files with no extents (a few seconds each).  The
// growth with each bound is measured in docs/prove.md.
ProveBounds tiny(unsigned profile)
{
	ProveBounds b;
	b.data_extents = b.cow_extents = b.refcount = b.alloc = 0;
	b.geometries = {default_geometries().at(profile - 1)};
	return b;
}
} // namespace

TEST_CASE("prove: v6.18 keeps every invariant on files with no extents", "[prove]")
{
	ProveResult r = prove(Variant::v6_18, tiny(3));
	CHECK(r.divergences.empty());
	CHECK(r.inconclusive_reason.empty());
	CHECK(r.stats.paths > 100);      // every write length, reflink or not, each path once
	CHECK(r.stats.sweeps == 2 * 42); // reflink x (41 powers of two + the rest)
	for (const auto &ip : r.invariants) {
		INFO(ip.name);
		CHECK(ip.status == ProofStatus::proved);
	}
}

TEST_CASE("prove: a path budget that runs out is inconclusive, never proved", "[prove]")
{
	ProveBounds b = tiny(3);
	b.max_paths = 5;
	ProveResult r = prove(Variant::v6_18, b);
	CHECK_FALSE(r.inconclusive_reason.empty());
	for (const auto &ip : r.invariants)
		CHECK(ip.status == ProofStatus::inconclusive);
}

TEST_CASE(
    "diff: a variant is equivalent to itself; the RFC and v6.18 differ, on a witness that replays",
    "[prove][diff]")
{
	DiffResult same = diff(Variant::v6_18, Variant::v6_18, tiny(1));
	CHECK(same.status == DiffStatus::equivalent);
	CHECK(same.divergences.empty());
	DiffResult d = diff(Variant::rfc_v1, Variant::v6_18, tiny(1));
	CHECK(d.status == DiffStatus::different);
	REQUIRE(d.witness);
	CHECK(d.divergences.empty());
	CHECK(validate_state(d.witness->state, d.witness->write).empty());
	// the witness really tells them apart
	Trace a = run_atomic_write(d.witness->state, d.witness->write, Variant::rfc_v1);
	Trace b = run_atomic_write(d.witness->state, d.witness->write, Variant::v6_18);
	bool differs =
	    a.result != b.result || a.path != b.path || a.bytes_written != b.bytes_written ||
	    a.final_state.data_fork != b.final_state.data_fork ||
	    a.final_state.cow_fork != b.final_state.cow_fork ||
	    Spec(Engine::z3).judge(a).broken_names() != Spec(Engine::z3).judge(b).broken_names();
	CHECK(differs);
}
