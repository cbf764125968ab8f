// End-to-end tests of the three modelled kernels through
// untorn::run_atomic_write(): atomic write limits, admission, the choice
// between the hardware (REQ_ATOMIC) and software (CoW) paths, and what the
// trace records.  Each expectation is derived from the kernel code named in
// the comment (fs/xfs/xfs_file.c, xfs_iomap.c, xfs_mount.c, xfs_iops.c,
// xfs_buf.c, fs/iomap/direct-io.c at the version in question; for rfc-v1
// the RFC series of Feb 2025).
#include "common/layout.h"
#include "common/variants.h"
#include "untorn/impl.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

using namespace untorn;
using namespace untorn_test;

namespace {

size_t count_txns(const Trace &t, const std::string &name)
{
	return size_t(std::count_if(t.txns.begin(), t.txns.end(),
				    [&](const Transaction &x) { return name == x.name; }));
}

size_t count_calls(const Trace &t, Ops o)
{
	return size_t(std::count_if(t.calls.begin(), t.calls.end(), [&](const IomapBeginCall &c) { return c.ops == o; }));
}

int txn_index(const Trace &t, const std::string &name)
{
	for (size_t i = 0; i < t.txns.size(); i++)
		if (name == t.txns[i].name)
			return int(i);
	return -1;
}

bool any_atomic_bio(const Trace &t)
{
	return std::any_of(t.bios.begin(), t.bios.end(), [](const Bio &b) { return b.req_atomic; });
}

// Rejected before any mapping: no ->iomap_begin, no bio, no transaction.
void require_rejected(const Trace &t, int err)
{
	CHECK(t.result == err);
	CHECK_FALSE(t.admitted);
	CHECK(t.path == Path::none);
	CHECK(t.calls.empty());
	CHECK(t.bios.empty());
	CHECK(t.txns.empty());
	CHECK(t.bytes_written == 0u);
	CHECK(t.final_state.data_fork == t.initial.data_fork);
	CHECK(t.final_state.cow_fork == t.initial.cow_fork);
}

} // namespace

// ====================================================================== limits
// v6.16 xfs_mount.c: awu_max (blocks) = min(rounddown_pow_of_two(
// XFS_B_TO_FSB(MAX_RW_COUNT)), xfs_reflink_max_atomic_cow(),
// xfs_calc_group_awu_max()), the group cap being max_pow_of_two_factor(agblocks)
// when the buftarg has hardware atomics and rounddown_pow_of_two(agblocks)
// otherwise.  xfs_iops.c xfs_get_atomic_write_max(): that, in bytes, when the
// fs can do software atomics (reflink); else bs with hardware atomics, else 0.
// xfs_get_atomic_write_min(): bs if hardware or software atomics, else 0.

TEST_CASE("variants: v6.16/v6.18 limits with reflink and hardware atomics", "[variants][limits]")
{
	for (Variant v : {Variant::v6_16, Variant::v6_18}) {
		INFO(variant_name(v));
		Trace t = run_atomic_write(base(), wr(0, 3 * BS), v);
		CHECK(t.awu_min == 4096u);
		CHECK(t.awu_max == 32768u); // min(262144, 4096, max_pow_of_two_factor(1000) = 8) blocks
	}
}

TEST_CASE("variants: v6.16 without hardware atomics caps the group at rounddown_pow_of_two(agblocks)",
	  "[variants][limits]")
{
	Trace t = run_atomic_write(base(true, 0, 0), wr(0, 3 * BS), Variant::v6_16);
	CHECK(t.awu_min == 4096u);
	CHECK(t.awu_max == 512u * 4096u); // rounddown_pow_of_two(1000) = 512 blocks

	FileState st = base(true, 0, 0);
	st.geo.ag_blocks = 1024;
	t = run_atomic_write(st, wr(0, 3 * BS), Variant::v6_16);
	CHECK(t.awu_max == 1024u * 4096u);
}

TEST_CASE("variants: v6.16 ignores nonsense device limits (xfs_configure_buftarg_atomic_writes)",
	  "[variants][limits]")
{
	// min_bytes > sb_blocksize: treated as no hardware atomics at all.
	FileState st = base(true, 8192, 65536);
	Trace t = run_atomic_write(st, wr(0, 3 * BS), Variant::v6_16);
	CHECK(t.awu_min == 4096u);
	CHECK(t.awu_max == 512u * 4096u); // the no-hardware group cap, not 8 blocks

	// max_bytes < sb_blocksize: likewise; without reflink nothing is left.
	st = base(false, 512, 2048);
	t = run_atomic_write(st, wr(0, BS), Variant::v6_16);
	CHECK(t.awu_min == 0u);
	CHECK(t.awu_max == 0u);
	require_rejected(t, EOPNOTSUPP);
}

TEST_CASE("variants: v6.16 limit from the atomic ioend transaction (x_max_atomic_ioend)", "[variants][limits]")
{
	FileState st = base();
	st.geo.ag_blocks = 1024;
	st.geo.max_atomic_ioend = 16;
	Trace t = run_atomic_write(st, wr(0, 3 * BS), Variant::v6_16);
	CHECK(t.awu_max == 16u * 4096u);
}

