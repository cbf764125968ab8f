// The minimizer: greedy reduction over a fixed, ordered list of one-step
// candidates (removals first, then shrinks, merges and moves toward small
// aligned values, then geometry and device limits).  A candidate is kept when
// it is valid (validate_state) and breaks exactly the same invariants; every
// accepted step strictly decreases (entries, sum of all numbers), so the loop
// ends, and it ends only after a full sweep in which no candidate was kept:
// the result is 1-minimal for these steps.
#include "minimize.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <stdexcept>

namespace untorn {

namespace {

using Fork = std::vector<xfs_bmbt_irec>;

unsigned bit_length(uint64_t v) { return v ? 64 - __builtin_clzll(v) : 0; }

// Every number of the case, for the termination measure and the report.
template <class F> void for_each_number(const Case &c, F f)
{
	const auto &g = c.state.geo;
	for (uint64_t v : {uint64_t(g.block_size), uint64_t(g.ag_blocks), uint64_t(g.ag_count), uint64_t(g.cowextsize),
			   uint64_t(g.max_atomic_ioend), uint64_t(c.state.dev.awu_min), uint64_t(c.state.dev.awu_max),
			   c.write.offset, c.write.length, uint64_t(g.reflink)})
		f(v);
	for (const Fork *fk : {&c.state.data_fork, &c.state.cow_fork})
		for (const auto &e : *fk) {
			f(e.br_startoff);
			f(e.br_blockcount);
			f(isnullstartblock(e.br_startblock) ? 0 : e.br_startblock);
			f(e.br_state);
		}
	for (const auto &r : c.state.refcount) {
		f(r.rc_startblock);
		f(r.rc_blockcount);
		f(r.rc_refcount);
	}
	for (const auto &a : c.state.alloc) {
		f(a.startblock);
		f(a.blockcount);
	}
	for (const auto &a : c.state.interleave) {
		f(a.at);
		f(uint64_t(a.action));
		f(a.offset);
		f(a.count);
	}
}

// Progress is (entries, blocks covered, sum of all numbers), compared in that
// order: removals, then shrinks (a head shrink raises the start offsets but
// covers fewer blocks), then moves toward smaller values.
struct Measure {
	size_t entries;
	uint64_t blocks;
	unsigned __int128 sum;
	bool operator<(const Measure &o) const
	{
		if (entries != o.entries)
			return entries < o.entries;
		if (blocks != o.blocks)
			return blocks < o.blocks;
		return sum < o.sum;
	}
};

Measure measure(const Case &c)
{
	Measure m{case_entries(c), c.write.length / c.state.geo.block_size, 0};
	for (const Fork *fk : {&c.state.data_fork, &c.state.cow_fork})
		for (const auto &e : *fk)
			m.blocks += e.br_blockcount;
	for (const auto &r : c.state.refcount)
		m.blocks += r.rc_blockcount;
	for (const auto &a : c.state.alloc)
		m.blocks += a.blockcount;
	for (const auto &a : c.state.interleave)
		m.blocks += a.count;
	for_each_number(c, [&](uint64_t v) { m.sum += v; });
	return m;
}

// Re-encodes every physical fsbno for a new geometry, keeping (agno, agbno).
void reencode(Case &c, const Geometry &from)
{
	const Geometry &to = c.state.geo;
	auto re = [&](xfs_fsblock_t b) {
		return xfs_agb_to_fsb(to, xfs_fsb_to_agno(from, b), xfs_fsb_to_agbno(from, b));
	};
	for (Fork *fk : {&c.state.data_fork, &c.state.cow_fork})
		for (auto &e : *fk)
			if (!isnullstartblock(e.br_startblock))
				e.br_startblock = re(e.br_startblock);
	for (auto &r : c.state.refcount)
		r.rc_startblock = re(r.rc_startblock);
	for (auto &a : c.state.alloc)
		a.startblock = re(a.startblock);
}

// Moves a physical range and the refcount records that lie inside it, so a
// shared extent stays shared.
void move_physical(Case &c, xfs_fsblock_t from, xfs_filblks_t n, xfs_fsblock_t to)
{
	for (auto &r : c.state.refcount)
		if (r.rc_startblock >= from && r.rc_startblock + r.rc_blockcount <= from + n)
			r.rc_startblock = r.rc_startblock - from + to;
}

class Candidates {
public:
	explicit Candidates(const Case &c) : base_(c) { build(); }
	const std::vector<Case> &list() const { return out_; }

private:
	const Case &base_;
	std::vector<Case> out_;

	Case &add() { return out_.emplace_back(base_); }

	template <class T> void remove_entries(std::vector<T> FileState::*list)
	{
		const size_t n = (base_.state.*list).size();
		// halves and quarters first, then single entries
		for (size_t chunk = n / 2; chunk >= 2; chunk /= 2)
			for (size_t i = 0; i + chunk <= n; i += chunk) {
				auto &v = add().state.*list;
				v.erase(v.begin() + long(i), v.begin() + long(i + chunk));
			}
		for (size_t i = 0; i < n; i++) {
			auto &v = add().state.*list;
			v.erase(v.begin() + long(i));
		}
	}

