// Measuring a trace: segmentation of [o, E) and the facts of each segment,
// bio and iomap_begin call.  No judgement happens here; the invariants do it.
#include "facts.h"

#include <algorithm>
#include <optional>

namespace untorn::spec
{

std::string Shape::key() const
{
	return std::to_string(segs) + "/" + std::to_string(bios) + "/" + std::to_string(txns) +
	       "/" + std::to_string(calls) + "/" + std::to_string(atomic_mask);
}

std::string slot_name(const Shape &sh, unsigned slot)
{
	if (slot < G_COUNT)
		return fact(FactKind::global, slot).name;
	for (unsigned s = 0; s < sh.segs; s++) {
		if (slot == sh.seg_len(s))
			return "seg" + std::to_string(s) + "_len";
		for (unsigned k = 0; k < sh.snapshots(); k++)
			for (unsigned f = 0; f < S_FIELDS; f++)
				if (slot == sh.seg(s, k, SegField(f)))
					return "seg" + std::to_string(s) + "_k" +
					       std::to_string(k) + "_" +
					       fact(FactKind::seg, f).name;
	}
	for (unsigned b = 0; b < sh.bios; b++)
		for (unsigned f = 0; f < B_FIELDS; f++)
			if (slot == sh.bio(b, BioField(f)))
				return "bio" + std::to_string(b) + "_" +
				       fact(FactKind::bio, f).name;
	for (unsigned c = 0; c < sh.calls; c++)
		for (unsigned f = 0; f < C_FIELDS; f++)
			if (slot == sh.call(c, CallField(f)))
				return "call" + std::to_string(c) + "_" +
				       fact(FactKind::call, f).name;
	if (slot == sh.crash_k())
		return "crash_k";
	return "crash_atomic" + std::to_string(slot - sh.crash_k() - 1);
}

namespace
{

// Everything below is computed with choose()/cond_*() (untorn/value.h), not
// with `if`: under the prover these are terms, so measuring a trace adds no
// decisions -- a path is a path of impl's, not of the measurement.  (Loops
// run over counts only: extents, snapshots, bios, calls.)  Where an operand
// matters only on one side of a condition (a lookup, the rest of a
// conjunction), the lazy forms (cond_and_then, cond_or_else, choose_lazily)
// compute it only then: on integers that is plain short-circuiting, and a
// split path (the prover deciding the facts' cases) records no decisions of
// values it does not use.  Merged, the terms are the same as the eager
// forms'.

using Fork = std::vector<xfs_bmbt_irec>;

const Fork &snapshot(const Trace &t, unsigned k)
{
	return k == 0 ? t.initial.data_fork : t.txns[k - 1].data_fork;
}
const std::vector<xfs_refcount_irec> &ref_snapshot(const Trace &t, unsigned k)
{
	return k == 0 ? t.initial.refcount : t.txns[k - 1].refcount;
}

u64 min_of(const u64 &a, const u64 &b)
{
	return choose(b < a, b, a);
}
u64 max_of(const u64 &a, const u64 &b)
{
	return choose(a < b, b, a);
}
auto is_null(const u64 &startblock)
{
	return cond_or_else(startblock == DELAYSTARTBLOCK,
	                    [&] { return startblock == HOLESTARTBLOCK; });
}
auto contains(const u64 &start, const u64 &n, const u64 &x)
{
	return cond_and_then(start <= x, [&] { return x < start + n; });
}
u64 zero()
{
	return 0;
}

// What an extent's blocks are: delalloc, unwritten or written.
u64 kind_of(const xfs_bmbt_irec &e)
{
	return choose_lazily(
	    e.br_startblock == DELAYSTARTBLOCK, [] { return u64(K_DELALLOC); },
	    [&] { return choose(e.br_state == XFS_EXT_UNWRITTEN, K_UNWRITTEN, K_NORM); });
}

// The data-fork mapping of file block off: kind, and physical block (0 if
// none).  A fork's extents are disjoint, so at most one contains off.
struct Mapping {
	u64 kind, pblk;
};
Mapping map_at(const Fork &f, const u64 &off)
{
	Mapping m{K_HOLE, 0};
	for (const auto &e : f) {
		auto in = contains(e.br_startoff, e.br_blockcount, off);
		m.kind = choose_lazily(
		    in, [&] { return kind_of(e); }, [&] { return m.kind; });
		m.pblk = choose_lazily(
		    cond_and_then(in, [&] { return cond_not(e.br_startblock == DELAYSTARTBLOCK); }),
		    [&] { return e.br_startblock + (off - e.br_startoff); },
		    [&] { return m.pblk; });
	}
	return m;
}
auto differ(const Mapping &a, const Mapping &b)
{
	return cond_or_else(a.kind != b.kind, [&] { return a.pblk != b.pblk; });
}

u64 overlap(const u64 &a, const u64 &an, const u64 &b, const u64 &bn)
{
	u64 s = max_of(a, b), e = min_of(a + an, b + bn);
	return choose(e > s, e - s, 0);
}

u64 shared_blocks(const std::vector<xfs_refcount_irec> &rc, const u64 &start, const u64 &n)
{
	u64 c = 0;
	for (const auto &r : rc)
		c += overlap(r.rc_startblock, r.rc_blockcount, start, n);
	return c;
}

// Blocks of an extent outside [o, E), as two (possibly empty) file ranges.
struct Outside {
	u64 left_off, left_len, right_off, right_len;
};
Outside outside(const xfs_bmbt_irec &e, const u64 &o, const u64 &E)
{
	u64 right = max_of(e.br_startoff, E);
	return {e.br_startoff,
	        choose_lazily(
	            e.br_startoff < o, [&] { return min_of(e.end(), o) - e.br_startoff; }, zero),
	        right,
	        choose_lazily(
	            e.end() > E, [&] { return e.end() - right; }, zero)};
}

// Written CoW-fork blocks outside [o, E): blocks of `after` that are written
// and were not already written, at the same physical block, in `before`.
u64 cow_written_outside(const Fork &before, const Fork &after, const u64 &o, const u64 &E)
{
	u64 n = 0;
	for (const auto &e : after) {
		auto written = cond_and_then(cond_not(is_null(e.br_startblock)),
		                             [&] { return e.br_state == XFS_EXT_NORM; });
		std::optional<Outside> out_once; // (built when first needed)
		auto out = [&]() -> const Outside & {
			if (!out_once)
				out_once = outside(e, o, E);
			return *out_once;
		};
		n += choose_lazily(
		    written, [&] { return out().left_len + out().right_len; }, zero);
		for (const auto &b : before) { // the same blocks, written, at the same place
			auto same = cond_and_then(
			    cond_and_then(written,
			                  [&] { return b.br_startblock != DELAYSTARTBLOCK; }),
			    [&] {
				    return cond_and_then(b.br_state == XFS_EXT_NORM, [&] {
					    return b.br_startblock + e.br_startoff ==
					           e.br_startblock + b.br_startoff;
				    });
			    });
			n -= choose_lazily(
			    same,
			    [&] {
				    return overlap(out().left_off, out().left_len, b.br_startoff,
				                   b.br_blockcount) +
				           overlap(out().right_off, out().right_len, b.br_startoff,
				                   b.br_blockcount);
			    },
			    zero);
		}
	}
	return n;
}

// Does the mapping of any block outside [o, E) differ between forks a and b?
// Both are uniform (a hole, or one extent's run) between consecutive extent
// edges of either, so they differ on such a block iff they differ at the
// nearest edge at or before it -- itself outside [o, E), or E.
auto outside_differs(const Fork &a, const Fork &b, const u64 &o, const u64 &E)
{
	auto at = [&](const u64 &c) {
		return cond_and_then(cond_or_else(c < o, [&] { return c >= E; }),
		                     [&] { return differ(map_at(a, c), map_at(b, c)); });
	};
	auto any = at(E);
	for (const auto *f : {&a, &b})
		for (const auto &e : *f)
			any = cond_or_else(any, [&] {
				return cond_or_else(at(e.br_startoff), [&] { return at(e.end()); });
			});
	return any;
}

// Another actor's committed data (Trace::others_mapped, x_interleave): per
// extent it remapped outside [o, E), 1 for each of the write's own later
// transactions that changes its mapping (compared with the snapshot before,
// at the extent's start and at every edge of either snapshot inside it, as
// outside_differs does), plus 1 per bio of the write's new data that reached
// its physical blocks.  (Another actor changing it again is not the write's
// doing.)
u64 others_changed(const Trace &t, const u64 &o, const u64 &E)
{
	u64 n = 0;
	for (size_t i = 0; i < t.others_mapped.size(); i++) {
		const xfs_bmbt_irec &r = t.others_mapped[i];
		const unsigned from = i < t.others_mapped_at.size() ? t.others_mapped_at[i] : 0;
		for (unsigned k = from + 1; k <= t.txns.size(); k++) {
			if (t.txns[k - 1].other)
				continue;
			const Fork &a = snapshot(t, k - 1), &b = snapshot(t, k);
			auto at = [&](const u64 &c) {
				return cond_and_then(
				    cond_and_then(contains(r.br_startoff, r.br_blockcount, c),
				                  [&] {
					                  return cond_or_else(
					                      c < o, [&] { return c >= E; });
				                  }),
				    [&] { return differ(map_at(a, c), map_at(b, c)); });
			};
			auto lost = at(r.br_startoff);
			for (const auto *f : {&a, &b})
				for (const auto &e : *f)
					lost = cond_or_else(lost, [&] {
						return cond_or_else(at(e.br_startoff),
						                    [&] { return at(e.end()); });
					});
			n += choose(lost, 1, 0);
		}
		for (const auto &b : t.bios)
			if (b.payload == Payload::new_data && b.status == 0)
				n += choose(overlap(b.fsbno, b.nblocks, r.br_startblock,
				                    r.br_blockcount) != 0,
				            1, 0);
	}
	return n;
}

// The write range [o, E) cut at every extent edge in every snapshot, every
// bio's file range, and the file offsets where a bio's physical range starts
// or ends under each snapshot's mapping: each segment starts at a cut and
// runs to the next larger cut (or E), so its blocks look alike in every
// snapshot and under every bio.  Cuts are clamped into [o, E] and kept
// unsorted: a cut at E, or equal to an earlier one, has an empty segment.
// Extra cuts only split segments further, so one is dropped only when it is
// certainly redundant (under the prover: the same term) -- never by a
// decision.
struct Segments {
	std::vector<u64> start, len;
};
Segments segment(const Trace &t, const u64 &o, const u64 &E, unsigned T)
{
	std::vector<u64> cuts{o};
	auto cut = [&](const u64 &f) {
		u64 c = min_of(max_of(f, o), E);
		if (certainly(c == E))
			return;
		for (const auto &k : cuts)
			if (certainly(k == c))
				return;
		cuts.push_back(c);
	};
	for (unsigned k = 0; k <= T; k++)
		for (const auto &e : snapshot(t, k)) {
			cut(e.br_startoff);
			cut(e.end());
			auto real = cond_not(is_null(e.br_startblock));
			for (const auto &b : t.bios) {
				// Mapped back through an extent that maps the bio's
				// blocks where the bio wrote them from (its own, or
				// the same run remapped), a bio's physical edges are
				// its file edges, cut below: only another view of its
				// blocks needs cuts of its own.  (Certainly: for every
				// input, not by a decision.)
				u64 from = e.br_startoff + (b.fsbno - e.br_startblock);
				if (certainly(from == b.file_off))
					continue;
				auto meet = cond_and_then(real, [&] {
					return overlap(e.br_startblock, e.br_blockcount, b.fsbno,
					               b.nblocks) != 0;
				});
				cut(choose(
				    cond_and_then(meet, [&] { return b.fsbno > e.br_startblock; }),
				    from, o));
				cut(choose(cond_and_then(meet,
				                         [&] {
					                         return b.fsbno + b.nblocks <
					                                e.br_startblock +
					                                    e.br_blockcount;
				                         }),
				           from + b.nblocks, o));
			}
		}
	for (const auto &b : t.bios) {
		cut(b.file_off);
		cut(b.file_off + b.nblocks);
	}
	Segments s;
	if constexpr (std::is_integral_v<u64>) {
		// Integers (check, replay): the cuts, distinct, sorted, each segment
		// running to the next.  The same segments the search below finds,
		// without its cuts x cuts comparisons; terms cannot be sorted without
		// deciding, so the prover searches.
		std::sort(cuts.begin(), cuts.end());
		for (size_t i = 0; i < cuts.size(); i++) {
			s.start.push_back(cuts[i]);
			s.len.push_back((i + 1 < cuts.size() ? cuts[i + 1] : E) - cuts[i]);
		}
		return s;
	}
	for (size_t i = 0; i < cuts.size(); i++) {
		u64 next = E;
		auto dup = cuts[i] == E;
		for (size_t j = 0; j < cuts.size(); j++) {
			if (j == i)
				continue;
			next =
			    choose(cond_and_then(cuts[j] > cuts[i], [&] { return cuts[j] < next; }),
			           cuts[j], next);
			if (j < i)
				dup = cond_or_else(dup, [&] { return cuts[j] == cuts[i]; });
		}
		s.start.push_back(cuts[i]);
		s.len.push_back(choose(dup, 0, next - cuts[i]));
	}
	return s;
}

// The layout before the write, for "was the hardware path possible?".
// Pieces: every hole or delalloc block in [o, E) is a piece of its own; a
// real extent's first block in [o, E) starts a new piece unless the block
// before it, in [o, E), is of the same kind at the physically preceding
// block -- the last block of the extent before it in the (sorted) fork, if
// that one ends where it starts.  (The rest of an extent never starts one.)
// Shared: blocks of written extents in [o, E) with a refcount above 1.
void initial_layout(const Trace &t, const u64 &o, const u64 &E, std::vector<u64> &v)
{
	const Fork &f = t.initial.data_fork;
	u64 pieces = E - o, shared = 0;
	for (size_t i = 0; i < f.size(); i++) {
		const xfs_bmbt_irec &e = f[i];
		auto real = e.br_startblock != DELAYSTARTBLOCK;
		u64 n = overlap(e.br_startoff, e.br_blockcount, o, E - o);
		if (certainly(n == 0))
			continue; // (outside [o, E): counts nothing)
		u64 start = max_of(e.br_startoff, o);
		u64 pblk = e.br_startblock + (start - e.br_startoff);
		u64 kind = kind_of(e);
		auto joins = [&] {
			if (i == 0)
				return u64(0) != 0;
			const xfs_bmbt_irec &p = f[i - 1];
			// (a delalloc extent before a real one is of another kind)
			return cond_and_then(
			    cond_and_then(start != o, [&] { return p.end() == start; }), [&] {
				    return cond_and_then(kind_of(p) == kind, [&] {
					    return p.br_startblock + p.br_blockcount == pblk;
				    });
			    });
		};
		auto here = cond_and_then(real, [&] { return n != 0; });
		pieces -= choose(real, n, 0);
		pieces += choose(cond_and_then(here, [&] { return cond_not(joins()); }), 1, 0);
		shared += choose_lazily(
		    cond_and_then(here, [&] { return kind == K_NORM; }),
		    [&] { return shared_blocks(t.initial.refcount, pblk, n); }, zero);
	}
	v[G_INIT_PIECES] = pieces;
	v[G_INIT_SHARED] = shared;
}

// What every measurement below works on: the trace, the write's blocks
// [o, E), its segments, and the facts being filled in.
struct Measure {
	const Trace &t;
	const Geometry &g;
	u64 bs;
	xfs_fileoff_t o, E;
	unsigned T; // transactions
	const Segments &seg;
	const Shape &sh;
	std::vector<u64> &v;
};

// The write as asked for, and whether (and how) it was admitted.
void measure_admission(const Measure &m)
{
	const Trace &t = m.t;
	auto &v = m.v;
	v[G_BS] = m.bs;
	v[G_O] = m.o;
	v[G_E] = m.E;
	v[G_POS] = t.write.offset;
	v[G_LEN] = t.write.length;
	v[G_RESULT] = uint64_t(t.result);
	v[G_ADMITTED] = t.admitted;
	v[G_PATH] = uint64_t(t.path);
	v[G_AWU_MIN] = t.awu_min;
	v[G_AWU_MAX] = t.awu_max;
	v[G_DEV_MIN] = t.initial.dev.awu_min;
	v[G_DEV_MAX] = t.initial.dev.awu_max;
}

// Per segment and snapshot: the mapping, and the last bio (in submission
// order) that wrote its physical block.
void measure_segments(const Measure &m)
{
	const Trace &t = m.t;
	const Shape &sh = m.sh;
	auto &v = m.v;
	auto writer = [&](const u64 &pblk) {
		u64 w = 0;
		for (size_t b = 0; b < t.bios.size(); b++)
			w = choose(contains(t.bios[b].fsbno, t.bios[b].nblocks, pblk), b + 1, w);
		return w;
	};
	for (unsigned s = 0; s < sh.segs; s++) {
		v[sh.seg_len(s)] = m.seg.len[s];
		for (unsigned k = 0; k <= m.T; k++) {
			Mapping at = map_at(snapshot(t, k), m.seg.start[s]);
			v[sh.seg(s, k, S_KIND)] = at.kind;
			v[sh.seg(s, k, S_PBLK)] = at.pblk;
			v[sh.seg(s, k, S_WR)] = choose_lazily(
			    cond_or_else(at.kind == K_NORM, [&] { return at.kind == K_UNWRITTEN; }),
			    [&] { return writer(at.pblk); }, zero);
		}
	}
}

// What the write did outside [o, E): to the data fork, to the CoW fork, and
// to another actor's committed extents.
void measure_outside(const Measure &m)
{
	const Trace &t = m.t;
	const u64 o = m.o, E = m.E;
	auto &v = m.v;
	auto changed = u64(0) != 0; // false, as a condition
	bool others = false;        // another actor committed transactions (x_interleave)
	for (const auto &x : t.txns)
		others = others || x.other;
	if (!others)
		for (unsigned k = 1; k <= m.T; k++)
			changed = cond_or_else(changed, [&] {
				return outside_differs(snapshot(t, k), t.initial.data_fork, o, E);
			});
	else // only the write's own transactions, each against the layout it found
		for (unsigned k = 1; k <= m.T; k++)
			if (!t.txns[k - 1].other)
				changed = cond_or_else(changed, [&] {
					return outside_differs(snapshot(t, k), snapshot(t, k - 1),
					                       o, E);
				});
	v[G_OTHERS_CHANGED] = others_changed(t, o, E);
	v[G_OUTSIDE_CHANGED] = choose(changed, 1, 0);
	v[G_COW_WRITTEN_OUTSIDE] =
	    cow_written_outside(t.initial.cow_fork, t.final_state.cow_fork, o, E);
}

// Transactions after the write's first bio that change [o, E).  Segments are
// uniform in every snapshot, so a mapping that changes anywhere in [o, E)
// changes at some (non-empty) segment's first block.
void measure_remaps(const Measure &m)
{
	const Shape &sh = m.sh;
	auto &v = m.v;
	unsigned first_write_tb = m.T + 1;
	for (const auto &b : m.t.bios)
		if (b.payload == Payload::new_data)
			first_write_tb = std::min(first_write_tb, b.txns_before);
	for (unsigned k = first_write_tb; k < m.T; k++) {
		auto changes = u64(0) != 0;
		for (unsigned s = 0; s < sh.segs; s++)
			changes = cond_or_else(changes, [&] {
				return cond_and_then(m.seg.len[s] != 0, [&] {
					return cond_or_else(
					    v[sh.seg(s, k, S_KIND)] != v[sh.seg(s, k + 1, S_KIND)],
					    [&] {
						    return v[sh.seg(s, k, S_PBLK)] !=
						           v[sh.seg(s, k + 1, S_PBLK)];
					    });
				});
			});
		v[G_REMAP_TXNS] += choose(changes, 1, 0);
	}
}

// The layout before the write (was the hardware path possible?).
void measure_initial(const Measure &m)
{
	const Trace &t = m.t;
	auto &v = m.v;
	initial_layout(t, m.o, m.E, v);
	Mapping first = map_at(t.initial.data_fork, m.o);
	v[G_INIT_KIND] = first.kind;
	v[G_INIT_DADDR] = choose_lazily(
	    first.pblk != 0, [&] { return xfs_fsb_to_db(m.g, first.pblk); }, zero);
	for (const auto &e : t.initial.cow_fork)
		v[G_INIT_COW] += overlap(e.br_startoff, e.br_blockcount, m.o, m.E - m.o);
}

void measure_bios(const Measure &m)
{
	const Trace &t = m.t;
	for (unsigned b = 0; b < m.sh.bios; b++) {
		const Bio &x = t.bios[b];
		auto at = [&](BioField f) -> u64 & { return m.v[m.sh.bio(b, f)]; };
		at(B_ATOMIC) = x.req_atomic;
		at(B_FILE_OFF) = x.file_off;
		at(B_NBLOCKS) = x.nblocks;
		at(B_DADDR) = x.daddr;
		at(B_STATUS) = uint64_t(x.status);
		at(B_TXNS_BEFORE) = x.txns_before;
		at(B_OLD_COPY) = x.payload == Payload::old_copy;
		at(B_SHARED) = shared_blocks(ref_snapshot(t, std::min(x.txns_before, m.T)), x.fsbno,
		                             x.nblocks);
	}
}

void measure_calls(const Measure &ms)
{
	const Trace &t = ms.t;
	const u64 bs = ms.bs;
	const xfs_fileoff_t o = ms.o;
	for (unsigned c = 0; c < ms.sh.calls; c++) {
		const IomapBeginCall &x = t.calls[c];
		const Iomap &m = x.iomap;
		auto at = [&](CallField f) -> u64 & { return ms.v[ms.sh.call(c, f)]; };
		bool sw = x.ops == Ops::atomic_write_cow;
		// the iomap rule of the variant, asked of the table (a patch has its base's)
		bool atomic =
		    variant_atomic_bio_rule(t.variant) == AtomicBioRule::rfc_not_atomic_cow
		        ? !(m.flags & IOMAP_F_ATOMIC_COW)
		        : (m.flags & IOMAP_F_ATOMIC_BIO) != 0;
		at(C_SW) = sw;
		at(C_ATOMIC) = !x.error && atomic;
		at(C_ERROR) = uint64_t(x.error);
		at(C_TYPE) = m.type == IomapType::HOLE       ? T_HOLE
		             : m.type == IomapType::DELALLOC ? T_DELALLOC
		             : m.type == IomapType::MAPPED   ? T_MAPPED
		                                             : T_UNWRITTEN;
		at(C_FLAGGED_COW) = (m.flags & (IOMAP_F_SHARED | IOMAP_F_ATOMIC_COW)) != 0;
		at(C_OFF) = m.offset / bs;
		at(C_LEN) = m.length / bs;
		at(C_POS) = x.pos / bs;
		if (!x.error) {
			const xfs_bmbt_irec &r = m.irec;
			auto at_o = cond_and_then(cond_not(is_null(r.br_startblock)), [&] {
				return contains(r.br_startoff, r.br_blockcount, o);
			});
			at(C_DADDR_AT_O) = choose_lazily(
			    at_o,
			    [&] {
				    return xfs_fsb_to_db(ms.g,
				                         r.br_startblock + (o - r.br_startoff));
			    },
			    zero);
		}
	}
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
	const Segments seg = segment(t, o, E, T);

	Shape &sh = f.shape;
	sh = Shape{};
	sh.segs = unsigned(seg.start.size());
	sh.bios = unsigned(t.bios.size());
	sh.txns = T;
	sh.calls = unsigned(t.calls.size());
	for (unsigned b = 0; b < sh.bios && b < 64; b++)
		if (t.bios[b].req_atomic)
			sh.atomic_mask |= 1ULL << b;
	f.v.assign(sh.fact_count(), 0);

	const Measure m{t, g, bs, o, E, T, seg, sh, f.v};
	measure_admission(m);
	measure_segments(m);
	measure_outside(m);
	measure_remaps(m); // (reads the segments' facts)
	measure_initial(m);
	measure_bios(m);
	measure_calls(m);
}

} // namespace untorn::spec