TEST_CASE("variants: v6.16 rounds the log's atomic write count down to a power of two", "[variants][limits]")
{
	// fs/xfs/xfs_reflink.c xfs_reflink_max_atomic_cow():
	//     return rounddown_pow_of_two(xfs_calc_max_atomic_write_fsblocks(mp));
	// x_max_atomic_ioend is xfs_calc_max_atomic_write_fsblocks(), unrounded.
	// The numbers of a real 6.18 mount (4 KiB blocks, 32768-block AGs, no
	// hardware atomics):
	//   xfs_calc_max_atomic_write_fsblocks: ... logres 107904 blockcount 387
	//   xfs_calc_atomic_write_unit_max: ag max_write 262144 max_ioend 256
	//       max_gsize 32768 awu_max 256
	FileState st = base(true, 0, 0);
	st.geo.ag_blocks = 32768;
	st.geo.max_atomic_ioend = 387;
	for (Variant v : {Variant::v6_16, Variant::v6_18}) {
		INFO(variant_name(v));
		AtomicLimits l = atomic_write_limits(st, v);
		CHECK(l.max_write == 262144u); // rounddown_pow_of_two(XFS_B_TO_FSB(MAX_RW_COUNT))
		CHECK(l.max_ioend == 256u);
		CHECK(l.max_gsize == 32768u);
		CHECK(l.group_awu_max == 256u);
		CHECK(l.awu_min == 4096u);
		CHECK(l.awu_max == 256u * 4096u); // statx's atomic_write_unit_max: 1 MiB

		Trace t = run_atomic_write(st, wr(0, 3 * BS), v);
		CHECK(t.awu_min == l.awu_min);
		CHECK(t.awu_max == l.awu_max);
		// 2 MiB is over the limit, and admission says so before any mapping
		require_rejected(run_atomic_write(st, wr(0, 512 * BS), v), EINVAL);
		CHECK(run_atomic_write(st, wr(0, 256 * BS), v).admitted);
	}
	// Without reflink there are no software atomics: max_ioend is 0, and
	// with hardware atomics the limit is one block.
	st = base(false);
	st.geo.max_atomic_ioend = 387;
	AtomicLimits l = atomic_write_limits(st, Variant::v6_16);
	CHECK(l.max_ioend == 0u);
	CHECK(l.awu_max == 4096u);
}

TEST_CASE("variants: atomic_write_limits agrees with what a write sees, for every variant", "[variants][limits]")
{
	const std::vector<FileState> states = [] {
		std::vector<FileState> v = {base(), base(true, 0, 0), base(false), base(false, 0, 0),
					    base(true, 8192, 65536)};
		FileState odd = base();
		odd.geo.max_atomic_ioend = 5;
		v.push_back(odd);
		return v;
	}();
	for (Variant x : every_variant())
		for (const FileState &st : states) {
			INFO(variant_name(x));
			AtomicLimits l = atomic_write_limits(st, x);
			Trace t = run_atomic_write(st, wr(0, BS), x);
			CHECK(l.awu_min == t.awu_min);
			CHECK(l.awu_max == t.awu_max);
		}
	// rfc-v1 (patch 09): no max_write / max_ioend terms
	AtomicLimits r = atomic_write_limits(base(), Variant::rfc_v1);
	CHECK(r.max_write == 0u);
	CHECK(r.max_ioend == 0u);
	CHECK(r.max_gsize == 8u); // max_pow_of_two_factor(1000)
	CHECK(r.awu_max == 32768u);
}

TEST_CASE("variants: v6.16 limit from MAX_RW_COUNT", "[variants][limits]")
{
	FileState st = base(true, 0, 0);
	st.geo.ag_blocks = 1u << 31;
	st.geo.ag_count = 1;
	st.geo.max_atomic_ioend = 1u << 30;
	Trace t = run_atomic_write(st, wr(0, 3 * BS), Variant::v6_16);
	// rounddown_pow_of_two(XFS_B_TO_FSB(0x7ffff000)) = rounddown(524287) = 2^18 blocks
	CHECK(t.awu_max == (1u << 18) * 4096u);
}

TEST_CASE("variants: v6.16 without reflink: only one block, and only with hardware", "[variants][limits]")
{
	Trace t = run_atomic_write(base(false), wr(0, 3 * BS), Variant::v6_16);
	CHECK(t.awu_min == 4096u);
	CHECK(t.awu_max == 4096u);

	t = run_atomic_write(base(false, 0, 0), wr(0, BS), Variant::v6_16);
	CHECK(t.awu_min == 0u);
	CHECK(t.awu_max == 0u);
	// xfs_file_open gives no FMODE_CAN_ATOMIC_WRITE: RWF_ATOMIC is EOPNOTSUPP.
	require_rejected(t, EOPNOTSUPP);
}

