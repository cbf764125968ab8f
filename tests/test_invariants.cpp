// The specification's thirteen invariants, one by one, on traces built by hand
// (never by run_atomic_write): for each invariant a trace that must break it
// and a closely related one -- a minimal change -- that must not.  Every trace
// is judged by both engines (the compiled evaluator and Z3 itself); they must
// agree on the broken set and the verdict, and each finding must carry its
// invariant's class (safety -> violation, liveness alone -> divergence).
//
// The traces come from the trace builder TB (tests/common/trace_builder.h,
// which states its defaults).  The crash model is docs/domain.md, "Crashes".
#include "common/layout.h"
#include "common/trace_builder.h"
#include "facts.h"
#include "untorn/impl.h"
#include "untorn/model.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace untorn;
using namespace untorn_test;

namespace
{

// The software path of one 2-block write at file block 0 over
// [0+4 @data_start]: CoW blocks [0+2 @200] allocated, converted, written,
// then remapped by `remap` (one or more data-fork snapshots).  By default the
// data extent is misaligned on disk (@101), so the software path is the
// legitimate one (hw_path_when_possible holds).
TB sw_write(std::vector<Fork> remap, xfs_fsblock_t data_start = 101)
{
	TB b(0, 2);
	b.path(Path::sw)
	    .data({ext(0, data_start, 4)})
	    .sw_call(ext(0, 200, 2))
	    .txn("xfs_atomic_write_cow_iomap_begin", std::nullopt, Fork{unw(0, 200, 2)})
	    .note("xfs_reflink_convert_cow_locked: in-core cow fork: convert [0+2 @200] to written")
	    .bio(0, 200, 2, false);
	for (size_t i = 0; i < remap.size(); i++)
		b.txn("xfs_reflink_end_atomic_cow", remap[i],
		      i + 1 == remap.size() ? Fork{} : Fork{ext(1, 201, 1)});
	return b;
}

// ------------------------------------------------------------------ judging

const InvariantInfo *info(const std::string &name)
{
	for (const auto &i : invariant_catalogue())
		if (name == i.name)
			return &i;
	return nullptr;
}

bool has(const std::vector<std::string> &v, const std::string &s)
{
	return std::find(v.begin(), v.end(), s) != v.end();
}

// Judges t with both engines; they must agree; `inv` must be broken iff
// `broken`; each finding's class is its catalogue class and the verdict
// follows from the classes.  Returns the compiled engine's judgement.
Judgement expect(const Trace &t, const std::string &inv, bool broken)
{
	static Spec compiled(Engine::compiled), z3(Engine::z3);
	REQUIRE(info(inv) != nullptr);
	Judgement c = compiled.judge(t), z = z3.judge(t);
	INFO("trace:\n" << format_trace(t));
	INFO("compiled " << format_judgement(c));
	INFO("z3 " << format_judgement(z));
	INFO("expect " << inv << (broken ? " broken" : " kept"));
	REQUIRE(z.inconclusive.empty());
	CHECK(c.broken_names() == z.broken_names());
	CHECK(c.verdict == z.verdict);
	CHECK(has(c.broken_names(), inv) == broken);
	CHECK(has(z.broken_names(), inv) == broken);
	bool safety = false;
	for (const Judgement *j : {&c, &z})
		for (const auto &f : j->findings) {
			const InvariantInfo *i = info(f.invariant);
			REQUIRE(i != nullptr);
			CHECK(f.cls == i->cls);
			safety = safety || f.cls == InvClass::safety;
		}
	Verdict want = safety               ? Verdict::violation
	               : c.findings.empty() ? Verdict::clean
	                                    : Verdict::divergence;
	CHECK(c.verdict == want);
	return c;
}

// ------------------------------------------------- the primary pair of each
// make(true) must break the invariant, make(false) must not; the two differ
// by one change.

// torn_write: an in-place 2-block overwrite of written blocks with no
// transaction, as a plain bio (a crash may persist one block of two) vs as
// one naturally aligned REQ_ATOMIC bio within the device's unit (whole or nothing).
Trace torn_write(bool broken)
{
	return TB(0, 2)
	    .data({ext(0, 100, 4)})
	    .hw_call(IomapType::MAPPED, ext(0, 100, 2), broken ? 0u : unsigned(IOMAP_F_ATOMIC_BIO))
	    .bio(0, 100, 2, /*req_atomic*/ !broken)
	    .build();
}

// atomic_completion: the software path's remap of [0, 2) committed by
// xfs_reflink_end_atomic_cow in one transaction vs block by block in two (as
// xfs_reflink_end_cow would for a plain write).
Trace atomic_completion(bool broken)
{
	Fork done{ext(0, 200, 2), ext(2, 103, 2)};
	if (broken)
		return sw_write({{ext(0, 200, 1), ext(1, 102, 3)}, done}).build();
	return sw_write({done}).build();
}

// completed_write_reads_new: a REQ_ATOMIC bio into an unwritten extent whose
// completion (xfs_iomap_write_unwritten) never converted it: the successful
// write reads zeros; with the conversion committed it reads new.
Trace completed_write_reads_new(bool broken)
{
	TB b(0, 2);
	b.data({unw(0, 100, 4)}).hw_call(IomapType::UNWRITTEN, unw(0, 100, 2)).bio(0, 100, 2, true);
	if (!broken)
		b.txn("xfs_iomap_write_unwritten", Fork{ext(0, 100, 2), unw(2, 102, 2)});
	return b.build();
}

// fallback_protocol: xfs_direct_write_iomap_begin returned -ENOPROTOOPT for a
// misaligned extent and it reached the caller (no CoW retry) vs the CoW retry
// ran and failed for want of space (-ENOSPC).
Trace fallback_protocol(bool broken)
{
	TB b(0, 2);
	b.data({ext(0, 101, 4)})
	    .call(Ops::direct_write, IomapType::MAPPED, ext(0, 101, 2), 0, 2, 0, ENOPROTOOPT);
	if (broken)
		return b.path(Path::hw).fails(ENOPROTOOPT).build();
	return b.call(Ops::atomic_write_cow, IomapType::HOLE, {}, 0, 0, 0, ENOSPC)
	    .path(Path::sw)
	    .fails(ENOSPC)
	    .build();
}

// hw_mapping_contract: xfs_direct_write_iomap_begin flags IOMAP_F_ATOMIC_BIO
// on [0+2 @101], not naturally aligned on disk (the bio is still accepted:
// the block layer checks sizes only), vs on [0+2 @100].
Trace hw_mapping_contract(bool broken)
{
	xfs_fsblock_t at = broken ? 101 : 100;
	return TB(0, 2)
	    .data({ext(0, at, 4)})
	    .hw_call(IomapType::MAPPED, ext(0, at, 2))
	    .bio(0, at, 2, true)
	    .build();
}

// hw_path_when_possible: an 8 KiB write (<= bt_awu_max) served by the CoW
// ops although the data fork held one unshared, disk-aligned written extent,
// vs the same over a misaligned extent, where the software path is legitimate.
Trace hw_path_when_possible(bool broken)
{
	xfs_fsblock_t at = broken ? 100 : 101;
	return sw_write({{ext(0, 200, 2), ext(2, at + 2, 2)}}, at).build();
}

// no_shared_overwrite: a REQ_ATOMIC bio written in place over blocks 100-101
// that are reflinked into another file (refcount 2) vs the same bio when the
// shared range is elsewhere (300-301).
Trace no_shared_overwrite(bool broken)
{
	return TB(0, 2)
	    .data({ext(0, 100, 4)})
	    .shared(broken ? 100 : 300, 2)
	    .hw_call(IomapType::MAPPED, ext(0, 100, 2))
	    .bio(0, 100, 2, true)
	    .build();
}

// no_spurious_failure: an admitted write whose CoW-path ->iomap_begin failed
// with -EIO vs failed with -ENOSPC (a full filesystem is the one allowed excuse).
Trace no_spurious_failure(bool broken)
{
	int err = broken ? EIO : ENOSPC;
	return TB(0, 2)
	    .data({ext(0, 100, 4)})
	    .call(Ops::atomic_write_cow, IomapType::HOLE, {}, 0, 0, 0, err)
	    .path(Path::sw)
	    .fails(err)
	    .build();
}

// outside_unchanged: the atomic CoW remap of a 2-block write over
// [0+4 @101] remapping [0+4 @200] (CoW blocks 2-3 too, never written: the
// over-long range of the pre-v6.18 software path) vs remapping exactly [0+2 @200].
Trace outside_unchanged(bool broken)
{
	if (broken)
		return sw_write({{ext(0, 200, 4)}}).build();
	return sw_write({{ext(0, 200, 2), ext(2, 103, 2)}}).build();
}

// sw_mapping_contract: xfs_atomic_write_cow_iomap_begin returning the
// untrimmed CoW extent [0, 4) for a 2-block write vs the mapping trimmed to [0, 2).
Trace sw_mapping_contract(bool broken)
{
	TB b(0, 2);
	b.path(Path::sw)
	    .data({ext(0, 101, 4)})
	    .call(Ops::atomic_write_cow, IomapType::MAPPED, ext(0, 200, broken ? 4 : 2), 0,
	          broken ? 4 : 2, IOMAP_F_SHARED)
	    .bio(0, 200, 2, false)
	    .txn("xfs_reflink_end_atomic_cow", Fork{ext(0, 200, 2), ext(2, 103, 2)});
	return b.build();
}

// valid_atomic_bio: iomap issued a 2-block atomic write as two 1-block
// REQ_ATOMIC bios vs as one 2-block REQ_ATOMIC bio.
Trace valid_atomic_bio(bool broken)
{
	TB b(0, 2);
	b.data({ext(0, 100, 4)}).hw_call(IomapType::MAPPED, ext(0, 100, 2));
	if (broken)
		b.bio(0, 100, 1, true).bio(1, 101, 1, true);
	else
		b.bio(0, 100, 2, true);
	return b.build();
}

// admission: xfs_file_write_iter rejecting an aligned 8 KiB write with
// -EINVAL although the inode's limits [4 KiB, 64 KiB] admit it, vs rejecting
// it when the limits are [4 KiB, 4 KiB].
Trace admission(bool broken)
{
	return TB(0, 2)
	    .data({ext(0, 100, 4)})
	    .limits(4096, broken ? 65536 : 4096)
	    .rejected(EINVAL)
	    .build();
}

// others_data_kept: another direct write's completion remapped [4+2 @300]
// beside the write while the ILOCK was dropped; the write's own remap then
// unmaps it (a remap computed from a stale lookup) vs keeps it.
Trace others_data_kept(bool broken)
{
	TB b(0, 2);
	b.path(Path::sw)
	    .data({ext(0, 101, 4)})
	    .other_txn("xfs_reflink_end_cow", Fork{ext(0, 101, 4), ext(4, 300, 2)}, ext(4, 300, 2))
	    .sw_call(ext(0, 200, 2))
	    .txn("xfs_atomic_write_cow_iomap_begin", std::nullopt, Fork{unw(0, 200, 2)})
	    .bio(0, 200, 2, false);
	if (broken)
		b.txn("xfs_reflink_end_atomic_cow", Fork{ext(0, 200, 2), ext(2, 103, 2)}, Fork{});
	else
		b.txn("xfs_reflink_end_atomic_cow", Fork{ext(0, 200, 2), ext(2, 103, 2), ext(4, 300, 2)}, Fork{});
	return b.build();
}

struct Primary {
	const char *inv;
	Trace (*make)(bool broken);
};
const Primary primaries[] = {
    {"admission", admission},
    {"atomic_completion", atomic_completion},
    {"completed_write_reads_new", completed_write_reads_new},
    {"fallback_protocol", fallback_protocol},
    {"hw_mapping_contract", hw_mapping_contract},
    {"hw_path_when_possible", hw_path_when_possible},
    {"no_shared_overwrite", no_shared_overwrite},
    {"no_spurious_failure", no_spurious_failure},
    {"others_data_kept", others_data_kept},
    {"outside_unchanged", outside_unchanged},
    {"sw_mapping_contract", sw_mapping_contract},
    {"torn_write", torn_write},
    {"valid_atomic_bio", valid_atomic_bio},
};

const Primary *primary(const std::string &name)
{
	for (const auto &p : primaries)
		if (name == p.inv)
			return &p;
	return nullptr;
}

} // namespace