	void shrink_write()
	{
		const uint64_t bs = base_.state.geo.block_size;
		if (base_.write.length > bs && base_.write.length % 2 == 0)
			add().write.length /= 2;
		if (base_.write.offset) {
			add().write.offset = 0;
			if (base_.write.offset >= base_.write.length)
				add().write.offset -= base_.write.length;
		}
		// shift the whole file left, keeping every alignment of file offsets
		uint64_t lo = base_.write.offset / bs;
		for (const Fork *fk : {&base_.state.data_fork, &base_.state.cow_fork})
			for (const auto &e : *fk)
				lo = std::min(lo, e.br_startoff);
		for (const auto &a : base_.state.interleave)
			lo = std::min(lo, a.offset);
		const uint64_t wlen_blocks = std::max<uint64_t>(1, base_.write.length / bs);
		uint64_t shift = lo - lo % wlen_blocks;
		if (shift) {
			Case &c = add();
			c.write.offset -= shift * bs;
			for (Fork *fk : {&c.state.data_fork, &c.state.cow_fork})
				for (auto &e : *fk)
					e.br_startoff -= shift;
			for (auto &a : c.state.interleave)
				a.offset -= shift;
		}
	}

	void shrink_extents(Fork FileState::*fork)
	{
		const Fork &f = base_.state.*fork;
		for (size_t i = 0; i < f.size(); i++) {
			const auto &e = f[i];
			for (uint64_t d : {e.br_blockcount / 2, uint64_t(1)}) {
				if (d == 0 || d >= e.br_blockcount)
					continue;
				(add().state.*fork)[i].br_blockcount -= d; // tail
				auto &h = (add().state.*fork)[i];	    // head
				h.br_startoff += d;
				if (!isnullstartblock(h.br_startblock))
					h.br_startblock += d;
				h.br_blockcount -= d;
			}
			// toward file offset 0, alone
			for (uint64_t to : {uint64_t(0), e.br_startoff / 2, e.br_startoff - 1})
				if (e.br_startoff && to < e.br_startoff)
					(add().state.*fork)[i].br_startoff = to;
			if (e.br_state == XFS_EXT_UNWRITTEN && !isnullstartblock(e.br_startblock))
				(add().state.*fork)[i].br_state = XFS_EXT_NORM;
			// merge with the next extent when they touch in file offsets
			if (i + 1 < f.size() && e.end() == f[i + 1].br_startoff &&
			    isnullstartblock(e.br_startblock) == isnullstartblock(f[i + 1].br_startblock)) {
				auto &v = add().state.*fork;
				v[i].br_blockcount += v[i + 1].br_blockcount;
				v.erase(v.begin() + long(i) + 1);
			}
		}
	}

	// Physical start blocks toward small aligned values, in the same AG
	// and in AG 0.
	void move_blocks()
	{
		const Geometry &g = base_.state.geo;
		auto targets = [&](xfs_fsblock_t b) {
			std::vector<xfs_fsblock_t> t;
			uint32_t agno = xfs_fsb_to_agno(g, b), agbno = xfs_fsb_to_agbno(g, b);
			for (uint32_t a : {agno, 0u})
				for (uint32_t align = 1u << 20; align >= 1; align >>= 1)
					for (uint32_t nb : {align, agbno - agbno % align}) {
						xfs_fsblock_t cand = xfs_agb_to_fsb(g, a, nb);
						if (nb && cand < b && std::find(t.begin(), t.end(), cand) == t.end())
							t.push_back(cand);
					}
			return t;
		};
		for (Fork FileState::*fork : {&FileState::data_fork, &FileState::cow_fork}) {
			const Fork &f = base_.state.*fork;
			for (size_t i = 0; i < f.size(); i++)
				if (!isnullstartblock(f[i].br_startblock))
					for (xfs_fsblock_t t : targets(f[i].br_startblock)) {
						Case &c = add();
						move_physical(c, f[i].br_startblock, f[i].br_blockcount, t);
						(c.state.*fork)[i].br_startblock = t;
					}
		}
		for (size_t i = 0; i < base_.state.alloc.size(); i++) {
			for (xfs_fsblock_t t : targets(base_.state.alloc[i].startblock))
				add().state.alloc[i].startblock = t;
			if (base_.state.alloc[i].blockcount > 1) {
				add().state.alloc[i].blockcount /= 2;
				add().state.alloc[i].blockcount -= 1;
			}
		}
		for (size_t i = 0; i < base_.state.refcount.size(); i++) {
			const auto &r = base_.state.refcount[i];
			if (r.rc_refcount > 2)
				add().state.refcount[i].rc_refcount = 2;
			if (r.rc_blockcount > 1) {
				add().state.refcount[i].rc_blockcount -= 1;
				auto &h = add().state.refcount[i];
				h.rc_startblock += 1;
				h.rc_blockcount -= 1;
			}
		}
	}