TEST_CASE("variants: rfc-v1 limits (patch 09)", "[variants][limits]")
{
	// unit_max = min(FSB_TO_B(mp->awu_max), bdev max); mp->awu_max is
	// max_pow_of_two_factor(sb_agblocks) with reflink, 1 without.
	Trace t = run_atomic_write(base(), wr(0, 3 * BS), Variant::rfc_v1);
	CHECK(t.awu_min == 4096u);
	CHECK(t.awu_max == 32768u); // 8 blocks < 65536

	FileState st = base();
	st.geo.ag_blocks = 1024;
	t = run_atomic_write(st, wr(0, 3 * BS), Variant::rfc_v1);
	CHECK(t.awu_max == 65536u); // the device max binds

	t = run_atomic_write(base(false), wr(0, 3 * BS), Variant::rfc_v1);
	CHECK(t.awu_max == 4096u);

	// No hardware support: no atomic writes at all, even with reflink.
	t = run_atomic_write(base(true, 0, 0), wr(0, BS), Variant::rfc_v1);
	CHECK(t.awu_min == 0u);
	CHECK(t.awu_max == 0u);
	require_rejected(t, EOPNOTSUPP);
}

// =================================================================== admission
// xfs_file_write_iter: ocount < min or > max -> EINVAL; then
// generic_atomic_write_valid: !is_power_of_2(len) or !IS_ALIGNED(pos, len) -> EINVAL.

TEST_CASE("variants: admission rejects bad lengths and offsets with EINVAL", "[variants][admission]")
{
	FileState st = base();
	st.data_fork = {ext(0, 8, 16)};
	SECTION("length not a power of two")
	{
		for (Variant v : every_variant()) {
			INFO(variant_name(v));
			require_rejected(run_atomic_write(st, wr(0, 3 * BS), v), EINVAL);
		}
	}
	SECTION("offset not aligned to the length")
	{
		for (Variant v : every_variant()) {
			INFO(variant_name(v));
			require_rejected(run_atomic_write(st, wr(BS, 2 * BS), v), EINVAL);
		}
	}
	SECTION("length above awu_max")
	{
		for (Variant v : every_variant()) {
			INFO(variant_name(v));
			require_rejected(run_atomic_write(st, wr(0, 65536), v), EINVAL); // awu_max 32768
		}
	}
	SECTION("length below awu_min")
	{
		for (Variant v : every_variant()) {
			INFO(variant_name(v));
			require_rejected(run_atomic_write(st, wr(0, 2048), v), EINVAL);
		}
	}
	SECTION("the limits themselves are admitted")
	{
		for (Variant v : every_variant()) {
			INFO(variant_name(v));
			Trace t = run_atomic_write(st, wr(32768, 32768), v);
			CHECK(t.admitted);
			CHECK(t.path != Path::none);
			t = run_atomic_write(st, wr(4096, 4096), v);
			CHECK(t.admitted);
		}
	}
}

// =================================================================== hw path
// v6.16 xfs_direct_write_iomap_begin: a written extent, aligned
// (IS_ALIGNED(startblock, blockcount)), spanning the write, len <= bt_awu_max:
// the mapping carries IOMAP_F_ATOMIC_BIO and iomap_dio_bio_iter sends one
// REQ_ATOMIC bio; nothing to remap at completion.

TEST_CASE("variants: aligned written extent goes out as one REQ_ATOMIC bio", "[variants][hw]")
{
	FileState st = base();
	st.data_fork = {ext(0, 8, 4)};
	for (Variant v : all_variants) {
		INFO(variant_name(v));
		Trace t = run_atomic_write(st, wr(0, 4 * BS), v);
		CHECK(t.result == 0);
		CHECK(t.bytes_written == 16384u);
		CHECK(t.path == Path::hw);
		REQUIRE(t.calls.size() == 1u);
		CHECK(t.calls[0].ops == Ops::direct_write);
		CHECK(t.calls[0].error == 0);
		CHECK((t.calls[0].flags & IOMAP_ATOMIC) != 0u);
		CHECK(t.calls[0].iomap.type == IomapType::MAPPED);
		CHECK((t.calls[0].iomap.flags & IOMAP_F_SHARED) == 0u);
		REQUIRE(t.bios.size() == 1u);
		CHECK(t.bios[0].req_atomic);
		CHECK(t.bios[0].status == 0);
		CHECK(t.bios[0].fsbno == 8u);
		CHECK(t.bios[0].daddr == 8u);
		CHECK(t.bios[0].nblocks == 4u);
		CHECK(t.txns.empty());
		CHECK(t.final_state.data_fork == st.data_fork);
		if (v != Variant::rfc_v1)
			CHECK(t.calls[0].iomap.flags == unsigned(IOMAP_F_ATOMIC_BIO));
	}
}

