// The layout generator, biased toward the corners where atomic writes go
// wrong: lengths and offsets at alignment boundaries, AG sizes with small
// power-of-two factors, writes near AG ends, extents ending mid-write,
// shared prefixes/suffixes/middles, CoW staging inside/across/beyond the
// write (delalloc, unwritten, written), unwritten data, holes, and allocator
// answers that are short, misaligned or in another AG.
#include "generate.h"

#include <algorithm>

namespace untorn {

namespace {

struct Builder {
	Rng &r;
	Case c;
	std::vector<std::pair<xfs_fsblock_t, xfs_filblks_t>> used; // physical ranges taken

	const Geometry &g() const { return c.state.geo; }

	bool is_free(xfs_fsblock_t s, xfs_filblks_t n) const
	{
		for (auto &[a, an] : used)
			if (s < a + an && a < s + n)
				return false;
		return true;
	}

	// A free physical run of n blocks inside one AG, aligned to `align` in
	// agbno when asked, or deliberately off by one; 0 if none was found.
	xfs_fsblock_t place(xfs_filblks_t n, uint64_t align, bool misalign, bool near_ag_end)
	{
		const auto &geo = g();
		if (n == 0 || n + 1 >= geo.ag_blocks)
			return 0;
		for (int tries = 0; tries < 24; tries++) {
			uint32_t agno = uint32_t(r.below(geo.ag_count));
			uint64_t agbno;
			if (near_ag_end && r.chance(70))
				agbno = geo.ag_blocks - n - r.below(std::min<uint64_t>(4, geo.ag_blocks - n));
			else
				agbno = 1 + r.below(geo.ag_blocks - n - 1);
			if (align > 1) {
				agbno -= agbno % align;
				if (misalign)
					agbno += 1 + r.below(align - 1);
			}
			if (agbno == 0 || agbno + n > geo.ag_blocks)
				continue;
			xfs_fsblock_t fsb = xfs_agb_to_fsb(geo, agno, uint32_t(agbno));
			if (fsb != 0 && is_free(fsb, n)) {
				used.push_back({fsb, n});
				return fsb;
			}
		}
		return 0;
	}

	void geometry()
	{
		static const uint32_t bss[] = {4096, 4096, 4096, 4096, 1024, 512, 65536};
		// power-of-two sizes, and sizes whose largest power-of-two factor is small
		static const uint32_t agbs[] = {1024, 4096, 256, 1000, 1536, 96, 100, 12, 24, 40, 7, 6, 33, 2048, 640,
						1024, 4096, 1000, 1536, 640};
		static const uint32_t cows[] = {0, 0, 1, 2, 4, 8, 16, 32};
		auto &geo = c.state.geo;
		geo.block_size = r.pick(bss);
		geo.ag_blocks = r.pick(agbs);
		geo.ag_count = 1 + uint32_t(r.below(4));
		// reflink needs a v5 XFS, whose blocks are at least 1024 bytes: 512
		// is a filesystem without reflink (the draw is kept, so the layouts
		// of every other block size are what they were)
		const bool reflink = r.chance(90);
		geo.reflink = reflink && geo.block_size >= XFS_MIN_CRC_BLOCKSIZE;
		geo.cowextsize = r.pick(cows);
		// what the log can remap in one atomic ioend: unrounded counts too
		// (a real 4 KiB-block log gives 387), which impl rounds down
		static const uint32_t ioends[] = {1, 2, 5, 8, 24, 387};
		if (r.chance(10))
			geo.max_atomic_ioend = r.pick(ioends);
		auto &d = c.state.dev;
		if (r.chance(15)) {
			d = {0, 0};
		} else {
			uint32_t bs = geo.block_size;
			static const uint32_t mins[] = {512, 512, 4096, 4096, 8192};
			// one draw per statement: argument evaluation order is unspecified
			const uint32_t cap = r.chance(90) ? bs : 1u << 20;
			d.awu_min = std::min<uint32_t>(r.pick(mins), cap);
			uint32_t mult = 1u << r.below(6);
			d.awu_max = std::max(d.awu_min, uint32_t(std::min<uint64_t>(uint64_t(bs) * mult, 1u << 20)));
		}
	}

	void write(uint64_t *o, uint64_t *n)
	{
		const uint64_t bs = g().block_size;
		// 1..32 blocks, mostly short: most geometries cap awu_max low
		*n = 1ULL << (r.chance(60) ? r.below(3) : r.below(6));
		*o = *n * r.below(8);	 // aligned to the length
		c.write.offset = *o * bs;
		c.write.length = *n * bs;
		if (r.chance(4)) {
			const uint64_t odd[] = {*n * bs + bs, *n * bs - 1, *n * bs + 1}; // bs+-1, 3 blocks, ...
			c.write.length = odd[r.below(3)];
		} else if (r.chance(3)) {
			c.write.offset += bs * (1 + r.below(*n)); // misaligned offset
		}
		if (c.write.length == 0)
			c.write.length = bs;
	}