	// Interleaved actions: earlier drop points, shorter ranges (tail and
	// head), offsets toward 0.
	void shrink_interleave()
	{
		const auto &v = base_.state.interleave;
		for (size_t i = 0; i < v.size(); i++) {
			const auto &a = v[i];
			if (a.at)
				add().state.interleave[i].at = 0;
			if (a.at > 1)
				add().state.interleave[i].at -= 1;
			for (uint64_t d : {a.count / 2, uint64_t(1)}) {
				if (d == 0 || d >= a.count)
					continue;
				add().state.interleave[i].count -= d; // tail
				auto &h = add().state.interleave[i];  // head
				h.offset += d;
				h.count -= d;
			}
			for (uint64_t to : {uint64_t(0), a.offset / 2, a.offset - 1})
				if (a.offset && to < a.offset)
					add().state.interleave[i].offset = to;
		}
	}

	void shrink_geometry()
	{
		const Geometry &g = base_.state.geo;
		if (g.ag_count > 1)
			add().state.geo.ag_count -= 1;
		for (uint32_t nb : {g.ag_blocks / 2, g.ag_blocks - 1}) {
			if (nb < 2)
				continue;
			Case &c = add();
			c.state.geo.ag_blocks = nb;
			reencode(c, g);
		}
		// never below what validate_state() accepts: 1024 with reflink (v5)
		if (g.block_size > (g.reflink ? XFS_MIN_CRC_BLOCKSIZE : XFS_MIN_BLOCKSIZE)) {
			// same block counts, half the bytes
			Case &c = add();
			c.state.geo.block_size /= 2;
			c.write.offset /= 2;
			c.write.length /= 2;
			c.state.dev.awu_min /= 2;
			c.state.dev.awu_max /= 2;
		}
		if (g.cowextsize > 1)
			add().state.geo.cowextsize /= 2;
		if (g.cowextsize)
			add().state.geo.cowextsize = 0;
		if (g.reflink)
			add().state.geo.reflink = false;
		if (g.max_atomic_ioend > 1)
			add().state.geo.max_atomic_ioend /= 2;
		const auto &d = base_.state.dev;
		if (d.awu_max) {
			auto &z = add().state.dev;
			z.awu_min = z.awu_max = 0;
			if (d.awu_max > d.awu_min)
				add().state.dev.awu_max /= 2;
			if (d.awu_min > 1)
				add().state.dev.awu_min /= 2;
		}
	}

	void build()
	{
		remove_entries(&FileState::interleave);
		remove_entries(&FileState::alloc);
		remove_entries(&FileState::refcount);
		remove_entries(&FileState::cow_fork);
		remove_entries(&FileState::data_fork);
		shrink_write();
		shrink_extents(&FileState::data_fork);
		shrink_extents(&FileState::cow_fork);
		move_blocks();
		shrink_interleave();
		shrink_geometry();
	}
};

} // namespace

size_t case_entries(const Case &c)
{
	return c.state.data_fork.size() + c.state.cow_fork.size() + c.state.refcount.size() + c.state.alloc.size() +
	       c.state.interleave.size();
}

uint64_t case_magnitude(const Case &c)
{
	uint64_t m = 0;
	for_each_number(c, [&](uint64_t v) { m += bit_length(v); });
	return m;
}

std::string canonical_content(const Case &c)
{
	Case k;
	k.variant = c.variant;
	k.state = c.state;
	k.write = c.write;
	return case_to_json(k);
}

MinimizeResult minimize_case(const Case &input, Spec &spec)
{
	MinimizeResult r;
	uint64_t calls = 0;
	auto broken = [&](const Case &c) {
		calls++;
		return spec.judge(run_atomic_write(c.state, c.write, c.variant)).broken_names();
	};
	r.invariants = broken(input);
	if (r.invariants.empty())
		throw std::invalid_argument("the case breaks no invariant: nothing to minimize");
	MinimizeResult m = minimize_case_while(input, [&](const Case &c) { return broken(c) == r.invariants; });
	m.invariants = r.invariants;
	m.oracle_calls = calls; // the first judgement too
	return m;
}

MinimizeResult minimize_case_while(const Case &input, const std::function<bool(const Case &)> &keep)
{
	MinimizeResult r;
	auto kept_by = [&](const Case &c) {
		r.oracle_calls++;
		return keep(c);
	};
	Case cur = input;
	Measure m = measure(cur);
	std::vector<Case> cands = Candidates(cur).list();
	size_t pos = 0, fails_in_row = 0;
	while (!cands.empty() && fails_in_row < cands.size()) {
		if (pos >= cands.size())
			pos = 0;
		const Case &c = cands[pos];
		Measure cm = measure(c);
		bool kept = false;
		if (cm < m) {
			if (!validate_state(c.state, c.write).empty())
				r.candidates_rejected_invalid++;
			else if (kept_by(c))
				kept = true;
		}
		if (kept) {
			cur = c;
			m = cm;
			cands = Candidates(cur).list();
			fails_in_row = 0;
		} else {
			pos++;
			fails_in_row++;
		}
	}
	r.minimized = cur;
	r.entries_before = case_entries(input);
	r.entries_after = case_entries(cur);
	r.magnitude_before = case_magnitude(input);
	r.magnitude_after = case_magnitude(cur);
	return r;
}

} // namespace untorn
