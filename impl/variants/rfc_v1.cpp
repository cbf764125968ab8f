// Variant "rfc-v1": John Garry's "[PATCH RFC 00/10] large atomic writes for
// xfs with CoW" (v1, Feb 2025, on v6.14-rc1), as posted.  Mirrors:
//   01 xfs_file_write_iter: ocount < unit_min || ocount > unit_max -> -EINVAL
//   03 iomap: IOMAP_ATOMIC_COW / IOMAP_F_ATOMIC_COW / IOMAP_DIO_ATOMIC_COW; an
//      atomic mapping without IOMAP_F_ATOMIC_COW must cover the whole write and
//      goes out as one REQ_ATOMIC bio (AtomicBioRule::rfc_not_atomic_cow)
//   05 xfs_reflink_allocate_cow / xfs_reflink_fill_cow_hole gain `atomic`
//      (the shared helpers in xfs_kernel.cpp take it)
//   06 xfs_direct_write_iomap_begin: the -EAGAIN checks and the
//      IOMAP_ATOMIC_COW branch (the series as posted to linux-xfs)
//   07 xfs_file_dio_write_atomic: -EAGAIN -> xfs_reflink_unshare() -> retry
//      with IOMAP_DIO_ATOMIC_COW
//   08 xfs_dio_write_end_io -> xfs_reflink_end_atomic_cow (one transaction)
//   09 unit_min = bs; unit_max = min(FSB_TO_B(mp->awu_max), bdev max), with
//      mp->awu_max the largest power of two dividing sb_agblocks (1 without
//      reflink); no hardware support -> no atomic writes at all
// Simplified: no IOMAP_NOWAIT, no DAX, no i_size; the ILOCK/IOLOCK dance and
// the shared/exclusive IOLOCK retake are not modelled.
#include "variants.h"

#include <algorithm>

