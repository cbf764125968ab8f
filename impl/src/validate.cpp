// Validation of a case's state (concrete only: the prover states the same
// rules as its precondition, model/src/prove.cpp, and checks them against this).
#include "untorn/impl.h"

#include <algorithm>
#include <sstream>

namespace untorn {
namespace {
struct Validator {
	const FileState &st;
	std::vector<StateError> errs;

	void err(std::string path, std::string what) { errs.push_back({std::move(path), std::move(what)}); }

	bool inside_ags(xfs_fsblock_t start, xfs_filblks_t count, const std::string &path)
	{
		const Geometry &g = st.geo;
		const uint64_t agno = start >> g.agblklog(); // all of it: a uint32 agno would wrap
		const uint32_t agbno = xfs_fsb_to_agbno(g, start);
		if (agno >= g.ag_count || agbno >= g.ag_blocks) {
			err(path + ".startblock", "fsblock " + std::to_string(start) + " is outside the AGs (agno " +
							  std::to_string(agno) + ", agbno " + std::to_string(agbno) +
							  "; ag_count " + std::to_string(g.ag_count) + ", ag_blocks " +
							  std::to_string(g.ag_blocks) + ")");
			return false;
		}
		if (uint64_t(agbno) + count > g.ag_blocks) {
			err(path + ".blockcount", "extent runs past the end of AG " + std::to_string(agno) +
							  " (agbno " + std::to_string(agbno) + " + " +
							  std::to_string(count) + " > ag_blocks " +
							  std::to_string(g.ag_blocks) + ")");
			return false;
		}
		if (start == 0) {
			err(path + ".startblock", "fsblock 0 is the superblock, never file data");
			return false;
		}
		return true;
	}

	void fork(const std::vector<xfs_bmbt_irec> &f, const std::string &name, bool cow)
	{
		for (size_t i = 0; i < f.size(); i++) {
			const auto &e = f[i];
			std::string p = name + "[" + std::to_string(i) + "]";
			if (e.br_blockcount == 0)
				err(p + ".blockcount", "must be at least 1");
			if (e.br_startoff + e.br_blockcount < e.br_startoff || e.br_startoff + e.br_blockcount > (1ULL << 54))
				err(p + ".blockcount", "startoff + blockcount overflows the file offset range (2^54 blocks)");
			if (e.br_startblock == DELAYSTARTBLOCK) {
				if (!cow)
					err(p + ".state", "delalloc extents are only allowed in the CoW fork");
			} else if (e.br_blockcount) {
				inside_ags(e.br_startblock, e.br_blockcount, p);
			}
			if (i > 0 && f[i - 1].end() > e.br_startoff)
				err(p + ".startoff", "extents must be sorted by startoff and must not overlap (previous ends at " +
							     std::to_string(f[i - 1].end()) + ")");
		}
	}

	struct Range {
		uint64_t s, e; // [s, e) physical
		std::string path;
	};
	static std::vector<Range> sorted(std::vector<Range> v)
	{
		// stable: among equal starts, the case's own order decides what is reported
		std::stable_sort(v.begin(), v.end(), [](const Range &a, const Range &b) { return a.s < b.s; });
		return v;
	}
	// Whether [lo, hi) lies inside the union of sorted, disjoint ranges.
	static bool covered(const std::vector<Range> &by, uint64_t lo, uint64_t hi)
	{
		auto it = std::upper_bound(by.begin(), by.end(), lo, [](uint64_t v, const Range &r) { return v < r.e; });
		uint64_t at = lo;
		for (; it != by.end() && it->s <= at && at < hi; ++it)
			at = it->e;
		return at >= hi;
	}
	// The first pair of overlapping ranges within one sorted list, except
	// overlaps inside `allowed` (sorted, disjoint).  Every block in two
	// ranges lies in [r.s, min(r.e, reach->e)) of the later-starting one.
	static const Range *overlap_within(const std::vector<Range> &v, const Range **other,
					   const std::vector<Range> &allowed = {})
	{
		const Range *reach = nullptr; // the range reaching furthest so far
		for (const auto &r : v) {
			if (reach && r.s < reach->e && !covered(allowed, r.s, std::min(r.e, reach->e))) {
				*other = reach;
				return &r;
			}
			if (!reach || r.e > reach->e)
				reach = &r;
		}
		return nullptr;
	}
	// The first range of a that overlaps a range of b (both sorted).
	static const Range *overlap_between(const std::vector<Range> &a, const std::vector<Range> &b, const Range **other)
	{
		size_t j = 0;
		for (const auto &r : a) {
			while (j < b.size() && b[j].e <= r.s)
				j++;
			for (size_t k = j; k < b.size() && b[k].s < r.e; k++)
				if (b[k].e > r.s) {
					*other = &b[k];
					return &r;
				}
		}
		return nullptr;
	}
	Range fork_range(const std::vector<xfs_bmbt_irec> &f, size_t i, const char *name)
	{
		return {f[i].br_startblock, f[i].br_startblock + f[i].br_blockcount,
			std::string(name) + "[" + std::to_string(i) + "]"};
	}

