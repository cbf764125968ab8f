// Interleavings (x_interleave): another actor at the write's ILOCK drop
// points.  Each action on its own, the re-lookups after
// xfs_trans_alloc_inode seeing its effect, and "absent = alone".
#include "common/layout.h"
#include "untorn/impl.h"
#include "untorn/model.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

using namespace untorn;
using namespace untorn_test;

namespace
{

// bs 4096, 4 AGs of 1024 blocks, reflink, no hardware atomics (so the
// software path: xfs_atomic_write_cow_iomap_begin) unless `hw`.
FileState file(bool hw = false)
{
	FileState st;
	st.geo = geo_1024();
	if (hw)
		st.dev = {4096, 65536};
	return st;
}

InterleaveAction act(unsigned at, InterleaveKind k, xfs_fileoff_t off, xfs_filblks_t n)
{
	InterleaveAction a;
	a.at = at;
	a.action = k;
	a.offset = off;
	a.count = n;
	return a;
}

bool has_txn(const Trace &t, const std::string &name, bool other)
{
	return std::any_of(t.txns.begin(), t.txns.end(),
	                   [&](const Transaction &x) { return x.name == name && x.other == other; });
}

size_t branches_of(const Trace &t)
{
	size_t n = 0;
	for (const auto &c : t.calls)
		n += c.branches.size();
	return n;
}

Judgement judge(const Trace &t)
{
	static Spec spec(Engine::compiled);
	return spec.judge(t);
}

} // namespace

TEST_CASE("interleave: absent, or at a drop point never reached, is the write alone", "[interleave]")
{
	for (Variant v : all_variants) {
		INFO(variant_name(v));
		FileState st = file();
		st.data_fork = {ext(0, 1040, 4)};
		st.refcount = {{1040, 4, 2}};
		const WriteReq w{0, 16384};
		Trace alone = run_atomic_write(st, w, v);
		CHECK(alone.drop_points.empty());
		st.interleave = {act(9, InterleaveKind::buffered_cow_reservation, 0, 4)};
		Trace late = run_atomic_write(st, w, v);
		CHECK(decision_signature(late) == decision_signature(alone));
		CHECK(late.result == alone.result);
		CHECK(late.final_state.data_fork == alone.final_state.data_fork);
		if (v != Variant::rfc_v1) // (rfc-v1 without device atomics refuses the write)
			CHECK_FALSE(late.drop_points.empty()); // reached, but nothing ran there
	}
}

TEST_CASE("interleave: a write fault's CoW reservation during the unlock, seen by the second lookup",
          "[interleave]")
{
	// xfs_atomic_write_cow_iomap_begin finds a hole in the CoW fork, drops the
	// ILOCK for xfs_trans_alloc_inode; a write fault on the shared blocks
	// reserves delalloc there (xfs_bmapi_reserve_delalloc); the second lookup
	// finds it.
	FileState st = file();
	st.data_fork = {ext(0, 1040, 4)};
	st.refcount = {{1040, 4, 2}};
	st.interleave = {act(0, InterleaveKind::buffered_cow_reservation, 0, 4)};
	const WriteReq w{0, 16384};

	// v6.16: the second lookup's hit goes to `found` as it is: a delalloc
	// mapping handed to direct I/O, EIO (the bug 8d54eacd82a0 fixed).
	Trace a = run_atomic_write(st, w, Variant::v6_16);
	REQUIRE(a.drop_points.size() == 1);
	CHECK(a.drop_points[0].func == "xfs_atomic_write_cow_iomap_begin");
	CHECK(a.result == EIO);
	CHECK(a.final_state.cow_fork == std::vector<xfs_bmbt_irec>{ext(0, DELAYSTARTBLOCK, 4)});
	// the re-lookup is the kernel's: it adds its decision to the call
	FileState alone_st = st;
	alone_st.interleave.clear();
	Trace alone = run_atomic_write(alone_st, w, Variant::v6_16);
	CHECK(branches_of(a) == branches_of(alone) + 1);
	CHECK(alone.result == 0);
	Judgement ja = judge(a);
	CHECK(std::find(ja.broken_names().begin(), ja.broken_names().end(), "sw_mapping_contract") !=
	      ja.broken_names().end());

	// v6.18: the second lookup converts it (convert_delay) and retries.
	Trace b = run_atomic_write(st, w, Variant::v6_18);
	CHECK(b.result == 0);
	CHECK(has_txn(b, "xfs_bmapi_convert_delalloc", false));
	CHECK(b.final_state.cow_fork.empty());
	CHECK(judge(b).broken_names().empty());
}

TEST_CASE("interleave: a write fault reserves only over shared blocks without CoW extents", "[interleave]")
{
	FileState st = file();
	st.data_fork = {ext(0, 1040, 8)};
	st.refcount = {{1042, 2, 2}};		      // file blocks 2-3 shared
	st.cow_fork = {ext(3, DELAYSTARTBLOCK, 1)}; // block 3 already reserved
	st.interleave = {act(0, InterleaveKind::buffered_cow_reservation, 0, 8)};
	Trace t = run_atomic_write(st, WriteReq{32768, 32768}, Variant::v6_18); // [8, 16): a hole in the CoW fork
	REQUIRE_FALSE(t.drop_points.empty());
	// only block 2 is new: 0-1 and 4-7 are not shared, 3 has its reservation
	const auto &cow = t.final_state.cow_fork;
	CHECK(std::find(cow.begin(), cow.end(), ext(2, DELAYSTARTBLOCK, 2)) != cow.end()); // 2 merged with 3
}

