// untorn prove / diff.  First the ground they stand on: impl
// compiled over the concolic value type must be the same program as the
// concrete impl -- same decisions, same facts -- on every generated layout.
// Then the prover and the differ on bounds small enough for CI.
#include "facts.h"
#include "generate.h"
#include "sample.h"
#include "smt.h"
#include "sym/bridge.h"
#include "untorn/model.h"
#include "untorn/prove.h"

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <random>
#include <set>

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
	Spec judge;
	const unsigned per_variant = untorn_test::sample(100);
	for (Variant v : all_variants)
		for (uint64_t i = 0; i < per_variant; i++) {
			Case c = generate_layout(7, i, v);
			if (c.state.alloc_policy != AllocPolicy::default_policy ||
			    !validate_state(c.state, c.write).empty())
				continue;
			// the prover's bounds' size (its merged facts grow with the
			// square of the extents: larger files cost seconds each here)
			if (c.state.data_fork.size() > 4 || c.state.cow_fork.size() > 2)
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
			// every fact term, at the inputs' values (the symbolic facts may
			// cut [o, E) into more, unsorted segments, some empty: the same
			// blocks, judged the same)
			z3::solver z(smt::ctx());
			for_each_input(s, [&](In &x) {
				if (x.var)
					z.add(*x.var == smt::ctx().bv_val(x.value, 64));
			});
			REQUIRE(z.check() == z3::sat);
			z3::model m = z.get_model();
			spec::Facts at;
			at.shape = {r.segs, r.bios, r.txns, r.calls, r.atomic_mask};
			for (const auto &term : r.facts)
				at.v.push_back(m.eval(term, true).get_numeral_uint64());
			REQUIRE(at.v.size() == at.shape.fact_count());
			REQUIRE(r.bios == f.shape.bios);
			REQUIRE(r.calls == f.shape.calls);
			REQUIRE(r.txns == f.shape.txns);
			for (unsigned k = 0; k < spec::G_COUNT; k++)
				CHECK(at.v[k] == f.v[k]);
			for (unsigned b = 0; b < r.bios; b++)
				for (unsigned k = 0; k < spec::B_FIELDS; k++)
					CHECK(at.v[at.shape.bio(b, spec::BioField(k))] ==
					      f.v[f.shape.bio(b, spec::BioField(k))]);
			for (unsigned c = 0; c < r.calls; c++)
				for (unsigned k = 0; k < spec::C_FIELDS; k++)
					CHECK(at.v[at.shape.call(c, spec::CallField(k))] ==
					      f.v[f.shape.call(c, spec::CallField(k))]);
			uint64_t covered = 0;
			for (unsigned g = 0; g < r.segs; g++)
				covered += at.v[at.shape.seg_len(g)];
			CHECK(covered == f.v[spec::G_E] - f.v[spec::G_O]);
			CHECK(judge.judge_facts(at).broken_names() ==
			      judge.judge(t).broken_names());
			// and the recorded path condition holds there (it describes this run)
			for (const auto &cond : r.conds)
				CHECK(m.eval(cond, true).is_true());
			checked++;
		}
	INFO("checked " << checked);
	// two thirds of the layouts tried (per_variant for each of 3 variants)
	// are within the bounds
	CHECK(checked > 2 * per_variant);
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
	CHECK(r.stats.paths > 10);      // reflink or not, every write length, each path once
	CHECK(r.stats.sweeps == 2 * 2); // reflink x (a power of two, any other length)
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

