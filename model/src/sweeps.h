// The sweeps of `untorn prove`, `untorn diff` and `untorn census`: what is
// enumerated (the number of extents of each kind, reflink, whether the
// write's length is a power of two, the geometry profile, the what-if
// environment) and, for each sweep, the case whose other numbers are Z3
// variables.
#pragma once

#include "untorn/prove.h"

#include "sym/bridge.h"

#include <string>
#include <vector>

namespace untorn
{

// How many extents of each kind, and the small enumerated inputs.
struct Sweep {
	const GeometryProfile *geo; // null: every geometry number symbolic
	uint32_t block_size;
	bool reflink;
	IterEnv env;
	unsigned data, cow, refcount, alloc;
	// The write's length is symbolic, in one of two sweeps: every power of
	// two (what RWF_ATOMIC admits), or every other length (refused before
	// any mapping is looked at).  In the first, the length is known to be a
	// power of two, so the kernel's `x % len` and IS_ALIGNED() are masks
	// (linear for the solver) rather than bit-vector remainders.
	bool pow2_length;
	unsigned index = 0; // in sweeps()'s order: names the sweep's queries
	// Extents, shared ranges and allocator answers in all: sweeps run
	// smallest first (ProveResult::complete_up_to).
	unsigned size() const { return data + cow + refcount + alloc; }
	// One line, for reports.
	std::string describe() const;
};

// The case of a sweep: every number the sweep does not pin is a variable
// (In::var); the values are left 0.
untorn_concolic::InCase symbolic_case(const Sweep &s, unsigned variant);

// The rules untorn's loader and validate_state() (impl/src/validate.cpp)
// impose on a case, and the documented ranges of its numbers, as formulas
// over the sweep's variables (its conjuncts: the explorer slices queries by
// variables).
std::vector<z3::expr> precondition(const untorn_concolic::InCase &c);

// Every sweep within the bounds, smallest first (Sweep::size).
std::vector<Sweep> sweeps(const ProveBounds &b);

} // namespace untorn