TEST_CASE("variants: aligned unwritten extent: REQ_ATOMIC bio, then unwritten conversion", "[variants][hw]")
{
	// xfs_dio_write_end_io: IOMAP_DIO_UNWRITTEN -> xfs_iomap_write_unwritten
	// after the I/O completes.
	FileState st = base();
	st.data_fork = {ext(0, 8, 4, XFS_EXT_UNWRITTEN)};
	for (Variant v : {Variant::v6_16, Variant::v6_18}) {
		INFO(variant_name(v));
		Trace t = run_atomic_write(st, wr(0, 4 * BS), v);
		CHECK(t.result == 0);
		CHECK(t.path == Path::hw);
		REQUIRE(t.bios.size() == 1u);
		CHECK(t.bios[0].req_atomic);
		CHECK(t.bios[0].txns_before == 0u);
		REQUIRE(t.txns.size() == 1u);
		CHECK(std::string(t.txns[0].name) == "xfs_iomap_write_unwritten");
		REQUIRE(t.final_state.data_fork.size() == 1u);
		CHECK(t.final_state.data_fork[0] == ext(0, 8, 4, XFS_EXT_NORM));
	}
}

TEST_CASE("variants: one-block write into a hole allocates and stays on the hw path", "[variants][hw]")
{
	// needs_alloc && orig_end_fsb - offset_fsb > 1 is false for one block;
	// a one-block hole passes IS_ALIGNED(x, 1) and imap_spans_range, so
	// xfs_iomap_write_direct allocates unwritten blocks (IOMAP_F_NEW).
	FileState st = base();
	st.alloc = {{50, 1}};
	for (Variant v : {Variant::v6_16, Variant::v6_18}) {
		INFO(variant_name(v));
		Trace t = run_atomic_write(st, wr(0, BS), v);
		CHECK(t.result == 0);
		CHECK(t.path == Path::hw);
		REQUIRE(t.calls.size() == 1u);
		CHECK(t.calls[0].iomap.type == IomapType::UNWRITTEN);
		CHECK(t.calls[0].iomap.flags == unsigned(IOMAP_F_NEW | IOMAP_F_ATOMIC_BIO));
		REQUIRE(t.bios.size() == 1u);
		CHECK(t.bios[0].req_atomic);
		CHECK(t.bios[0].fsbno == 50u);
		REQUIRE(t.txns.size() == 2u);
		CHECK(std::string(t.txns[0].name) == "xfs_iomap_write_direct");
		CHECK(std::string(t.txns[1].name) == "xfs_iomap_write_unwritten");
		CHECK(t.bios[0].txns_before == 1u); // allocated before, converted after
		REQUIRE(t.final_state.data_fork.size() == 1u);
		CHECK(t.final_state.data_fork[0] == ext(0, 50, 1, XFS_EXT_NORM));
	}
}

TEST_CASE("variants: v6.16 shared aligned extent: out_found_cow, plain bio, one remap", "[variants][hw]")
{
	// xfs_direct_write_iomap_begin: imap_needs_cow -> xfs_reflink_allocate_cow
	// fills a CoW hole; shared and xfs_bmap_hw_atomic_write_possible(cmap)
	// -> goto out_found_cow: IOMAP_F_SHARED without IOMAP_F_ATOMIC_BIO, so the
	// bio is not REQ_ATOMIC; atomicity comes from xfs_reflink_end_atomic_cow's
	// single transaction, which also drops the old blocks' refcount.
	FileState st = base();
	st.data_fork = {ext(0, 8, 4)};
	st.refcount = {{8, 4, 2}};
	st.alloc = {{64, 32}};
	Trace t = run_atomic_write(st, wr(0, 4 * BS), Variant::v6_16);
	CHECK(t.result == 0);
	CHECK(t.path == Path::hw);
	REQUIRE(t.calls.size() == 1u);
	CHECK(t.calls[0].ops == Ops::direct_write);
	CHECK(t.calls[0].iomap.flags == unsigned(IOMAP_F_SHARED));
	REQUIRE(t.calls[0].srcmap.has_value());
	CHECK(t.calls[0].srcmap->irec == ext(0, 8, 4));
	REQUIRE(t.bios.size() == 1u);
	CHECK_FALSE(t.bios[0].req_atomic);
	CHECK(t.bios[0].fsbno == 64u);
	CHECK(count_txns(t, "xfs_reflink_end_atomic_cow") == 1u);
	REQUIRE(t.final_state.data_fork.size() == 1u);
	CHECK(t.final_state.data_fork[0] == ext(0, 64, 4));
	CHECK(t.final_state.refcount.empty()); // 2 -> 1: no longer shared
}

// =================================================================== sw path

