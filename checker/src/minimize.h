// Counterexample minimization: shrink a failing case while it still breaks
// exactly the same invariants under the same variant.
#pragma once

#include "untorn/checker.h"
#include "untorn/model.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace untorn {

struct MinimizeResult {
	Case minimized;
	std::vector<std::string> invariants; // the set kept broken (minimize_case)
	std::string kept;                    // what the oracle kept equal (minimize_keeping)
	uint64_t oracle_calls = 0;
	uint64_t candidates_rejected_invalid = 0; // failed validate_state, never run
	size_t entries_before = 0, entries_after = 0; // extents + refcounts + allocator answers
	uint64_t magnitude_before = 0, magnitude_after = 0; // sum of the case's numbers' bit lengths
};

// Size measures used in reports.
size_t case_entries(const Case &c);
uint64_t case_magnitude(const Case &c);

// Throws std::invalid_argument if the case breaks no invariant.  The result
// is 1-minimal: no single step (removal, shrink, merge, move toward small
// aligned values) keeps exactly the same broken invariants.  Deterministic.
MinimizeResult minimize_case(const Case &input, Spec &spec);
// The same steps, keeping a candidate while `keep` holds for it (the input is
// assumed to satisfy it); `invariants` is left empty.
MinimizeResult minimize_case_with(const Case &input, const std::function<bool(const Case &)> &keep);

// The same steps with another oracle: a candidate is kept when `key` gives it
// the same string as the input ("" means the property is lost).  Throws
// std::invalid_argument(`nothing`) when the input's key is "".  Built on
// minimize_case_with, below.
using MinimizeKey = std::function<std::string(const Case &)>;
MinimizeResult minimize_keeping(const Case &input, const MinimizeKey &key,
                                const std::string &nothing);

// Does a candidate (valid, smaller than the case it came from) still have
// the property being kept?  One call is one oracle call.
using MinimizeOracle = std::function<bool(const Case &)>;

// The same search, keeping whatever `keeps_property` asks for: "the two
// variants still differ in the same way" for a pair (the candidate's
// variant is the input's; the oracle runs whichever variants it compares).
// The input is assumed to have the property.  `invariants` is left empty.
// Deterministic when the oracle is.
MinimizeResult minimize_case_with(const Case &input, const MinimizeOracle &keeps_property);

// The case's content (variant, state, write) as canonical JSON: two cases
// with equal canonical forms are the same finding, whatever their names.
std::string canonical_content(const Case &c);

} // namespace untorn
