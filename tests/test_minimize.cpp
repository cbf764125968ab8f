// Tests of the counterexample minimizer (checker/src/minimize.cpp): known
// real findings, bloated deterministically with far-away extents, shared
// ranges, allocator answers and a larger geometry, must shrink back to a
// small, valid, 1-minimal case that breaks exactly the same invariants; the
// minimizer is deterministic, refuses clean cases and never touches its input.
#include "common/layout.h"
#include "minimize.h"
#include "untorn/checker.h"
#include "untorn/model.h"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

using namespace untorn;
using namespace untorn_test;

namespace {

struct Known {
	const char *label;
	Case c;
	std::vector<std::string> invariants; // sorted, as Judgement::broken_names()
	uint32_t bs_factor;		      // how much to grow the block size when bloating
};

// The three real findings, in their minimized forms (untorn check, seed 1).
std::vector<Known> known_findings()
{
	std::vector<Known> k;
	{
		Case c;
		c.name = "v6.16-outside-unchanged";
		c.variant = Variant::v6_16;
		c.state.geo = geometry(1024, 4, 1, true, 0);
		c.state.cow_fork = {ext(2, 1, 1)};
		c.write = {0, 1024};
		k.push_back({"v6.16 outside_unchanged+sw_mapping_contract", c, {"outside_unchanged", "sw_mapping_contract"}, 4});
	}
	{
		Case c;
		c.name = "v6.16-delalloc-eio";
		c.variant = Variant::v6_16;
		c.state.geo = geometry(1024, 2, 1, true, 0);
		c.state.cow_fork = {ext(0, DELAYSTARTBLOCK, 1)};
		c.write = {0, 1024};
		k.push_back({"v6.16 no_spurious_failure+sw_mapping_contract", c, {"no_spurious_failure", "sw_mapping_contract"}, 4});
	}
	{
		Case c;
		c.name = "rfc-v1-hw-mapping";
		c.variant = Variant::rfc_v1;
		c.state.geo = geometry(8192, 10, 1, true, 0);
		c.state.dev = {512, 16384};
		c.state.data_fork = {ext(0, 2, 4)};
		c.state.cow_fork = {ext(3, DELAYSTARTBLOCK, 1)};
		c.write = {16384, 16384};
		k.push_back({"rfc-v1 hw_mapping_contract+no_spurious_failure", c, {"hw_mapping_contract", "no_spurious_failure"}, 2});
	}
	return k;
}

// Grows a finding deterministically: a bigger block size (same block counts),
// 4 AGs of 4096 blocks, the finding's own blocks moved to AG 3 (agbno + 2048,
// which keeps every alignment up to 2048 blocks), 24 data-fork and 22 CoW-fork
// extents far away from the write in file offset and on disk, shared ranges
// over some of the far data blocks, and allocator answers in AG 0.
Case bloat(const Case &k, uint32_t bs_factor)
{
	Case c = k;
	c.name = k.name + "-bloated";
	const Geometry from = k.state.geo;
	Geometry &g = c.state.geo;
	g.block_size *= bs_factor;
	c.write.offset *= bs_factor;
	c.write.length *= bs_factor;
	c.state.dev.awu_min *= bs_factor;
	c.state.dev.awu_max *= bs_factor;
	g.ag_count = 4;
	g.ag_blocks = 4096;
	auto move = [&](xfs_fsblock_t b) { return xfs_agb_to_fsb(g, 3, xfs_fsb_to_agbno(from, b) + 2048); };
	for (auto *fk : {&c.state.data_fork, &c.state.cow_fork})
		for (auto &e : *fk)
			if (!isnullstartblock(e.br_startblock))
				e.br_startblock = move(e.br_startblock);
	for (auto &r : c.state.refcount)
		r.rc_startblock = move(r.rc_startblock);
	for (auto &a : c.state.alloc)
		a.startblock = move(a.startblock);

	// far data extents: file blocks 8192 + 16 i, AG 1 agbno 64 + 16 i, every third unwritten
	for (uint32_t i = 0; i < 24; i++) {
		const xfs_exntst_t st = i % 3 == 2 ? XFS_EXT_UNWRITTEN : XFS_EXT_NORM;
		c.state.data_fork.push_back(ext(8192 + 16 * i, xfs_agb_to_fsb(g, 1, 64 + 16 * i), 4 + i % 5, st));
		// shared: every even written one
		if (st == XFS_EXT_NORM && i % 2 == 0) {
			xfs_refcount_irec r;
			r.rc_startblock = xfs_agb_to_fsb(g, 1, 64 + 16 * i);
			r.rc_blockcount = 2 + i % 3;
			r.rc_refcount = 2 + i % 4;
			c.state.refcount.push_back(r);
		}
	}
	// far CoW extents: file blocks 256 + 16 i (beyond any 32-block CoW
	// extent-size window around the write); even i staged in AG 2, odd i
	// delalloc.  Not much further: once the minimizer drops the finding's
	// own CoW extent, v6.16 allocates the whole hole up to the next CoW
	// extent, and the default allocator's longest-free-run fallback costs
	// O(ag_count * ag_blocks * length * entries) per call (a hole of 16k
	// blocks made single oracle calls take 0.2-1 s).
	for (uint32_t i = 0; i < 22; i++) {
		if (i % 2 == 0)
			c.state.cow_fork.push_back(
				ext(256 + 16 * i, xfs_agb_to_fsb(g, 2, 128 + 16 * i), 2 + i % 3, XFS_EXT_UNWRITTEN));
		else
			c.state.cow_fork.push_back(ext(256 + 16 * i, DELAYSTARTBLOCK, 3));
	}
	// allocator answers: free, aligned, in AG 0
	for (uint32_t i = 0; i < 3; i++) {
		AllocAnswer a;
		a.startblock = xfs_agb_to_fsb(g, 0, 1024 + 256 * i);
		a.blockcount = 64;
		c.state.alloc.push_back(a);
	}
	return c;
}

std::vector<std::string> broken(const Case &c, Spec &spec)
{
	return spec.judge(run_atomic_write(c.state, c.write, c.variant)).broken_names();
}

std::string errors(const std::vector<StateError> &es)
{
	std::string s;
	for (const auto &e : es)
		s += e.path + ": " + e.what + "; ";
	return s;
}

// Every case obtained by removing exactly one entry (extent, shared range,
// allocator answer).
std::vector<std::pair<std::string, Case>> single_removals(const Case &c)
{
	std::vector<std::pair<std::string, Case>> out;
	auto each = [&](auto FileState::*list, const char *name) {
		for (size_t i = 0; i < (c.state.*list).size(); i++) {
			Case r = c;
			auto &v = r.state.*list;
			v.erase(v.begin() + long(i));
			out.emplace_back(std::string(name) + "[" + std::to_string(i) + "]", std::move(r));
		}
	};
	each(&FileState::data_fork, "data_fork");
	each(&FileState::cow_fork, "cow_fork");
	each(&FileState::refcount, "refcount");
	each(&FileState::alloc, "alloc");
	return out;
}

// A few of the minimizer's documented one-step shrinks (tail of an extent,
// the write, the geometry, the device limits), applied independently; with
// `heads`, only the head shrinks of extents.
std::vector<std::pair<std::string, Case>> single_shrinks(const Case &c, bool heads)
{
	std::vector<std::pair<std::string, Case>> out;
	auto add = [&](std::string what) -> Case & { return out.emplace_back(std::move(what), c).second; };
	auto forks = [&](auto FileState::*fork, const char *name) {
		for (size_t i = 0; i < (c.state.*fork).size(); i++) {
			const auto &e = (c.state.*fork)[i];
			const std::string p = std::string(name) + "[" + std::to_string(i) + "]";
			if (e.br_blockcount > 1 && heads) {
				auto &h = (add(p + " head + 1").state.*fork)[i];
				h.br_startoff += 1;
				if (!isnullstartblock(h.br_startblock))
					h.br_startblock += 1;
				h.br_blockcount -= 1;
			}
			if (heads)
				continue;
			if (e.br_blockcount > 1)
				(add(p + " tail - 1").state.*fork)[i].br_blockcount -= 1;
			if (e.br_startoff)
				(add(p + " startoff - 1").state.*fork)[i].br_startoff -= 1;
			if (e.br_state == XFS_EXT_UNWRITTEN && !isnullstartblock(e.br_startblock))
				(add(p + " written").state.*fork)[i].br_state = XFS_EXT_NORM;
		}
	};
	forks(&FileState::data_fork, "data_fork");
	forks(&FileState::cow_fork, "cow_fork");
	if (heads)
		return out;
	const Geometry &g = c.state.geo;
	if (c.write.length > g.block_size && c.write.length % 2 == 0)
		add("write.length / 2").write.length /= 2;
	if (c.write.offset)
		add("write.offset = 0").write.offset = 0;
	if (g.ag_count > 1)
		add("ag_count - 1").state.geo.ag_count -= 1;
	if (g.ag_count == 1 && g.ag_blocks > 2) // one AG: fsbno == agbno, nothing to re-encode
		add("ag_blocks - 1").state.geo.ag_blocks -= 1;
	if (g.block_size > (g.reflink ? XFS_MIN_CRC_BLOCKSIZE : XFS_MIN_BLOCKSIZE)) {
		Case &h = add("block_size / 2");
		h.state.geo.block_size /= 2;
		h.write.offset /= 2;
		h.write.length /= 2;
		h.state.dev.awu_min /= 2;
		h.state.dev.awu_max /= 2;
	}
	if (g.cowextsize)
		add("cowextsize = 0").state.geo.cowextsize = 0;
	if (g.reflink)
		add("reflink = false").state.geo.reflink = false;
	if (g.max_atomic_ioend > 1)
		add("x_max_atomic_ioend / 2").state.geo.max_atomic_ioend /= 2;
	if (c.state.dev.awu_max) {
		auto &z = add("no hardware atomics").state.dev;
		z.awu_min = z.awu_max = 0;
	}
	return out;
}

} // namespace