// ================================================================ catalogue

TEST_CASE(
    "invariants: every invariant in the catalogue has a breaking and a holding hand-built trace",
    "[invariants]")
{
	REQUIRE(invariant_catalogue().size() == std::size(primaries));
	for (const auto &i : invariant_catalogue()) {
		INFO(i.name);
		const Primary *p = primary(i.name);
		REQUIRE(p != nullptr);
		// the breaking trace: a safety finding makes a violation; the primary
		// liveness traces break liveness invariants only, hence a divergence
		Judgement j = expect(p->make(true), i.name, true);
		if (i.cls == InvClass::safety) {
			CHECK(j.verdict == Verdict::violation);
		} else {
			for (const auto &f : j.findings)
				CHECK(f.cls == InvClass::liveness);
			CHECK(j.verdict == Verdict::divergence);
		}
		// the holding twin is what a correct kernel would do: nothing broken at all
		Judgement k = expect(p->make(false), i.name, false);
		CHECK(k.broken_names().empty());
		CHECK(k.verdict == Verdict::clean);
	}
}

TEST_CASE("invariants: catalogue classes", "[invariants]")
{
	const std::vector<std::string> liveness = {"admission", "fallback_protocol",
	                                           "hw_path_when_possible", "no_spurious_failure"};
	for (const auto &i : invariant_catalogue()) {
		INFO(i.name);
		CHECK((i.cls == InvClass::liveness) == has(liveness, i.name));
		CHECK(std::string(i.forbids).size() > 0);
		CHECK(std::string(i.origin).size() > 0);
	}
}