	// Data fork over [0, o+n+tail): holes, written and unwritten pieces
	// whose edges fall at random, often mid-write.
	void data_fork(uint64_t o, uint64_t n)
	{
		uint64_t end = o + n + r.below(4);
		uint64_t f = r.chance(50) ? o : (o > 3 ? o - r.below(4) : 0);
		if (r.chance(20))
			f = 0;
		bool single = r.chance(35); // one extent covering the write: the hw path's case
		while (f < end) {
			uint64_t len = single ? (o + n - f) + r.below(3) : 1 + r.below(std::max<uint64_t>(n, 4));
			if (len == 0)
				len = 1;
			single = false;
			unsigned kind = unsigned(r.below(10)); // 0-1 hole, 2-7 norm, 8-9 unwritten
			if (kind < 2) {
				f += len;
				continue;
			}
			bool aligned = r.chance(60);
			const bool near_end = r.chance(15); // one draw per statement (see geometry())
			const bool misalign = !aligned && n > 1 && r.chance(50);
			xfs_fsblock_t pb = place(len, aligned ? n : 1, misalign, near_end);
			if (pb) {
				xfs_bmbt_irec e{f, pb, len, kind >= 8 ? XFS_EXT_UNWRITTEN : XFS_EXT_NORM};
				auto &df = c.state.data_fork;
				// the kernel merges contiguous extents: keep them apart
				if (!df.empty() && df.back().end() == f && df.back().br_state == e.br_state &&
				    df.back().br_startblock + df.back().br_blockcount == pb)
					e.br_state = e.br_state == XFS_EXT_NORM ? XFS_EXT_UNWRITTEN : XFS_EXT_NORM;
				df.push_back(e);
			}
			f += len;
		}
	}

	// Share a prefix, suffix, middle or all of some written extents.
	void refcounts()
	{
		if (!g().reflink || !r.chance(45))
			return;
		for (const auto &e : c.state.data_fork) {
			if (e.br_state != XFS_EXT_NORM || !r.chance(50))
				continue;
			uint64_t a = 0, b = e.br_blockcount;
			switch (r.below(4)) {
			case 0: b = 1 + r.below(e.br_blockcount); break;	  // prefix
			case 1: a = r.below(e.br_blockcount); break;		  // suffix
			case 2: a = r.below(e.br_blockcount); b = a + 1; break; // middle block
			default: break;						  // all
			}
			c.state.refcount.push_back({e.br_startblock + a, b - a, 2 + uint32_t(r.below(2))});
		}
		std::sort(c.state.refcount.begin(), c.state.refcount.end(),
			  [](auto &x, auto &y) { return x.rc_startblock < y.rc_startblock; });
	}

	// CoW staging: delalloc, unwritten or written extents inside, across or
	// beyond the write.
	void cow_fork(uint64_t o, uint64_t n)
	{
		if (!g().reflink || !r.chance(40))
			return;
		uint64_t f = o > 4 ? o - r.below(5) : 0;
		uint64_t end = o + n + r.below(6);
		while (f < end) {
			uint64_t len = 1 + r.below(std::max<uint64_t>(n, 3));
			unsigned kind = unsigned(r.below(8)); // 0-2 gap, 3-4 delalloc, 5-6 unwritten, 7 written
			if (kind < 3) {
				f += len;
				continue;
			}
			if (kind < 5) {
				c.state.cow_fork.push_back({f, DELAYSTARTBLOCK, len, XFS_EXT_NORM});
			} else {
				xfs_fsblock_t pb = place(len, r.chance(50) ? n : 1, false, false);
				if (!pb) {
					f += len;
					continue;
				}
				c.state.cow_fork.push_back({f, pb, len, kind == 7 ? XFS_EXT_NORM : XFS_EXT_UNWRITTEN});
			}
			f += len + (r.chance(50) ? 1 : 0); // keep neighbours unmergeable
		}
	}