TEST_CASE("the known findings break the invariants they are known for", "[minimize]")
{
	Spec spec(Engine::compiled);
	for (const auto &k : known_findings()) {
		INFO(k.label);
		REQUIRE(validate_state(k.c.state, k.c.write).empty());
		CHECK(broken(k.c, spec) == k.invariants);
	}
}

TEST_CASE("bloated findings shrink back to small, valid, 1-minimal cases with the same invariants", "[minimize]")
{
	Spec spec(Engine::compiled);
	for (const auto &k : known_findings()) {
		SECTION(k.label)
		{
			const Case big = bloat(k.c, k.bs_factor);
			INFO("bloated case:\n" << case_to_json(big));
			REQUIRE(errors(validate_state(big.state, big.write)) == "");
			REQUIRE(big.state.data_fork.size() + big.state.cow_fork.size() >= 20);
			REQUIRE(broken(big, spec) == k.invariants);

			const MinimizeResult r = minimize_case(big, spec);
			const Case &m = r.minimized;
			INFO("minimized case:\n" << case_to_json(m));
			WARN(k.label << ": " << r.oracle_calls << " oracle calls (" << r.candidates_rejected_invalid
				     << " invalid candidates never run), entries " << r.entries_before << " -> " << r.entries_after
				     << ", magnitude " << r.magnitude_before << " -> " << r.magnitude_after << " bits");

			CHECK(r.invariants == k.invariants);
			CHECK(broken(m, spec) == k.invariants);
			CHECK(errors(validate_state(m.state, m.write)) == "");
			CHECK(m.variant == big.variant);

			CHECK(m.state.data_fork.size() + m.state.cow_fork.size() <= 3);
			CHECK(case_entries(m) <= 3);
			CHECK(r.entries_before == case_entries(big));
			CHECK(r.entries_after == case_entries(m));
			CHECK(r.magnitude_after < r.magnitude_before);
			// the geometry shrinks back at least to the known finding's
			CHECK(m.state.geo.ag_count == 1);
			CHECK(m.state.geo.block_size <= k.c.state.geo.block_size);
			CHECK(m.state.geo.ag_blocks <= k.c.state.geo.ag_blocks);

			CHECK(r.oracle_calls > 0);
			CHECK(r.oracle_calls < 2000);

			// 1-minimal: no single-entry removal keeps exactly the same invariants
			for (const auto &[what, cand] : single_removals(m)) {
				INFO("removing " << what);
				const bool invalid = !validate_state(cand.state, cand.write).empty();
				if (!invalid)
					CHECK(broken(cand, spec) != k.invariants);
			}
			// nor does any of the minimizer's own one-step shrinks tried here
			for (const auto &[what, cand] : single_shrinks(m, false)) {
				INFO("shrinking: " << what);
				const bool invalid = !validate_state(cand.state, cand.write).empty();
				if (!invalid)
					CHECK(broken(cand, spec) != k.invariants);
			}
			// Nor a head shrink (regression: the minimizer's progress measure
			// once rose for head shrinks -- startoff and startblock grow by d
			// -- so it never kept them; it now counts blocks covered first).
			for (const auto &[what, cand] : single_shrinks(m, true)) {
				INFO("shrinking: " << what);
				const bool invalid = !validate_state(cand.state, cand.write).empty();
				if (!invalid)
					CHECK(broken(cand, spec) != k.invariants);
			}
		}
	}
}