// ================================================================ torn_write

TEST_CASE("invariants: torn_write, a CoW remap in one transaction vs split in two",
          "[invariants][torn_write]")
{
	// CoW write whose remap is one transaction: a crash shows old (before it) or new (after
	// it).
	Judgement one = expect(atomic_completion(false), "torn_write", false);
	CHECK(one.broken_names().empty());
	// The same remap split in two transactions (two snapshots): a crash between
	// them shows block 0 new and block 1 old.
	Judgement two = expect(atomic_completion(true), "torn_write", true);
	CHECK(has(two.broken_names(), "atomic_completion"));
}

TEST_CASE("invariants: torn_write, REQ_ATOMIC bio outside the device's rules",
          "[invariants][torn_write]")
{
	SECTION("fsbno-aligned but not disk-aligned (ag_blocks 1000, not a multiple of 16 blocks)")
	{
		// v6.16's reason to cap awu_max at max_pow_of_two_factor(agblocks): fsbno
		// 1040 = AG 1 agbno 16 is 16-aligned, but disk block 1016 is not.
		auto mk = [](xfs_fsblock_t at) {
			return TB(0, 16)
			    .ag_blocks(1000)
			    .data({ext(0, at, 16)})
			    .hw_call(IomapType::MAPPED, ext(0, at, 16))
			    .bio(0, at, 16, true)
			    .build();
		};
		Judgement j = expect(mk(1040), "torn_write", true);
		CHECK(has(j.broken_names(), "valid_atomic_bio"));
		CHECK(has(j.broken_names(), "hw_mapping_contract"));
		// fsbno 1032 = AG 1 agbno 8: disk block 1008 = 63 * 16, aligned on disk.
		CHECK(expect(mk(1032), "torn_write", false).broken_names().empty());
	}
	SECTION("larger than the device's atomic write unit max")
	{
		auto mk = [](uint32_t dev_max) {
			return TB(0, 2)
			    .device(4096, dev_max)
			    .data({ext(0, 100, 4)})
			    .hw_call(IomapType::MAPPED, ext(0, 100, 2))
			    .bio(0, 100, 2, true)
			    .build();
		};
		Judgement j = expect(mk(4096), "torn_write", true);
		CHECK(has(j.broken_names(), "valid_atomic_bio"));
		expect(mk(8192), "torn_write", false);
	}
	SECTION("a device without atomic write support")
	{
		Trace t = TB(0, 2)
		              .device(0, 0)
		              .data({ext(0, 100, 4)})
		              .hw_call(IomapType::MAPPED, ext(0, 100, 2))
		              .bio(0, 100, 2, true)
		              .build();
		expect(t, "torn_write", true);
	}
}

