// Random layouts from one 64-bit seed.  Layout i of seed s depends on (s, i)
// only, so any slice of the stream (a shard, a worker) reproduces exactly what
// a single run would have seen.
#pragma once

#include "untorn/checker.h"
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

} // namespace untorn