TEST_CASE("variants: misaligned extent: ENOPROTOOPT, then the CoW ops", "[variants][sw]")
{
	// v6.16 xfs_bmap_hw_atomic_write_possible: !IS_ALIGNED(9, 4) -> -ENOPROTOOPT;
	// xfs_file_dio_write_atomic retries with xfs_atomic_write_cow_iomap_ops;
	// completion remaps in one xfs_reflink_end_atomic_cow transaction.
	FileState st = base();
	st.data_fork = {ext(0, 9, 4)};
	st.alloc = {{64, 32}};
	for (Variant v : {Variant::v6_16, Variant::v6_18}) {
		INFO(variant_name(v));
		Trace t = run_atomic_write(st, wr(0, 4 * BS), v);
		CHECK(t.result == 0);
		CHECK(t.bytes_written == 16384u);
		CHECK(t.path == Path::sw);
		REQUIRE(t.calls.size() >= 2u);
		CHECK(t.calls[0].ops == Ops::direct_write);
		CHECK(t.calls[0].error == ENOPROTOOPT);
		CHECK(count_calls(t, Ops::direct_write) == 1u);
		for (size_t i = 1; i < t.calls.size(); i++) {
			CHECK(t.calls[i].ops == Ops::atomic_write_cow);
			CHECK(t.calls[i].error == 0);
			CHECK((t.calls[i].iomap.flags & IOMAP_F_SHARED) != 0u);
		}
		REQUIRE_FALSE(t.bios.empty());
		CHECK_FALSE(any_atomic_bio(t));
		REQUIRE(count_txns(t, "xfs_reflink_end_atomic_cow") == 1u);
		const int remap = txn_index(t, "xfs_reflink_end_atomic_cow");
		for (const Bio &b : t.bios)
			CHECK(int(b.txns_before) <= remap); // the remap commits after every bio
		CHECK(remap == int(t.txns.size()) - 1);
		REQUIRE(t.final_state.data_fork.size() == 1u);
		CHECK(t.final_state.data_fork[0] == ext(0, 64, 4));
		CHECK(t.bios[0].fsbno == 64u);
		// The CoW staging extent left over is unwritten (EXTSZALIGN preallocation).
		for (const auto &e : t.final_state.cow_fork)
			CHECK(e.br_state == XFS_EXT_UNWRITTEN);
	}
}

TEST_CASE("variants: multi-block write into a hole needs the CoW ops", "[variants][sw]")
{
	// needs_alloc && orig_end_fsb - offset_fsb > 1 -> -ENOPROTOOPT.
	FileState st = base();
	st.alloc = {{64, 32}};
	for (Variant v : {Variant::v6_16, Variant::v6_18}) {
		INFO(variant_name(v));
		Trace t = run_atomic_write(st, wr(0, 4 * BS), v);
		CHECK(t.result == 0);
		CHECK(t.path == Path::sw);
		REQUIRE_FALSE(t.calls.empty());
		CHECK(t.calls[0].error == ENOPROTOOPT);
		CHECK(count_txns(t, "xfs_reflink_end_atomic_cow") == 1u);
		REQUIRE(t.final_state.data_fork.size() == 1u);
		CHECK(t.final_state.data_fork[0] == ext(0, 64, 4));
	}
}

TEST_CASE("variants: a write longer than the device's awu_max skips the hw ops", "[variants][sw]")
{
	// xfs_file_dio_write_atomic: if (ocount > bt_awu_max) dops = &xfs_atomic_write_cow_iomap_ops.
	FileState st = base(true, 4096, 16384);
	st.geo.ag_blocks = 1024;
	st.data_fork = {ext(0, 8, 8)}; // aligned: the hw path would have taken it
	st.alloc = {{64, 32}};
	for (Variant v : {Variant::v6_16, Variant::v6_18}) {
		INFO(variant_name(v));
		Trace t = run_atomic_write(st, wr(0, 8 * BS), v);
		CHECK(t.result == 0);
		CHECK(t.path == Path::sw);
		CHECK(count_calls(t, Ops::direct_write) == 0u);
		CHECK(count_calls(t, Ops::atomic_write_cow) >= 1u);
		CHECK_FALSE(any_atomic_bio(t));
		CHECK(count_txns(t, "xfs_reflink_end_atomic_cow") == 1u);
	}
}

TEST_CASE("variants: without hardware atomics every write takes the CoW ops", "[variants][sw]")
{
	FileState st = base(true, 0, 0);
	st.data_fork = {ext(0, 8, 4)};
	st.alloc = {{64, 32}};
	Trace t = run_atomic_write(st, wr(0, 4 * BS), Variant::v6_18);
	CHECK(t.result == 0);
	CHECK(t.path == Path::sw);
	CHECK(count_calls(t, Ops::direct_write) == 0u);
	CHECK_FALSE(any_atomic_bio(t));
}