namespace
{
// A concrete write on a file with at most `extents` data extents under one
// geometry profile: random reflink, ioend cap, extent and write (mostly a
// power of two, often aligned, near the extent), for the completeness checks
// below.
std::pair<FileState, WriteReq> random_file(const GeometryProfile &g, unsigned extents,
                                           std::mt19937_64 &rng)
{
	FileState st;
	st.geo.block_size = g.block_size;
	st.geo.ag_blocks = g.ag_blocks;
	st.geo.ag_count = g.ag_count;
	st.geo.cowextsize = g.cowextsize;
	st.dev.awu_min = g.awu_min;
	st.dev.awu_max = g.awu_max;
	st.geo.reflink = rng() & 1;
	const uint32_t caps[] = {1, 2, 4, 8, 16, 64, 1024};
	st.geo.max_atomic_ioend = caps[rng() % std::size(caps)] * g.block_size / (rng() % 3 + 1);
	st.alloc_policy = AllocPolicy::script_only;
	uint64_t len = uint64_t(1) << (rng() % 21);
	if (rng() % 8 == 0)
		len += rng() % 4096 + 1;
	uint64_t pos = len * (rng() % 64);
	if (len < 64 * g.block_size && rng() % 2)
		pos = len * (rng() % (64 * g.block_size / len)); // within the first 64 blocks
	if (rng() % 4 == 0)
		pos += (rng() % 8) * 512;
	if (extents && rng() % 4) {
		xfs_bmbt_irec e;
		e.br_startoff = rng() % 48;
		e.br_blockcount = rng() % 24 + 1;
		uint64_t agbno = rng() % (g.ag_blocks - e.br_blockcount) + 1;
		if (rng() % 2) // often aligned on disk as in the file, for the hardware path
			agbno = (agbno & ~uint64_t(15)) + (e.br_startoff & 15) + 16;
		uint64_t agblklog = 0;
		while ((uint64_t(1) << agblklog) < g.ag_blocks)
			agblklog++;
		e.br_startblock = ((rng() % g.ag_count) << agblklog) + agbno;
		e.br_state = rng() % 2 ? XFS_EXT_UNWRITTEN : XFS_EXT_NORM;
		st.data_fork.push_back(e);
	}
	return {st, {pos, len}};
}
// The path the prover's run takes on these values: the case built as the
// prover builds its sweeps (geometry pinned, every other number a variable,
// the length known to be a power of two or not), run at these values.
std::string prover_path(const FileState &st, const WriteReq &w, Variant v)
{
	Case c;
	c.variant = v;
	c.state = st;
	c.write = w;
	InCase s = symbolic_copy(c);
	for (In *x : {&s.ag_blocks, &s.ag_count, &s.cowextsize, &s.awu_min, &s.awu_max})
		x->var.reset();
	s.length_pow2 = w.length && !(w.length & (w.length - 1));
	s.inode_dax = st.env.inode_dax;
	s.iter_flags = st.env.iter_flags;
	return path_outcomes(run_symbolic(s).conds);
}
} // namespace

TEST_CASE("prove: every path a concrete layout takes was explored (nothing feasible is pruned)",
          "[prove]")
{
	// The explorer skips a branch when a cached unsat core refutes it; a wrong
	// skip would leave a feasible path unexplored -- and a concrete run
	// taking it would show that here.
	for (Variant v : all_variants)
		for (unsigned profile : {1u, 4u}) {
			ProveBounds b = tiny(profile);
			b.record_paths = true;
			b.jobs = 2;
			ProveResult r = prove(v, b);
			REQUIRE(r.inconclusive_reason.empty());
			std::set<std::string> explored(r.paths.begin(), r.paths.end());
			// (sweeps -- reflink or not, length a power of two or not -- are
			// different programs, whose paths may spell alike)
			CHECK(explored.size() <= r.stats.paths);
			std::mt19937_64 rng(profile);
			std::set<std::string> reached;
			for (unsigned i = 0; i < untorn_test::sample(2000); i++) {
				auto [st, w] =
				    random_file(default_geometries()[profile - 1], 0, rng);
				if (!validate_state(st, w).empty())
					continue;
				std::string sig = prover_path(st, w, v);
				INFO(variant_name(v)
				     << " profile " << profile << " write " << w.offset << "+"
				     << w.length << " ioend " << st.geo.max_atomic_ioend);
				CHECK(explored.count(sig) == 1);
				reached.insert(sig);
			}
			CHECK(reached.size() >= 5); // the sample is not one path over and over
		}
}

TEST_CASE("prove: with one extent too, every path a concrete layout takes was explored", "[prove]")
{
	// One data extent: where decisions are re-tested in other forms and the
	// refutation cache does most of its work.  (A cache that refutes by the
	// literal alone, ignoring its core, loses paths: the no-extent test
	// above catches it.)
	ProveBounds b = tiny(3);
	b.data_extents = 1;
	b.record_paths = true;
	b.jobs = 2;
	ProveResult r = prove(Variant::v6_18, b);
	REQUIRE(r.inconclusive_reason.empty());
	std::set<std::string> explored(r.paths.begin(), r.paths.end());
	std::mt19937_64 rng(11);
	std::set<std::string> reached;
	unsigned valid = 0;
	const unsigned tries = untorn_test::sample(20000);
	for (unsigned i = 0; i < tries; i++) {
		auto [st, w] = random_file(default_geometries()[2], 1, rng);
		if (!validate_state(st, w).empty())
			continue;
		valid++;
		std::string sig = prover_path(st, w, Variant::v6_18);
		INFO("write " << w.offset << "+" << w.length << " extents " << st.data_fork.size()
		              << " ioend " << st.geo.max_atomic_ioend);
		CHECK(explored.count(sig) == 1);
		reached.insert(sig);
	}
	CHECK(valid > tries / 4);
	INFO("explored " << explored.size());
	CHECK(reached.size() * 4 >= explored.size() * 3); // (16 of 19: the sample is varied)
}