TEST_CASE("minimize is deterministic", "[minimize]")
{
	for (const auto &k : known_findings()) {
		INFO(k.label);
		const Case big = bloat(k.c, k.bs_factor);
		// fresh evaluators and a reused one: the result must not depend on either
		Spec s1(Engine::compiled), s2(Engine::compiled);
		const MinimizeResult a = minimize_case(big, s1);
		const MinimizeResult b = minimize_case(big, s2);
		const MinimizeResult c = minimize_case(big, s1);
		CHECK(case_to_json(a.minimized) == case_to_json(b.minimized));
		CHECK(case_to_json(a.minimized) == case_to_json(c.minimized));
		CHECK(a.oracle_calls == b.oracle_calls);
		CHECK(a.oracle_calls == c.oracle_calls);
		CHECK(a.invariants == b.invariants);
	}
}

TEST_CASE("minimize refuses a case that breaks no invariant", "[minimize]")
{
	Case c;
	c.name = "aligned-written-extent";
	c.variant = Variant::v6_18;
	c.state.geo = geometry(4096, 1000, 4, true, 0);
	c.state.dev = {4096, 65536};
	c.state.data_fork = {ext(0, 8, 4)};
	c.write = {0, 16384};
	REQUIRE(validate_state(c.state, c.write).empty());
	Spec spec(Engine::compiled);
	const Trace t = run_atomic_write(c.state, c.write, c.variant);
	REQUIRE(t.path == Path::hw);
	REQUIRE(t.result == 0);
	REQUIRE(spec.judge(t).verdict == Verdict::clean);
	const std::string before = case_to_json(c);
	CHECK_THROWS_AS(minimize_case(c, spec), std::invalid_argument);
	CHECK(case_to_json(c) == before);
}