TEST_CASE("variants: rfc-v1 misaligned extent: EAGAIN, then the IOMAP_ATOMIC_COW retry", "[variants][sw][rfc]")
{
	// RFC patch 06: !IS_ALIGNED -> -EAGAIN; patch 07 retries iomap_dio_rw
	// with IOMAP_DIO_ATOMIC_COW (iter flags IOMAP_ATOMIC | IOMAP_ATOMIC_COW);
	// patch 03: a mapping with IOMAP_F_ATOMIC_COW is not REQ_ATOMIC; patch 08
	// remaps in one transaction.
	FileState st = base();
	st.data_fork = {ext(0, 9, 4)};
	st.alloc = {{64, 32}};
	Trace t = run_atomic_write(st, wr(0, 4 * BS), Variant::rfc_v1);
	CHECK(t.result == 0);
	CHECK(t.path == Path::sw);
	REQUIRE(t.calls.size() >= 2u);
	CHECK(t.calls[0].error == EAGAIN);
	CHECK((t.calls[0].flags & IOMAP_ATOMIC_COW) == 0u);
	for (size_t i = 1; i < t.calls.size(); i++) {
		CHECK((t.calls[i].flags & IOMAP_ATOMIC) != 0u);
		CHECK((t.calls[i].flags & IOMAP_ATOMIC_COW) != 0u);
		CHECK((t.calls[i].iomap.flags & IOMAP_F_ATOMIC_COW) != 0u);
	}
	REQUIRE_FALSE(t.bios.empty());
	CHECK_FALSE(any_atomic_bio(t));
	CHECK(count_txns(t, "xfs_reflink_end_atomic_cow") == 1u);
	REQUIRE(t.final_state.data_fork.size() == 1u);
	CHECK(t.final_state.data_fork[0] == ext(0, 64, 4));
}

TEST_CASE("variants: rfc-v1 checks the span before trimming around a shared tail", "[variants][rfc]")
{
	// RFC patch 06: the alignment/span checks run on the untrimmed imap, then
	// xfs_find_trim_cow_extent -> xfs_reflink_trim_around_shared trims it to
	// the unshared prefix [0, 2) without reporting shared; the mapping lacks
	// IOMAP_F_ATOMIC_COW, so iomap_dio_bio_iter demands length == iter->len
	// and fails the write with -EINVAL (a spurious error, true to the RFC).
	FileState st = base();
	st.data_fork = {ext(0, 8, 4)};
	st.refcount = {{10, 2, 2}};
	st.alloc = {{64, 32}};
	Trace t = run_atomic_write(st, wr(0, 4 * BS), Variant::rfc_v1);
	CHECK(t.result == EINVAL);
	CHECK(t.path == Path::hw);
	REQUIRE(t.calls.size() == 1u);
	CHECK(t.calls[0].error == 0);
	CHECK(t.calls[0].iomap.length == 2u * BS);
	CHECK(t.bios.empty());
	CHECK(t.txns.empty());
	CHECK(t.final_state.data_fork == st.data_fork);

	// v6.16 checks the trimmed imap (imap_spans_range fails) -> ENOPROTOOPT -> CoW ops.
	t = run_atomic_write(st, wr(0, 4 * BS), Variant::v6_16);
	CHECK(t.result == 0);
	CHECK(t.path == Path::sw);
	REQUIRE_FALSE(t.calls.empty());
	CHECK(t.calls[0].error == ENOPROTOOPT);
	REQUIRE(t.final_state.data_fork.size() == 1u);
	CHECK(t.final_state.data_fork[0] == ext(0, 64, 4));
	CHECK(t.final_state.refcount.empty());
}

// ======================================================= v6.16 -> v6.18 fixes

TEST_CASE("variants: a delalloc CoW extent at the offset: v6.16 EIO, v6.18 converts it", "[variants][sw][fixes]")
{
	// v6.16 xfs_atomic_write_cow_iomap_begin: cmap.br_startoff <= offset_fsb
	// -> goto found with a delalloc cmap (br_state NORM, so no conversion) ->
	// xfs_bmbt_to_iomap gives IOMAP_DELALLOC -> iomap_dio_iter: WARN, -EIO.
	// 8d54eacd82a0 (v6.18): isnullstartblock -> xfs_bmapi_convert_delalloc,
	// retry the lookup, convert to written, map it.
	FileState st = base(true, 4096, 8192); // 16 KiB > bt_awu_max: straight to the CoW ops
	st.data_fork = {ext(0, 9, 4)};
	st.cow_fork = {ext(0, DELAYSTARTBLOCK, 4)};
	st.alloc = {{100, 4}};

	Trace t = run_atomic_write(st, wr(0, 4 * BS), Variant::v6_16);
	CHECK(t.result == EIO);
	CHECK(t.path == Path::sw);
	REQUIRE(t.calls.size() == 1u);
	CHECK(t.calls[0].ops == Ops::atomic_write_cow);
	CHECK(t.calls[0].iomap.type == IomapType::DELALLOC);
	CHECK(t.bios.empty());
	CHECK(count_txns(t, "xfs_reflink_end_atomic_cow") == 0u);
	CHECK(t.final_state.data_fork == st.data_fork);

	t = run_atomic_write(st, wr(0, 4 * BS), Variant::v6_18);
	CHECK(t.result == 0);
	CHECK(t.path == Path::sw);
	REQUIRE_FALSE(t.calls.empty());
	CHECK(t.calls[0].iomap.type == IomapType::MAPPED);
	CHECK(count_txns(t, "xfs_bmapi_convert_delalloc") == 1u);
	CHECK(count_txns(t, "xfs_reflink_end_atomic_cow") == 1u);
	REQUIRE(t.bios.size() == 1u);
	CHECK_FALSE(t.bios[0].req_atomic);
	CHECK(t.bios[0].fsbno == 100u);
	REQUIRE(t.final_state.data_fork.size() == 1u);
	CHECK(t.final_state.data_fork[0] == ext(0, 100, 4));
	CHECK(t.final_state.cow_fork.empty());
}