TEST_CASE("invariants: torn_write, single blocks and unwritten extents", "[invariants][torn_write]")
{
	SECTION("a plain 1-block bio in place cannot tear (the crash model's unit is the fs block)")
	{
		Trace t = TB(0, 1)
		              .data({ext(0, 100, 4)})
		              .hw_call(IomapType::MAPPED, ext(0, 100, 1), 0)
		              .bio(0, 100, 1, false)
		              .build();
		expect(t, "torn_write", false);
	}
	SECTION("a plain 2-block bio into an unwritten extent converted after it: never torn")
	{
		// Before the conversion commits the range reads zeros (old); after it the
		// bio had completed (the log flush made it durable).
		Trace t =
		    TB(0, 2)
		        .data({unw(0, 100, 4)})
		        .hw_call(IomapType::UNWRITTEN, unw(0, 100, 2), 0)
		        .bio(0, 100, 2, false)
		        .txn("xfs_iomap_write_unwritten", Fork{ext(0, 100, 2), unw(2, 102, 2)})
		        .build();
		expect(t, "torn_write", false);
	}
	SECTION("a 1-block write into a hole: allocation before the bio, conversion after")
	{
		Trace t =
		    TB(1, 1)
		        .data({ext(0, 100, 1)})
		        .hw_call(IomapType::UNWRITTEN, unw(1, 300, 1))
		        .txn("xfs_iomap_write_direct", Fork{ext(0, 100, 1), unw(1, 300, 1)})
		        .bio(1, 300, 1, true)
		        .txn("xfs_iomap_write_unwritten", Fork{ext(0, 100, 1), ext(1, 300, 1)})
		        .build();
		CHECK(expect(t, "torn_write", false).broken_names().empty());
	}
	SECTION("unwritten extent converted although the bio was rejected: stale blocks exposed")
	{
		// xfs_dio_write_end_io must not convert on error; here it did.
		auto mk = [](bool convert) {
			TB b(0, 2);
			b.data({unw(0, 100, 4)})
			    .hw_call(IomapType::UNWRITTEN, unw(0, 100, 2))
			    .bio(0, 100, 2, true, EINVAL)
			    .fails(EINVAL);
			if (convert)
				b.txn("xfs_iomap_write_unwritten",
				      Fork{ext(0, 100, 2), unw(2, 102, 2)});
			return b.build();
		};
		expect(mk(true), "torn_write", true);
		expect(mk(false), "torn_write", false);
	}
}

TEST_CASE("invariants: torn_write, data remapped to blocks the write never wrote",
          "[invariants][torn_write]")
{
	// The remap points file blocks 0-1 at CoW blocks 300-301, but the bio wrote
	// 200-201: after the remap the range reads garbage.
	auto mk = [](xfs_fsblock_t remapped) {
		TB b(0, 2);
		b.path(Path::sw)
		    .data({ext(0, 101, 4)})
		    .sw_call(ext(0, 200, 2))
		    .bio(0, 200, 2, false)
		    .txn("xfs_reflink_end_atomic_cow", Fork{ext(0, remapped, 2), ext(2, 103, 2)});
		return b.build();
	};
	Judgement j = expect(mk(300), "torn_write", true);
	CHECK(has(j.broken_names(), "completed_write_reads_new"));
	CHECK(expect(mk(200), "torn_write", false).broken_names().empty());
}

TEST_CASE("invariants: completed_write_reads_new, blocks remapped one block off", "[invariants]")
{
	// The bio wrote CoW blocks 200-201 for file blocks 0-1, but the remap
	// maps them to 201-202: block 1 reads 202, which nobody wrote.  Only the
	// bio's physical end, mapped back through the remapped extent (file
	// block 1), separates block 1 from block 0: the bio's own file edges
	// (0, 2) and the extent's do not.  Remapped at the bio's offsets (200),
	// the same write keeps the invariant.
	expect(sw_write({Fork{ext(0, 201, 2), ext(2, 103, 2)}}).build(),
	       "completed_write_reads_new", true);
	expect(sw_write({Fork{ext(0, 200, 2), ext(2, 103, 2)}}).build(),
	       "completed_write_reads_new", false);
}

TEST_CASE("invariants: torn_write, the RFC's unshare copies are old data",
          "[invariants][torn_write]")
{
	// RFC 07: xfs_reflink_unshare() copies the shared blocks 100-101 to 150-151
	// (a bio carrying the old data) and remaps them; then the CoW-mode retry
	// writes new data to 200-201 and remaps it atomically.  A crash between
	// the two remaps reads the copy: old.
	auto mk = [](Payload first) {
		TB b(0, 2, Variant::rfc_v1);
		b.path(Path::sw)
		    .data({ext(0, 100, 4)})
		    .shared(100, 4)
		    .bio(0, 150, 2, false, 0, first)
		    .txn("xfs_reflink_end_cow", Fork{ext(0, 150, 2), ext(2, 102, 2)})
		    .sw_call(ext(0, 200, 2), IomapType::MAPPED, IOMAP_F_ATOMIC_COW)
		    .bio(0, 200, 2, false)
		    .txn("xfs_reflink_end_atomic_cow", Fork{ext(0, 200, 2), ext(2, 102, 2)});
		return b.build();
	};
	CHECK(expect(mk(Payload::old_copy), "torn_write", false).broken_names().empty());
	// Had the unshare bio carried something that is not the old data (new data
	// here), the state between the remaps would read new before the write's
	// own atomic remap: new data is visible from a non-atomic remap, and a crash
	// then shows it -- not torn (the whole range is new), but the completion
	// spans two remapping transactions.
	Judgement j = expect(mk(Payload::new_data), "atomic_completion", true);
	CHECK_FALSE(has(j.broken_names(), "torn_write"));
}

// ========================================================= atomic_completion