TEST_CASE("minimize never modifies its input", "[minimize]")
{
	Spec spec(Engine::compiled);
	for (const auto &k : known_findings()) {
		INFO(k.label);
		for (const Case &in : {k.c, bloat(k.c, k.bs_factor)}) {
			Case copy = in;
			const std::string before = case_to_json(copy);
			const MinimizeResult r = minimize_case(copy, spec);
			CHECK(case_to_json(copy) == before);
			CHECK(copy.state.data_fork == in.state.data_fork);
			CHECK(copy.state.cow_fork == in.state.cow_fork);
			CHECK(copy.state.refcount == in.state.refcount);
			CHECK(r.invariants == k.invariants);
		}
	}
}

TEST_CASE("minimize: interleaved actions are dropped and their ranges shrunk", "[minimize][interleave]")
{
	// v6.16: a write fault's CoW reservation during the unlock of
	// xfs_atomic_write_cow_iomap_begin -> a delalloc mapping to direct I/O
	// (EIO).  Two actions that play no part, and a reservation wider than it
	// needs to be.
	Case c;
	c.name = "interleave-bloated";
	c.variant = Variant::v6_16;
	c.state.geo = geometry(4096, 1024, 4, true, 0);
	c.state.data_fork = {ext(0, 1040, 4)};
	c.state.refcount = {{1040, 4, 2}};
	auto act = [](unsigned at, InterleaveKind k, xfs_fileoff_t off, xfs_filblks_t n) {
		InterleaveAction a;
		a.at = at;
		a.action = k;
		a.offset = off;
		a.count = n;
		return a;
	};
	c.state.interleave = {act(0, InterleaveKind::buffered_cow_reservation, 0, 9),
	                      act(2, InterleaveKind::writeback_convert, 20, 3),
	                      act(0, InterleaveKind::refcount_drop, 30, 2)};
	c.write = {0, 16384};
	Spec spec(Engine::compiled);
	const MinimizeResult r = minimize_case(c, spec);
	CHECK(r.invariants == std::vector<std::string>{"no_spurious_failure", "sw_mapping_contract"});
	REQUIRE(r.minimized.state.interleave.size() == 1);
	const InterleaveAction &a = r.minimized.state.interleave[0];
	CHECK(a.action == InterleaveKind::buffered_cow_reservation);
	CHECK(a.at == 0u);
	CHECK(a.count == 1u);
	CHECK(validate_state(r.minimized.state, r.minimized.write).empty());
}