TEST_CASE("variants: v6.18 convert_delay fills the iomap, not cmap, and retries the lookup", "[variants][sw][fixes]")
{
	// v6.18 xfs_atomic_write_cow_iomap_begin: isnullstartblock(cmap) -> goto
	// convert_delay -> xfs_bmapi_convert_delalloc(ip, XFS_COW_FORK, offset,
	// iomap, NULL) -> goto retry.  xfs_bmapi_convert_delalloc
	// (libxfs/xfs_bmap.c) puts what it allocated into the iomap and never
	// touches cmap, so only the retried lookup sees the new unwritten extent;
	// skipping the retry would map the delalloc cmap (IOMAP_DELALLOC, EIO).
	FileState st = base(true, 4096, 8192); // 16 KiB > bt_awu_max: straight to the CoW ops
	st.data_fork = {ext(0, 9, 4)};
	st.cow_fork = {ext(0, DELAYSTARTBLOCK, 4)};
	st.alloc = {{100, 4}};

	Trace t = run_atomic_write(st, wr(0, 4 * BS), Variant::v6_18);
	CHECK(t.result == 0);
	REQUIRE(t.calls.size() == 1u);
	const IomapBeginCall &c = t.calls[0];
	// the lookup runs twice: delalloc first, the converted extent after the retry
	std::vector<bool> at_offset, delalloc;
	for (const Branch &b : c.branches) {
		if (std::string(b.cond) == "cmap.br_startoff <= offset_fsb")
			at_offset.push_back(b.taken);
		if (std::string(b.cond) == "isnullstartblock(cmap.br_startblock)")
			delalloc.push_back(b.taken);
	}
	CHECK(at_offset == std::vector<bool>{true, true});
	CHECK(delalloc == std::vector<bool>{true, false});
	CHECK(c.iomap.type == IomapType::MAPPED);
	CHECK(c.iomap.flags == IOMAP_F_SHARED);
	CHECK(c.iomap.irec == ext(0, 100, 4));
	CHECK(count_txns(t, "xfs_bmapi_convert_delalloc") == 1u);
	REQUIRE(t.bios.size() == 1u);
	CHECK(t.bios[0].fsbno == 100u);
	CHECK(t.final_state.data_fork == std::vector<xfs_bmbt_irec>{ext(0, 100, 4)});
	CHECK(t.final_state.cow_fork.empty());
}

TEST_CASE("variants: v6.18 convert_delay converts from the reservation's start, looping while short",
	  "[variants][sw][fixes]")
{
	// xfs_bmapi_convert_one_delalloc: "Always allocate convert from the start
	// of the delalloc extent even if that is outside the passed in range";
	// xfs_bmapi_convert_delalloc loops "while (iomap->offset + iomap->length
	// <= offset)", one transaction each.  Write [4, 8) over a CoW delalloc
	// reservation [0+8]: the allocator gives 2 blocks (converting [0,2)),
	// then 6 ([2,8)); the retried lookup trims [2+6 @300] to the write.
	FileState st = base(true, 4096, 8192);
	st.data_fork = {ext(0, 20, 8)};
	st.cow_fork = {ext(0, DELAYSTARTBLOCK, 8)};
	st.alloc = {{100, 2}, {300, 6}};

	Trace t = run_atomic_write(st, wr(4 * BS, 4 * BS), Variant::v6_18);
	CHECK(t.result == 0);
	CHECK(t.path == Path::sw);
	REQUIRE(t.calls.size() == 1u);
	CHECK(t.calls[0].iomap.irec == ext(4, 302, 4));
	CHECK(count_txns(t, "xfs_bmapi_convert_delalloc") == 2u);
	REQUIRE(t.txns.size() == 3u); // two conversions, then the remap
	CHECK(t.txns[0].cow_fork ==
	      std::vector<xfs_bmbt_irec>{ext(0, 100, 2, XFS_EXT_UNWRITTEN), ext(2, DELAYSTARTBLOCK, 6)});
	CHECK(t.txns[1].cow_fork ==
	      std::vector<xfs_bmbt_irec>{ext(0, 100, 2, XFS_EXT_UNWRITTEN), ext(2, 300, 6, XFS_EXT_UNWRITTEN)});
	CHECK(t.final_state.data_fork == std::vector<xfs_bmbt_irec>{ext(0, 20, 4), ext(4, 302, 4)});
	// blocks the write did not cover stay unwritten staging blocks
	CHECK(t.final_state.cow_fork ==
	      std::vector<xfs_bmbt_irec>{ext(0, 100, 2, XFS_EXT_UNWRITTEN), ext(2, 300, 2, XFS_EXT_UNWRITTEN)});
}

