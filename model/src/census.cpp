// The path census (untorn/census.h): layouts sampled in every sweep, run over
// the traced value type, their decision sequences counted.
#include "untorn/census.h"

#include "census_sample.h"
#include "traced/run.h"
#include "untorn/rng.h"

#include <algorithm>
#include <bit>
#include <thread>
#include <unordered_map>

namespace untorn
{

using untorn_concolic::In;
using untorn_concolic::InCase;
using untorn_concolic::InExtent;

namespace
{

// ------------------------------------------------------------ the sampler
// One valid layout of a sweep, with the small numbers and the edges where
// impl's decisions change: extents that touch or leave gaps, start blocks
// aligned or not and near an AG's end, shared prefixes, suffixes and middles
// of written extents, writes of one block to many and misaligned ones,
// lengths past the limits.  The sweep's pinned numbers are kept; only those
// with a variable (In::var) are drawn.

// 1 to 2^bits, every bit length alike: values far from the small ones,
// where limits and overflow checks decide.
uint64_t wide_below(Rng &r, unsigned bits)
{
	return 1 + r.below(1ULL << (1 + r.below(bits)));
}

struct Sampler {
	Rng &r;
	const Sweep &sw;
	InCase &c;
	uint64_t bs = 0, agb = 0, agc = 0, agblklog = 0, hint = 0;
	uint64_t base = 0; // file offsets start here (usually 0)
	// A quarter of the samples draw every number from wide(): far-apart
	// extents, long ones, any agbno.
	bool wild = false;

	uint64_t wide(unsigned bits) { return wide_below(r, bits); }

	void geometry()
	{
		bs = sw.block_size;
		if (sw.geo) {
			agb = sw.geo->ag_blocks;
			agc = sw.geo->ag_count;
			hint = sw.geo->cowextsize;
		} else {
			static const uint64_t agbs[] = {12, 33, 100, 1000, 1024, 1536, 4096};
			static const uint64_t hints[] = {0, 1, 4, 16, 32};
			agb = r.pick(agbs);
			agc = 1 + r.below(4);
			hint = std::min(r.pick(hints), agb / 2);
			c.ag_blocks.value = agb;
			c.ag_count.value = agc;
			c.cowextsize.value = hint;
			device();
		}
		agblklog = agb <= 1 ? 0 : 64 - uint64_t(__builtin_clzll(agb - 1));
		if (hint == 0)
			hint = 32; // XFS_DEFAULT_COWEXTSZ_HINT: what the allocator aligns to
		const uint64_t ioend = r.below(10);
		c.max_atomic_ioend.value = ioend < 5    ? 4096
		                           : ioend < 7  ? 1ULL << r.below(31)
		                           : ioend == 7 ? 1 + r.below(64)
		                                        : wide(30);
	}

	void device()
	{
		if (r.chance(20)) {
			c.awu_min.value = c.awu_max.value = 0;
			return;
		}
		const uint64_t mins[] = {512, bs, 2 * bs};
		c.awu_min.value = std::min<uint64_t>(r.pick(mins), 1ULL << 30);
		c.awu_max.value = std::min<uint64_t>(c.awu_min.value << r.below(5), 1ULL << 30);
	}

	// A length for an extent: mostly short, sometimes a power of two; a
	// real one fits its AG.
	uint64_t blocks(bool real = true)
	{
		if (wild) {
			const uint64_t n = wide(21);
			return real ? std::max<uint64_t>(1, std::min(n, agb - 2)) : n;
		}
		const uint64_t k = r.below(20);
		uint64_t n = k < 12   ? 1 + r.below(8)
		             : k < 17 ? 1ULL << r.below(6)
		                      : 1 + r.below(32);
		return std::max<uint64_t>(1, std::min(n, agb - 2));
	}

	uint64_t alignment(uint64_t n)
	{
		const uint64_t as[] = {1, 2, 8, 16, hint, std::bit_ceil(n)};
		return r.pick(as);
	}

	// An fsblock for n blocks: small, aligned, anywhere, or near an AG's
	// end.  Validation throws out what overlaps or leaves the AG.
	uint64_t place(uint64_t n, uint64_t align)
	{
		const uint64_t ag = r.below(agc), room = agb > n ? agb - n : 1;
		uint64_t agbno;
		switch (wild ? 1 : r.below(10)) {
		case 0:
			agbno = room - r.below(std::min<uint64_t>(3, room));
			break;
		case 1:
			agbno = 1 + r.below(room);
			break;
		case 2:
		case 3:
		case 4:
			agbno = align * (1 + r.below(8));
			break;
		default:
			agbno = 1 + r.below(48);
			break;
		}
		return (ag << agblklog) | agbno;
	}

