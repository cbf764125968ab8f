// Random layouts from one 64-bit seed.  Layout i of seed s depends on (s, i)
// only, so any slice of the stream (a shard, a worker) reproduces exactly what
// a single run would have seen.
#pragma once

#include "untorn/checker.h"

#include <cstdint>

namespace untorn {

// SplitMix64: small, fast, and the same on every machine.
struct Rng {
	uint64_t s;
	explicit Rng(uint64_t seed) : s(seed) {}
	uint64_t next()
	{
		uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		return z ^ (z >> 31);
	}
	uint64_t below(uint64_t n) { return n ? next() % n : 0; }
	bool chance(unsigned percent) { return below(100) < percent; }
	template <class T, size_t N> const T &pick(const T (&a)[N]) { return a[below(N)]; }
};

// The i-th layout of the stream for `seed`, run by `variant`.  Always a valid
// case (validate_state passes).
Case generate_layout(uint64_t seed, uint64_t index, Variant variant);

} // namespace untorn