	// Allocator answers: short, misaligned, in another AG -- or none (default policy).
	void alloc(uint64_t n)
	{
		if (!r.chance(50))
			return;
		unsigned k = 1 + unsigned(r.below(3));
		for (unsigned i = 0; i < k; i++) {
			uint64_t len = r.chance(40) ? 1 + r.below(n) : n + r.below(32);
			bool aligned = r.chance(50);
			xfs_fsblock_t pb = place(len, aligned ? n : 1, !aligned && n > 1, r.chance(20));
			if (pb)
				c.state.alloc.push_back({pb, len});
		}
	}
};

} // namespace

Case generate_layout(uint64_t seed, uint64_t index, Variant variant)
{
	for (uint64_t attempt = 0;; attempt++) {
		Rng r(seed ^ (index * 0x9e3779b97f4a7c15ULL) ^ (attempt * 0xd1b54a32d192ed03ULL));
		r.next();
		Builder b{r, {}, {}};
		b.c.variant = variant;
		b.c.name = "seed" + std::to_string(seed) + "-layout" + std::to_string(index);
		b.geometry();
		uint64_t o, n;
		b.write(&o, &n);
		b.data_fork(o, n);
		b.refcounts();
		b.cow_fork(o, n);
		b.alloc(n);
		if (validate_state(b.c.state, b.c.write).empty())
			return b.c;
	}
}

// Interleavings: about half the layouts get one to three actions, mostly at
// the first drop point, over ranges at, around or beside the write (another
// direct write's completion beside it only, as the loader requires).
Case generate_layout(uint64_t seed, uint64_t index, Variant variant, bool interleave)
{
	Case c = generate_layout(seed, index, variant);
	if (!interleave || !c.state.geo.reflink)
		return c;
	Rng r(seed ^ (index * 0x9e3779b97f4a7c15ULL) ^ 0x6a09e667f3bcc909ULL);
	r.next();
	if (!r.chance(50))
		return c;
	const uint64_t bs = c.state.geo.block_size;
	const uint64_t o = c.write.offset / bs, E = (c.write.offset + c.write.length + bs - 1) / bs;
	const uint64_t n = E - o;
	const unsigned k = 1 + unsigned(r.below(3));
	for (unsigned i = 0; i < k; i++) {
		InterleaveAction a;
		static const unsigned ats[] = {0, 0, 0, 1, 2};
		a.at = r.pick(ats);
		a.action = InterleaveKind(r.below(4));
		const uint64_t kind = r.below(3); // at the write, around it, beside it
		a.count = 1 + r.below(n + 2);
		if (kind == 0)
			a.offset = o + r.below(n);
		else if (kind == 1)
			a.offset = o > 2 ? o - 1 - r.below(2) : 0;
		else
			a.offset = E + r.below(4);
		if (a.action == InterleaveKind::end_cow_other) {
			/* beside the write only: before o or from E on */
			if (o > 0 && r.chance(50)) {
				a.offset = r.below(o);
				a.count = std::min<uint64_t>(a.count, o - a.offset);
			} else {
				a.offset = E + r.below(4);
			}
		}
		c.state.interleave.push_back(a);
	}
	return c;
}

LayoutBounds layout_bounds_of(const ProveBounds &b)
{
	LayoutBounds l;
	l.data_extents = b.data_extents;
	l.cow_extents = b.cow_extents;
	l.refcount = b.refcount;
	l.alloc = b.alloc;
	if (!b.symbolic_geometry)
		l.geometries = b.geometries;
	l.block_sizes = b.block_sizes;
	l.envs = b.envs;
	return l;
}

Case generate_layout_within(uint64_t seed, uint64_t index, Variant variant,
                            const LayoutBounds &bounds)
{
	for (uint64_t attempt = 0;; attempt++) {
		// a stream of its own: not check's layouts with other geometries
		Rng r(seed ^ (index * 0x9e3779b97f4a7c15ULL) ^ (attempt * 0xd1b54a32d192ed03ULL) ^
		      0xbb67ae8584caa73bULL);
		r.next();
		Builder b{r, {}, {}};
		b.c.variant = variant;
		b.c.name = "seed" + std::to_string(seed) + "-layout" + std::to_string(index);
		b.geometry();
		auto &geo = b.c.state.geo;
		if (!bounds.geometries.empty()) {
			const GeometryProfile &p =
			    bounds.geometries[r.below(bounds.geometries.size())];
			const bool reflink = geo.reflink || geo.block_size < XFS_MIN_CRC_BLOCKSIZE;
			geo.block_size = p.block_size;
			geo.ag_blocks = p.ag_blocks;
			geo.ag_count = p.ag_count;
			geo.cowextsize = p.cowextsize;
			geo.reflink = reflink && p.block_size >= XFS_MIN_CRC_BLOCKSIZE;
			b.c.state.dev = {p.awu_min, p.awu_max};
		} else if (!bounds.block_sizes.empty()) {
			geo.block_size = bounds.block_sizes[r.below(bounds.block_sizes.size())];
			geo.reflink = geo.reflink && geo.block_size >= XFS_MIN_CRC_BLOCKSIZE;
		}
		if (!bounds.envs.empty())
			b.c.state.env = bounds.envs[r.below(bounds.envs.size())];
		b.c.state.alloc_policy = AllocPolicy::script_only;
		uint64_t o, n;
		b.write(&o, &n);
		b.data_fork(o, n);
		b.refcounts();
		b.cow_fork(o, n);
		b.alloc(n);
		auto trim = [&](auto &v, unsigned most) {
			while (v.size() > most)
				v.erase(v.begin() + long(r.below(v.size())));
		};
		trim(b.c.state.data_fork, bounds.data_extents);
		trim(b.c.state.cow_fork, bounds.cow_extents);
		trim(b.c.state.refcount, bounds.refcount);
		trim(b.c.state.alloc, bounds.alloc);
		if (validate_state(b.c.state, b.c.write).empty())
			return b.c;
	}
}

} // namespace untorn