TEST_CASE("minimize shrinks large numbers by bisection", "[minimize]")
{
	// The v6.16 delalloc EIO as a prover may find it: a 16 MiB write at byte
	// 363102857378922496 in the middle of a 2^20-block delalloc CoW
	// reservation.  Shortening the reservation one block at a time took
	// over a million oracle calls.
	Case c;
	c.name = "delalloc-far-and-wide";
	c.variant = *variant_from_name("v6.16");
	c.state.geo = geometry(4096, 4096, 4, true, 0);
	c.state.dev = {0, 0};
	c.state.alloc_policy = AllocPolicy::script_only;
	const uint64_t off = 363102857378922496ULL, wblk = off / 4096;
	c.state.cow_fork = {ext(wblk - (1u << 19), DELAYSTARTBLOCK, 1u << 20)};
	c.write = {off, 16u << 20};
	REQUIRE(validate_state(c.state, c.write).empty());
	Spec spec(Engine::compiled);
	const MinimizeResult r = minimize_case(c, spec);
	CHECK(r.invariants ==
	      std::vector<std::string>{"no_spurious_failure", "sw_mapping_contract"});
	CHECK(r.oracle_calls <= 200);
	REQUIRE(r.minimized.state.cow_fork.size() == 1);
	CHECK(r.minimized.state.cow_fork[0].br_blockcount == 1u);
	CHECK(r.minimized.state.cow_fork[0].br_startoff == 0u);
	CHECK(r.minimized.write.offset == 0u);
	CHECK(r.minimized.write.length == r.minimized.state.geo.block_size);
	CHECK(validate_state(r.minimized.state, r.minimized.write).empty());
}