TEST_CASE("prove: splitting every path on the cases of its facts changes no verdict", "[prove]")
{
	// A budget of 1 splits every path whose facts have a case (as the
	// facts deciding would: the engine before merged facts).
	for (auto [profile, v] : {std::pair{1u, Variant::v6_16}, std::pair{1u, Variant::rfc_v1},
	                          std::pair{3u, Variant::v6_18}}) {
		ProveBounds merged = tiny(profile), split = tiny(profile);
		merged.data_extents = split.data_extents = 0;
		merged.record_paths = split.record_paths = true;
		merged.jobs = split.jobs = 2;
		split.merged_judgement_rlimit = 1;
		INFO(variant_name(v) << " profile " << profile);
		ProveResult m = prove(v, merged), s = prove(v, split);
		REQUIRE(m.inconclusive_reason.empty());
		REQUIRE(s.inconclusive_reason.empty());
		CHECK(m.stats.split_paths == 0); // (no path is over the default budget here)
		CHECK(s.stats.split_paths > 0);  // it did split,
		CHECK(s.stats.fact_cases >= s.stats.split_paths); // each into its cases,
		CHECK(s.stats.paths == m.stats.paths);            // below the same impl paths
		CHECK(s.paths == m.paths);
		for (size_t i = 0; i < m.invariants.size(); i++)
			CHECK(m.invariants[i].status == s.invariants[i].status);
		CHECK(s.divergences.empty());
	}
}

TEST_CASE("prove and diff: the same answer and figures for any number of jobs", "[prove][diff]")
{
	ProveBounds one = tiny(1), two = tiny(1);
	one.record_paths = two.record_paths = true;
	one.jobs = 1;
	two.jobs = 2;
	ProveResult p1 = prove(Variant::v6_16, one), p2 = prove(Variant::v6_16, two);
	CHECK(p1.paths == p2.paths);
	CHECK(p1.stats.paths == p2.stats.paths);
	CHECK(p1.stats.decisions == p2.stats.decisions);
	CHECK(p1.stats.judgements == p2.stats.judgements);
	for (size_t i = 0; i < p1.invariants.size(); i++)
		CHECK(p1.invariants[i].status == p2.invariants[i].status);

	DiffResult d1 = diff(Variant::rfc_v1, Variant::v6_18, one);
	DiffResult d2 = diff(Variant::rfc_v1, Variant::v6_18, two);
	REQUIRE(d1.status == DiffStatus::different);
	REQUIRE(d2.status == DiffStatus::different);
	CHECK(d1.what == d2.what);
	CHECK(d1.stats.sweeps == d2.stats.sweeps);
	CHECK(d1.stats.paths == d2.stats.paths);
	CHECK(d1.stats.judgements == d2.stats.judgements);
	REQUIRE(d1.witness);
	REQUIRE(d2.witness);
	CHECK(d1.witness->write.offset == d2.witness->write.offset);
	CHECK(d1.witness->write.length == d2.witness->write.length);
	CHECK(d1.witness->state.geo.max_atomic_ioend == d2.witness->state.geo.max_atomic_ioend);
	CHECK(d1.witness->state.geo.reflink == d2.witness->state.geo.reflink);
}

TEST_CASE("prove: the progress callback counts every sweep and path, and changes nothing",
          "[prove]")
{
	ProveBounds quiet = tiny(3), watched = tiny(3);
	quiet.jobs = watched.jobs = 2;
	quiet.record_paths = watched.record_paths = true;
	std::vector<std::array<uint64_t, 4>> calls; // done, total, paths, fact cases
	watched.on_progress = [&](size_t done, size_t total, uint64_t paths, uint64_t cases) {
		calls.push_back({done, total, paths, cases});
	};
	ProveResult q = prove(Variant::v6_18, quiet), w = prove(Variant::v6_18, watched);
	REQUIRE(!calls.empty());
	for (size_t i = 1; i < calls.size(); i++) {
		CHECK(calls[i][0] >= calls[i - 1][0]);
		CHECK(calls[i][2] >= calls[i - 1][2]);
		CHECK(calls[i][3] >= calls[i - 1][3]);
	}
	CHECK(calls.back()[0] == w.stats.sweeps);
	CHECK(calls.back()[1] == w.stats.sweeps);
	CHECK(calls.back()[2] == w.stats.paths);
	CHECK(calls.back()[3] == w.stats.fact_cases);
	CHECK(w.paths == q.paths);
	CHECK(w.stats.paths == q.stats.paths);
	CHECK(w.stats.decisions == q.stats.decisions);
	for (size_t i = 0; i < q.invariants.size(); i++)
		CHECK(w.invariants[i].status == q.invariants[i].status);
}