TEST_CASE("invariants: atomic_completion counts only transactions after the first bio",
          "[invariants]")
{
	// Allocation before the bio (xfs_iomap_write_direct) plus conversion after
	// it: one transaction changes [o, E) after the write began.
	Trace t = TB(1, 1)
	              .data({ext(0, 100, 1)})
	              .hw_call(IomapType::UNWRITTEN, unw(1, 300, 1))
	              .txn("xfs_iomap_write_direct", Fork{ext(0, 100, 1), unw(1, 300, 1)})
	              .bio(1, 300, 1, true)
	              .txn("xfs_iomap_write_unwritten", Fork{ext(0, 100, 1), ext(1, 300, 1)})
	              .build();
	expect(t, "atomic_completion", false);
	// Conversion split in two transactions after the bio: two remaps.
	Trace u = TB(0, 2)
	              .data({unw(0, 100, 4)})
	              .hw_call(IomapType::UNWRITTEN, unw(0, 100, 2))
	              .bio(0, 100, 2, true)
	              .txn("xfs_iomap_write_unwritten", Fork{ext(0, 100, 1), unw(1, 101, 3)})
	              .txn("xfs_iomap_write_unwritten", Fork{ext(0, 100, 2), unw(2, 102, 2)})
	              .build();
	Judgement j = expect(u, "atomic_completion", true);
	// a crash between them reads new then zeros: torn as well
	CHECK(has(j.broken_names(), "torn_write"));
}

// ================================================== completed_write_reads_new

TEST_CASE("invariants: completed_write_reads_new on the software path", "[invariants]")
{
	// xfs_dio_write_end_io never remapped the CoW blocks: success, old data.
	TB b(0, 2);
	b.path(Path::sw).data({ext(0, 100, 4)}).sw_call(ext(0, 200, 2)).bio(0, 200, 2, false);
	Judgement j = expect(b.build(), "completed_write_reads_new", true);
	CHECK_FALSE(has(j.broken_names(), "torn_write")); // reads all old: not torn
	// The same with the write failing: not a completed write.
	expect(b.fails(EIO).build(), "completed_write_reads_new", false);
	// The remap committed: reads new.
	expect(sw_write({{ext(0, 200, 2), ext(2, 103, 2)}}).build(), "completed_write_reads_new",
	       false);
}

// ========================================================== fallback_protocol

TEST_CASE("invariants: fallback_protocol, the RFC's -EAGAIN reaching the caller", "[invariants]")
{
	auto mk = [](int err) {
		return TB(0, 2, Variant::rfc_v1)
		    .data({ext(0, 101, 4)})
		    .call(Ops::direct_write, IomapType::MAPPED, ext(0, 101, 2), 0, 2, 0, EAGAIN)
		    .fails(err)
		    .build();
	};
	Judgement j = expect(mk(EAGAIN), "fallback_protocol", true);
	CHECK(j.verdict == Verdict::divergence);
	CHECK(has(j.broken_names(), "no_spurious_failure"));
	expect(mk(ENOSPC), "fallback_protocol", false);
	// The internal errno is fine inside the trace as long as the retry succeeded.
	TB b(0, 2);
	Trace ok =
	    b.data({ext(0, 101, 4)})
	        .call(Ops::direct_write, IomapType::MAPPED, ext(0, 101, 2), 0, 2, 0, ENOPROTOOPT)
	        .sw_call(ext(0, 200, 2))
	        .path(Path::sw)
	        .bio(0, 200, 2, false)
	        .txn("xfs_reflink_end_atomic_cow", Fork{ext(0, 200, 2), ext(2, 103, 2)})
	        .build();
	CHECK(expect(ok, "fallback_protocol", false).broken_names().empty());
}

// ======================================================== hw_mapping_contract

TEST_CASE("invariants: hw_mapping_contract, span, type and the RFC's flag", "[invariants]")
{
	SECTION("the mapping does not span the write (iomap then fails with -EINVAL)")
	{
		auto mk = [](xfs_filblks_t len) {
			return TB(0, 2)
			    .data({ext(0, 100, 1), ext(1, 500, 3)})
			    .call(Ops::direct_write, IomapType::MAPPED, ext(0, 100, len), 0, len,
			          IOMAP_F_ATOMIC_BIO)
			    .fails(EINVAL)
			    .build();
		};
		Judgement j = expect(mk(1), "hw_mapping_contract", true);
		CHECK(j.verdict == Verdict::violation);
		expect(mk(2), "hw_mapping_contract", false);
	}
	SECTION("a hole flagged IOMAP_F_ATOMIC_BIO")
	{
		auto mk = [](IomapType type) {
			return TB(0, 1)
			    .call(Ops::direct_write, type,
			          type == IomapType::HOLE ? xfs_bmbt_irec{} : unw(0, 300, 1), 0, 1,
			          IOMAP_F_ATOMIC_BIO)
			    .fails(EINVAL)
			    .build();
		};
		expect(mk(IomapType::HOLE), "hw_mapping_contract", true);
		expect(mk(IomapType::UNWRITTEN), "hw_mapping_contract", false);
	}
	SECTION("rfc-v1: a mapping is atomic unless flagged IOMAP_F_ATOMIC_COW")
	{
		auto mk = [](unsigned fflags) {
			return TB(0, 2, Variant::rfc_v1)
			    .data({ext(0, 101, 4)}) // misaligned: the software path is legitimate
			    .path(Path::sw)
			    .call(Ops::atomic_write_cow, IomapType::MAPPED, ext(0, 201, 2), 0, 2,
			          fflags)
			    .bio(0, 201, 2, false)
			    .txn("xfs_reflink_end_atomic_cow", Fork{ext(0, 201, 2), ext(2, 103, 2)})
			    .build();
		};
		// misaligned CoW extent without IOMAP_F_ATOMIC_COW: taken for a REQ_ATOMIC mapping
		expect(mk(IOMAP_F_SHARED), "hw_mapping_contract", true);
		CHECK(expect(mk(IOMAP_F_ATOMIC_COW), "hw_mapping_contract", false)
		          .broken_names()
		          .empty());
	}
	SECTION("v6.16: a CoW mapping (IOMAP_F_SHARED, no IOMAP_F_ATOMIC_BIO) is not bound by it")
	{
		Trace t =
		    TB(0, 2)
		        .data({ext(0, 100, 4)})
		        .path(Path::sw)
		        .sw_call(ext(0, 201, 2))
		        .bio(0, 201, 2, false)
		        .txn("xfs_reflink_end_atomic_cow", Fork{ext(0, 201, 2), ext(2, 102, 2)})
		        .build();
		expect(t, "hw_mapping_contract", false);
	}
}

