// The specification: one function per invariant.  Each returns the formula
// "this invariant is broken" over the facts of a trace of the given shape and
// over the symbolic crash choices (crash_k: how many of the ordered
// transactions committed; crash_atomicB: whether REQ_ATOMIC bio B persisted).
#include "invariants.h"

namespace untorn::spec {

using smt::Expr;
using smt::is_pow2;

namespace {

Expr any(const std::vector<Expr> &xs)
{
	Expr r = Expr::boolean(false);
	for (const auto &x : xs)
		r = r || x;
	return r;
}

// The device persists a REQ_ATOMIC bio of `size` bytes at byte `addr` whole
// or not at all only if it is a power of two within the unit limits and
// naturally aligned on the disk (docs/domain.md, "Two ways to write
// atomically"; block/blk-core.c's rules plus the device's alignment guarantee).
Expr device_atomic_ok(const Sym &s, const Expr &size, const Expr &addr)
{
	Expr min = s.g(G_DEV_MIN), max = s.g(G_DEV_MAX);
	// (multiples and alignment as masks: size is a power of two here, and so
	// is min -- validate_state admits no other device -- which keeps the
	// formula linear for `untorn prove`)
	return min != 0 && is_pow2(size) && size <= max && (size & (min - 1)) == 0 && (addr & (size - 1)) == 0;
}

Expr bio_atomic_ok(const Sym &s, unsigned b)
{
	Expr size = s.bio(b, B_NBLOCKS) * s.g(G_BS);
	return s.bio(b, B_ATOMIC) == 1 && device_atomic_ok(s, size, s.bio(b, B_DADDR) * s.g(G_BS));
}

// How much of bio b is on disk after a crash with crash_k transactions
// committed: everything if a later transaction committed (the log flush makes
// completed I/O durable), nothing if it had not been submitted yet, and in
// between any subset -- or, for a valid REQ_ATOMIC bio, all or nothing.
struct Persist {
	Expr all, none, either;
};
// `k` is the committed prefix; callers guarded by crash_k == kk pass kk itself.
Persist persisted(const Sym &s, unsigned b, const Expr &k)
{
	Expr tb = s.bio(b, B_TXNS_BEFORE);
	Expr failed = s.bio(b, B_STATUS) != 0;
	Expr in_flight = k == tb && !failed;
	Expr atomic_ok = s.atomic_bit_exists(b) ? bio_atomic_ok(s, b) : Expr::boolean(false);
	Expr bit = s.atomic_bit_exists(b) ? s.crash_atomic(b) == 1 : Expr::boolean(false);
	Expr all = !failed && (k > tb || (in_flight && atomic_ok && bit));
	Expr none = failed || k < tb || (in_flight && atomic_ok && !bit);
	Expr either = in_flight && !atomic_ok;
	return {all, none, either};
}

// What the blocks of segment seg can read after the crash, if snapshot kk is
// the committed one: the old contents, the new data, or neither (garbage).
struct Reading {
	Expr old, neu, garbage;
};
Reading reading(const Sym &s, unsigned seg, unsigned kk)
{
	Expr kind = s.seg(seg, kk, S_KIND), pblk = s.seg(seg, kk, S_PBLK), wr = s.seg(seg, kk, S_WR);
	Expr kind0 = s.seg(seg, 0, S_KIND), pblk0 = s.seg(seg, 0, S_PBLK);
	Expr zeros = kind == K_HOLE || kind == K_UNWRITTEN;
	Expr old_zeros = kind0 == K_HOLE || kind0 == K_UNWRITTEN;
	Expr norm = kind == K_NORM;
	// the block's contents before this write touched it
	Expr orig_is_old = norm && kind0 == K_NORM && pblk == pblk0;

	Expr wrote_new = Expr::boolean(false), wrote_copy = Expr::boolean(false), kept_orig = wr == 0;
	for (unsigned b = 0; b < s.shape().bios; b++) {
		Persist p = persisted(s, b, Expr::num(kk));
		Expr is_w = wr == uint64_t(b + 1);
		Expr landed = p.all || p.either, missed = p.none || p.either;
		Expr copy = s.bio(b, B_OLD_COPY) == 1;
		wrote_new = wrote_new || (is_w && landed && !copy);
		wrote_copy = wrote_copy || (is_w && landed && copy);
		kept_orig = kept_orig || (is_w && missed);
	}
	Expr old = (zeros && old_zeros) || (norm && (wrote_copy || (kept_orig && orig_is_old)));
	Expr neu = norm && wrote_new;
	Expr garbage = (zeros && !old_zeros) || kind == K_DELALLOC || (norm && kept_orig && !orig_is_old);
	// an empty segment (facts.cpp keeps redundant cuts, unsorted) reads nothing
	Expr live = s.seg_len(seg) != Expr::num(0);
	return {live && old, live && neu, live && garbage};
}

// Torn in the committed snapshot kk: some block reads neither, or one block
// reads old while another reads new.
Expr torn_at(const Sym &s, unsigned kk)
{
	const unsigned S = s.shape().segs;
	std::vector<Reading> r;
	for (unsigned i = 0; i < S; i++)
		r.push_back(reading(s, i, kk));
	// One segment old and another new: for each j, "some i < j reads old"
	// (a prefix disjunction) or "some i > j reads old" (a suffix one) --
	// the same as the pairwise disjunction over i != j, in O(S) terms.
	std::vector<Expr> cases, before(S, Expr::boolean(false)), after(S, Expr::boolean(false));
	for (unsigned i = 1; i < S; i++)
		before[i] = before[i - 1] || r[i - 1].old;
	for (unsigned i = S - 1; i-- > 0;)
		after[i] = after[i + 1] || r[i + 1].old;
	for (unsigned i = 0; i < S; i++) {
		cases.push_back(r[i].garbage);
		cases.push_back(s.seg_len(i) >= Expr::num(2) && r[i].old && r[i].neu);
		cases.push_back(r[i].neu && (before[i] || after[i]));
	}
	return any(cases);
}

} // namespace

// Forbids a crash (or failed write) after which [pos, pos+len) reads neither
// all old nor all new.  docs/domain.md, "Crashes"; RWF_ATOMIC's contract (Documentation/filesystems/iomap).
Expr inv_torn_write(const Sym &s)
{
	std::vector<Expr> at;
	for (unsigned kk = 0; kk < s.shape().snapshots(); kk++)
		at.push_back(s.crash_k() == uint64_t(kk) && torn_at(s, kk));
	return s.g(G_ADMITTED) == 1 && any(at);
}

// Forbids a write that reports success but does not read new once everything
// committed.  xfs_dio_write_end_io must remap/convert exactly what was written.
Expr inv_completed_write_reads_new(const Sym &s)
{
	std::vector<Expr> lost;
	const unsigned T = s.shape().txns;
	for (unsigned i = 0; i < s.shape().segs; i++) {
		Expr kind = s.seg(i, T, S_KIND), wr = s.seg(i, T, S_WR);
		Expr lands = Expr::boolean(false);
		for (unsigned b = 0; b < s.shape().bios; b++)
			lands = lands || (wr == uint64_t(b + 1) && s.bio(b, B_STATUS) == 0 && s.bio(b, B_OLD_COPY) == 0);
		lost.push_back(s.seg_len(i) != Expr::num(0) && !(kind == K_NORM && lands));
	}
	return s.g(G_RESULT) == 0 && s.g(G_ADMITTED) == 1 && any(lost);
}

// Forbids any change, now or after later remaps, to blocks outside [o, E):
// the data fork outside the range, and CoW extents outside it turned written
// ("write in progress", docs/domain.md; the trim in xfs_atomic_write_cow_iomap_begin).
Expr inv_outside_unchanged(const Sym &s)
{
	return s.g(G_OUTSIDE_CHANGED) != 0 || s.g(G_COW_WRITTEN_OUTSIDE) != 0;
}

// Forbids unmapping or overwriting data another actor committed while the
// write had dropped the ILOCK (x_interleave): the re-lookups after
// xfs_trans_alloc_inode in xfs_atomic_write_cow_iomap_begin / xfs_reflink_fill_cow_hole.
Expr inv_others_data_kept(const Sym &s)
{
	return s.g(G_OTHERS_CHANGED) != 0;
}

// Forbids writing new data in place over a block whose refcount is above 1
// (it belongs to another file too).  xfs_reflink_allocate_cow / imap_needs_cow.
Expr inv_no_shared_overwrite(const Sym &s)
{
	std::vector<Expr> bad;
	for (unsigned b = 0; b < s.shape().bios; b++)
		bad.push_back(s.bio(b, B_OLD_COPY) == 0 && s.bio(b, B_STATUS) == 0 && s.bio(b, B_SHARED) != 0);
	return any(bad);
}

// Forbids an accepted REQ_ATOMIC bio that is not the whole write, a power of
// two within the device's units, naturally aligned on the disk.
// blk_validate_atomic_write_op_size (block/blk-core.c); docs/domain.md.
Expr inv_valid_atomic_bio(const Sym &s)
{
	std::vector<Expr> bad;
	Expr o = s.g(G_O), E = s.g(G_E), bs = s.g(G_BS);
	for (unsigned b = 0; b < s.shape().bios; b++) {
		Expr size = s.bio(b, B_NBLOCKS) * bs;
		Expr whole = s.bio(b, B_FILE_OFF) == o && s.bio(b, B_NBLOCKS) == E - o;
		bad.push_back(s.bio(b, B_ATOMIC) == 1 && s.bio(b, B_STATUS) == 0 &&
			      !(whole && device_atomic_ok(s, size, s.bio(b, B_DADDR) * bs)));
	}
	return any(bad);
}

// Forbids a mapping handed out for a REQ_ATOMIC bio that is not one physical
// extent spanning [o, E), disk-aligned and within the device's unit.
// xfs_bmap_hw_atomic_write_possible (fs/xfs/xfs_iomap.c, v6.16).
Expr inv_hw_mapping_contract(const Sym &s)
{
	std::vector<Expr> bad;
	Expr o = s.g(G_O), E = s.g(G_E), bs = s.g(G_BS);
	for (unsigned c = 0; c < s.shape().calls; c++) {
		Expr off = s.call(c, C_OFF), len = s.call(c, C_LEN), type = s.call(c, C_TYPE);
		Expr spans = off <= o && off + len >= E;
		Expr real = type == T_MAPPED || type == T_UNWRITTEN;
		Expr aligned = device_atomic_ok(s, (E - o) * bs, s.call(c, C_DADDR_AT_O) * bs);
		bad.push_back(s.call(c, C_ATOMIC) == 1 && !(spans && real && aligned));
	}
	return any(bad);
}

// Forbids a software-path mapping outside [o, E), not starting at the asked
// position, or not a written real extent flagged as CoW.
// xfs_atomic_write_cow_iomap_begin and iomap_dio_iter (fs/iomap/direct-io.c).
Expr inv_sw_mapping_contract(const Sym &s)
{
	std::vector<Expr> bad;
	Expr o = s.g(G_O), E = s.g(G_E);
	for (unsigned c = 0; c < s.shape().calls; c++) {
		Expr off = s.call(c, C_OFF), len = s.call(c, C_LEN), pos = s.call(c, C_POS);
		Expr inside = off >= o && off + len <= E && off <= pos && pos < off + len;
		Expr ok = inside && s.call(c, C_TYPE) == T_MAPPED && s.call(c, C_FLAGGED_COW) == 1;
		bad.push_back(s.call(c, C_SW) == 1 && s.call(c, C_ERROR) == 0 && !ok);
	}
	return any(bad);
}

// Forbids remapping an atomic write's CoW blocks in more than one transaction.
// xfs_reflink_end_atomic_cow (fs/xfs/xfs_reflink.c).
Expr inv_atomic_completion(const Sym &s) { return s.g(G_REMAP_TXNS) > Expr::num(1); }

// Forbids admitting a write the advertised limits reject, or rejecting one
// they admit.  generic_atomic_write_valid + xfs_file_write_iter's size checks.
Expr inv_admission(const Sym &s)
{
	Expr len = s.g(G_LEN), pos = s.g(G_POS), mn = s.g(G_AWU_MIN), mx = s.g(G_AWU_MAX);
	Expr valid = mn != 0 && is_pow2(len) && (pos & (len - 1)) == 0 && mn <= len && len <= mx; // len: a power of two
	return (s.g(G_ADMITTED) == 1) != valid;
}

// Forbids an admitted write failing for any reason but a full filesystem.
// "a write that passes admission succeeds by one path or the other".
Expr inv_no_spurious_failure(const Sym &s)
{
	return s.g(G_ADMITTED) == 1 && s.g(G_RESULT) != 0 && s.g(G_RESULT) != uint64_t(ENOSPC);
}

// Forbids the internal retry errnos (-ENOPROTOOPT, -EAGAIN) reaching the
// caller.  xfs_file_dio_write_atomic's fallback protocol.
Expr inv_fallback_protocol(const Sym &s)
{
	return s.g(G_RESULT) == uint64_t(ENOPROTOOPT) || s.g(G_RESULT) == uint64_t(EAGAIN);
}

// Forbids the slow software path when the layout allowed the hardware one: a
// single unshared real extent spanning the write, disk-aligned, no CoW staging,
// within the device's unit.  xfs_file_dio_write_atomic tries hardware first.
Expr inv_hw_path_when_possible(const Sym &s)
{
	Expr o = s.g(G_O), E = s.g(G_E), bs = s.g(G_BS);
	Expr kind = s.g(G_INIT_KIND);
	// a device whose unit cannot cover one block is not used for atomics at
	// all (xfs_configure_buftarg_atomic_writes): that is policy, not a miss
	Expr usable = s.g(G_DEV_MIN) <= bs && s.g(G_DEV_MAX) >= bs;
	Expr possible = usable && s.g(G_INIT_PIECES) == 1 && (kind == K_NORM || kind == K_UNWRITTEN) &&
			s.g(G_INIT_SHARED) == 0 && s.g(G_INIT_COW) == 0 &&
			device_atomic_ok(s, (E - o) * bs, s.g(G_INIT_DADDR) * bs);
	return s.g(G_RESULT) == 0 && s.g(G_PATH) == 2 && possible;
}

const std::vector<Invariant> &invariants()
{
	static const std::vector<Invariant> all = {
		{{"admission", InvClass::liveness, "admitting a write the advertised limits reject, or rejecting one they admit",
		  "generic_atomic_write_valid; xfs_file_write_iter size checks"},
		 inv_admission},
		{{"atomic_completion", InvClass::safety, "an atomic write's remap spread over several transactions",
		  "xfs_reflink_end_atomic_cow"},
		 inv_atomic_completion},
		{{"completed_write_reads_new", InvClass::safety, "a successful write that does not read new",
		  "xfs_dio_write_end_io"},
		 inv_completed_write_reads_new},
		{{"fallback_protocol", InvClass::liveness, "-ENOPROTOOPT or -EAGAIN reaching the caller",
		  "xfs_file_dio_write_atomic"},
		 inv_fallback_protocol},
		{{"hw_mapping_contract", InvClass::safety,
		  "a REQ_ATOMIC mapping that is not one aligned extent spanning the write",
		  "xfs_bmap_hw_atomic_write_possible"},
		 inv_hw_mapping_contract},
		{{"hw_path_when_possible", InvClass::liveness, "the software path where the hardware path was possible",
		  "xfs_file_dio_write_atomic"},
		 inv_hw_path_when_possible},
		{{"no_shared_overwrite", InvClass::safety, "an in-place write over a shared block",
		  "imap_needs_cow; xfs_reflink_allocate_cow"},
		 inv_no_shared_overwrite},
		{{"no_spurious_failure", InvClass::liveness, "an admitted write failing but for ENOSPC",
		  "xfs_file_dio_write_atomic"},
		 inv_no_spurious_failure},
		{{"others_data_kept", InvClass::safety,
		  "unmapping or overwriting data another actor committed at an ILOCK drop point",
		  "xfs_atomic_write_cow_iomap_begin, xfs_reflink_fill_cow_hole: re-lookup after xfs_trans_alloc_inode"},
		 inv_others_data_kept},
		{{"outside_unchanged", InvClass::safety, "a change to blocks outside the write, now or after later remaps",
		  "xfs_atomic_write_cow_iomap_begin (trim); xfs_reflink_end_cow"},
		 inv_outside_unchanged},
		{{"sw_mapping_contract", InvClass::safety,
		  "a CoW-path mapping outside the write or not a written CoW extent",
		  "xfs_atomic_write_cow_iomap_begin; iomap_dio_iter"},
		 inv_sw_mapping_contract},
		{{"torn_write", InvClass::safety, "a crash or failure after which the range reads neither old nor new",
		  "RWF_ATOMIC; the crash model of docs/domain.md"},
		 inv_torn_write},
		{{"valid_atomic_bio", InvClass::safety,
		  "an accepted REQ_ATOMIC bio not whole, power-of-two, in limits and disk-aligned",
		  "blk_validate_atomic_write_op_size; device atomicity rules"},
		 inv_valid_atomic_bio},
	};
	return all;
}

} // namespace untorn::spec
