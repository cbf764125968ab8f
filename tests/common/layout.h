// Layout builders and geometry profiles shared by the tests: extents, a
// file's state on a few standard geometries, and write requests.
#pragma once

#include "untorn/impl.h"

#include <cstdint>
#include <vector>

namespace untorn_test
{

using untorn::FileState;
using untorn::Geometry;
using untorn::WriteReq;

inline constexpr uint32_t BS = 4096; // the block size of every profile below
using Fork = std::vector<untorn::xfs_bmbt_irec>;

// An extent: file blocks [off, off+n) at fsbno sb, written unless `st` says.
inline untorn::xfs_bmbt_irec ext(untorn::xfs_fileoff_t off, untorn::xfs_fsblock_t sb,
                                 untorn::xfs_filblks_t n,
                                 untorn::xfs_exntst_t st = untorn::XFS_EXT_NORM)
{
	untorn::xfs_bmbt_irec e;
	e.br_startoff = off;
	e.br_startblock = sb;
	e.br_blockcount = n;
	e.br_state = st;
	return e;
}
inline untorn::xfs_bmbt_irec unw(untorn::xfs_fileoff_t off, untorn::xfs_fsblock_t sb,
                                 untorn::xfs_filblks_t n)
{
	return ext(off, sb, n, untorn::XFS_EXT_UNWRITTEN);
}

inline Geometry geometry(uint32_t bs, uint32_t ag_blocks, uint32_t ag_count, bool reflink = true,
                         uint32_t cowextsize = 0)
{
	Geometry g;
	g.block_size = bs;
	g.ag_blocks = ag_blocks;
	g.ag_count = ag_count;
	g.reflink = reflink;
	g.cowextsize = cowextsize;
	return g;
}

// bs 4096, 4 AGs of 1000 blocks (agblklog 10: fsbno and disk block differ
// past AG 0).
inline Geometry geo_1000(bool reflink = true)
{
	return geometry(BS, 1000, 4, reflink);
}
// bs 4096, 4 AGs of 1024 blocks: the disk block equals the fsbno.
inline Geometry geo_1024(bool reflink = true)
{
	return geometry(BS, 1024, 4, reflink);
}

// geo_1000, device atomic write unit [awu_min, awu_max].
inline FileState base(bool reflink = true, uint32_t awu_min = 4096, uint32_t awu_max = 65536)
{
	FileState st;
	st.geo = geo_1000(reflink);
	st.dev.awu_min = awu_min;
	st.dev.awu_max = awu_max;
	return st;
}

inline WriteReq wr(uint64_t offset, uint64_t length)
{
	WriteReq w;
	w.offset = offset;
	w.length = length;
	return w;
}

} // namespace untorn_test
