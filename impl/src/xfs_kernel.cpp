// The kernel machinery every variant shares: extent lookups and trimming
// (fs/xfs/libxfs/xfs_bmap.c, xfs_iext_tree.c), allocation, refcounts
// (xfs_refcount.c), the reflink helpers that did not change between the
// modelled versions (fs/xfs/xfs_reflink.c, v6.16), the iomap helpers
// (fs/xfs/xfs_iomap.c), the direct-I/O loop (fs/iomap/direct-io.c) and the
// block layer's atomic rules (block/blk-core.c).
//
// Simplifications, each safe for what untorn judges:
// - locking, reservations, quotas are not modelled; the ILOCK drop/retake around
//   xfs_trans_alloc_inode is a drop point (xfs_ilock_cycle, at the end) for the case's
//   interleaved actions; without them every re-lookup after a relock repeats the first;
// - xfs_bmapi_write maps one extent per call (the callers pass nimaps = 1);
// - i_size is not modelled: xfs_iomap_eof_align_last_fsb() without an extent
//   size hint or stripe unit returns end_fsb unchanged, so the hole clamp is
//   what decides the length of a hardware-path allocation.
#include "xfs_kernel.h"

#include <algorithm>
#include <cassert>

namespace untorn::kern {

bool record_branch(xfs_inode *ip, const char *file, const char *func, const char *cond, int line, bool taken)
{
	Branch b{func, cond, taken, line, file};
	if (ip->cur_call)
		ip->cur_call->branches.push_back(b);
	else if (ip->file_branches) {
		ip->file_branches->push_back(b);
		if (ip->trace && ip->file_branches == &ip->trace->file_branches)
			ip->trace->file_branch_at.push_back(ip->trace->timeline.size());
	}
	return taken;
}

void trace_note(xfs_inode *ip, std::string s)
{
	ip->trace->notes.push_back(std::move(s));
	ip->trace->timeline.push_back({TraceEvent::note, int(ip->trace->notes.size() - 1)});
}

// xfs_trim_extent: trim irec to [bno, bno+len); an empty result has count 0.
void xfs_trim_extent(xfs_bmbt_irec *irec, xfs_fileoff_t bno, xfs_filblks_t len)
{
	xfs_fileoff_t distance;
	xfs_fileoff_t end = bno + len;

	if (irec->br_startoff + irec->br_blockcount <= bno || irec->br_startoff >= end) {
		irec->br_blockcount = 0;
		return;
	}
	if (irec->br_startoff < bno) {
		distance = bno - irec->br_startoff;
		if (!isnullstartblock(irec->br_startblock))
			irec->br_startblock += distance;
		irec->br_startoff += distance;
		irec->br_blockcount -= distance;
	}
	if (end < irec->br_startoff + irec->br_blockcount) {
		distance = irec->br_startoff + irec->br_blockcount - end;
		irec->br_blockcount -= distance;
	}
}

// The extent containing bno, or else the next one after it.
bool xfs_iext_lookup_extent(xfs_inode *ip, int whichfork, xfs_fileoff_t bno, size_t *icur,
			    xfs_bmbt_irec *gotp)
{
	auto &f = ip->fork(whichfork);
	auto it = std::partition_point(f.begin(), f.end(),
				       [bno](const xfs_bmbt_irec &e) { return e.end() <= bno; });
	if (it == f.end())
		return false;
	*icur = size_t(it - f.begin());
	*gotp = *it;
	return true;
}

bool xfs_iext_next_extent(xfs_inode *ip, int whichfork, size_t *icur, xfs_bmbt_irec *gotp)
{
	auto &f = ip->fork(whichfork);
	if (*icur + 1 >= f.size())
		return false;
	++*icur;
	*gotp = f[*icur];
	return true;
}

// xfs_bmapi_trim_map: what xfs_bmapi_read/write hand back for one mapping.
static void xfs_bmapi_trim_map(xfs_bmbt_irec *mval, const xfs_bmbt_irec &got, xfs_fileoff_t bno,
			       xfs_fileoff_t end)
{
	if (got.br_startoff + got.br_blockcount <= bno) {
		*mval = got;
		return;
	}
	bno = std::max(bno, got.br_startoff);
	mval->br_startoff = bno;
	mval->br_startblock = isnullstartblock(got.br_startblock)
				      ? got.br_startblock
				      : got.br_startblock + (bno - got.br_startoff);
	mval->br_blockcount = std::min(end - bno, got.br_blockcount - (bno - got.br_startoff));
	mval->br_state = got.br_state;
}

// xfs_bmapi_read on the data fork with *nmap == 1: the mapping at bno, trimmed
// to [bno, bno+len); a hole comes back as HOLESTARTBLOCK up to the next extent.
int xfs_bmapi_read(xfs_inode *ip, xfs_fileoff_t bno, xfs_filblks_t len, xfs_bmbt_irec *mval,
		   int *nmap, unsigned flags)
{
	int whichfork = (flags & XFS_BMAPI_COWFORK) ? XFS_COW_FORK : XFS_DATA_FORK;
	xfs_fileoff_t end = bno + len;
	xfs_bmbt_irec got;
	size_t icur;

	*nmap = 0;
	if (len == 0)
		return 0;
	bool eof = !xfs_iext_lookup_extent(ip, whichfork, bno, &icur, &got);
	if (eof)
		got.br_startoff = end;
	if (got.br_startoff > bno) {
		/* Reading in a hole. */
		mval->br_startoff = bno;
		mval->br_startblock = HOLESTARTBLOCK;
		mval->br_blockcount = std::min<xfs_filblks_t>(len, got.br_startoff - bno);
		mval->br_state = XFS_EXT_NORM;
		*nmap = 1;
		return 0;
	}
	xfs_bmapi_trim_map(mval, got, bno, end);
	*nmap = 1;
	return 0;
}

bool xfs_bmap_is_real_extent(const xfs_bmbt_irec *irec)
{
	return irec->br_startblock != HOLESTARTBLOCK && irec->br_startblock != DELAYSTARTBLOCK &&
	       !isnullstartblock(irec->br_startblock);
}

bool xfs_bmap_is_written_extent(const xfs_bmbt_irec *irec)
{
	return xfs_bmap_is_real_extent(irec) && irec->br_state != XFS_EXT_UNWRITTEN;
}

// xfs_get_cowextsz_hint: the inode's hint, else XFS_DEFAULT_COWEXTSZ_HINT.
// (No data-fork extent size hint is modelled, so max(a, b) is a.)
xfs_extlen_t xfs_get_cowextsz_hint(xfs_inode *ip)
{
	xfs_extlen_t a = ip->geo.cowextsize;
	if (a == 0)
		return XFS_DEFAULT_COWEXTSZ_HINT;
	return a;
}

xfs_fileoff_t xfs_iomap_end_fsb(xfs_inode *ip, xfs_off_t offset, xfs_off_t count)
{
	return ip->B_TO_FSB(offset + count);
}

// ------------------------------------------------------------ fork editing

static bool mergeable(const xfs_bmbt_irec &a, const xfs_bmbt_irec &b)
{
	if (a.end() != b.br_startoff || a.br_state != b.br_state)
		return false;
	if (a.br_startblock == DELAYSTARTBLOCK || b.br_startblock == DELAYSTARTBLOCK)
		return a.br_startblock == b.br_startblock;
	return a.br_startblock + a.br_blockcount == b.br_startblock;
}

// Removes [bno, bno+len) from a fork, splitting extents at the edges.
void xfs_fork_unmap(xfs_inode *ip, int whichfork, xfs_fileoff_t bno, xfs_filblks_t len)
{
	auto &f = ip->fork(whichfork);
	std::vector<xfs_bmbt_irec> out;
	out.reserve(f.size() + 1);
	for (const auto &e : f) {
		xfs_bmbt_irec left = e, right = e;
		xfs_trim_extent(&left, e.br_startoff, bno > e.br_startoff ? bno - e.br_startoff : 0);
		xfs_trim_extent(&right, bno + len, e.end() > bno + len ? e.end() - (bno + len) : 0);
		if (e.end() <= bno || e.br_startoff >= bno + len) {
			out.push_back(e);
			continue;
		}
		if (left.br_blockcount)
			out.push_back(left);
		if (right.br_blockcount)
			out.push_back(right);
	}
	f = std::move(out);
}

// Inserts irec (whose range must be free in the fork) and merges neighbours the
// way xfs_bmap_add_extent_hole_real / _unwritten_real do.
void xfs_fork_map(xfs_inode *ip, int whichfork, const xfs_bmbt_irec &irec)
{
	auto &f = ip->fork(whichfork);
	auto it = std::partition_point(f.begin(), f.end(), [&](const xfs_bmbt_irec &e) {
		return e.br_startoff < irec.br_startoff;
	});
	it = f.insert(it, irec);
	size_t i = size_t(it - f.begin());
	if (i + 1 < f.size() && mergeable(f[i], f[i + 1])) {
		f[i].br_blockcount += f[i + 1].br_blockcount;
		f.erase(f.begin() + long(i) + 1);
	}
	if (i > 0 && mergeable(f[i - 1], f[i])) {
		f[i - 1].br_blockcount += f[i].br_blockcount;
		f.erase(f.begin() + long(i));
	}
}

void xfs_bmap_set_state(xfs_inode *ip, int whichfork, xfs_fileoff_t bno, xfs_filblks_t len,
			xfs_exntst_t state)
{
	std::vector<xfs_bmbt_irec> pieces;
	for (const auto &e : ip->fork(whichfork)) {
		xfs_bmbt_irec p = e;
		xfs_trim_extent(&p, bno, len);
		if (p.br_blockcount && xfs_bmap_is_real_extent(&p))
			pieces.push_back(p);
	}
	for (auto p : pieces) {
		xfs_fork_unmap(ip, whichfork, p.br_startoff, p.br_blockcount);
		p.br_state = state;
		xfs_fork_map(ip, whichfork, p);
	}
}

void xfs_trans_commit(xfs_inode *ip, const char *name, std::string what)
{
	Transaction t{name, std::move(what), ip->i_df, ip->i_cowfp, ip->refc, ip->other_actor};
	ip->trace->txns.push_back(std::move(t));
	ip->trace->timeline.push_back({TraceEvent::txn, int(ip->trace->txns.size() - 1)});
}

// ---------------------------------------------------------------- allocation

// The used physical ranges of one AG, as sorted, merged agbno intervals:
// both forks' real extents, shared ranges, and this run's allocations.
using agbno_range = std::pair<u64, u64>; // [start, end) in agbno

static std::vector<agbno_range> used_in_ag(xfs_inode *ip, xfs_agnumber_t agno)
{
	const auto &g = ip->geo;
	std::vector<agbno_range> v;
	auto add = [&](xfs_fsblock_t s, xfs_filblks_t n) {
		if (n && xfs_fsb_to_agno(g, s) == agno)
			v.push_back({xfs_fsb_to_agbno(g, s), u64(xfs_fsb_to_agbno(g, s)) + n});
	};
	for (const auto *f : {&ip->i_df, &ip->i_cowfp})
		for (const auto &e : *f)
			if (xfs_bmap_is_real_extent(&e))
				add(e.br_startblock, e.br_blockcount);
	for (const auto &r : ip->refc)
		add(r.rc_startblock, r.rc_blockcount);
	for (const auto &[s, n] : ip->alloc.given)
		add(s, n);
	v.push_back({0, 1}); // agbno 0 holds the AG headers (fsblock 0: the superblock)
	std::sort(v.begin(), v.end(), [](const agbno_range &a, const agbno_range &b) {
		return a.first < b.first || (a.first == b.first && a.second < b.second);
	});
	std::vector<agbno_range> merged;
	for (auto r : v) {
		if (!merged.empty() && r.first <= merged.back().second)
			merged.back().second = std::max(merged.back().second, r.second);
		else
			merged.push_back(r);
	}
	return merged;
}

// The default policy (see Allocator in xfs_kernel.h): in AG order, the first
// free run of `len` blocks whose agbno is aligned to `align`; failing that
// unaligned; failing that the longest free run (a short allocation).
static int default_alloc(xfs_inode *ip, xfs_filblks_t len, xfs_extlen_t align, xfs_fsblock_t *bno,
			 xfs_filblks_t *got)
{
	const auto &g = ip->geo;
	const uint64_t ag_count = to_count(g.ag_count);
	std::vector<std::vector<agbno_range>> free(ag_count); // free gaps per AG
	for (uint64_t agno = 0; agno < ag_count; agno++) {
		u64 at = 0;
		for (auto [s, e] : used_in_ag(ip, agno)) {
			if (s > at)
				free[agno].push_back({at, s});
			at = std::max(at, e);
		}
		if (at < g.ag_blocks)
			free[agno].push_back({at, g.ag_blocks});
	}
	for (u64 a : {u64(align), u64(1)})
		for (uint64_t agno = 0; agno < ag_count; agno++)
			for (auto [s, e] : free[agno]) {
				u64 start = (s + a - 1) / a * a;
				if (start + len <= e) {
					*bno = xfs_agb_to_fsb(g, agno, start);
					*got = len;
					return 0;
				}
			}
	xfs_filblks_t best = 0;
	for (uint64_t agno = 0; agno < ag_count; agno++)
		for (auto [s, e] : free[agno])
			if (e - s > best) {
				best = e - s;
				*bno = xfs_agb_to_fsb(g, agno, s);
			}
	if (best == 0)
		return -ENOSPC;
	*got = std::min<xfs_filblks_t>(best, len);
	return 0;
}

// One allocation request: the next scripted answer trimmed to the request,
// else the default policy.  `align` is the alignment hint (EXTSZALIGN).
static int xfs_alloc_vextent(xfs_inode *ip, xfs_filblks_t len, xfs_extlen_t align, xfs_fsblock_t *bno,
			     xfs_filblks_t *got)
{
	auto &a = ip->alloc;
	int error = 0;
	if (a.script && a.next < a.script->size()) {
		const AllocAnswer &ans = (*a.script)[a.next++];
		*bno = ans.startblock;
		*got = std::min<xfs_filblks_t>(ans.blockcount, len);
		trace_note(ip, "allocator: scripted answer " + std::to_string(a.next - 1) + " gives fsbno " +
				       to_text(*bno) + " x" + to_text(*got) + " (asked " + to_text(len) +
				       ", align " + to_text(align) + ")");
	} else if (a.policy == AllocPolicy::script_only) {
		trace_note(ip, "allocator: script exhausted (script-only policy): ENOSPC");
		return -ENOSPC;
	} else {
		error = default_alloc(ip, len, std::max<xfs_extlen_t>(align, 1), bno, got);
		if (error) {
			trace_note(ip, "allocator: default policy finds no free block: ENOSPC");
			return error;
		}
		trace_note(ip, "allocator: default policy gives fsbno " + to_text(*bno) + " x" + to_text(*got) +
				       " (asked " + to_text(len) + ", align " + to_text(align) + ")");
	}
	a.given.push_back({*bno, *got});
	return 0;
}

// xfs_bmap_extsize_align, simplified: round [off, off+len) out to extsz,
// never overlapping the neighbours, and always covering the original range.
static void xfs_bmap_extsize_align(xfs_extlen_t extsz, xfs_fileoff_t prev_end, xfs_fileoff_t next_start,
				   xfs_fileoff_t *offp, xfs_filblks_t *lenp)
{
	xfs_fileoff_t orig_off = *offp, orig_end = *offp + *lenp;
	xfs_fileoff_t off = orig_off - orig_off % extsz;
	xfs_fileoff_t end = orig_end % extsz ? orig_end + extsz - orig_end % extsz : orig_end;
	xfs_filblks_t alen = end - off;
	if (off < prev_end)
		off = prev_end; /* move the start forward without adjusting the length */
	if (off + alen > next_start) {
		/* move the start back, but not before the previous block */
		if (next_start >= alen && next_start - alen >= prev_end && next_start - alen <= orig_off)
			off = next_start - alen;
		else
			alen = next_start - off;
	}
	if (off > orig_off || off + alen < orig_end) {
		off = std::max(orig_off, prev_end);
		alen = next_start - off;
	}
	*offp = off;
	*lenp = alen;
}

// End of the extent before bno in a fork (0 if none).
static xfs_fileoff_t prev_end_of(xfs_inode *ip, int whichfork, xfs_fileoff_t bno)
{
	auto &f = ip->fork(whichfork);
	auto it = std::partition_point(f.begin(), f.end(), [bno](const xfs_bmbt_irec &e) { return e.end() <= bno; });
	return it == f.begin() ? 0 : std::prev(it)->end();
}

// One pass of xfs_bmapi_write's loop: allocate real blocks at bno (a hole,
// rounded out by the CoW extent size hint, or a whole delalloc reservation).
static int xfs_bmapi_allocate(xfs_inode *ip, int whichfork, xfs_fileoff_t bno, xfs_filblks_t len,
			      unsigned flags, xfs_bmbt_irec *got, std::string *what)
{
	xfs_bmbt_irec next;
	size_t icur;
	xfs_fileoff_t off;
	xfs_filblks_t alen;
	bool wasdel = false;

	bool eof = !xfs_iext_lookup_extent(ip, whichfork, bno, &icur, &next);
	if (!eof && next.br_startoff <= bno) {
		/* converting delalloc: the whole reservation is allocated */
		wasdel = true;
		off = next.br_startoff;
		alen = next.br_blockcount;
	} else {
		xfs_fileoff_t next_start = eof ? ~0ULL : next.br_startoff;
		off = bno;
		alen = std::min<xfs_filblks_t>(len, next_start - bno);
	}
	const xfs_fileoff_t orig_offset = off;
	const xfs_filblks_t orig_length = alen;
	if (!wasdel && whichfork == XFS_COW_FORK)
		xfs_bmap_extsize_align(xfs_get_cowextsz_hint(ip), prev_end_of(ip, whichfork, bno),
				       eof ? ~0ULL : next.br_startoff, &off, &alen);

	xfs_extlen_t align = (flags & XFS_BMAPI_EXTSZALIGN) ? xfs_get_cowextsz_hint(ip) : 1;
	xfs_fsblock_t fsbno = 0;
	xfs_filblks_t n = 0;
	int error = xfs_alloc_vextent(ip, alen, align, &fsbno, &n);
	if (error)
		return error;

	/*
	 * xfs_bmap_process_allocated_extent: if the newly mapped space isn't
	 * long enough to cover any of the range of offsets that was originally
	 * requested, move the mapping up so that we can fill as much of the
	 * caller's original request as possible.
	 */
	if (n <= orig_length)
		off = orig_offset;
	else if (off + n < orig_offset + orig_length)
		off = orig_offset + orig_length - n;

	xfs_bmbt_irec newext{off, fsbno, n, (flags & XFS_BMAPI_PREALLOC) ? XFS_EXT_UNWRITTEN : XFS_EXT_NORM};
	if (wasdel)
		xfs_fork_unmap(ip, whichfork, off, n);
	xfs_fork_map(ip, whichfork, newext);
	*what += (what->empty() ? "" : "; ") + std::string(whichfork == XFS_COW_FORK ? "cow" : "data") +
		 " fork: allocate " + format_extent(newext) + (wasdel ? " over delalloc" : "");
	/* bma.got is the new extent as merged into the fork */
	*got = newext;
	xfs_iext_lookup_extent(ip, whichfork, off, &icur, got);
	return 0;
}

// xfs_bmapi_write with *nmap == 1, as the callers modelled here use it.  An
// allocation that ends before bno (extent size alignment moved its start
// back and the allocator came up short) is not counted by
// xfs_bmapi_update_map, so the loop allocates again from its end.
int xfs_bmapi_write(xfs_inode *ip, const char *caller, int whichfork, xfs_fileoff_t bno,
		    xfs_filblks_t len, unsigned flags, xfs_bmbt_irec *mval, int *nmap)
{
	const xfs_fileoff_t obno = bno, end = bno + len;
	xfs_bmbt_irec got;
	size_t icur;
	std::string what;
	int error = 0;

	*nmap = 0;
	if (xfs_iext_lookup_extent(ip, whichfork, bno, &icur, &got) && got.br_startoff <= bno &&
	    got.br_startblock != DELAYSTARTBLOCK) {
		/* already allocated: nothing to do for our callers */
		xfs_bmapi_trim_map(mval, got, bno, end);
		*nmap = 1;
		return 0;
	}
	while (bno < end) {
		error = xfs_bmapi_allocate(ip, whichfork, bno, end - bno, flags, &got, &what);
		if (error)
			break;
		if (got.br_startoff + got.br_blockcount > obno) {
			xfs_bmapi_trim_map(mval, got, obno, end);
			*nmap = 1;
			break;
		}
		bno = got.br_startoff + got.br_blockcount;
	}
	if (!what.empty())
		xfs_trans_commit(ip, caller, what);
	return *nmap ? 0 : error;
}

// xfs_bmapi_convert_one_delalloc (fs/xfs/libxfs/xfs_bmap.c): allocate real
// blocks for the delalloc extent backing `offset` -- always from its start
// and for all of it ("to create large contiguous extents on disk"), as
// unwritten blocks (XFS_BMAPI_PREALLOC, and XFS_BMAPI_COWFORK for the CoW
// fork) -- in one transaction, and put the result into *iomap.  A short
// allocation converts only the front of the reservation; the rest stays
// delalloc.  Nothing else is handed back: the caller's own mappings are
// untouched.
static int xfs_bmapi_convert_one_delalloc(xfs_inode *ip, int whichfork, xfs_off_t offset,
                                          Iomap *iomap)
{
	const xfs_fileoff_t offset_fsb = ip->B_TO_FSBT(offset);
	unsigned flags = 0;
	xfs_bmbt_irec got;
	size_t icur;
	std::string what;

	if (whichfork == XFS_COW_FORK)
		flags |= IOMAP_F_SHARED;

	/* no extent at offset: -EAGAIN (a WARN_ON_ONCE unless the CoW fork) */
	if (!xfs_iext_lookup_extent(ip, whichfork, offset_fsb, &icur, &got) ||
	    got.br_startoff > offset_fsb)
		return -EAGAIN;
	/*
	 * If we find a real extent here we raced with another thread converting
	 * the extent.  Just return the real extent at this offset.
	 */
	if (!isnullstartblock(got.br_startblock))
		return xfs_bmbt_to_iomap(ip, iomap, &got, 0, flags);

	unsigned bmapi_flags = XFS_BMAPI_PREALLOC;
	if (whichfork == XFS_COW_FORK)
		bmapi_flags |= XFS_BMAPI_COWFORK;
	int error = xfs_bmapi_allocate(ip, whichfork, got.br_startoff, got.br_blockcount,
	                               bmapi_flags, &got, &what);
	if (error)
		return error; /* xfs_trans_cancel: nothing commits */
	xfs_trans_commit(ip, "xfs_bmapi_convert_delalloc", what);
	return xfs_bmbt_to_iomap(ip, iomap, &got, 0, flags);
}

int xfs_bmapi_convert_delalloc(xfs_inode *ip, int whichfork, xfs_off_t offset, Iomap *iomap)
{
	int error;

	/*
	 * Attempt to allocate whatever delalloc extent currently backs offset
	 * and put the result into iomap.  Allocate in a loop because it may
	 * take several attempts to allocate real blocks for a contiguous
	 * delalloc extent if free space is sufficiently fragmented.
	 */
	do {
		error = xfs_bmapi_convert_one_delalloc(ip, whichfork, offset, iomap);
		if (error)
			return error;
	} while (iomap->offset + iomap->length <= offset);
	return 0;
}

// ------------------------------------------------------------------ refcounts

int xfs_refcount_find_shared(xfs_inode *ip, xfs_fsblock_t bno, xfs_filblks_t len,
			     xfs_fsblock_t *fbno, xfs_filblks_t *flen, bool find_end_of_shared)
{
	*fbno = ~0ULL; /* NULLAGBLOCK */
	*flen = 0;
	const xfs_fsblock_t end = bno + len;
	for (size_t i = 0; i < ip->refc.size(); i++) {
		const auto &r = ip->refc[i];
		xfs_fsblock_t rend = r.rc_startblock + r.rc_blockcount;
		if (rend <= bno || r.rc_startblock >= end)
			continue;
		*fbno = std::max(r.rc_startblock, bno);
		xfs_fsblock_t fend = std::min(rend, end);
		if (find_end_of_shared)
			for (size_t j = i + 1; j < ip->refc.size() && fend < end &&
					       ip->refc[j].rc_startblock == fend;
			     j++)
				fend = std::min(ip->refc[j].rc_startblock + ip->refc[j].rc_blockcount, end);
		*flen = fend - *fbno;
		return 0;
	}
	return 0;
}

// Drops one reference on each block of irec: a shared block's count falls (and
// leaves the table at 1); an unshared block is freed.
void xfs_refcount_decrease_extent(xfs_inode *ip, const xfs_bmbt_irec *irec)
{
	std::vector<xfs_refcount_irec> out;
	const xfs_fsblock_t s = irec->br_startblock, e = s + irec->br_blockcount;
	for (const auto &r : ip->refc) {
		xfs_fsblock_t rs = r.rc_startblock, re = rs + r.rc_blockcount;
		if (re <= s || rs >= e) {
			out.push_back(r);
			continue;
		}
		if (rs < s)
			out.push_back({rs, s - rs, r.rc_refcount});
		xfs_fsblock_t ms = std::max(rs, s), me = std::min(re, e);
		if (r.rc_refcount > 2)
			out.push_back({ms, me - ms, r.rc_refcount - 1});
		if (re > e)
			out.push_back({e, re - e, r.rc_refcount});
	}
	ip->refc = std::move(out);
}

// -------------------------------------------------------------- iomap helpers

bool imap_needs_alloc(xfs_inode *, unsigned flags, const xfs_bmbt_irec *imap, int nimaps)
{
	/* don't allocate blocks when just zeroing */
	if (flags & IOMAP_ZERO)
		return false;
	if (!nimaps || imap->br_startblock == HOLESTARTBLOCK || imap->br_startblock == DELAYSTARTBLOCK)
		return true;
	/* we convert unwritten extents before copying the data for DAX */
	if ((flags & IOMAP_DAX) && imap->br_state == XFS_EXT_UNWRITTEN)
		return true;
	return false;
}

// xfs_is_cow_inode(): the case's `reflink` makes the inode a reflink inode.
bool imap_needs_cow(xfs_inode *ip, unsigned flags, const xfs_bmbt_irec *imap, int nimaps)
{
	if (!ip->geo.reflink)
		return false;
	/* when zeroing we don't have to COW holes or unwritten extents */
	if (flags & (IOMAP_UNSHARE | IOMAP_ZERO)) {
		if (!nimaps || imap->br_startblock == HOLESTARTBLOCK ||
		    imap->br_state == XFS_EXT_UNWRITTEN)
			return false;
	}
	return true;
}

bool imap_spans_range(const xfs_bmbt_irec *imap, xfs_fileoff_t offset_fsb, xfs_fileoff_t end_fsb)
{
	if (imap->br_startoff > offset_fsb)
		return false;
	if (imap->br_startoff + imap->br_blockcount < end_fsb)
		return false;
	return true;
}

int xfs_bmbt_to_iomap(xfs_inode *ip, Iomap *iomap, const xfs_bmbt_irec *imap, unsigned,
		      unsigned iomap_flags)
{
	/* xfs_valid_startblock(): fsblock 0 is the superblock, never file data */
	if (imap->br_startblock == 0)
		return -EFSCORRUPTED;
	if (imap->br_startblock == HOLESTARTBLOCK)
		iomap->type = IomapType::HOLE;
	else if (imap->br_startblock == DELAYSTARTBLOCK || isnullstartblock(imap->br_startblock))
		iomap->type = IomapType::DELALLOC;
	else if (imap->br_state == XFS_EXT_UNWRITTEN)
		iomap->type = IomapType::UNWRITTEN;
	else
		iomap->type = IomapType::MAPPED;
	iomap->offset = ip->FSB_TO_B(imap->br_startoff);
	iomap->length = ip->FSB_TO_B(imap->br_blockcount);
	iomap->flags = iomap_flags;
	iomap->irec = *imap;
	return 0;
}

// xfs_iomap_write_direct: allocate unwritten blocks in the data fork
// (XFS_BMAPI_PREALLOC; no DAX, no data extent size hint modelled).
int xfs_iomap_write_direct(xfs_inode *ip, xfs_fileoff_t offset_fsb, xfs_fileoff_t count_fsb,
			   unsigned, xfs_bmbt_irec *imap)
{
	int nimaps = 1;
	int error = xfs_bmapi_write(ip, "xfs_iomap_write_direct", XFS_DATA_FORK, offset_fsb, count_fsb,
				    XFS_BMAPI_PREALLOC, imap, &nimaps);
	if (error)
		return error;
	if (imap->br_startblock == 0)
		return -EFSCORRUPTED; /* xfs_alert_fsblock_zero */
	return 0;
}

// xfs_iomap_write_unwritten: convert the data fork's unwritten extents in the
// range to written, one transaction per mapping.
int xfs_iomap_write_unwritten(xfs_inode *ip, xfs_off_t offset, xfs_off_t count)
{
	xfs_fileoff_t offset_fsb = ip->B_TO_FSBT(offset);
	xfs_fileoff_t end_fsb = ip->B_TO_FSB(offset + count);
	while (offset_fsb < end_fsb) {
		xfs_bmbt_irec imap;
		int nimaps = 1;
		xfs_bmapi_read(ip, offset_fsb, end_fsb - offset_fsb, &imap, &nimaps, 0);
		if (xfs_bmap_is_real_extent(&imap) && imap.br_state == XFS_EXT_UNWRITTEN) {
			xfs_bmap_set_state(ip, XFS_DATA_FORK, imap.br_startoff, imap.br_blockcount,
					   XFS_EXT_NORM);
			imap.br_state = XFS_EXT_NORM;
			xfs_trans_commit(ip, "xfs_iomap_write_unwritten",
					 "data fork: convert " + format_extent(imap) + " to written");
		}
		offset_fsb = imap.br_startoff + imap.br_blockcount;
	}
	return 0;
}

// ------------------------------------------------------------ reflink helpers

int xfs_reflink_trim_around_shared(xfs_inode *ip, xfs_bmbt_irec *irec, bool *shared)
{
	xfs_fsblock_t fbno;
	xfs_filblks_t flen;

	/* Holes, unwritten, and delalloc extents cannot be shared */
	if (!ip->geo.reflink || !xfs_bmap_is_written_extent(irec)) {
		*shared = false;
		return 0;
	}
	xfs_refcount_find_shared(ip, irec->br_startblock, irec->br_blockcount, &fbno, &flen, true);
	*shared = false;
	if (fbno == ~0ULL) {
		/* No shared blocks at all. */
		return 0;
	}
	if (fbno == irec->br_startblock) {
		/*
		 * The start of this extent is shared.  Truncate the mapping at
		 * the end of the shared region so that a subsequent iteration
		 * starts at the start of the unshared region.
		 */
		irec->br_blockcount = flen;
		*shared = true;
		return 0;
	}
	/*
	 * There's a shared extent midway through this extent.  Truncate the
	 * mapping at the start of the shared extent so that a subsequent
	 * iteration starts at the start of the shared region.
	 */
	irec->br_blockcount = fbno - irec->br_startblock;
	return 0;
}

int xfs_find_trim_cow_extent(xfs_inode *ip, xfs_bmbt_irec *imap, xfs_bmbt_irec *cmap, bool *shared,
			     bool *found)
{
	xfs_fileoff_t offset_fsb = imap->br_startoff;
	xfs_filblks_t count_fsb = imap->br_blockcount;
	size_t icur;

	*found = false;

	/*
	 * If we don't find an overlapping extent, trim the range we need to
	 * allocate to fit the hole we found.
	 */
	if (!xfs_iext_lookup_extent(ip, XFS_COW_FORK, offset_fsb, &icur, cmap))
		cmap->br_startoff = offset_fsb + count_fsb;
	if (cmap->br_startoff > imap->br_startoff) {
		xfs_trim_extent(imap, imap->br_startoff, cmap->br_startoff - imap->br_startoff);
		return xfs_reflink_trim_around_shared(ip, imap, shared);
	}

	*shared = true;
	if (isnullstartblock(cmap->br_startblock)) {
		xfs_trim_extent(imap, cmap->br_startoff, cmap->br_blockcount);
		return 0;
	}

	/* real extent found - no need to allocate */
	xfs_trim_extent(cmap, offset_fsb, count_fsb);
	*found = true;
	return 0;
}

// Convert the CoW fork's unwritten extents in the range to written.  The
// kernel does it with xfs_bmap_add_extent_unwritten_real(NULL, ...): no
// transaction, only the in-core CoW fork changes (the CoW fork is never
// logged as such; a crash loses it and xfs_reflink_recover_cow() frees its
// blocks at mount).  So it is no crash point and no log flush: a trace note,
// not a Transaction.
int xfs_reflink_convert_cow_locked(xfs_inode *ip, xfs_fileoff_t offset_fsb, xfs_filblks_t count_fsb)
{
	size_t icur;
	xfs_bmbt_irec got;
	std::vector<xfs_bmbt_irec> todo;

	if (!xfs_iext_lookup_extent(ip, XFS_COW_FORK, offset_fsb, &icur, &got))
		return 0;
	do {
		if (got.br_startoff >= offset_fsb + count_fsb)
			break;
		/* delalloc extents are XFS_EXT_NORM too: they are skipped here */
		if (got.br_state == XFS_EXT_NORM)
			continue;
		if (isnullstartblock(got.br_startblock)) /* WARN_ON_ONCE */
			return -EIO;
		xfs_trim_extent(&got, offset_fsb, count_fsb);
		if (!got.br_blockcount)
			continue;
		todo.push_back(got);
	} while (xfs_iext_next_extent(ip, XFS_COW_FORK, &icur, &got));

	for (auto e : todo) {
		xfs_bmap_set_state(ip, XFS_COW_FORK, e.br_startoff, e.br_blockcount, XFS_EXT_NORM);
		e.br_state = XFS_EXT_NORM;
		trace_note(ip, "xfs_reflink_convert_cow_locked: in-core cow fork: convert " +
				       format_extent(e) +
				       " to written (xfs_bmap_add_extent_unwritten_real with no tp: not logged)");
	}
	return 0;
}

int xfs_reflink_convert_unwritten(xfs_inode *ip, xfs_bmbt_irec *imap, xfs_bmbt_irec *cmap,
				  bool convert_now)
{
	xfs_fileoff_t offset_fsb = imap->br_startoff;
	xfs_filblks_t count_fsb = imap->br_blockcount;

	/* cmap might larger than imap due to cowextsize hint. */
	xfs_trim_extent(cmap, offset_fsb, count_fsb);

	/*
	 * COW fork extents are supposed to remain unwritten until we're ready
	 * to initiate a disk write.  For direct I/O we are going to write the
	 * data and need the conversion, but for buffered writes we're done.
	 */
	if (!convert_now || cmap->br_state == XFS_EXT_NORM)
		return 0;
	int error = xfs_reflink_convert_cow_locked(ip, offset_fsb, count_fsb);
	if (!error)
		cmap->br_state = XFS_EXT_NORM;
	return error;
}

int xfs_reflink_fill_cow_hole(xfs_inode *ip, xfs_bmbt_irec *imap, xfs_bmbt_irec *cmap, bool *shared,
			      bool convert_now, bool atomic)
{
	bool found;
	int nimaps;

	xfs_ilock_cycle(ip, "xfs_reflink_fill_cow_hole"); /* xfs_iunlock; xfs_trans_alloc_inode; relock */
	int error = xfs_find_trim_cow_extent(ip, imap, cmap, shared, &found);
	if (error || (!*shared && !atomic))
		return error;
	if (found)
		goto convert;

	/* Allocate the entire reservation as unwritten blocks. */
	nimaps = 1;
	error = xfs_bmapi_write(ip, "xfs_reflink_fill_cow_hole", XFS_COW_FORK, imap->br_startoff,
				imap->br_blockcount, XFS_BMAPI_COWFORK | XFS_BMAPI_PREALLOC, cmap, &nimaps);
	if (error)
		return error;
	/*
	 * Allocation succeeded but the requested range was not even partially
	 * satisfied?  Bail out!
	 */
	if (nimaps == 0)
		return -ENOSPC;
convert:
	return xfs_reflink_convert_unwritten(ip, imap, cmap, convert_now);
}

int xfs_reflink_fill_delalloc(xfs_inode *ip, xfs_bmbt_irec *imap, xfs_bmbt_irec *cmap, bool *shared,
			      bool convert_now)
{
	bool found;
	int nimaps;
	int error;

	do {
		xfs_ilock_cycle(ip, "xfs_reflink_fill_delalloc"); /* unlock, xfs_trans_alloc_inode, relock */
		error = xfs_find_trim_cow_extent(ip, imap, cmap, shared, &found);
		if (error || !*shared)
			return error;
		if (found)
			break;
		/* Replace delalloc reservation with an unwritten extent. */
		nimaps = 1;
		error = xfs_bmapi_write(ip, "xfs_reflink_fill_delalloc", XFS_COW_FORK, cmap->br_startoff,
					cmap->br_blockcount, XFS_BMAPI_COWFORK | XFS_BMAPI_PREALLOC, cmap,
					&nimaps);
		if (error)
			return error;
		if (nimaps == 0)
			return -ENOSPC;
	} while (cmap->br_startoff + cmap->br_blockcount <= imap->br_startoff);

	return xfs_reflink_convert_unwritten(ip, imap, cmap, convert_now);
}

int xfs_reflink_allocate_cow(xfs_inode *ip, xfs_bmbt_irec *imap, xfs_bmbt_irec *cmap, bool *shared,
			     bool convert_now, bool atomic)
{
	bool found;

	int error = xfs_find_trim_cow_extent(ip, imap, cmap, shared, &found);
	if (error || (!*shared && !atomic))
		return error;

	/* CoW fork has a real extent */
	if (found)
		return xfs_reflink_convert_unwritten(ip, imap, cmap, convert_now);

	/*
	 * CoW fork does not have an extent and data extent is shared.
	 * Allocate a real extent in the CoW fork.
	 */
	if (cmap->br_startoff > imap->br_startoff)
		return xfs_reflink_fill_cow_hole(ip, imap, cmap, shared, convert_now, atomic);

	/*
	 * CoW fork has a delalloc reservation. Replace it with a real extent.
	 * There may or may not be a data fork mapping.
	 */
	if (isnullstartblock(cmap->br_startblock))
		return xfs_reflink_fill_delalloc(ip, imap, cmap, shared, convert_now);

	/* Shouldn't get here. */
	return -EFSCORRUPTED;
}

// xfs_reflink_end_cow_extent_locked: remap the first written CoW extent in
// [*offset_fsb, end_fsb) into the data fork, inside the caller's transaction.
static int xfs_reflink_end_cow_extent_locked(xfs_inode *ip, xfs_fileoff_t *offset_fsb,
					     xfs_fileoff_t end_fsb, std::string *what)
{
	size_t icur;
	xfs_bmbt_irec got, del, data;
	int nmaps = 1;

	/*
	 * In case of racing, overlapping AIO writes no COW extents might be
	 * left by the time I/O completes for the loser of the race.  In that
	 * case we are done.
	 */
	if (!xfs_iext_lookup_extent(ip, XFS_COW_FORK, *offset_fsb, &icur, &got) ||
	    got.br_startoff >= end_fsb) {
		*offset_fsb = end_fsb;
		return 0;
	}
	/*
	 * Only remap real extents that contain data.  With AIO, speculative
	 * preallocations can leak into the range we are called upon, and we
	 * need to skip them.
	 */
	while (!xfs_bmap_is_written_extent(&got)) {
		if (!xfs_iext_next_extent(ip, XFS_COW_FORK, &icur, &got) || got.br_startoff >= end_fsb) {
			*offset_fsb = end_fsb;
			return 0;
		}
	}
	del = got;
	xfs_trim_extent(&del, *offset_fsb, end_fsb - *offset_fsb);

	/* Grab the corresponding mapping in the data fork. */
	xfs_bmapi_read(ip, del.br_startoff, del.br_blockcount, &data, &nmaps, 0);

	/* We can only remap the smaller of the two extent sizes. */
	data.br_blockcount = std::min(data.br_blockcount, del.br_blockcount);
	del.br_blockcount = data.br_blockcount;

	if (xfs_bmap_is_real_extent(&data)) {
		/* unmap the old blocks and drop their refcount */
		xfs_fork_unmap(ip, XFS_DATA_FORK, data.br_startoff, data.br_blockcount);
		xfs_refcount_decrease_extent(ip, &data);
	}
	/* Map the new blocks into the data fork; remove them from the CoW fork. */
	xfs_fork_unmap(ip, XFS_COW_FORK, del.br_startoff, del.br_blockcount);
	xfs_fork_map(ip, XFS_DATA_FORK, del);
	if (!what->empty())
		*what += "; ";
	*what += "remap " + format_extent(del) + " over " + format_extent(data);

	/* Update the caller about how much progress we made. */
	*offset_fsb = del.br_startoff + del.br_blockcount;
	return 0;
}

// xfs_reflink_end_cow: one transaction per remapped extent.
int xfs_reflink_end_cow(xfs_inode *ip, xfs_off_t offset, xfs_off_t count)
{
	xfs_fileoff_t offset_fsb = ip->B_TO_FSBT(offset);
	xfs_fileoff_t end_fsb = ip->B_TO_FSB(offset + count);
	while (end_fsb > offset_fsb) {
		std::string what;
		int error = xfs_reflink_end_cow_extent_locked(ip, &offset_fsb, end_fsb, &what);
		if (error)
			return error;
		if (!what.empty())
			xfs_trans_commit(ip, "xfs_reflink_end_cow", what);
	}
	return 0;
}

// xfs_reflink_end_atomic_cow: every remap of the range in one transaction
// (tr_atomic_ioend in v6.16, tr_write in the RFC's patch 08).
int xfs_reflink_end_atomic_cow(xfs_inode *ip, xfs_off_t offset, xfs_off_t count)
{
	xfs_fileoff_t offset_fsb = ip->B_TO_FSBT(offset);
	xfs_fileoff_t end_fsb = ip->B_TO_FSB(offset + count);
	std::string what;
	while (end_fsb > offset_fsb) {
		int error = xfs_reflink_end_cow_extent_locked(ip, &offset_fsb, end_fsb, &what);
		if (error)
			return error; /* xfs_trans_cancel: nothing commits */
	}
	if (!what.empty())
		xfs_trans_commit(ip, "xfs_reflink_end_atomic_cow", what);
	return 0;
}

// xfs_reflink_unshare as the RFC's patch 07 uses it before the CoW-mode retry:
// iomap_file_unshare() dirties every shared block of the range, writeback
// copies it out of place and xfs_reflink_end_cow() remaps it.  Modelled
// directly: the buffered path's delalloc reservation and the writeback
// conversion are collapsed into one CoW allocation per shared extent, a plain
// bio that copies the old data, and the end_cow transactions.
int xfs_reflink_unshare(xfs_inode *ip, xfs_off_t offset, xfs_off_t len)
{
	if (!ip->geo.reflink)
		return 0;
	xfs_fileoff_t f = ip->B_TO_FSBT(offset);
	const xfs_fileoff_t end = ip->B_TO_FSB(offset + len);
	while (f < end) {
		xfs_bmbt_irec imap, cmap;
		int nimaps = 1;
		bool shared = false;
		xfs_bmapi_read(ip, f, end - f, &imap, &nimaps, 0);
		xfs_bmbt_irec probe = imap;
		xfs_reflink_trim_around_shared(ip, &probe, &shared);
		if (!shared) {
			f = probe.br_startoff + probe.br_blockcount;
			continue;
		}
		int error = xfs_reflink_allocate_cow(ip, &imap, &cmap, &shared, true, false);
		if (error)
			return error;
		if (!shared) { /* unshared at a drop point: another file remapped its copy */
			f = imap.br_startoff + imap.br_blockcount;
			continue;
		}
		if (!xfs_bmap_is_real_extent(&cmap) || cmap.br_blockcount == 0)
			return -EIO;
		Bio b;
		b.file_off = cmap.br_startoff;
		b.fsbno = cmap.br_startblock;
		b.daddr = xfs_fsb_to_db(ip->geo, b.fsbno);
		b.nblocks = cmap.br_blockcount;
		b.payload = Payload::old_copy;
		b.txns_before = unsigned(ip->trace->txns.size());
		ip->trace->bios.push_back(b);
		ip->trace->timeline.push_back({TraceEvent::bio, int(ip->trace->bios.size() - 1)});
		error = xfs_reflink_end_cow(ip, ip->FSB_TO_B(cmap.br_startoff),
					    ip->FSB_TO_B(cmap.br_blockcount));
		if (error)
			return error;
		f = cmap.br_startoff + cmap.br_blockcount;
	}
	return 0;
}

// xfs_calc_max_atomic_write_fsblocks: in the kernel, from the log
// reservation of tr_atomic_ioend (the space one remap step needs per block,
// against the log size); the log is not modelled, so the case states it.
xfs_extlen_t xfs_calc_max_atomic_write_fsblocks(xfs_inode *ip)
{
	return ip->geo.max_atomic_ioend;
}

// Compute the largest atomic write that we can complete through software.
xfs_extlen_t xfs_reflink_max_atomic_cow(xfs_inode *ip)
{
	/* We cannot do any atomic writes without out of place writes. */
	if (!ip->geo.reflink) /* !xfs_can_sw_atomic_write(mp) */
		return 0;
	/*
	 * Atomic write limits must always be a power-of-2, according to
	 * generic_atomic_write_valid.
	 */
	return rounddown_pow_of_two(xfs_calc_max_atomic_write_fsblocks(ip));
}

// ------------------------------------------------------------ the dio loop

// blk_validate_atomic_write_op_size (block/blk-core.c): a REQ_ATOMIC bio over
// the device's unit max, or not a multiple of its unit min, ends BLK_STS_INVAL.
static int blk_validate_atomic_write_op_size(xfs_inode *ip, xfs_off_t size)
{
	if (size > ip->dev.awu_max)
		return -EINVAL;
	if (ip->dev.awu_min == 0 || size % ip->dev.awu_min)
		return -EINVAL;
	return 0;
}

static void submit_bio(xfs_inode *ip, const Iomap &iomap, xfs_off_t pos, xfs_off_t len, bool req_atomic,
		       int call)
{
	Bio b;
	b.file_off = ip->B_TO_FSBT(pos);
	b.fsbno = iomap.irec.br_startblock + (b.file_off - iomap.irec.br_startoff);
	b.daddr = xfs_fsb_to_db(ip->geo, b.fsbno);
	b.nblocks = ip->B_TO_FSBT(len);
	b.req_atomic = req_atomic;
	b.payload = Payload::new_data;
	b.txns_before = unsigned(ip->trace->txns.size());
	b.call = call;
	b.status = req_atomic ? -blk_validate_atomic_write_op_size(ip, len) : 0;
	ip->trace->bios.push_back(b);
	ip->trace->timeline.push_back({TraceEvent::bio, int(ip->trace->bios.size() - 1)});
}

ssize_ret iomap_dio_rw(xfs_inode *ip, const WriteReq &w, const DioOps &ops, unsigned extra_iter_flags,
		       AtomicBioRule rule)
{
	Trace *t = ip->trace;
	/* the iteration's IOMAP_DIRECT / IOMAP_DAX come from the what-if inputs (IterEnv) */
	const unsigned iter_flags = IOMAP_WRITE | ip->env.iter_flags | IOMAP_ATOMIC | extra_iter_flags;
	const xfs_off_t end = w.offset + w.length;
	xfs_off_t pos = w.offset;
	unsigned dio_flags = 0;
	int error = 0;
	const size_t first_bio = t->bios.size();

	while (pos < end) {
		IomapBeginCall call;
		call.ops = ops.ops;
		call.pos = pos;
		call.length = end - pos;
		call.flags = iter_flags;
		t->calls.push_back(std::move(call));
		const int ci = int(t->calls.size() - 1);
		t->timeline.push_back({TraceEvent::call, ci});
		ip->cur_call = &t->calls[size_t(ci)];

		Iomap iomap;
		std::optional<Iomap> srcmap;
		int ret = ops.begin(ip, pos, end - pos, iter_flags, &iomap, &srcmap);
		IomapBeginCall &c = t->calls[size_t(ci)];
		ip->cur_call = nullptr;
		c.error = -ret;
		if (ret) {
			error = ret;
			break;
		}
		c.iomap = iomap;
		c.srcmap = srcmap;

		/* iomap_iter_done: these are WARN_ON_ONCE in the kernel; we stop */
		if (iomap.offset > pos || iomap.length == 0 || iomap.offset + iomap.length <= pos) {
			trace_note(ip, "iomap_iter_done: mapping does not contain pos (WARN_ON_ONCE): EIO");
			error = -EIO;
			break;
		}
		const xfs_off_t length = std::min(iomap.offset + iomap.length, end) - pos;

		/* iomap_dio_iter: writes cannot go to holes or delalloc */
		if (iomap.type == IomapType::HOLE || iomap.type == IomapType::DELALLOC) {
			trace_note(ip, std::string("iomap_dio_iter: ") + std::string(iomap_type_name(iomap.type)) +
					       " mapping for a write (WARN_ON_ONCE): EIO");
			error = -EIO;
			break;
		}
		/* iomap_dio_bio_iter */
		bool atomic_bio = rule == AtomicBioRule::mapping_flag_v616
					  ? (iomap.flags & IOMAP_F_ATOMIC_BIO) != 0
					  : (iomap.flags & IOMAP_F_ATOMIC_COW) == 0;
		if (atomic_bio && length != end - pos) {
			trace_note(ip, "iomap_dio_bio_iter: atomic mapping shorter than the write "
				       "(length != iter->len): EINVAL");
			error = -EINVAL;
			break;
		}
		if (iomap.type == IomapType::UNWRITTEN)
			dio_flags |= IOMAP_DIO_UNWRITTEN;
		if (iomap.flags & (IOMAP_F_SHARED | IOMAP_F_ATOMIC_COW))
			dio_flags |= IOMAP_DIO_COW;
		submit_bio(ip, iomap, pos, length, atomic_bio, ci);
		pos += length;
	}

	/* completion: the first bio error becomes the dio's error */
	if (!error)
		for (size_t i = first_bio; i < t->bios.size(); i++)
			if (const Bio &b = t->bios[i]; b.status) {
				error = -b.status;
				trace_note(ip, "block layer: REQ_ATOMIC bio rejected (blk_validate_atomic_write_op_size): " +
						       std::string(errno_name(b.status)));
				break;
			}
	const xfs_off_t size = pos - w.offset;
	int ret = xfs_dio_write_end_io(ip, w.offset, size, error, dio_flags);
	if (ret)
		return ret;
	return ssize_ret::bytes(size);
}

int xfs_dio_write_end_io(xfs_inode *ip, xfs_off_t offset, xfs_off_t size, int error, unsigned dio_flags)
{
	if (error)
		return error;
	if (!size)
		return 0;
	if (dio_flags & IOMAP_DIO_COW) {
		/* every write modelled here is IOCB_ATOMIC */
		error = xfs_reflink_end_atomic_cow(ip, offset, size);
		if (error)
			return error;
	}
	if (dio_flags & IOMAP_DIO_UNWRITTEN)
		return xfs_iomap_write_unwritten(ip, offset, size);
	return 0;
}

// ------------------------------------------------------------------ admission

// generic_atomic_write_valid (fs/read_write.c, v6.16): the write modelled is
// always direct I/O from a single user buffer, so only size and alignment remain.
int generic_atomic_write_valid(xfs_inode *ip, const WriteReq &w)
{
	if (BRANCH(ip, !is_power_of_2(w.length)))
		return -EINVAL;
	if (BRANCH(ip, !IS_ALIGNED(w.offset, w.length)))
		return -EINVAL;
	return 0;
}

// ------------------------------------------------- interleavings (x_interleave)
// What another actor may do on the same inode while the write has dropped the
// ILOCK.  The atomic write holds the IOLOCK shared (xfs_file_dio_write_atomic),
// so the actors are those that need neither IOLOCK_EXCL nor our ILOCK for
// longer than their own step: write faults (MMAPLOCK), writeback, other
// direct writes' completions, other files' CoW completions.  (blockgc's
// xfs_reflink_cancel_cow_range and reflink's remap take IOLOCK_EXCL
// (xfs_inode_free_cowblocks, xfs_ilock2_io_mmap): they cannot run here.)
// Each action is small and stands for one kernel function; its transactions
// are marked as another actor's (Transaction::other).

// Reservations are in-core (no transaction): a write fault on shared data.
// xfs_buffered_write_iomap_begin -> xfs_bmapi_reserve_delalloc(XFS_COW_FORK)
// over the shared, written data blocks of [off, off+len) that have no CoW
// extent yet.  (Not modelled: the CoW extent size hint's rounding.)
static void xfs_buffered_write_cow_reserve(xfs_inode *ip, xfs_fileoff_t off, xfs_filblks_t len)
{
	xfs_fileoff_t f = off;
	const xfs_fileoff_t end = off + len;
	while (f < end) {
		xfs_bmbt_irec imap, cmap;
		int nimaps = 1;
		size_t icur;
		bool shared = false;
		xfs_bmapi_read(ip, f, end - f, &imap, &nimaps, 0);
		xfs_reflink_trim_around_shared(ip, &imap, &shared);
		xfs_fileoff_t next = imap.br_startoff + imap.br_blockcount;
		if (shared) {
			/* only the CoW fork's holes: the first extent at or after f */
			if (!xfs_iext_lookup_extent(ip, XFS_COW_FORK, f, &icur, &cmap))
				cmap.br_startoff = next;
			if (cmap.br_startoff <= f) {
				next = std::min(next, cmap.end());
			} else {
				next = std::min(next, cmap.br_startoff);
				xfs_bmbt_irec del{f, DELAYSTARTBLOCK, next - f, XFS_EXT_NORM};
				xfs_fork_map(ip, XFS_COW_FORK, del);
				trace_note(ip, "other actor: xfs_bmapi_reserve_delalloc: cow fork: reserve " +
						       format_extent(del) + " (in-core, not logged)");
			}
		}
		f = next;
	}
}

// Another direct write to [off, off+len) -- not our range -- completes: its
// ->iomap_begin had converted its CoW blocks to written, its bio wrote them,
// and xfs_dio_write_end_io -> xfs_reflink_end_cow remaps them, one
// transaction per extent.  Its remapped extents are its committed data.
static void xfs_other_dio_end_cow(xfs_inode *ip, xfs_fileoff_t off, xfs_filblks_t len)
{
	xfs_reflink_convert_cow_locked(ip, off, len);
	const size_t before = ip->trace->txns.size();
	xfs_reflink_end_cow(ip, ip->FSB_TO_B(off), ip->FSB_TO_B(len));
	/* what it remapped: the written extents now in the data fork at its range */
	if (ip->trace->txns.size() == before)
		return;
	for (const auto &e : ip->i_df) {
		xfs_bmbt_irec r = e;
		xfs_trim_extent(&r, off, len);
		if (r.br_blockcount == 0 || !xfs_bmap_is_written_extent(&r))
			continue;
		bool was = false; /* mapped the same before its transactions? */
		const auto &df0 = before ? ip->trace->txns[before - 1].data_fork : ip->trace->initial.data_fork;
		for (const auto &p : df0)
			if (p == e)
				was = true;
		if (!was) {
			ip->trace->others_mapped.push_back(r);
			ip->trace->others_mapped_at.push_back(unsigned(ip->trace->txns.size()));
		}
	}
}

// Another file that shares the blocks our data fork maps at [off, off+len)
// remaps its own copy (its xfs_reflink_end_cow ->
// xfs_refcount_decrease_extent): their refcount falls by one.  One
// transaction (the other file's).
static void xfs_other_file_end_cow(xfs_inode *ip, xfs_fileoff_t off, xfs_filblks_t len)
{
	std::string what;
	xfs_fileoff_t f = off;
	const xfs_fileoff_t end = off + len;
	while (f < end) {
		xfs_bmbt_irec imap;
		int nimaps = 1;
		xfs_bmapi_read(ip, f, end - f, &imap, &nimaps, 0);
		if (xfs_bmap_is_written_extent(&imap)) {
			xfs_fsblock_t fbno;
			xfs_filblks_t flen;
			xfs_refcount_find_shared(ip, imap.br_startblock, imap.br_blockcount, &fbno, &flen, false);
			if (fbno != ~0ULL) {
				xfs_bmbt_irec drop{imap.br_startoff + (fbno - imap.br_startblock), fbno, flen, XFS_EXT_NORM};
				xfs_refcount_decrease_extent(ip, &drop);
				what += (what.empty() ? "" : "; ") + std::string("refcount of fsbno ") + to_text(fbno) +
					" x" + to_text(flen) + " down by one";
				imap.br_blockcount = drop.br_startoff + drop.br_blockcount - imap.br_startoff;
			}
		}
		f = imap.br_startoff + imap.br_blockcount;
	}
	if (!what.empty())
		xfs_trans_commit(ip, "xfs_reflink_end_cow (another file)", what);
}

void xfs_other_actor(xfs_inode *ip, const InterleaveAction &a)
{
	switch (a.action) {
	case InterleaveKind::buffered_cow_reservation:
		xfs_buffered_write_cow_reserve(ip, a.offset, a.count);
		break;
	case InterleaveKind::writeback_convert: {
		Iomap iomap;
		int error =
		    xfs_bmapi_convert_delalloc(ip, XFS_COW_FORK, ip->FSB_TO_B(a.offset), &iomap);
		if (error)
			trace_note(ip, "other actor: xfs_bmapi_convert_delalloc: " +
			                   std::string(errno_name(-error)) +
			                   " (nothing converted)");
		break;
	}
	case InterleaveKind::end_cow_other:
		xfs_other_dio_end_cow(ip, a.offset, a.count);
		break;
	case InterleaveKind::refcount_drop:
		xfs_other_file_end_cow(ip, a.offset, a.count);
		break;
	}
}

bool xfs_ilock_cycle(xfs_inode *ip, const char *func)
{
	const unsigned at = ip->drops++;
	if (!ip->interleave) /* the write runs alone */
		return false;
	ip->trace->drop_points.push_back(
		{func, ip->cur_call ? int(ip->cur_call - ip->trace->calls.data()) : -1,
		 ip->cur_call ? ip->cur_call->branches.size() : 0});
	bool ran = false;
	for (const InterleaveAction &a : *ip->interleave) {
		if (a.at != at)
			continue;
		if (!ran)
			trace_note(ip, std::string(func) + ": ILOCK dropped (drop point " + std::to_string(at) +
					       "): another actor runs");
		ran = true;
		ip->other_actor = true;
		IomapBeginCall *call = ip->cur_call;
		ip->cur_call = nullptr; /* its decisions are not the write's */
		std::vector<Branch> *fb = ip->file_branches;
		ip->file_branches = nullptr;
		trace_note(ip, "other actor: " + std::string(interleave_kind_name(a.action)) + " [" +
				       to_text(a.offset) + ", +" + to_text(a.count) + ")");
		xfs_other_actor(ip, a);
		ip->cur_call = call;
		ip->file_branches = fb;
		ip->other_actor = false;
	}
	if (ran)
		trace_note(ip, std::string(func) + ": ILOCK retaken: the layout may have changed");
	return ran;
}

} // namespace untorn::kern
