// `untorn check --compare BASE --variant PATCHED`: the same random layouts
// run under two variants, and where their runs differ.  The pieces behind the
// command, exported for the tests.
#pragma once

#include "untorn/checker.h"
#include "untorn/model.h"

#include <optional>
#include <string>
#include <vector>

namespace untorn
{

// How two runs of one layout differ: the first aspect, in the order of
// difference_kinds(), in which they do.  `detail` says no more than what any
// layout differing the same way shares (so that differences group by kind and
// detail, and the minimizer can keep both); `what` is this pair's difference,
// with its numbers.
struct Difference {
	std::string kind;
	std::string detail; // "" when the kind says it all
	std::string what;
	std::string key() const; // kind, then ": detail" if any
};

// result, path, bytes_written, limits, data_fork, cow_fork, refcount,
// invariants, bios, transactions, mappings, decisions: what a reader of the
// write can tell apart first, what only the trace shows last.
const std::vector<std::string> &difference_kinds();

// Nothing when the two runs agree in every aspect.  A decision is compared by
// its kernel function and outcome only, not by its condition's text or its
// line, so a rewritten condition that decides the same is no difference.
std::optional<Difference> first_difference(const Trace &a, const Judgement &ja, const Trace &b,
                                           const Judgement &jb);

// The invariants broken under `b` and not under `a`, sorted.
std::vector<std::string> findings_added(const Judgement &a, const Judgement &b);

} // namespace untorn
