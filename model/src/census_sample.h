// The census's sampler (census.cpp), for its tests: layouts drawn within a
// sweep, as untorn/census.h describes.
#pragma once

#include "sweeps.h"

#include <cstdint>

namespace untorn
{

// Sample i of `seed` in sweep `sw`: sets the values of c's numbers (c is
// the sweep's case, symbolic_case()) to a layout validate_state() accepts,
// within the ranges the sweep's precondition states.  False when 32
// attempts drew none (c is then left with the last one).
bool sample_layout(const Sweep &sw, uint64_t seed, uint64_t i, untorn_concolic::InCase &c);

} // namespace untorn