namespace untorn::kern::rfc_v1 {

// xfs_inode_can_atomicwrite (v6.13/14): the bdev can write one fsblock atomically.
static bool xfs_inode_can_atomicwrite(xfs_inode *ip)
{
	if (ip->geo.block_size < ip->dev.awu_min)
		return false;
	if (ip->geo.block_size > ip->dev.awu_max)
		return false;
	return true;
}

// Patch 09: mp->awu_max, in blocks.
static xfs_extlen_t xfs_mount_awu_max(xfs_inode *ip)
{
	return ip->geo.reflink ? max_pow_of_two_factor(ip->geo.ag_blocks) : 1;
}

// Patch 09: xfs_get_atomic_write_attr().
static void xfs_get_atomic_write_attr(xfs_inode *ip, u32 *unit_min, u32 *unit_max)
{
	if (!xfs_inode_can_atomicwrite(ip)) {
		*unit_min = *unit_max = 0;
		return;
	}
	*unit_min = ip->geo.block_size;
	*unit_max = std::min<u64>(ip->FSB_TO_B(xfs_mount_awu_max(ip)), ip->dev.awu_max);
}

void xfs_configure_limits(xfs_inode *ip)
{
	ip->bt_awu_min = ip->dev.awu_min;
	ip->bt_awu_max = ip->dev.awu_max;
	xfs_get_atomic_write_attr(ip, &ip->trace->awu_min, &ip->trace->awu_max);
}

// Patch 09 has no max_write / max_ioend terms: mp->awu_max is the group cap.
AtomicLimits atomic_write_limits(xfs_inode *ip)
{
	AtomicLimits l;
	xfs_get_atomic_write_attr(ip, &l.awu_min, &l.awu_max);
	l.max_gsize = xfs_mount_awu_max(ip);
	l.group_awu_max = l.max_gsize;
	return l;
}

static int xfs_direct_write_iomap_begin(xfs_inode *ip, xfs_off_t offset, xfs_off_t length, unsigned flags,
					Iomap *iomap, std::optional<Iomap> *srcmap)
{
	xfs_bmbt_irec imap, cmap;
	xfs_fileoff_t offset_fsb = ip->B_TO_FSBT(offset);
	xfs_fileoff_t end_fsb = xfs_iomap_end_fsb(ip, offset, length);
	bool atomic = flags & IOMAP_ATOMIC;
	int nimaps = 1, error = 0;
	bool shared = false;
	bool found = false;
	unsigned iomap_flags = 0;
	bool need_alloc;

	error = xfs_bmapi_read(ip, offset_fsb, end_fsb - offset_fsb, &imap, &nimaps, 0);
	if (error)
		return error;

	if (BRANCH(ip, flags & IOMAP_ATOMIC_COW)) {
		error = xfs_reflink_allocate_cow(ip, &imap, &cmap, &shared,
						 (flags & IOMAP_DIRECT) || IS_DAX(ip), true);
		if (error)
			return error;

		end_fsb = imap.br_startoff + imap.br_blockcount;
		length = ip->FSB_TO_B(end_fsb) - offset;

		if (imap.br_startblock != HOLESTARTBLOCK) {
			Iomap src;
			error = xfs_bmbt_to_iomap(ip, &src, &imap, flags, iomap_flags | IOMAP_F_ATOMIC_COW);
			if (error)
				return error;
			*srcmap = src;
		}
		return xfs_bmbt_to_iomap(ip, iomap, &cmap, flags, iomap_flags | IOMAP_F_ATOMIC_COW);
	}

	need_alloc = imap_needs_alloc(ip, flags, &imap, nimaps);

	if (atomic) {
		/* Use CoW-based method if any of the following fail */
		error = -EAGAIN;

		/*
		 * Lazily use CoW-based method for initial alloc of data.
		 * Check br_blockcount for FSes which do not support atomic
		 * writes > 1x block.
		 */
		if (BRANCH(ip, need_alloc && imap.br_blockcount > 1))
			return error;

		/* Misaligned start block wrt size */
		if (BRANCH(ip, !IS_ALIGNED(imap.br_startblock, imap.br_blockcount)))
			return error;

		/* Discontiguous or mixed extents */
		if (BRANCH(ip, !imap_spans_range(&imap, offset_fsb, end_fsb)))
			return error;
	}

	if (BRANCH(ip, imap_needs_cow(ip, flags, &imap, nimaps))) {
		if (atomic) {
			/* Detect whether we're already covered in a cow fork */
			error = xfs_find_trim_cow_extent(ip, &imap, &cmap, &shared, &found);
			if (error)
				return error;

			if (BRANCH(ip, shared))
				return -EAGAIN;
		}

		/* may drop and re-acquire the ilock */
		shared = false;
		error = xfs_reflink_allocate_cow(ip, &imap, &cmap, &shared,
						 (flags & IOMAP_DIRECT) || IS_DAX(ip), false);
		if (error)
			return error;
		if (BRANCH(ip, shared))
			goto out_found_cow;
		end_fsb = imap.br_startoff + imap.br_blockcount;
		length = ip->FSB_TO_B(end_fsb) - offset;
	}

	if (BRANCH(ip, need_alloc))
		goto allocate_blocks;

	return xfs_bmbt_to_iomap(ip, iomap, &imap, flags, iomap_flags);

allocate_blocks:
	length = std::min<xfs_off_t>(length, 1024 * PAGE_SIZE);
	end_fsb = xfs_iomap_end_fsb(ip, offset, length);
	if (nimaps && imap.br_startblock == HOLESTARTBLOCK)
		end_fsb = std::min(end_fsb, imap.br_startoff + imap.br_blockcount);
	error = xfs_iomap_write_direct(ip, offset_fsb, end_fsb - offset_fsb, flags, &imap);
	if (error)
		return error;
	return xfs_bmbt_to_iomap(ip, iomap, &imap, flags, iomap_flags | IOMAP_F_NEW);

out_found_cow:
	if (imap.br_startblock != HOLESTARTBLOCK) {
		Iomap src;
		error = xfs_bmbt_to_iomap(ip, &src, &imap, flags, 0);
		if (error)
			return error;
		*srcmap = src;
	}
	return xfs_bmbt_to_iomap(ip, iomap, &cmap, flags, IOMAP_F_SHARED);
}

// Patch 07.
static ssize_ret xfs_file_dio_write_atomic(xfs_inode *ip, const WriteReq &w)
{
	const DioOps ops{Ops::direct_write, xfs_direct_write_iomap_begin};
	ip->trace->path = Path::hw;
	ssize_ret ret = iomap_dio_rw(ip, w, ops, 0, AtomicBioRule::rfc_not_atomic_cow);

	if (BRANCH(ip, ret == -EAGAIN)) {
		/* retake the IOLOCK exclusive, unshare, and retry in CoW mode */
		int error = xfs_reflink_unshare(ip, w.offset, w.length);
		if (error)
			return error;
		const DioOps cow_ops{Ops::atomic_write_cow, xfs_direct_write_iomap_begin};
		ip->trace->path = Path::sw;
		ret = iomap_dio_rw(ip, w, cow_ops, IOMAP_ATOMIC_COW, AtomicBioRule::rfc_not_atomic_cow);
	}
	return ret;
}

ssize_ret xfs_file_write_iter(xfs_inode *ip, const WriteReq &w)
{
	u32 unit_min, unit_max;
	xfs_configure_limits(ip);
	xfs_get_atomic_write_attr(ip, &unit_min, &unit_max);

	/* xfs_file_open: FMODE_CAN_ATOMIC_WRITE only if xfs_inode_can_atomicwrite() */
	if (BRANCH(ip, !xfs_inode_can_atomicwrite(ip)))
		return -EOPNOTSUPP;
	if (BRANCH(ip, w.length < unit_min || w.length > unit_max))
		return -EINVAL;
	int ret = generic_atomic_write_valid(ip, w);
	if (ret)
		return ret;
	ip->trace->admitted = true;
	return xfs_file_dio_write_atomic(ip, w);
}

} // namespace untorn::kern::rfc_v1
