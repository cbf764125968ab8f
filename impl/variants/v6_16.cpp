// Variant "v6.16": the RWF_ATOMIC direct-write path exactly as released in
// Linux v6.16 (July 2025), bugs included; they were fixed for v6.18 (see
// v6_18.cpp).  Mirrors:
//   fs/xfs/xfs_file.c   xfs_file_write_iter (atomic admission), xfs_file_dio_write_atomic
//   fs/xfs/xfs_iops.c   xfs_get_atomic_write_min, xfs_get_atomic_write_max
//   fs/xfs/xfs_mount.c  xfs_calc_atomic_write_max, xfs_calc_group_awu_max,
//                       xfs_calc_atomic_write_unit_max
//   fs/xfs/xfs_buf.c    xfs_configure_buftarg_atomic_writes
//   fs/xfs/xfs_iomap.c  xfs_bmap_hw_atomic_write_possible, xfs_direct_write_iomap_begin,
//                       xfs_atomic_write_cow_iomap_begin
// Simplified: no IOMAP_NOWAIT, no DAX, no realtime inodes, no shutdown; the ILOCK drop before
// xfs_trans_alloc_inode() is a drop point (xfs_ilock_cycle): after interleaved actions the second
// CoW fork lookup is the kernel's; with none it would repeat the first, so it is skipped.
#include "variants.h"

#include <algorithm>

