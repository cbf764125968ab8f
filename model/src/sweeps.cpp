// The sweeps (see sweeps.h).
#include "sweeps.h"

#include "smt.h"

#include <algorithm>
#include <sstream>

namespace untorn
{

using untorn_concolic::In;
using untorn_concolic::InCase;

namespace
{

z3::expr num(uint64_t v)
{
	return smt::ctx().bv_val(v, 64);
}

In var(const std::string &name)
{
	return In{smt::ctx().bv_const(name.c_str(), 64), 0};
}

// ------------------------------------------------------- the precondition
// The rules untorn's loader and validate_state() (impl/src/validate.cpp)
// impose on a case, as one formula over the variables.  Every counterexample
// is checked against validate_state() itself, so a rule missing here shows
// up as a loud divergence, never as a silent pass.

z3::expr at_most(const z3::expr &a, uint64_t b)
{
	return z3::ule(a, num(b));
}
z3::expr at_least(const z3::expr &a, uint64_t b)
{
	return z3::uge(a, num(b));
}
z3::expr pow2(const z3::expr &x)
{
	return x != 0 && (x & (x - 1)) == 0;
}
z3::expr e(const In &x)
{
	return x.var ? *x.var : num(x.value);
}

struct Geo {
	z3::expr ag_blocks, ag_count, agblklog;
};

// validate.cpp's inside_ags(): in an AG, within it, not the superblock.
z3::expr inside_ags(const Geo &g, const z3::expr &start, const z3::expr &count)
{
	z3::expr agno = z3::lshr(start, g.agblklog);
	z3::expr agbno = start & (z3::shl(num(1), g.agblklog) - 1);
	return at_most(start, 1ULL << 52) && z3::ult(agno, g.ag_count) &&
	       z3::ult(agbno, g.ag_blocks) && z3::ule(agbno + count, g.ag_blocks) && start != 0;
}

struct Range {
	z3::expr s, e, live; // [s, e) when live
};
z3::expr disjoint(const Range &a, const Range &b)
{
	return !(a.live && b.live) || z3::ule(a.e, b.s) || z3::ule(b.e, a.s);
}

// [lo, hi) inside the union of `by` (sorted and disjoint, as the loader
// wants refcount records): some run of adjacent records spans it.
z3::expr covered(const std::vector<Range> &by, const z3::expr &lo, const z3::expr &hi)
{
	z3::expr any = z3::uge(lo, hi);
	for (size_t k = 0; k < by.size(); k++) {
		z3::expr adjacent = smt::ctx().bool_val(true);
		for (size_t m = k; m < by.size(); m++) {
			if (m > k)
				adjacent = adjacent && by[m - 1].e == by[m].s;
			any = any || (adjacent && z3::ule(by[k].s, lo) && z3::uge(by[m].e, hi));
		}
	}
	return any;
}

// Two written data-fork extents may map the same blocks where those are
// shared: validate.cpp's physical_overlaps().
z3::expr disjoint_or_shared(const Range &a, const Range &b, const std::vector<Range> &shared)
{
	z3::expr lo = z3::ite(z3::uge(a.s, b.s), a.s, b.s), hi = z3::ite(z3::ule(a.e, b.e), a.e, b.e);
	return disjoint(a, b) || covered(shared, lo, hi);
}

} // namespace

std::string Sweep::describe() const
{
	std::ostringstream o;
	o << "write length " << (pow2_length ? "a power of two" : "not a power of two") << ", ";
	if (geo)
		o << "ag_blocks " << geo->ag_blocks << " x " << geo->ag_count << ", cowextsize "
		  << geo->cowextsize << ", device [" << geo->awu_min << ", " << geo->awu_max
		  << "], ";
	o << "bs " << block_size << ", reflink " << (reflink ? "yes" : "no") << ", "
	  << (env.inode_dax ? "DAX inode, " : "") << "flags " << iomap_flags_str(env.iter_flags)
	  << ", " << data << " data / " << cow << " CoW extents, " << refcount << " shared ranges, "
	  << alloc << " allocator answers";
	return o.str();
}

InCase symbolic_case(const Sweep &s, unsigned variant)
{
	InCase c;
	c.variant = variant;
	c.block_size = In{std::nullopt, s.block_size};
	c.ag_blocks = var("ag_blocks");
	c.ag_count = var("ag_count");
	c.cowextsize = var("cowextsize");
	c.max_atomic_ioend = var("max_atomic_ioend");
	c.awu_min = var("awu_min");
	c.awu_max = var("awu_max");
	if (s.geo) { // a profile: pinned
		c.ag_blocks = In{std::nullopt, s.geo->ag_blocks};
		c.ag_count = In{std::nullopt, s.geo->ag_count};
		c.cowextsize = In{std::nullopt, s.geo->cowextsize};
		c.awu_min = In{std::nullopt, s.geo->awu_min};
		c.awu_max = In{std::nullopt, s.geo->awu_max};
	}
	c.reflink = s.reflink;
	c.inode_dax = s.env.inode_dax;
	c.iter_flags = s.env.iter_flags;
	auto extents = [](const char *p, unsigned n, auto &out) {
		for (unsigned i = 0; i < n; i++) {
			std::string k = p + std::to_string(i);
			out.push_back(
			    {var(k + ".off"), var(k + ".blk"), var(k + ".len"), var(k + ".state")});
		}
	};
	extents("data", s.data, c.data);
	extents("cow", s.cow, c.cow);
	for (unsigned i = 0; i < s.refcount; i++) {
		std::string k = "ref" + std::to_string(i);
		c.refcount.push_back({var(k + ".blk"), var(k + ".len"), var(k + ".refcount")});
	}
	for (unsigned i = 0; i < s.alloc; i++) {
		std::string k = "alloc" + std::to_string(i);
		c.alloc.push_back({var(k + ".blk"), var(k + ".len")});
	}
	c.offset = var("write.offset");
	c.length = var("write.length");
	c.length_pow2 = s.pow2_length;
	return c;
}

std::vector<Sweep> sweeps(const ProveBounds &b)
{
	std::vector<std::pair<const GeometryProfile *, uint32_t>> geos; // (profile, block size)
	if (b.symbolic_geometry)
		for (uint32_t bs : b.block_sizes)
			geos.push_back({nullptr, bs});
	else
		for (const auto &g : b.geometries)
			geos.push_back({&g, g.block_size});
	std::vector<Sweep> v;
	for (auto [geo, bs] : geos)
		for (bool reflink : {false, true}) {
			if (reflink && bs < XFS_MIN_CRC_BLOCKSIZE)
				continue; // reflink needs a v5 XFS: blocks of 1024 bytes or more
			for (const IterEnv &env : b.envs)
				for (unsigned d = 0; d <= b.data_extents; d++)
					for (unsigned c = 0; c <= (reflink ? b.cow_extents : 0);
					     c++)
						for (unsigned r = 0;
						     r <= (reflink ? b.refcount : 0); r++)
							for (unsigned a = 0; a <= b.alloc; a++)
								for (bool pow2_length :
								     {false, true})
									v.push_back(
									    {geo, bs, reflink, env,
									     d, c, r, a,
									     pow2_length, 0});
		}
	// Smallest first: a proof stopped early (Ctrl-C, a time limit) has
	// then settled every layout up to some size on every profile, which
	// it can state (complete_up_to), and a counterexample found first is
	// a small one.
	std::stable_sort(v.begin(), v.end(),
	                 [](const Sweep &x, const Sweep &y) { return x.size() < y.size(); });
	for (size_t i = 0; i < v.size(); i++)
		v[i].index = unsigned(i);
	return v;
}

// (as its conjuncts: the explorer slices queries by variables)
std::vector<z3::expr> precondition(const InCase &c)
{
	std::vector<z3::expr> pre;
	auto need = [&](const z3::expr &x) { pre.push_back(x); };
	const z3::expr agb = e(c.ag_blocks), agc = e(c.ag_count);
	Geo g{agb, agc, untorn_concolic::ilog2_roundup_term(agb)};
	need(at_least(agb, 2) && at_most(agb, 1ULL << 31));
	need(at_least(agc, 1) && at_most(agc, 1024));
	need(at_most(e(c.cowextsize), 1ULL << 21) &&
	     z3::ule(e(c.cowextsize), z3::lshr(agb, num(1))));
	need(at_least(e(c.max_atomic_ioend), 1) && at_most(e(c.max_atomic_ioend), 1ULL << 30));
	const z3::expr amin = e(c.awu_min), amax = e(c.awu_max);
	need((amin == 0) == (amax == 0));
	need(amin == 0 || (at_least(amin, 512) && pow2(amin)));
	need(amax == 0 || (at_least(amax, 512) && pow2(amax)));
	need(z3::ule(amin, amax) && at_most(amax, 1ULL << 30));

	std::vector<Range> owned, not_shareable, shared;
	auto fork = [&](const std::vector<untorn_concolic::InExtent> &f, bool cow) {
		for (size_t i = 0; i < f.size(); i++) {
			const auto &x = f[i];
			z3::expr off = e(x.startoff), blk = e(x.startblock), len = e(x.blockcount),
			         st = e(x.state);
			need(at_least(len, 1) && at_most(len, 1ULL << 21) &&
			     at_most(off, 1ULL << 54) && at_most(off + len, 1ULL << 54));
			need(at_most(st, 1));
			if (i > 0)
				need(z3::ule(e(f[i - 1].startoff) + e(f[i - 1].blockcount), off));
			z3::expr delay =
			    cow ? blk == num(DELAYSTARTBLOCK) : smt::ctx().bool_val(false);
			// a delalloc reservation is XFS_EXT_NORM, as the loader makes it
			need(z3::ite(delay, st == 0, inside_ags(g, blk, len)));
			Range r{blk, blk + len, !delay};
			owned.push_back(r);
			if (cow)
				not_shareable.push_back(r);
			else
				not_shareable.push_back({blk, blk + len, st == 1});
		}
	};
	fork(c.data, false);
	fork(c.cow, true);
	for (size_t i = 0; i < c.refcount.size(); i++) {
		const auto &r = c.refcount[i];
		z3::expr blk = e(r.startblock), len = e(r.blockcount);
		need(at_least(len, 1) && at_most(len, 1ULL << 21) && inside_ags(g, blk, len));
		need(at_least(e(r.refcount), 2) && at_most(e(r.refcount), (1ULL << 31) - 1));
		if (i > 0)
			need(z3::ule(e(c.refcount[i - 1].startblock) +
			                 e(c.refcount[i - 1].blockcount),
			             blk));
		shared.push_back({blk, blk + len, smt::ctx().bool_val(true)});
	}
	for (const auto &a : c.alloc) {
		z3::expr blk = e(a.startblock), len = e(a.blockcount);
		need(at_least(len, 1) && at_most(len, 1ULL << 21) && inside_ags(g, blk, len));
		owned.push_back({blk, blk + len, smt::ctx().bool_val(true)});
		not_shareable.push_back(owned.back());
	}
	const size_t ndata = c.data.size(); // owned holds the data fork's extents first
	for (size_t i = 0; i < owned.size(); i++)
		for (size_t j = i + 1; j < owned.size(); j++) {
			if (j < ndata) { // two data extents: both written may share blocks
				z3::expr written = e(c.data[i].state) == 0 && e(c.data[j].state) == 0;
				need(z3::ite(written, disjoint_or_shared(owned[i], owned[j], shared),
				             disjoint(owned[i], owned[j])));
			} else {
				need(disjoint(owned[i], owned[j]));
			}
		}
	for (const auto &s : shared)
		for (const auto &n : not_shareable)
			need(disjoint(s, n));
	const z3::expr pos = e(c.offset), len = e(c.length);
	need(at_least(len, 1) && at_most(len, 1ULL << 40) && at_most(pos, 1ULL << 62) &&
	     at_most(pos + len, 1ULL << 62));
	need(c.length_pow2 ? pow2(len) : !pow2(len));
	return pre;
}

} // namespace untorn
