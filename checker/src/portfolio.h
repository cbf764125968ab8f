// The random side of `untorn prove` and `untorn diff`: layouts drawn within
// the prover's bounds, run concretely, for a counterexample (or a
// difference) found in seconds where the exhaustive exploration takes
// hours.  A counterexample is one however it was found: each is minimized
// and then validated as the exploration's are.
#pragma once

#include "generate.h"
#include "minimize.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace untorn
{

struct RandomSearch {
	uint64_t layouts = 0; // drawn per variant (or pair); 0: no random search
	uint64_t seed = 1;
	unsigned jobs = 1;                       // threads; never changes a result
	const std::atomic<bool> *stop = nullptr; // stops when it becomes true (Ctrl-C)
	std::optional<std::chrono::steady_clock::time_point> deadline; // or when this comes
};

struct RandomRefutation {
	uint64_t layout = 0;                 // its index in the stream
	Case found;                          // as drawn
	Case minimized;                      // what is shown
	std::vector<std::string> invariants; // broken, sorted
	uint64_t oracle_calls = 0;           // of the minimizer
};

// The first layout (by index: the same for any number of threads) that
// breaks an invariant under `v`, minimized; none if none of the layouts does.
// `drawn`: how many layouts count (up to the one found; all of them, or
// fewer when stopped, if none).
std::optional<RandomRefutation> random_refutation(Variant v, const LayoutBounds &b,
                                                  const RandomSearch &s, uint64_t *drawn);

// How two variants' runs of one layout differ, as a comparable key: the
// results, paths and broken invariants of each, and whether the bytes
// written or the final forks and refcounts differ.  Empty when they do not
// differ at all.
struct PairDifference {
	std::string key;  // equal keys: the same difference ("differ in the same way")
	std::string what; // for a reader
	// Explained by the prover's allocator running out (a side failed with
	// ENOSPC) rather than by what the kernel does with the same answers.
	bool allocator_only = false;
};
PairDifference pair_difference(const Case &c, Variant a, Variant b, Spec &spec);

struct RandomDifference {
	uint64_t layout = 0;
	Case found, minimized; // under the first variant
	PairDifference diff;   // of the minimized case
	uint64_t oracle_calls = 0;
};

// The first layout on which `a` and `b` differ in what the kernel does;
// only when no layout does, the first one whose difference the allocator
// script alone explains.  Minimized as a pair: every step keeps the same
// difference.
std::optional<RandomDifference> random_difference(Variant a, Variant b, const LayoutBounds &bounds,
                                                  const RandomSearch &s, uint64_t *drawn);

// Known findings: the case files under the given paths that expect a
// violation (as `check --known`).
struct KnownFinding {
	std::string file;
	Case c;
};
std::vector<KnownFinding> load_known_findings(const std::vector<std::string> &paths);

// Which known finding `c` is, if any: the same content (as `check --known`
// matches), the same content but for the allocator policy, or the same
// variant, decisions and broken invariants ("the same path").  "" if none.
std::string match_known(const Case &c, const std::vector<KnownFinding> &known);

} // namespace untorn
