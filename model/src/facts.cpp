// Measuring a trace: segmentation of [o, E) and the facts of each segment,
// bio and iomap_begin call.  No judgement happens here; the invariants do it.
#include "facts.h"

#include <algorithm>

namespace untorn::spec {

std::string Shape::key() const
{
	return std::to_string(segs) + "/" + std::to_string(bios) + "/" + std::to_string(txns) + "/" +
	       std::to_string(calls) + "/" + std::to_string(atomic_mask);
}

std::string slot_name(const Shape &sh, unsigned slot)
{
	static const char *g[] = {"bs", "o", "E", "pos", "len", "result", "admitted", "path", "awu_min", "awu_max",
				  "dev_min", "dev_max", "outside_changed", "cow_written_outside", "remap_txns",
				  "init_pieces", "init_kind", "init_daddr", "init_shared", "init_cow"};
	static const char *sf[] = {"kind", "pblk", "wr"};
	static const char *bf[] = {"atomic", "file_off", "nblocks", "daddr", "status", "txns_before", "old_copy", "shared"};
	static const char *cf[] = {"sw", "atomic", "error", "type", "flagged_cow", "off", "len", "pos", "daddr_at_o"};
	if (slot < G_COUNT)
		return g[slot];
	for (unsigned s = 0; s < sh.segs; s++) {
		if (slot == sh.seg_len(s))
			return "seg" + std::to_string(s) + "_len";
		for (unsigned k = 0; k < sh.snapshots(); k++)
			for (unsigned f = 0; f < S_FIELDS; f++)
				if (slot == sh.seg(s, k, SegField(f)))
					return "seg" + std::to_string(s) + "_k" + std::to_string(k) + "_" + sf[f];
	}
	for (unsigned b = 0; b < sh.bios; b++)
		for (unsigned f = 0; f < B_FIELDS; f++)
			if (slot == sh.bio(b, BioField(f)))
				return "bio" + std::to_string(b) + "_" + bf[f];
	for (unsigned c = 0; c < sh.calls; c++)
		for (unsigned f = 0; f < C_FIELDS; f++)
			if (slot == sh.call(c, CallField(f)))
				return "call" + std::to_string(c) + "_" + cf[f];
	if (slot == sh.crash_k())
		return "crash_k";
	return "crash_atomic" + std::to_string(slot - sh.crash_k() - 1);
}

namespace {

using Fork = std::vector<xfs_bmbt_irec>;

const Fork &snapshot(const Trace &t, unsigned k) { return k == 0 ? t.initial.data_fork : t.txns[k - 1].data_fork; }
const std::vector<xfs_refcount_irec> &ref_snapshot(const Trace &t, unsigned k)
{
	return k == 0 ? t.initial.refcount : t.txns[k - 1].refcount;
}

// The data-fork mapping of file block f: kind, and physical block (0 if none).
std::pair<u64, u64> map_at(const Fork &f, xfs_fileoff_t off)
{
	auto it = std::partition_point(f.begin(), f.end(), [off](const xfs_bmbt_irec &e) { return e.end() <= off; });
	if (it == f.end() || it->br_startoff > off)
		return {K_HOLE, 0};
	if (it->br_startblock == DELAYSTARTBLOCK)
		return {K_DELALLOC, 0};
	u64 kind = it->br_state == XFS_EXT_UNWRITTEN ? K_UNWRITTEN : K_NORM;
	return {kind, it->br_startblock + (off - it->br_startoff)};
}

// Restriction of a fork to the blocks outside [o, E).
Fork outside(const Fork &f, xfs_fileoff_t o, xfs_fileoff_t E)
{
	Fork out;
	for (auto e : f) {
		if (e.br_startoff < o) {
			xfs_bmbt_irec l = e;
			l.br_blockcount = std::min(e.end(), o) - e.br_startoff;
			out.push_back(l);
		}
		if (e.end() > E) {
			xfs_bmbt_irec r = e;
			xfs_fileoff_t s = std::max(e.br_startoff, E);
			if (!isnullstartblock(r.br_startblock))
				r.br_startblock += s - e.br_startoff;
			r.br_startoff = s;
			r.br_blockcount = e.end() - s;
			out.push_back(r);
		}
	}
	return out;
}

u64 overlap(const u64 &a, const u64 &an, const u64 &b, const u64 &bn)
{
	u64 s = std::max(a, b), e = std::min(a + an, b + bn);
	return e > s ? e - s : u64(0);
}

u64 shared_blocks(const std::vector<xfs_refcount_irec> &rc, const u64 &start, const u64 &n)
{
	u64 c = 0;
	for (const auto &r : rc)
		c += overlap(r.rc_startblock, r.rc_blockcount, start, n);
	return c;
}

// Written CoW-fork blocks outside [o, E): blocks of `after` that are written
// and were not already written, at the same physical block, in `before`.
u64 cow_written_outside(const Fork &before, const Fork &after, xfs_fileoff_t o, xfs_fileoff_t E)
{
	u64 n = 0;
	for (const auto &e : outside(after, o, E)) {
		if (!e.br_blockcount || isnullstartblock(e.br_startblock) || e.br_state != XFS_EXT_NORM)
			continue;
		n += e.br_blockcount;
		for (const auto &b : before) // the same blocks, written, at the same place
			if (b.br_startblock != DELAYSTARTBLOCK && b.br_state == XFS_EXT_NORM &&
			    b.br_startblock + e.br_startoff == e.br_startblock + b.br_startoff)
				n -= overlap(e.br_startoff, e.br_blockcount, b.br_startoff, b.br_blockcount);
	}
	return n;
}

} // namespace

Facts extract_facts(const Trace &t)
{
	Facts f;
	extract_facts(t, f);
	return f;
}

void extract_facts(const Trace &t, Facts &f)
{
	const Geometry &g = t.initial.geo;
	const u64 bs = g.block_size;
	const xfs_fileoff_t o = t.write.offset / bs;
	const xfs_fileoff_t E = (t.write.offset + t.write.length + bs - 1) / bs;
	const unsigned T = unsigned(t.txns.size());

	// Segment boundaries: every extent edge in every snapshot, every bio's
	// file range, and the file offsets where a bio's physical range starts
	// or ends under each snapshot's mapping.
	thread_local std::vector<xfs_fileoff_t> cuts;
	cuts.assign({o, E});
	auto cut = [&](const xfs_fileoff_t &f) {
		if (f > o && f < E)
			cuts.push_back(f);
	};
	for (unsigned k = 0; k <= T; k++)
		for (const auto &e : snapshot(t, k)) {
			cut(e.br_startoff);
			cut(e.end());
			if (isnullstartblock(e.br_startblock))
				continue;
			for (const auto &b : t.bios)
				if (overlap(e.br_startblock, e.br_blockcount, b.fsbno, b.nblocks)) {
					if (b.fsbno > e.br_startblock)
						cut(e.br_startoff + (b.fsbno - e.br_startblock));
					if (b.fsbno + b.nblocks < e.br_startblock + e.br_blockcount)
						cut(e.br_startoff + (b.fsbno + b.nblocks - e.br_startblock));
				}
		}
	for (const auto &b : t.bios) {
		cut(b.file_off);
		cut(b.file_off + b.nblocks);
	}
	std::sort(cuts.begin(), cuts.end(), [](const u64 &a, const u64 &b) { return a < b; });
	cuts.erase(std::unique(cuts.begin(), cuts.end(), [](const u64 &a, const u64 &b) { return a == b; }),
		   cuts.end());

	Shape &sh = f.shape;
	sh = Shape{};
	sh.segs = unsigned(cuts.size() - 1);
	sh.bios = unsigned(t.bios.size());
	sh.txns = T;
	sh.calls = unsigned(t.calls.size());
	for (unsigned b = 0; b < sh.bios && b < 64; b++)
		if (t.bios[b].req_atomic)
			sh.atomic_mask |= 1ULL << b;
	f.v.assign(sh.fact_count(), 0);
	auto &v = f.v;

	v[G_BS] = bs;
	v[G_O] = o;
	v[G_E] = E;
	v[G_POS] = t.write.offset;
	v[G_LEN] = t.write.length;
	v[G_RESULT] = uint64_t(t.result);
	v[G_ADMITTED] = t.admitted;
	v[G_PATH] = uint64_t(t.path);
	v[G_AWU_MIN] = t.awu_min;
	v[G_AWU_MAX] = t.awu_max;
	v[G_DEV_MIN] = t.initial.dev.awu_min;
	v[G_DEV_MAX] = t.initial.dev.awu_max;

	// Writers: the last bio (in submission order) that wrote a physical block.
	auto writer = [&](const u64 &pblk) -> uint64_t {
		for (size_t b = t.bios.size(); b-- > 0;)
			if (pblk >= t.bios[b].fsbno && pblk < t.bios[b].fsbno + t.bios[b].nblocks)
				return b + 1;
		return 0;
	};
	for (unsigned s = 0; s < sh.segs; s++) {
		v[sh.seg_len(s)] = cuts[s + 1] - cuts[s];
		for (unsigned k = 0; k <= T; k++) {
			auto [kind, pblk] = map_at(snapshot(t, k), cuts[s]);
			v[sh.seg(s, k, S_KIND)] = kind;
			v[sh.seg(s, k, S_PBLK)] = pblk;
			v[sh.seg(s, k, S_WR)] = kind == K_NORM || kind == K_UNWRITTEN ? writer(pblk) : 0;
		}
	}

	if (T) {
		const Fork out0 = outside(t.initial.data_fork, o, E);
		for (unsigned k = 1; k <= T && !v[G_OUTSIDE_CHANGED]; k++)
			if (snapshot(t, k) != snapshot(t, k - 1) && outside(snapshot(t, k), o, E) != out0)
				v[G_OUTSIDE_CHANGED] = 1;
	}
	v[G_COW_WRITTEN_OUTSIDE] = cow_written_outside(t.initial.cow_fork, t.final_state.cow_fork, o, E);

	unsigned first_write_tb = T + 1;
	for (const auto &b : t.bios)
		if (b.payload == Payload::new_data)
			first_write_tb = std::min(first_write_tb, b.txns_before);
	// Segments are uniform in every snapshot, so a mapping that changes
	// anywhere in [o, E) changes at some segment's first block.
	for (unsigned k = first_write_tb; k < T; k++) {
		bool changes = false;
		for (unsigned s = 0; s < sh.segs && !changes; s++)
			changes = v[sh.seg(s, k, S_KIND)] != v[sh.seg(s, k + 1, S_KIND)] ||
				  v[sh.seg(s, k, S_PBLK)] != v[sh.seg(s, k + 1, S_PBLK)];
		v[G_REMAP_TXNS] += changes;
	}

	// The layout before the write, for "was the hardware path possible?":
	// a new piece starts at every hole or delalloc block, and wherever the
	// kind changes or the physical blocks stop being contiguous.
	u64 pieces = 0;
	for (unsigned s = 0; s < sh.segs; s++) {
		const u64 &kind = v[sh.seg(s, 0, S_KIND)], &pblk = v[sh.seg(s, 0, S_PBLK)];
		if (kind == K_HOLE || kind == K_DELALLOC)
			pieces += v[sh.seg_len(s)];
		else if (s == 0 || kind != v[sh.seg(s - 1, 0, S_KIND)] ||
			 pblk != v[sh.seg(s - 1, 0, S_PBLK)] + v[sh.seg_len(s - 1)])
			pieces += 1;
		if (kind == K_NORM)
			v[G_INIT_SHARED] += shared_blocks(t.initial.refcount, pblk, v[sh.seg_len(s)]);
	}
	v[G_INIT_PIECES] = pieces;
	auto first = map_at(t.initial.data_fork, o);
	v[G_INIT_KIND] = first.first;
	v[G_INIT_DADDR] = first.second ? xfs_fsb_to_db(g, first.second) : u64(0);
	for (const auto &e : t.initial.cow_fork)
		v[G_INIT_COW] += overlap(e.br_startoff, e.br_blockcount, o, E - o);

	for (unsigned b = 0; b < sh.bios; b++) {
		const Bio &x = t.bios[b];
		v[sh.bio(b, B_ATOMIC)] = x.req_atomic;
		v[sh.bio(b, B_FILE_OFF)] = x.file_off;
		v[sh.bio(b, B_NBLOCKS)] = x.nblocks;
		v[sh.bio(b, B_DADDR)] = x.daddr;
		v[sh.bio(b, B_STATUS)] = uint64_t(x.status);
		v[sh.bio(b, B_TXNS_BEFORE)] = x.txns_before;
		v[sh.bio(b, B_OLD_COPY)] = x.payload == Payload::old_copy;
		v[sh.bio(b, B_SHARED)] = shared_blocks(ref_snapshot(t, std::min(x.txns_before, T)), x.fsbno, x.nblocks);
	}

	for (unsigned c = 0; c < sh.calls; c++) {
		const IomapBeginCall &x = t.calls[c];
		const Iomap &m = x.iomap;
		bool sw = x.ops == Ops::atomic_write_cow;
		bool atomic = t.variant == Variant::rfc_v1 ? !(m.flags & IOMAP_F_ATOMIC_COW) : (m.flags & IOMAP_F_ATOMIC_BIO) != 0;
		v[sh.call(c, C_SW)] = sw;
		v[sh.call(c, C_ATOMIC)] = !x.error && atomic;
		v[sh.call(c, C_ERROR)] = uint64_t(x.error);
		v[sh.call(c, C_TYPE)] = m.type == IomapType::HOLE	  ? T_HOLE
					: m.type == IomapType::DELALLOC ? T_DELALLOC
					: m.type == IomapType::MAPPED	  ? T_MAPPED
									  : T_UNWRITTEN;
		v[sh.call(c, C_FLAGGED_COW)] = (m.flags & (IOMAP_F_SHARED | IOMAP_F_ATOMIC_COW)) != 0;
		v[sh.call(c, C_OFF)] = m.offset / bs;
		v[sh.call(c, C_LEN)] = m.length / bs;
		v[sh.call(c, C_POS)] = x.pos / bs;
		if (!x.error && !isnullstartblock(m.irec.br_startblock) && m.irec.br_startoff <= o && o < m.irec.end())
			v[sh.call(c, C_DADDR_AT_O)] = xfs_fsb_to_db(g, m.irec.br_startblock + (o - m.irec.br_startoff));
	}
}

} // namespace untorn::spec