TEST_CASE("interleave: writeback converts a CoW delalloc extent in its own transaction", "[interleave]")
{
	FileState st = file();
	st.data_fork = {ext(0, 1040, 4)};
	st.cow_fork = {ext(8, DELAYSTARTBLOCK, 4)};
	st.interleave = {act(0, InterleaveKind::writeback_convert, 8, 1)};
	Trace t = run_atomic_write(st, WriteReq{0, 16384}, Variant::v6_18);
	CHECK(has_txn(t, "xfs_bmapi_convert_delalloc", true));
	bool unwritten_at_8 = false;
	for (const auto &e : t.final_state.cow_fork)
		if (e.br_startoff == 8 && e.br_blockcount == 4 && e.br_state == XFS_EXT_UNWRITTEN &&
		    !isnullstartblock(e.br_startblock))
			unwritten_at_8 = true;
	CHECK(unwritten_at_8);
	CHECK(t.result == 0);
	CHECK(judge(t).broken_names().empty());
}

TEST_CASE("interleave: another direct write's completion beside the write", "[interleave]")
{
	FileState st = file();
	st.data_fork = {ext(0, 1040, 12)};
	st.refcount = {{1040, 12, 2}};
	st.cow_fork = {ext(8, 600, 2, XFS_EXT_UNWRITTEN)}; // the other write's CoW blocks
	st.interleave = {act(0, InterleaveKind::end_cow_other, 8, 2)};
	for (Variant v : {Variant::v6_16, Variant::v6_18}) {
		INFO(variant_name(v));
		Trace t = run_atomic_write(st, WriteReq{0, 32768}, v); // [0, 8): up to the other's range
		CHECK(has_txn(t, "xfs_reflink_end_cow", true));
		REQUIRE(t.others_mapped.size() == 1);
		CHECK(t.others_mapped[0] == ext(8, 600, 2));
		const auto &df = t.final_state.data_fork;
		CHECK(std::find(df.begin(), df.end(), ext(8, 600, 2)) != df.end());
		CHECK(t.result == 0);
		Judgement j = judge(t);
		CHECK(j.broken_names().empty()); // outside_unchanged does not blame the other actor
	}
}

TEST_CASE("interleave: another file's CoW completion unshares the blocks; the relookup in "
          "xfs_reflink_fill_cow_hole sees it",
          "[interleave]")
{
	// v6.16's hardware path: xfs_direct_write_iomap_begin -> xfs_reflink_allocate_cow
	// -> fill_cow_hole drops the ILOCK; the other file remaps its copy of
	// block 1040, whose refcount falls to 1; xfs_find_trim_cow_extent after
	// the relock finds it unshared: no CoW, the write goes in place.
	FileState st = file(true);
	st.data_fork = {ext(0, 1040, 1)};
	st.refcount = {{1040, 1, 2}};
	const WriteReq w{0, 4096};
	Trace alone = run_atomic_write(st, w, Variant::v6_16);
	CHECK(alone.final_state.data_fork != st.data_fork); // CoW: remapped to new blocks
	st.interleave = {act(0, InterleaveKind::refcount_drop, 0, 1)};
	Trace t = run_atomic_write(st, w, Variant::v6_16);
	REQUIRE_FALSE(t.drop_points.empty());
	CHECK(t.drop_points[0].func == "xfs_reflink_fill_cow_hole");
	CHECK(has_txn(t, "xfs_reflink_end_cow (another file)", true));
	CHECK(t.final_state.refcount.empty());
	CHECK(t.final_state.data_fork == st.data_fork); // written in place
	CHECK(t.result == 0);
	CHECK(t.path == Path::hw);
	CHECK(judge(t).broken_names().empty());
}

TEST_CASE("interleave: another actor's step with no write running (run_other_actor)",
          "[interleave]")
{
	// the kernel oracle's races start writers from such states: a write
	// fault that reserved CoW blocks, then writeback that converted them
	FileState st = file();
	st.data_fork = {ext(0, 1040, 8)};
	st.refcount = {{1042, 2, 2}}; // file blocks 2-3 shared
	const FileState reserved =
	    run_other_actor(st, act(0, InterleaveKind::buffered_cow_reservation, 0, 8));
	CHECK(reserved.cow_fork == std::vector<xfs_bmbt_irec>{ext(2, DELAYSTARTBLOCK, 2)});
	CHECK(reserved.data_fork == st.data_fork);
	const FileState converted =
	    run_other_actor(reserved, act(0, InterleaveKind::writeback_convert, 2, 1));
	REQUIRE(converted.cow_fork.size() == 1);
	CHECK(converted.cow_fork[0].br_startoff == 2);
	CHECK(converted.cow_fork[0].br_startblock != DELAYSTARTBLOCK);
	// another file's CoW completion: the refcount record falls to one (gone)
	const FileState dropped = run_other_actor(st, act(0, InterleaveKind::refcount_drop, 2, 2));
	CHECK(dropped.refcount.empty());
	// and the `at` of the action plays no part
	CHECK(
	    run_other_actor(st, act(7, InterleaveKind::buffered_cow_reservation, 0, 8)).cow_fork ==
	    reserved.cow_fork);
}