	// Blocks owned by this file's forks and the allocator's answers never
	// overlap, except that written data-fork extents may map the same
	// shared blocks more than once (FICLONERANGE of one range to two offsets
	// of a file: refcount 3, as the kernel oracle built it); shared ranges
	// cover written data-fork blocks only.  Sorted sweeps: linear after
	// sorting, whatever the number of extents.
	void physical_overlaps()
	{
		std::vector<Range> written, owned, not_shareable, shared;
		for (size_t i = 0; i < st.data_fork.size(); i++)
			if (!isnullstartblock(st.data_fork[i].br_startblock)) {
				Range r = fork_range(st.data_fork, i, "data_fork");
				if (st.data_fork[i].br_state == XFS_EXT_UNWRITTEN) {
					owned.push_back(r);
					not_shareable.push_back(r);
				} else {
					written.push_back(r);
				}
			}
		for (size_t i = 0; i < st.cow_fork.size(); i++)
			if (!isnullstartblock(st.cow_fork[i].br_startblock)) {
				owned.push_back(fork_range(st.cow_fork, i, "cow_fork"));
				not_shareable.push_back(owned.back());
			}
		for (size_t i = 0; i < st.alloc.size(); i++) {
			owned.push_back({st.alloc[i].startblock, st.alloc[i].startblock + st.alloc[i].blockcount,
					 "alloc[" + std::to_string(i) + "]"});
			not_shareable.push_back(owned.back());
		}
		for (size_t i = 0; i < st.refcount.size(); i++)
			shared.push_back({st.refcount[i].rc_startblock,
					  st.refcount[i].rc_startblock + st.refcount[i].rc_blockcount,
					  "refcount[" + std::to_string(i) + "]"});
		const Range *other = nullptr;
		auto o = sorted(owned), wr = sorted(written), sh = sorted(shared), ns = sorted(not_shareable);
		if (const Range *r = overlap_within(o, &other))
			err(r->path + ".startblock", "physical blocks overlap " + other->path);
		else if (const Range *r = overlap_between(wr, o, &other))
			err(r->path + ".startblock", "physical blocks overlap " + other->path);
		else if (const Range *r = overlap_within(wr, &other, sh))
			err(r->path + ".startblock",
			    "physical blocks overlap " + other->path +
				" outside any shared range (a block mapped twice has a refcount of at least 2)");
		if (const Range *r = overlap_between(sh, ns, &other))
			err(r->path, "a shared range overlaps " + other->path +
					     " (only written data-fork blocks can be shared; unwritten extents never are)");
	}