TEST_CASE("prove and diff: a stop request ends them inconclusive, never proved or equivalent",
          "[prove][diff]")
{
	// as a SIGINT does (ProveBounds::stop): here set from the progress
	// callback as the sixth path starts, so mid-sweep, with queries under way
	ProveBounds full = tiny(1), stopped = tiny(1);
	full.jobs = stopped.jobs = 2;
	std::atomic<bool> stop{false};
	stopped.stop = &stop;
	stopped.on_progress = [&](size_t, size_t, uint64_t paths, uint64_t) {
		if (paths >= 6)
			stop = true;
	};
	ProveResult all = prove(Variant::v6_18, full), cut = prove(Variant::v6_18, stopped);
	REQUIRE(all.inconclusive_reason.empty());
	CHECK(cut.inconclusive_reason.rfind("interrupted, with ", 0) == 0);
	CHECK(cut.stats.paths < all.stats.paths);
	for (const auto &ip : cut.invariants) {
		CHECK(ip.status == ProofStatus::inconclusive);
		CHECK(ip.smt2.empty()); // an interrupted query is not one the solver left undecided
	}
	CHECK(cut.divergences.empty());

	// asked as the fifth sweep's first path starts (one job): the report
	// counts the four sweeps explored to the end, not the one under way.
	// Sweeps run smallest first: the four with no extents (reflink or not,
	// the length a power of two or not) come before the four with one, so
	// the answer is complete for the layouts with none.
	ProveBounds one = tiny(3);
	one.data_extents = 1;
	one.jobs = 1;
	std::atomic<bool> stop_one{false};
	one.stop = &stop_one;
	uint64_t paths_by_four = UINT64_MAX;
	one.on_progress = [&](size_t done, size_t, uint64_t paths, uint64_t) {
		if (done == 4 && paths_by_four == UINT64_MAX)
			paths_by_four = paths;
		if (paths > paths_by_four)
			stop_one = true;
	};
	ProveResult after_four = prove(Variant::v6_18, one);
	CHECK(after_four.inconclusive_reason ==
	      "interrupted, with 4 of 8 sweeps finished; complete up to 0 extents, shared ranges "
	      "and allocator answers in all");
	CHECK(after_four.complete_up_to == std::optional<unsigned>(0));
	CHECK(after_four.stats.sweeps == 5); // (the fifth ran, and was cut short)
	for (const auto &ip : after_four.invariants)
		CHECK(ip.status == ProofStatus::inconclusive);
	one.stop = nullptr;
	ProveResult whole = prove(Variant::v6_18, one);
	CHECK(whole.inconclusive_reason.empty());
	CHECK(whole.complete_up_to == std::optional<unsigned>(1));

	// asked before it starts: nothing runs
	ProveBounds before = tiny(1);
	before.stop = &stop;
	ProveResult none = prove(Variant::v6_18, before);
	CHECK(none.stats.sweeps == 0);
	CHECK(none.inconclusive_reason.find(" 0 of ") != std::string::npos);
	CHECK(!none.complete_up_to);
	DiffResult d = diff(Variant::v6_16, Variant::v6_18, before);
	CHECK(d.status == DiffStatus::inconclusive);
	CHECK(d.inconclusive_reason.rfind("interrupted, with ", 0) == 0);
}

TEST_CASE("prove and diff: a time limit ends them as a stop does, and says so", "[prove][diff]")
{
	// (a deadline already past: nothing runs, whatever the machine's speed)
	ProveBounds late = tiny(3);
	late.deadline = std::chrono::steady_clock::now();
	ProveResult p = prove(Variant::v6_18, late);
	CHECK(p.inconclusive_reason ==
	      "time limit reached, with 0 of 4 sweeps finished; not complete for any size");
	CHECK(p.stats.sweeps == 0);
	CHECK(!p.complete_up_to);
	CHECK(p.complete_at.empty()); // no size settled, no time to say
	for (const auto &ip : p.invariants)
		CHECK(ip.status == ProofStatus::inconclusive);
	DiffResult d = diff(Variant::v6_16, Variant::v6_18, late);
	CHECK(d.status == DiffStatus::inconclusive);
	CHECK(d.inconclusive_reason.rfind("time limit reached, with 0 of 4 sweeps finished", 0) ==
	      0);

	// a deadline far away changes nothing
	ProveBounds far = tiny(3);
	far.deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
	ProveResult q = prove(Variant::v6_18, far), r = prove(Variant::v6_18, tiny(3));
	CHECK(q.inconclusive_reason.empty());
	CHECK(q.complete_up_to == std::optional<unsigned>(0));
	// when each size was settled: one time per size, within the run
	REQUIRE(q.complete_at.size() == 1);
	CHECK(q.complete_at[0] > 0);
	CHECK(q.complete_at[0] <= q.stats.seconds);
	CHECK(q.stats.paths == r.stats.paths);
	for (size_t i = 0; i < q.invariants.size(); i++)
		CHECK(q.invariants[i].status == ProofStatus::proved);
}