TEST_CASE("variants: v6.16 converts CoW blocks beyond the write to written; v6.18 does not", "[variants][sw][fixes]")
{
	// v6.16 xfs_atomic_write_cow_iomap_begin: end_fsb = cmap.br_startoff (the
	// next CoW extent, here at block 10), so it allocates and converts
	// [0, 10) for a write of [0, 4) and returns a 10-block mapping; written
	// CoW blocks mean "write in progress" beyond the write.  8d7bba1e8314
	// (v6.18) allocates hole_count_fsb but trims cmap to the write and
	// converts only cmap's range.
	FileState st = base(true, 4096, 8192); // straight to the CoW ops
	st.data_fork = {ext(0, 8, 4)};
	st.cow_fork = {ext(10, 500, 2, XFS_EXT_UNWRITTEN)};
	st.alloc = {{64, 10}};

	auto written_outside = [](const Trace &t) {
		for (const auto &e : t.final_state.cow_fork)
			if (e.br_state == XFS_EXT_NORM && e.end() > 4)
				return true;
		return false;
	};

	Trace t = run_atomic_write(st, wr(0, 4 * BS), Variant::v6_16);
	CHECK(t.result == 0);
	REQUIRE_FALSE(t.calls.empty());
	CHECK(t.calls[0].iomap.length == 10u * BS);
	CHECK(written_outside(t));
	REQUIRE(t.final_state.data_fork.size() == 1u);
	CHECK(t.final_state.data_fork[0] == ext(0, 64, 4));

	t = run_atomic_write(st, wr(0, 4 * BS), Variant::v6_18);
	CHECK(t.result == 0);
	REQUIRE_FALSE(t.calls.empty());
	CHECK(t.calls[0].iomap.length == 4u * BS);
	CHECK_FALSE(written_outside(t));
	REQUIRE(t.final_state.data_fork.size() == 1u);
	CHECK(t.final_state.data_fork[0] == ext(0, 64, 4));
}

TEST_CASE("variants: unwritten CoW prefix then delalloc: the hw attempt must not fail with EIO",
	  "[variants][findings]")
{
	// FINDING: xfs_reflink_convert_cow_locked (fs/xfs/xfs_reflink.c) skips
	// extents whose br_state is XFS_EXT_NORM, and in-core delalloc extents are
	// NORM, so converting [0, 4) over CoW fork {[0,2) unwritten, [2,4) delalloc}
	// converts [0,2) and returns 0.  Kernel flow (v6.18):
	// xfs_direct_write_iomap_begin -> xfs_reflink_allocate_cow finds the real
	// CoW extent -> xfs_reflink_convert_unwritten -> convert_cow_locked(0, 4)
	// = 0 -> shared, cmap [0,2) does not span [0,4) -> -ENOPROTOOPT -> CoW ops:
	// [0,2) is written (mapped as is), [2,4) is delalloc (converted by
	// xfs_bmapi_convert_delalloc) -> one remap -> ok.  The model as first
	// read had convert_cow_locked return -EIO on the delalloc extent, failing
	// the write with EIO on the hw path (fixed in the tree at 4c5d206).
	FileState st = base();
	st.data_fork = {ext(0, 8, 4)};
	st.cow_fork = {ext(0, 64, 2, XFS_EXT_UNWRITTEN), ext(2, DELAYSTARTBLOCK, 2)};
	st.alloc = {{100, 2}};

	SECTION("v6.18")
	{
		Trace t = run_atomic_write(st, wr(0, 4 * BS), Variant::v6_18);
		REQUIRE_FALSE(t.calls.empty());
		CHECK(t.calls[0].ops == Ops::direct_write);
		CHECK(t.calls[0].error == ENOPROTOOPT);
		CHECK(t.result == 0);
		CHECK(t.path == Path::sw);
		CHECK(count_txns(t, "xfs_reflink_end_atomic_cow") == 1u);
		REQUIRE(t.final_state.data_fork.size() == 2u);
		CHECK(t.final_state.data_fork[0] == ext(0, 64, 2));
		CHECK(t.final_state.data_fork[1] == ext(2, 100, 2));
	}
	SECTION("rfc-v1")
	{
		// First pass: the CoW fork already covers the offset -> shared -> -EAGAIN;
		// the IOMAP_ATOMIC_COW retry's xfs_reflink_allocate_cow(atomic) finds
		// [0,2), converts [0, 4) (skipping the delalloc), maps [0,2); the next
		// call fills the delalloc via xfs_reflink_fill_delalloc.
		Trace t = run_atomic_write(st, wr(0, 4 * BS), Variant::rfc_v1);
		REQUIRE(t.calls.size() >= 2u);
		CHECK(t.calls[0].error == EAGAIN);
		CHECK(t.calls[1].error == 0);
		CHECK(t.result == 0);
		CHECK(t.path == Path::sw);
		CHECK(count_txns(t, "xfs_reflink_end_atomic_cow") == 1u);
	}
}