	void refcounts()
	{
		for (size_t i = 0; i < st.refcount.size(); i++) {
			const auto &r = st.refcount[i];
			std::string p = "refcount[" + std::to_string(i) + "]";
			if (r.rc_blockcount == 0)
				err(p + ".blockcount", "must be at least 1");
			else
				inside_ags(r.rc_startblock, r.rc_blockcount, p);
			if (r.rc_refcount < 2)
				err(p + ".refcount", "records list shared blocks: refcount must be at least 2");
			if (i > 0 && st.refcount[i - 1].rc_startblock + st.refcount[i - 1].rc_blockcount > r.rc_startblock)
				err(p + ".startblock", "records must be sorted and must not overlap");
		}
	}
};
} // namespace

std::vector<StateError> validate_state(const FileState &st, const WriteReq &w)
{
	Validator v{st, {}};
	const Geometry &g = st.geo;
	if (g.block_size < XFS_MIN_BLOCKSIZE || g.block_size > XFS_MAX_BLOCKSIZE ||
	    (g.block_size & (g.block_size - 1)))
		v.err("geometry.block_size", "a power of two from 512 to 65536");
	else if (g.reflink && g.block_size < XFS_MIN_CRC_BLOCKSIZE)
		v.err("geometry.block_size",
		      "at least 1024 with geometry.reflink: reflink needs a v5 (CRC) XFS, "
		      "whose smallest block size is 1024 bytes (XFS_MIN_CRC_BLOCKSIZE; mkfs.xfs "
		      "refuses smaller)");
	if (g.ag_blocks < 2 || g.ag_blocks > (1u << 31))
		v.err("geometry.ag_blocks", "an integer from 2 to 2^31");
	if (g.ag_count < 1 || g.ag_count > 1024)
		v.err("geometry.ag_count", "an integer from 1 to 1024");
	// xfs_inode_validate_cowextsize: a hint above half an AG is refused
	if (g.cowextsize > g.ag_blocks / 2)
		v.err("geometry.cowextsize", "at most ag_blocks / 2 = " + std::to_string(g.ag_blocks / 2) +
						     " (xfs_inode_validate_cowextsize refuses larger hints)");
	if (g.max_atomic_ioend < 1)
		v.err("geometry.x_max_atomic_ioend", "at least 1 block");
	const DeviceLimits &d = st.dev;
	if ((d.awu_min == 0) != (d.awu_max == 0))
		v.err("device", "awu_min and awu_max are both 0 (no hardware atomics) or both non-zero");
	// a block device's atomic write units are powers of two of at least one
	// logical block (512 bytes)
	if (d.awu_min && (d.awu_min < 512 || (d.awu_min & (d.awu_min - 1))))
		v.err("device.awu_min", "0, or a power of two of at least 512 (bytes)");
	if (d.awu_max && (d.awu_max < 512 || (d.awu_max & (d.awu_max - 1))))
		v.err("device.awu_max", "0, or a power of two of at least 512 (bytes)");
	if (d.awu_min > d.awu_max)
		v.err("device.awu_min", "at most awu_max");
	if (st.env.iter_flags & ~(ITER_DIRECT | ITER_DAX))
		v.err("x_iter_flags", "only IOMAP_DIRECT and IOMAP_DAX");
	if (!v.errs.empty())
		return v.errs; // the rest needs a sane geometry
	v.fork(st.data_fork, "data_fork", false);
	v.fork(st.cow_fork, "cow_fork", true);
	if (!g.reflink && !st.cow_fork.empty())
		v.err("cow_fork", "a CoW fork needs geometry.reflink");
	if (!g.reflink && !st.refcount.empty())
		v.err("refcount", "shared blocks need geometry.reflink");
	v.refcounts();
	for (size_t i = 0; i < st.alloc.size(); i++) {
		std::string p = "alloc[" + std::to_string(i) + "]";
		if (st.alloc[i].blockcount == 0)
			v.err(p + ".blockcount", "must be at least 1");
		else
			v.inside_ags(st.alloc[i].startblock, st.alloc[i].blockcount, p);
	}
	if (v.errs.empty())
		v.physical_overlaps();
	if (w.length == 0)
		v.err("write.length", "at least 1 byte");
	if (w.offset + w.length < w.offset || w.offset + w.length > (1ULL << 62))
		v.err("write.length", "offset + length overflows (must stay below 2^62 bytes)");
	// Interleaved actions (x_interleave): another direct write's completion
	// is modelled beside the write only; reservations and refcount drops may
	// fall anywhere.
	for (size_t i = 0; i < st.interleave.size(); i++) {
		const InterleaveAction &a = st.interleave[i];
		std::string p = "x_interleave[" + std::to_string(i) + "]";
		if (!g.reflink)
			v.err(p, "interleaved actions need geometry.reflink (they act on the CoW fork and refcounts)");
		if (a.count == 0)
			v.err(p + ".count", "at least 1 block");
		else if (a.offset + a.count < a.offset || a.offset + a.count > (1ULL << 54))
			v.err(p + ".count", "offset + count overflows (must stay below 2^54 blocks)");
		else if (g.block_size >= XFS_MIN_BLOCKSIZE && a.action == InterleaveKind::end_cow_other) {
			const u64 o = w.offset / g.block_size, E = (w.offset + w.length + g.block_size - 1) / g.block_size;
			if (a.offset < E && o < a.offset + a.count)
				v.err(p, "end_cow_other over file blocks [" + to_text(a.offset) + ", " +
						 to_text(a.offset + a.count) + ") overlaps the write's [" + to_text(o) + ", " +
						 to_text(E) + "): another direct write's completion is modelled beside the write only");
		}
	}
	return v.errs;
}

} // namespace untorn