// ====================================================== hw_path_when_possible

TEST_CASE("invariants: hw_path_when_possible is not owed when hardware could not do it",
          "[invariants]")
{
	SECTION("the device has no atomic writes")
	{
		expect(hw_path_when_possible(true), "hw_path_when_possible", true);
		TB b = sw_write({{ext(0, 200, 2), ext(2, 102, 2)}}, 100);
		expect(b.device(0, 0).build(), "hw_path_when_possible", false);
	}
	SECTION("the device's unit is smaller than the write")
	{
		TB b = sw_write({{ext(0, 200, 2), ext(2, 102, 2)}}, 100);
		expect(b.device(4096, 4096).build(), "hw_path_when_possible", false);
	}
	SECTION("the blocks are shared")
	{
		TB b = sw_write({{ext(0, 200, 2), ext(2, 102, 2)}}, 100);
		expect(b.shared(101, 1).build(), "hw_path_when_possible", false);
	}
	SECTION("CoW staging over the range")
	{
		TB b = sw_write({{ext(0, 200, 2), ext(2, 102, 2)}}, 100);
		expect(b.cow({unw(1, 400, 1)}).build(), "hw_path_when_possible", false);
	}
	SECTION("two extents under the write")
	{
		TB b(0, 2);
		b.path(Path::sw)
		    .data({ext(0, 100, 1), ext(1, 500, 3)})
		    .sw_call(ext(0, 200, 2))
		    .bio(0, 200, 2, false)
		    .txn("xfs_reflink_end_atomic_cow", Fork{ext(0, 200, 2), ext(2, 501, 2)});
		expect(b.build(), "hw_path_when_possible", false);
	}
	SECTION("the software path failing is not this invariant's business")
	{
		TB b = sw_write({{ext(0, 200, 2), ext(2, 102, 2)}}, 100);
		expect(b.fails(ENOSPC).build(), "hw_path_when_possible", false);
	}
}

// ======================================================== no_shared_overwrite

TEST_CASE("invariants: no_shared_overwrite ignores copies and rejected bios", "[invariants]")
{
	auto mk = [](Payload payload, int status) {
		return TB(0, 2)
		    .data({ext(0, 100, 4)})
		    .shared(100, 2)
		    .hw_call(IomapType::MAPPED, ext(0, 100, 2))
		    .bio(0, 100, 2, true, status, payload)
		    .fails(status)
		    .build();
	};
	expect(mk(Payload::new_data, 0), "no_shared_overwrite", true);
	expect(mk(Payload::new_data, EINVAL), "no_shared_overwrite", false);
	expect(mk(Payload::old_copy, 0), "no_shared_overwrite", false);
	// a partial overlap of the shared range is enough
	Trace part = TB(0, 2)
	                 .data({ext(0, 100, 4)})
	                 .shared(101, 5)
	                 .hw_call(IomapType::MAPPED, ext(0, 100, 2))
	                 .bio(0, 100, 2, true)
	                 .build();
	expect(part, "no_shared_overwrite", true);
}

// ======================================================= no_spurious_failure

TEST_CASE("invariants: no_spurious_failure only concerns admitted writes", "[invariants]")
{
	// EINVAL for a 12 KiB write (not a power of two) at admission: correct.
	Trace t = TB(0, 3).data({ext(0, 100, 4)}).rejected(EINVAL).build();
	CHECK(expect(t, "no_spurious_failure", false).broken_names().empty());
	Judgement j = expect(no_spurious_failure(true), "no_spurious_failure", true);
	CHECK(j.broken_names() == std::vector<std::string>{"no_spurious_failure"});
	CHECK(j.verdict == Verdict::divergence);
}

// ========================================================= outside_unchanged

TEST_CASE("invariants: outside_unchanged, written CoW extents outside the write", "[invariants]")
{
	// v6.16's xfs_reflink_convert_cow_locked over the untrimmed CoW extent:
	// blocks 2-3 of the CoW fork become written ("write in progress") outside
	// the write; a later completion would remap them.
	auto mk = [](xfs_exntst_t st) {
		return sw_write({{ext(0, 200, 2), ext(2, 103, 2)}})
		    .final_cow({ext(2, 202, 2, st)})
		    .build();
	};
	expect(mk(XFS_EXT_NORM), "outside_unchanged", true);
	CHECK(expect(mk(XFS_EXT_UNWRITTEN), "outside_unchanged", false).broken_names().empty());
	// A written CoW extent that was already there before the write is not this write's doing.
	Trace pre = sw_write({{ext(0, 200, 2), ext(2, 103, 2)}})
	                .cow({ext(2, 202, 2)})
	                .final_cow({ext(2, 202, 2)})
	                .build();
	expect(pre, "outside_unchanged", false);
}

TEST_CASE("invariants: outside_unchanged, a write in the middle of an extent", "[invariants]")
{
	// write [1, 2) of [0+4 @100] on a device without atomic writes (the
	// software path is the only one): the remap splits the extent in three.
	auto mk = [](Fork remap) {
		TB b(1, 1);
		b.device(0, 0)
		    .path(Path::sw)
		    .data({ext(0, 100, 4)})
		    .sw_call(ext(1, 200, 1))
		    .bio(1, 200, 1, false)
		    .txn("xfs_reflink_end_atomic_cow", remap);
		return b.build();
	};
	CHECK(
	    expect(mk({ext(0, 100, 1), ext(1, 200, 1), ext(2, 102, 2)}), "outside_unchanged", false)
	        .broken_names()
	        .empty());
	expect(mk({ext(0, 100, 1), ext(1, 200, 1), ext(2, 102, 1), unw(3, 103, 1)}),
	       "outside_unchanged", true);
	expect(mk({ext(1, 200, 1), ext(2, 102, 2)}), "outside_unchanged",
	       true); // block 0 punched out
}