	// Where a fork's first extent starts: near the file's start, or near the
	// write's first or last block, or the CoW hint's boundaries around them
	// (where xfs_bmap_extsize_align rounds).
	uint64_t first_offset()
	{
		if (wild)
			return base + r.below(64);
		const uint64_t o = c.offset.value / bs,
		               E = (c.offset.value + c.length.value + bs - 1) / bs;
		auto back = [&](uint64_t x) { return x - std::min<uint64_t>(x, r.below(4)); };
		switch (r.below(6)) {
		case 0:
			return back(o);
		case 1:
			return o - o % hint;
		case 2:
			return back(E);
		case 3:
			return back(E - E % hint);
		default:
			return base + r.below(12);
		}
	}

	// Sorted extents: touching or with small gaps, written or unwritten;
	// in the CoW fork also delalloc reservations (XFS_EXT_NORM).
	void fork(std::vector<InExtent> &f, bool cow)
	{
		uint64_t off = first_offset();
		for (size_t i = 0; i < f.size(); i++) {
			if (i > 0 && r.chance(50))
				off += wild ? wide(24) : 1 + r.below(4);
			const bool delalloc = cow && r.chance(35);
			uint64_t n = blocks(!delalloc);
			if (!wild && r.chance(15)) // ending on the CoW hint's boundary
				n = std::min(hint - off % hint + hint * r.below(2),
				             std::max<uint64_t>(1, agb - 2));
			f[i].startoff.value = off;
			f[i].blockcount.value = n;
			if (delalloc) {
				f[i].startblock.value = DELAYSTARTBLOCK;
				f[i].state.value = XFS_EXT_NORM;
			} else {
				f[i].startblock.value = place(n, alignment(n));
				f[i].state.value =
				    r.chance(cow ? 50 : 35) ? XFS_EXT_UNWRITTEN : XFS_EXT_NORM;
			}
			off += n;
		}
	}

	// Shared ranges: mostly a prefix, suffix, middle or all of a written
	// data extent; sorted by start block.
	void refcounts()
	{
		std::vector<const InExtent *> written;
		for (const auto &e : c.data)
			if (e.state.value == XFS_EXT_NORM)
				written.push_back(&e);
		std::vector<std::pair<uint64_t, uint64_t>> ranges;
		for (size_t i = 0; i < c.refcount.size(); i++) {
			uint64_t s, n;
			if (!written.empty() && r.chance(65)) {
				const InExtent &e = *written[r.below(written.size())];
				const uint64_t len = e.blockcount.value;
				uint64_t a = 0, b = len;
				switch (r.below(4)) {
				case 0:
					b = 1 + r.below(len);
					break;
				case 1:
					a = r.below(len);
					break;
				case 2:
					a = r.below(len), b = a + 1;
					break;
				default:
					break;
				}
				s = e.startblock.value + a;
				n = b - a;
			} else {
				n = 1 + r.below(6);
				s = place(n, 1);
			}
			ranges.push_back({s, n});
		}
		std::sort(ranges.begin(), ranges.end());
		for (size_t i = 0; i < ranges.size(); i++) {
			auto &x = c.refcount[i];
			x.startblock.value = ranges[i].first;
			x.blockcount.value = ranges[i].second;
			x.refcount.value = r.chance(80)   ? 2
			                   : r.chance(50) ? 3 + r.below(8)
			                                  : (1ULL << 31) - 1;
		}
	}

	void allocs()
	{
		for (auto &a : c.alloc) {
			uint64_t n = blocks();
			a.startblock.value = place(n, alignment(n));
			a.blockcount.value = n;
		}
	}

	// The write: in the power-of-two sweep one block to a few, below a
	// block, or far past every limit; aligned to its length, or not.
	void write()
	{
		uint64_t len;
		if (sw.pow2_length) {
			const uint64_t k = r.below(20);
			len = k == 0   ? std::max<uint64_t>(1, bs >> (1 + r.below(3)))
			      : k == 1 ? 1ULL << (20 + r.below(21))
			      : k == 2 ? bs << (5 + r.below(6))
			               : bs << r.below(5);
		} else {
			const uint64_t odd[] = {3 * bs, bs + 1, bs - 1, 5 * bs, 3, wide(40)};
			len = r.pick(odd);
			if ((len & (len - 1)) == 0)
				len = len > 2 ? len - 1 : 3; // (never a power of two)
		}
		uint64_t pos = base * bs + len * r.below(8);
		if (r.chance(10))
			pos += bs * (1 + r.below(3));
		if (r.chance(5))
			pos += 1 + r.below(bs - 1);
		if (r.chance(10))
			pos = wide(50);
		if (pos + len > (1ULL << 62))
			pos = 0;
		c.offset.value = pos;
		c.length.value = len;
	}

