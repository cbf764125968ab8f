// Variant "v6.18": v6.16 plus the two stable fixes to
// xfs_atomic_write_cow_iomap_begin (fs/xfs/xfs_iomap.c) merged for v6.18 and
// backported to 6.17.y:
//   8d54eacd82a0 "xfs: fix delalloc write failures in software-provided atomic writes"
//   8d7bba1e8314 "xfs: fix various problems in xfs_atomic_write_cow_iomap_begin"
// Everything else -- admission, limits, xfs_file_dio_write_atomic and
// xfs_direct_write_iomap_begin -- is unchanged from v6.16 and taken from
// v6_16.cpp.  Same simplifications as there (and the same second lookup).  xfs_bmapi_convert_delalloc()
// (fs/xfs/libxfs/xfs_bmap.c, shared in xfs_kernel.cpp) allocates the whole
// delalloc extent backing the offset as unwritten blocks and fills the
// iomap; cmap keeps the delalloc extent, which is why the kernel must
// `goto retry`.
#include "variants.h"

namespace untorn::kern::v6_18 {
static bool xfs_can_sw_atomic_write(xfs_inode *ip) { return ip->geo.reflink; } // as v6_16.cpp
int xfs_atomic_write_cow_iomap_begin(xfs_inode *ip, xfs_off_t offset, xfs_off_t length, unsigned flags,
				     Iomap *iomap, std::optional<Iomap> *)
{
	const xfs_fileoff_t offset_fsb = ip->B_TO_FSBT(offset);
	const xfs_fileoff_t end_fsb = ip->B_TO_FSB(offset + length);
	const xfs_filblks_t count_fsb = end_fsb - offset_fsb;
	xfs_filblks_t hole_count_fsb;
	int nmaps = 1;
	xfs_bmbt_irec cmap;
	size_t icur;
	int error;

	if (BRANCH(ip, !xfs_can_sw_atomic_write(ip)))
		return -EINVAL;

retry:
	if (!xfs_iext_lookup_extent(ip, XFS_COW_FORK, offset_fsb, &icur, &cmap))
		cmap.br_startoff = end_fsb;
	if (BRANCH(ip, cmap.br_startoff <= offset_fsb)) {
		if (BRANCH(ip, isnullstartblock(cmap.br_startblock)))
			goto convert_delay;
		/*
		 * cmap could extend outside the write range due to previous
		 * speculative preallocations.  We must trim cmap to the write
		 * range because the cow fork treats written mappings to mean
		 * "write in progress".
		 */
		xfs_trim_extent(&cmap, offset_fsb, count_fsb);
		goto found;
	}

	hole_count_fsb = cmap.br_startoff - offset_fsb;

	/*
	 * The ILOCK is dropped around xfs_trans_alloc_inode() (a drop point:
	 * another actor may act here).  Extent layout could have changed since
	 * the unlock, so check again.
	 */
	if (xfs_ilock_cycle(ip, __func__)) {
		if (!xfs_iext_lookup_extent(ip, XFS_COW_FORK, offset_fsb, &icur, &cmap))
			cmap.br_startoff = end_fsb;
		if (BRANCH(ip, cmap.br_startoff <= offset_fsb)) {
			if (BRANCH(ip, isnullstartblock(cmap.br_startblock)))
				goto convert_delay;
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
				hole_count_fsb,
				XFS_BMAPI_COWFORK | XFS_BMAPI_PREALLOC | XFS_BMAPI_EXTSZALIGN, &cmap,
				&nmaps);
	if (error)
		return error;

	/*
	 * cmap could map more blocks than the range we passed into bmapi_write
	 * because of EXTSZALIGN or adjacent pre-existing unwritten mappings
	 * that were merged.  Trim cmap to the original write range so that we
	 * don't convert more than we were asked to do for this write.
	 */
	xfs_trim_extent(&cmap, offset_fsb, count_fsb);

found:
	if (BRANCH(ip, cmap.br_state != XFS_EXT_NORM)) {
		error = xfs_reflink_convert_cow_locked(ip, cmap.br_startoff, cmap.br_blockcount);
		if (error)
			return error;
		cmap.br_state = XFS_EXT_NORM;
	}
	return xfs_bmbt_to_iomap(ip, iomap, &cmap, flags, IOMAP_F_SHARED);

convert_delay:
	/* fills *iomap, not cmap: cmap still holds the delalloc extent */
	error = xfs_bmapi_convert_delalloc(ip, XFS_COW_FORK, offset, iomap);
	if (error)
		return error;
	/*
	 * Try the lookup again, because the delalloc conversion might have
	 * turned the COW mapping into unwritten, but we need it to be in
	 * written state.
	 */
	xfs_ilock_cycle(ip, "xfs_bmapi_convert_delalloc"); /* it dropped the ILOCK: a drop point */
	goto retry;
}

ssize_ret xfs_file_write_iter(xfs_inode *ip, const WriteReq &w)
{
	return v6_16::xfs_file_write_iter(ip, w, xfs_atomic_write_cow_iomap_begin);
}

} // namespace untorn::kern::v6_18