// ======================================================= sw_mapping_contract

TEST_CASE("invariants: sw_mapping_contract, type, flag and position", "[invariants]")
{
	auto mk = [](IomapType type, unsigned fflags, xfs_fileoff_t off) {
		TB b(0, 2);
		b.path(Path::sw)
		    .data({ext(0, 100, 4)})
		    .call(Ops::atomic_write_cow, type, ext(off, 200, 2), off, 2, fflags)
		    .bio(0, 200, 2, false)
		    .txn("xfs_reflink_end_atomic_cow", Fork{ext(0, 200, 2), ext(2, 102, 2)});
		return b.build();
	};
	// v6.16 before the stable fix: an unconverted (unwritten) CoW mapping
	expect(mk(IomapType::UNWRITTEN, IOMAP_F_SHARED, 0), "sw_mapping_contract", true);
	// delalloc CoW extent handed to direct I/O
	expect(mk(IomapType::DELALLOC, IOMAP_F_SHARED, 0), "sw_mapping_contract", true);
	// not flagged as CoW: iomap would not treat the write as out of place
	expect(mk(IomapType::MAPPED, 0, 0), "sw_mapping_contract", true);
	// a mapping that does not contain the asked position
	expect(mk(IomapType::MAPPED, IOMAP_F_SHARED, 1), "sw_mapping_contract", true);
	expect(mk(IomapType::MAPPED, IOMAP_F_SHARED, 0), "sw_mapping_contract", false);
	// a failed call returns no mapping at all
	Trace failed = TB(0, 2)
	                   .data({ext(0, 100, 4)})
	                   .path(Path::sw)
	                   .call(Ops::atomic_write_cow, IomapType::HOLE, {}, 0, 0, 0, ENOSPC)
	                   .fails(ENOSPC)
	                   .build();
	expect(failed, "sw_mapping_contract", false);
}

// ========================================================== valid_atomic_bio

TEST_CASE("invariants: valid_atomic_bio, size and alignment", "[invariants]")
{
	auto mk = [](xfs_fsblock_t at, uint32_t dev_min, uint32_t dev_max, int status) {
		return TB(0, 2)
		    .device(dev_min, dev_max)
		    .data({ext(0, at, 4)})
		    .hw_call(IomapType::MAPPED, ext(0, at, 2))
		    .bio(0, at, 2, true, status)
		    .fails(status)
		    .build();
	};
	expect(mk(100, 4096, 65536, 0), "valid_atomic_bio", false);
	expect(mk(101, 4096, 65536, 0), "valid_atomic_bio", true); // not naturally aligned on disk
	expect(mk(100, 4096, 4096, 0), "valid_atomic_bio", true);  // above atomic_write_unit_max
	expect(mk(100, 16384, 65536, 0), "valid_atomic_bio",
	       true); // not a multiple of atomic_write_unit_min
	expect(mk(100, 0, 0, 0), "valid_atomic_bio", true); // no atomic writes at all
	expect(mk(100, 4096, 4096, EINVAL), "valid_atomic_bio",
	       false); // rejected by blk_validate_atomic_write_op_size
	// a bio that starts at the write but is shorter than it
	Trace short_bio = TB(0, 2)
	                      .data({ext(0, 100, 4)})
	                      .hw_call(IomapType::MAPPED, ext(0, 100, 2))
	                      .bio(0, 100, 1, true)
	                      .build();
	expect(short_bio, "valid_atomic_bio", true);
}

// ================================================================= admission

TEST_CASE("invariants: admission, each of generic_atomic_write_valid's rules", "[invariants]")
{
	// admitted 8 KiB at 4 KiB: pos % len != 0
	Trace misaligned = TB(0, 2)
	                       .write_bytes(4096, 8192)
	                       .data({ext(0, 100, 4)})
	                       .hw_call(IomapType::MAPPED, ext(1, 101, 2))
	                       .bio(1, 101, 2, true)
	                       .build();
	expect(misaligned, "admission", true);
	// admitted 12 KiB: not a power of two
	Trace three = TB(0, 3).data({ext(0, 100, 4)}).path(Path::sw).fails(EINVAL).build();
	expect(three, "admission", true);
	// admitted although the inode cannot do atomic writes (limits 0)
	Trace none = TB(0, 1)
	                 .limits(0, 0)
	                 .data({ext(0, 100, 4)})
	                 .hw_call(IomapType::MAPPED, ext(0, 100, 1))
	                 .bio(0, 100, 1, true)
	                 .build();
	expect(none, "admission", true);
	// below awu_min
	Trace small = TB(0, 1).write_bytes(0, 2048).rejected(EINVAL).build();
	expect(small, "admission", false);
	Trace small_admitted = TB(0, 1).write_bytes(0, 2048).fails(EINVAL).build();
	expect(small_admitted, "admission", true);
	// rejected within the limits: a divergence
	Judgement j = expect(admission(true), "admission", true);
	CHECK(j.broken_names() == std::vector<std::string>{"admission"});
	CHECK(j.verdict == Verdict::divergence);
}

// ============================================================ liveness alone

TEST_CASE("invariants: a safety finding beside a liveness one makes a violation", "[invariants]")
{
	// (each liveness primary alone makes a divergence: see the catalogue test)
	// The plain in-place bio completed, yet the write reported -EIO.
	TB b(0, 2);
	Trace t = b.data({ext(0, 100, 4)})
	              .hw_call(IomapType::MAPPED, ext(0, 100, 2), 0)
	              .bio(0, 100, 2, false)
	              .fails(EIO)
	              .build();
	Judgement j = expect(t, "no_spurious_failure", true);
	// the plain in-place bio completed, yet the write reported -EIO: a crash
	// before anything else committed may find either block of the two
	CHECK(has(j.broken_names(), "torn_write"));
	CHECK(j.verdict == Verdict::violation);
}

