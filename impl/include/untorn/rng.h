// SplitMix64: small, fast, and the same on every machine -- the one random
// number generator of untorn (checker's layout generator and model's path
// census draw from it), so a seed means the same layouts everywhere.
#pragma once

#include <cstddef>
#include <cstdint>

namespace untorn
{

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

} // namespace untorn
