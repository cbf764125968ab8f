// Random layouts from one 64-bit seed.  Layout i of seed s depends on (s, i)
// only, so any slice of the stream (a shard, a worker) reproduces exactly what
// a single run would have seen.
#pragma once

#include "untorn/checker.h"
#include "untorn/prove.h"
#include "untorn/rng.h"

#include <cstdint>

namespace untorn {

// The i-th layout of the stream for `seed`, run by `variant`.  Always a valid
// case (validate_state passes).
Case generate_layout(uint64_t seed, uint64_t index, Variant variant);
// The same layout, plus (with some probability) interleaved actions of another
// actor at the write's ILOCK drop points (x_interleave), drawn from a stream
// of their own: the layout is exactly generate_layout's.
Case generate_layout(uint64_t seed, uint64_t index, Variant variant, bool interleave);

// What `untorn prove` and `untorn diff` cover: at most so many extents of
// each kind, shared ranges and allocator answers, one of the geometry
// profiles (or, with none, any geometry of the given block sizes), one of
// the environments, and the prover's allocator (script-only: ENOSPC after
// the last answer).
struct LayoutBounds {
	unsigned data_extents = 4, cow_extents = 2, refcount = 2, alloc = 2;
	std::vector<GeometryProfile> geometries;
	std::vector<uint32_t> block_sizes = {4096}; // with no profiles
	std::vector<IterEnv> envs = {IterEnv{}};
};
LayoutBounds layout_bounds_of(const ProveBounds &b);

// The i-th layout of the stream for `seed` within `bounds`: the generator's
// layout on a geometry the bounds allow, with entries dropped at random until
// each kind is within its bound.  Always a valid case.
Case generate_layout_within(uint64_t seed, uint64_t index, Variant variant,
                            const LayoutBounds &bounds);

} // namespace untorn