namespace untorn::kern::v6_16 {

// xfs_configure_buftarg_atomic_writes: ignore atomic write geometry that is
// nonsense or doesn't even cover a single fsblock.
static void xfs_configure_buftarg_atomic_writes(xfs_inode *ip)
{
	u32 min_bytes = ip->dev.awu_min, max_bytes = ip->dev.awu_max;
	if (min_bytes > max_bytes || min_bytes > ip->geo.block_size || max_bytes < ip->geo.block_size) {
		min_bytes = 0;
		max_bytes = 0;
	}
	ip->bt_awu_min = min_bytes;
	ip->bt_awu_max = max_bytes;
}

static bool xfs_inode_can_hw_atomic_write(xfs_inode *ip) { return ip->bt_awu_max > 0; }
static bool xfs_can_sw_atomic_write(xfs_inode *ip) { return ip->geo.reflink; }

// Maximum atomic write IO size that the kernel allows.
static xfs_extlen_t xfs_calc_atomic_write_max(xfs_inode *ip)
{
	return rounddown_pow_of_two(ip->B_TO_FSB(MAX_RW_COUNT));
}

// With hardware atomics, the largest power-of-two factor of the AG size, so
// that every atomic write unit aligns with the start of every group.
static xfs_extlen_t xfs_calc_group_awu_max(xfs_inode *ip)
{
	if (ip->geo.ag_blocks == 0)
		return 0;
	if (ip->bt_awu_min > 0)
		return max_pow_of_two_factor(ip->geo.ag_blocks);
	return rounddown_pow_of_two(ip->geo.ag_blocks);
}

// m_groups[XG_TYPE_AG].awu_max, in blocks: min3(max_write, max_ioend, max_gsize).
static xfs_extlen_t xfs_calc_atomic_write_unit_max(xfs_inode *ip)
{
	const xfs_extlen_t max_write = xfs_calc_atomic_write_max(ip);
	const xfs_extlen_t max_ioend = xfs_reflink_max_atomic_cow(ip);
	const xfs_extlen_t max_gsize = xfs_calc_group_awu_max(ip);
	return std::min({max_write, max_ioend, max_gsize});
}

static u32 xfs_get_atomic_write_min(xfs_inode *ip)
{
	if (xfs_inode_can_hw_atomic_write(ip) || xfs_can_sw_atomic_write(ip))
		return ip->geo.block_size;
	return 0;
}

static u32 xfs_get_atomic_write_max(xfs_inode *ip)
{
	if (!xfs_can_sw_atomic_write(ip)) {
		if (xfs_inode_can_hw_atomic_write(ip))
			return ip->geo.block_size;
		return 0;
	}
	return std::min<u64>(ip->FSB_TO_B(xfs_calc_atomic_write_unit_max(ip)), UINT32_MAX);
}

void xfs_configure_limits(xfs_inode *ip)
{
	xfs_configure_buftarg_atomic_writes(ip);
	ip->trace->awu_min = xfs_get_atomic_write_min(ip);
	ip->trace->awu_max = xfs_get_atomic_write_max(ip);
}

AtomicLimits atomic_write_limits(xfs_inode *ip)
{
	xfs_configure_buftarg_atomic_writes(ip);
	AtomicLimits l;
	l.awu_min = xfs_get_atomic_write_min(ip);
	l.awu_max = xfs_get_atomic_write_max(ip);
	l.max_write = xfs_calc_atomic_write_max(ip);
	l.max_ioend = xfs_reflink_max_atomic_cow(ip);
	l.max_gsize = xfs_calc_group_awu_max(ip);
	l.group_awu_max = xfs_calc_atomic_write_unit_max(ip);
	return l;
}

static bool xfs_bmap_hw_atomic_write_possible(xfs_inode *ip, const xfs_bmbt_irec *imap,
					      xfs_fileoff_t offset_fsb, xfs_fileoff_t end_fsb)
{
	xfs_off_t len = ip->FSB_TO_B(end_fsb - offset_fsb);

	/*
	 * atomic writes are required to be naturally aligned for disk blocks,
	 * which ensures that we adhere to block layer rules that we won't
	 * straddle any boundary or violate write alignment requirement.
	 */
	if (BRANCH(ip, !IS_ALIGNED(imap->br_startblock, imap->br_blockcount)))
		return false;
	/*
	 * Spanning multiple extents would mean that multiple BIOs would be
	 * issued, and so would lose atomicity required for REQ_ATOMIC-based
	 * atomics.
	 */
	if (BRANCH(ip, !imap_spans_range(imap, offset_fsb, end_fsb)))
		return false;
	/* The ->iomap_begin caller should ensure this, but check anyway. */
	return BRANCH(ip, len <= ip->bt_awu_max);
}

int xfs_direct_write_iomap_begin(xfs_inode *ip, xfs_off_t offset, xfs_off_t length, unsigned flags,
				 Iomap *iomap, std::optional<Iomap> *srcmap)
{
	xfs_bmbt_irec imap, cmap;
	xfs_fileoff_t offset_fsb = ip->B_TO_FSBT(offset);
	xfs_fileoff_t end_fsb = xfs_iomap_end_fsb(ip, offset, length);
	xfs_fileoff_t orig_end_fsb = end_fsb;
	int nimaps = 1, error = 0;
	bool shared = false;
	unsigned iomap_flags = 0;
	bool needs_alloc;

	/* HW-offload atomics are always used in this path */
	if (flags & IOMAP_ATOMIC)
		iomap_flags |= IOMAP_F_ATOMIC_BIO;

	error = xfs_bmapi_read(ip, offset_fsb, end_fsb - offset_fsb, &imap, &nimaps, 0);
	if (error)
		return error;

	if (BRANCH(ip, imap_needs_cow(ip, flags, &imap, nimaps))) {
		/* may drop and re-acquire the ilock */
		error = xfs_reflink_allocate_cow(ip, &imap, &cmap, &shared,
						 (flags & IOMAP_DIRECT) || IS_DAX(ip), false);
		if (error)
			return error;
		if (BRANCH(ip, shared)) {
			// clang-format off: one line, so __LINE__ is the same for every compiler
			if (BRANCH(ip, (flags & IOMAP_ATOMIC) && !xfs_bmap_hw_atomic_write_possible(ip, &cmap, offset_fsb, end_fsb)))
				return -ENOPROTOOPT;
			// clang-format on
			goto out_found_cow;
		}
		end_fsb = imap.br_startoff + imap.br_blockcount;
		length = ip->FSB_TO_B(end_fsb) - offset;
	}

	needs_alloc = imap_needs_alloc(ip, flags, &imap, nimaps);

	if (flags & IOMAP_ATOMIC) {
		/*
		 * If we allocate less than what is required for the write
		 * then we may end up with multiple extents, which means that
		 * REQ_ATOMIC-based cannot be used, so avoid this possibility.
		 */
		if (BRANCH(ip, needs_alloc && orig_end_fsb - offset_fsb > 1))
			return -ENOPROTOOPT;
		if (BRANCH(ip, !xfs_bmap_hw_atomic_write_possible(ip, &imap, offset_fsb, orig_end_fsb)))
			return -ENOPROTOOPT;
	}

	if (BRANCH(ip, needs_alloc))
		goto allocate_blocks;

	return xfs_bmbt_to_iomap(ip, iomap, &imap, flags, iomap_flags);

allocate_blocks:
	/* cap the length we map (1024 pages); i_size is not modelled */
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
	/* note: IOMAP_F_SHARED only -- the mapping carries no IOMAP_F_ATOMIC_BIO */
	return xfs_bmbt_to_iomap(ip, iomap, &cmap, flags, IOMAP_F_SHARED);
}

int xfs_atomic_write_cow_iomap_begin(xfs_inode *ip, xfs_off_t offset, xfs_off_t length, unsigned flags,
				     Iomap *iomap, std::optional<Iomap> *)
{
	const xfs_fileoff_t offset_fsb = ip->B_TO_FSBT(offset);
	xfs_fileoff_t end_fsb = xfs_iomap_end_fsb(ip, offset, length);
	xfs_filblks_t count_fsb = end_fsb - offset_fsb;
	int nmaps = 1;
	xfs_bmbt_irec cmap;
	size_t icur;
	int error;

	if (BRANCH(ip, !xfs_can_sw_atomic_write(ip)))
		return -EINVAL;

	if (!xfs_iext_lookup_extent(ip, XFS_COW_FORK, offset_fsb, &icur, &cmap))
		cmap.br_startoff = end_fsb;
	if (BRANCH(ip, cmap.br_startoff <= offset_fsb)) {
		/* a delalloc reservation falls through as it is (fixed in v6.18) */
		xfs_trim_extent(&cmap, offset_fsb, count_fsb);
		goto found;
	}

	end_fsb = cmap.br_startoff;
	count_fsb = end_fsb - offset_fsb;

	/*
	 * The ILOCK is dropped around xfs_trans_alloc_inode() (a drop point:
	 * another actor may act here).  Extent layout could have changed since
	 * the unlock, so check again.
	 */
	if (xfs_ilock_cycle(ip, __func__)) {
		if (!xfs_iext_lookup_extent(ip, XFS_COW_FORK, offset_fsb, &icur, &cmap))
			cmap.br_startoff = end_fsb;
		if (BRANCH(ip, cmap.br_startoff <= offset_fsb)) {
			xfs_trim_extent(&cmap, offset_fsb, count_fsb);
			goto found;
		}
	}

	/*
	 * Allocate the entire reservation as unwritten blocks.
	 *
	 * Use XFS_BMAPI_EXTSZALIGN to hint at aligning new extents according to
	 * extszhint, such that there will be a greater chance that future
	 * atomic writes to that same range will be aligned (and don't require
	 * this COW-based method).
	 */
	error = xfs_bmapi_write(ip, "xfs_atomic_write_cow_iomap_begin", XFS_COW_FORK, offset_fsb,
				count_fsb, XFS_BMAPI_COWFORK | XFS_BMAPI_PREALLOC | XFS_BMAPI_EXTSZALIGN,
				&cmap, &nmaps);
	if (error)
		return error;

found:
	if (BRANCH(ip, cmap.br_state != XFS_EXT_NORM)) {
		/* converts [offset_fsb, count_fsb), not cmap's range (fixed in v6.18) */
		error = xfs_reflink_convert_cow_locked(ip, offset_fsb, count_fsb);
		if (error)
			return error;
		cmap.br_state = XFS_EXT_NORM;
	}
	return xfs_bmbt_to_iomap(ip, iomap, &cmap, flags, IOMAP_F_SHARED);
}

static ssize_ret xfs_file_dio_write_atomic(xfs_inode *ip, const WriteReq &w, iomap_begin_fn cow_begin)
{
	const DioOps direct_ops{Ops::direct_write, xfs_direct_write_iomap_begin};
	const DioOps cow_ops{Ops::atomic_write_cow, cow_begin};
	const DioOps *dops;
	ssize_ret ret;

	/*
	 * HW offload should be faster, so try that first if it is already
	 * known that the write length is not too large.
	 */
	if (BRANCH(ip, w.length > ip->bt_awu_max))
		dops = &cow_ops;
	else
		dops = &direct_ops;
retry:
	ip->trace->path = dops == &direct_ops ? Path::hw : Path::sw;
	ret = iomap_dio_rw(ip, w, *dops, 0, AtomicBioRule::mapping_flag_v616);

	/*
	 * The retry mechanism is based on the ->iomap_begin method returning
	 * -ENOPROTOOPT, which would be when the REQ_ATOMIC-based write is not
	 * possible. The REQ_ATOMIC-based method typically not be possible if
	 * the write spans multiple extents or the disk blocks are misaligned.
	 */
	if (BRANCH(ip, ret == -ENOPROTOOPT && dops == &direct_ops)) {
		dops = &cow_ops;
		goto retry;
	}
	return ret;
}

ssize_ret xfs_file_write_iter(xfs_inode *ip, const WriteReq &w, iomap_begin_fn cow_begin)
{
	xfs_configure_limits(ip);
	const xfs_off_t ocount = w.length;

	/* xfs_file_open: FMODE_CAN_ATOMIC_WRITE only when the minimum is non-zero */
	if (BRANCH(ip, xfs_get_atomic_write_min(ip) == 0))
		return -EOPNOTSUPP;
	if (BRANCH(ip, ocount < xfs_get_atomic_write_min(ip)))
		return -EINVAL;
	if (BRANCH(ip, ocount > xfs_get_atomic_write_max(ip)))
		return -EINVAL;
	int ret = generic_atomic_write_valid(ip, w);
	if (ret)
		return ret;
	ip->trace->admitted = true;
	return xfs_file_dio_write_atomic(ip, w, cow_begin);
}

} // namespace untorn::kern::v6_16