// ========================================== facts: the layout before the write

// hw_path_when_possible reads two facts of the initial data fork over [o, E):
// how many pieces it is in (every hole or delalloc block one piece; a real
// block starts one unless the block before it, inside [o, E), is of the same
// kind at the physically preceding block) and how many written blocks are
// shared.  facts.cpp counts them per extent; here they are counted block by
// block, over random layouts that include adjacent extents continuing
// physically (the case that merges pieces), delalloc and shared ranges.
TEST_CASE("facts: pieces and shared blocks before the write, against a block-by-block count",
          "[invariants][facts]")
{
	std::mt19937_64 rng(20261125);
	auto pick = [&](uint64_t n) { return rng() % n; };
	unsigned merged = 0;
	for (int i = 0; i < 3000; i++) {
		Trace t = TB(0, 1).build();
		Fork &f = t.initial.data_fork;
		xfs_fileoff_t off = pick(3);
		xfs_fsblock_t pblk = 100;
		for (unsigned n = unsigned(pick(6)); n > 0; n--) {
			xfs_filblks_t len = 1 + pick(4);
			// physically continuing the previous extent, half of the time
			if (f.empty() || pick(2))
				pblk += 7 + pick(20);
			xfs_exntst_t st = pick(3) ? XFS_EXT_NORM : XFS_EXT_UNWRITTEN;
			f.push_back(ext(off, pick(8) ? pblk : DELAYSTARTBLOCK, len, st));
			if (f.back().br_startblock == DELAYSTARTBLOCK)
				f.back().br_state = XFS_EXT_NORM;
			pblk += len;
			off += len + (pick(2) ? 0 : pick(3));
		}
		t.initial.refcount.clear();
		for (xfs_fsblock_t b = 100 + pick(10); b < pblk && t.initial.refcount.size() < 3;
		     b += 5 + pick(20))
			t.initial.refcount.push_back({b, 1 + pick(6), 2});
		const xfs_fileoff_t o = pick(8), E = o + 1 + pick(12);
		t.write.offset = o * BS;
		t.write.length = (E - o) * BS;

		struct Block {
			uint64_t kind, pblk;
		};
		auto at = [&](xfs_fileoff_t b) {
			for (const auto &e : f)
				if (e.br_startoff <= b && b < e.br_startoff + e.br_blockcount) {
					if (e.br_startblock == DELAYSTARTBLOCK)
						return Block{spec::K_DELALLOC, 0};
					return Block{e.br_state == XFS_EXT_UNWRITTEN
					                 ? spec::K_UNWRITTEN
					                 : spec::K_NORM,
					             e.br_startblock + (b - e.br_startoff)};
				}
			return Block{spec::K_HOLE, 0};
		};
		uint64_t pieces = 0, shared = 0;
		for (xfs_fileoff_t b = o; b < E; b++) {
			Block x = at(b);
			bool gap = x.kind == spec::K_HOLE || x.kind == spec::K_DELALLOC;
			Block prev = at(b - 1);
			bool joins =
			    b > o && !gap && prev.kind == x.kind && prev.pblk + 1 == x.pblk;
			pieces += !joins;
			// (two extents joining into one piece: an extent starts at b)
			merged +=
			    joins && std::any_of(f.begin(), f.end(), [&](const xfs_bmbt_irec &e) {
				    return e.br_startoff == b;
			    });
			if (x.kind == spec::K_NORM)
				for (const auto &r : t.initial.refcount)
					shared += r.rc_startblock <= x.pblk &&
					          x.pblk < r.rc_startblock + r.rc_blockcount;
		}
		spec::Facts facts = spec::extract_facts(t);
		INFO("layout " << i << ": [" << o << ", " << E << ")");
		REQUIRE(facts.v[spec::G_INIT_PIECES] == pieces);
		REQUIRE(facts.v[spec::G_INIT_SHARED] == shared);
	}
	// the layouts did exercise two extents joining into one piece
	CHECK(merged > 100);
}

TEST_CASE("invariants: others_data_kept, the write's bio over another actor's blocks", "[invariants][interleave]")
{
	// The other actor's [4+2 @300] stays mapped, but the write's bio lands on
	// physical block 300 (its committed data) vs on its own CoW block 200.
	auto mk = [](xfs_fsblock_t bio_at) {
		TB b(0, 2);
		b.path(Path::sw)
		    .data({ext(0, 101, 4)})
		    .other_txn("xfs_reflink_end_cow", Fork{ext(0, 101, 4), ext(4, 300, 2)}, ext(4, 300, 2))
		    .sw_call(ext(0, 200, 2))
		    .txn("xfs_atomic_write_cow_iomap_begin", std::nullopt, Fork{unw(0, 200, 2)})
		    .bio(0, bio_at, 2, false)
		    .txn("xfs_reflink_end_atomic_cow", Fork{ext(0, 200, 2), ext(2, 103, 2), ext(4, 300, 2)}, Fork{});
		return b.build();
	};
	expect(mk(300), "others_data_kept", true);
	expect(mk(200), "others_data_kept", false);
}

TEST_CASE("invariants: outside_unchanged does not blame another actor's transactions", "[invariants][interleave]")
{
	// The other actor's remap beside the write changes the data fork outside
	// [0, 2); only the write's own transactions count for outside_unchanged.
	Trace t = others_data_kept(false);
	expect(t, "outside_unchanged", false);
	// The same change made by the write itself is outside_unchanged's business.
	t.txns[0].other = false;
	t.others_mapped.clear();
	t.others_mapped_at.clear();
	expect(t, "outside_unchanged", true);
}