	void sample()
	{
		geometry();
		wild = r.chance(25);
		base = r.chance(5) ? 1ULL << (20 + r.below(20)) : 0;
		write();
		fork(c.data, false);
		fork(c.cow, true);
		refcounts();
		allocs();
	}
};

FileState concrete_state(const InCase &c)
{
	auto value = [](const In &x) { return x.value; };
	return untorn_concolic::file_state<FileState>(c, value, value);
}

bool valid(const InCase &c)
{
	return validate_state(concrete_state(c), WriteReq{c.offset.value, c.length.value}).empty();
}

} // namespace

bool sample_layout(const Sweep &sw, uint64_t seed, uint64_t i, InCase &c)
{
	Rng r(seed ^ (i * 0xd1b54a32d192ed03ULL));
	r.next();
	for (int attempt = 0; attempt < 32; attempt++) {
		Sampler s{r, sw, c};
		s.sample();
		if (valid(c))
			return true;
	}
	return false;
}

namespace
{

// ------------------------------------------------------------ the count

// A path of one sweep, by FNV-1a-128 of the sweep's index and the decisions
// (two distinct paths share a key with probability about 2^-128 per pair).
struct Key {
	uint64_t hi, lo;
	bool operator==(const Key &) const = default;
};
struct KeyHash {
	size_t operator()(const Key &k) const
	{
		return size_t(k.lo ^ (k.hi * 0x9e3779b97f4a7c15ULL));
	}
};

Key path_key(uint64_t sweep, const std::string &decisions)
{
	using u128 = unsigned __int128;
	const u128 prime = (u128(1) << 88) | 0x13b;
	u128 h = (u128(0x6c62272e07bb0142ULL) << 64) | 0x62b821756295c58dULL;
	auto add = [&](unsigned char byte) {
		h ^= byte;
		h *= prime;
	};
	for (int i = 0; i < 8; i++)
		add((unsigned char)(sweep >> (8 * i)));
	for (char ch : decisions)
		add((unsigned char)ch);
	return {uint64_t(h >> 64), uint64_t(h)};
}

// What tells a layout's path apart: every decision, as the prover records
// them, or only the variant's BRANCH()es (decision_signature), run on the
// concrete impl.
std::string path_of(const InCase &c, bool by_branches)
{
	if (!by_branches)
		return untorn_tracing::decisions(c);
	return decision_signature(run_atomic_write(
	    concrete_state(c), WriteReq{c.offset.value, c.length.value}, Variant(c.variant)));
}

// The first sample (by index) that took each path.
using FirstSeen = std::unordered_map<Key, uint64_t, KeyHash>;

// Samples i = first, first + stride, ... below o.count.
void count_slice(Variant v, const std::vector<Sweep> &sws, const CensusSample &o, uint64_t first,
                 uint64_t stride, FirstSeen &seen, uint64_t &layouts)
{
	// this thread's own cases (their variables live in this thread's Z3 context)
	std::vector<InCase> cases;
	for (const Sweep &sw : sws)
		cases.push_back(symbolic_case(sw, unsigned(v)));
	for (uint64_t i = first; i < o.count; i += stride) {
		const uint64_t k = i % sws.size();
		if (sample_layout(sws[k], o.seed, i, cases[k])) {
			layouts++;
			seen.emplace(path_key(k, path_of(cases[k], o.by_branches)), i);
		}
	}
}

} // namespace

CensusResult census(Variant v, const ProveBounds &b, const CensusSample &o)
{
	const std::vector<Sweep> sws = sweeps(b);
	const unsigned jobs = std::max(1u, o.jobs);
	std::vector<FirstSeen> seen(jobs);
	std::vector<uint64_t> layouts(jobs, 0);
	std::vector<std::thread> threads;
	for (unsigned j = 0; j < jobs; j++)
		threads.emplace_back(
		    [&, j] { count_slice(v, sws, o, j, jobs, seen[j], layouts[j]); });
	for (auto &t : threads)
		t.join();

	FirstSeen all = std::move(seen[0]);
	for (unsigned j = 1; j < jobs; j++)
		for (const auto &[key, i] : seen[j]) {
			auto [it, fresh] = all.emplace(key, i);
			if (!fresh)
				it->second = std::min(it->second, i);
		}

	CensusResult res;
	res.variant = v;
	res.sweeps = sws.size();
	for (uint64_t n : layouts)
		res.layouts += n;
	res.paths = all.size();
	unsigned max_size = 0;
	for (const Sweep &sw : sws)
		max_size = std::max(max_size, sw.size());
	res.paths_by_size.assign(max_size + 1, 0);
	res.sweeps_by_size.assign(max_size + 1, 0);
	for (const Sweep &sw : sws)
		res.sweeps_by_size[sw.size()]++;
	res.growth.assign(10, 0);
	for (const auto &[key, i] : all) {
		res.paths_by_size[sws[i % sws.size()].size()]++;
		for (uint64_t k = 1; k <= 10; k++)
			if (i < o.count * k / 10)
				res.growth[k - 1]++;
	}
	return res;
}

} // namespace untorn
