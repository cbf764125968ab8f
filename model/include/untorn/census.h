// `untorn census`: how many paths `untorn prove` has to explore at given
// bounds, counted on sampled layouts.
//
// The prover explores impl's feasible paths one by one (untorn/prove.h); a
// path is one sequence of decisions impl takes on a sweep's inputs.  The
// census runs impl over a value type that notes where it decides without
// building solver terms (model/src/traced/), on layouts sampled in every
// sweep, and counts the distinct decision sequences.  Every sampled layout
// is a valid input of its sweep, so each distinct sequence is a path the
// prover must explore: the count is a lower bound on ProveStats::paths for
// the same bounds, reached when the sample is large enough (the growth by
// tenths shows whether it still rises).
#pragma once

#include "untorn/prove.h"

#include <cstdint>
#include <vector>

namespace untorn
{

struct CensusSample {
	uint64_t count = 1'000'000; // layouts sampled, sample i in sweep i mod (number of sweeps)
	uint64_t seed = 1;
	unsigned jobs = 1; // threads; never changes the result
	// Count the paths of the variants' BRANCH() decisions only (the kernel
	// functions' own tests, impl's decision_signature): what would be left
	// if every decision inside the shared helpers -- lookups, trims, fork
	// edits, the allocator -- were merged into terms instead.
	bool by_branches = false;
};

struct CensusResult {
	Variant variant{};
	uint64_t sweeps = 0;  // sweeps within the bounds
	uint64_t layouts = 0; // samples that gave a valid layout of their sweep (each one run)
	uint64_t paths = 0;   // distinct (sweep, decision sequence) among them
	// Distinct paths among the samples of the first k tenths, k = 1..10
	// (growth[9] == paths): still rising at the end means the sample has
	// not found them all.
	std::vector<uint64_t> growth;
	// [n]: the same, over the sweeps of size n (Sweep::size(): extents,
	// shared ranges and allocator answers in all), and how many sweeps
	// have that size.
	std::vector<uint64_t> paths_by_size, sweeps_by_size;
};

// Deterministic: the same bounds, count and seed give the same result, for
// any jobs.
CensusResult census(Variant v, const ProveBounds &b, const CensusSample &o);

} // namespace untorn
