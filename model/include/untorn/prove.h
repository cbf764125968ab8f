// Bounded-exhaustive verification: `untorn prove` and `untorn diff`.
//
// The variant's logic is impl's own C++ (impl/variants/*.cpp), run over a
// concolic value type (model/src/sym/): every value of every number of the
// case is a Z3 variable, each run records the decisions it took, and the
// explorer negates them one by one until every feasible path has run once
// (DART-style depth-first search).  On each path, each invariant's formula
// "broken" (model/src/invariants.cpp) is asked over the path's facts, which
// are terms over the inputs.  So a proof covers every layout with at most the
// bounded number of extents and every value within the case format's ranges.
#pragma once

#include "untorn/impl.h"
#include "untorn/model.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace untorn
{

// A filesystem and device, pinned for one family of sweeps.
struct GeometryProfile {
	uint32_t block_size, ag_blocks, ag_count, cowextsize, awu_min, awu_max;
};
// The default profiles: a non-power-of-two AG with hardware atomics, a
// power-of-two AG with a CoW extent size hint, software-only atomics, and
// 1024-byte blocks (see docs/prove.md for why each is there).
const std::vector<GeometryProfile> &default_geometries();

// What is enumerated and what is symbolic.  Always symbolic: every extent's
// offset, start block, length and state, every shared range and refcount,
// every allocator answer, the write's offset, and the atomic-ioend cap.
// Enumerated: the number of extents of each kind (0..bound), reflink, the
// write's length (each power of two, plus "any other length" symbolically)
// and the geometry: pinned profiles by default, or -- symbolic_geometry --
// every AG size and count, CoW hint and device limit symbolically (complete,
// but the kernel's `x % cowextsize` and the AG shifts make each query
// non-linear: see docs/prove.md for the cost).
struct ProveBounds {
	unsigned data_extents = 4; // at most, in the data fork
	unsigned cow_extents = 2;
	unsigned refcount = 2; // shared ranges
	unsigned alloc = 2;    // allocator answers; a further request gets ENOSPC
	std::vector<GeometryProfile> geometries = default_geometries();
	bool symbolic_geometry = false;
	// With symbolic_geometry, the block size is still pinned per sweep (a
	// division by a symbolic size would make every query non-linear).
	std::vector<uint32_t> block_sizes = {4096};
	// What-if inputs (IterEnv): each combination listed is one sweep.
	std::vector<IterEnv> envs = {IterEnv{}};
	SolverLimits limits{60000, 0, 4096};
	uint64_t max_paths = 5'000'000; // in one sweep; beyond: inconclusive
	unsigned jobs = 1;              // sweeps explored at once (threads); never changes a result
	bool record_paths = false;      // keep each explored path (ProveResult::paths; tests)
	// The budget (Z3 rlimit; about 0.2 s here) of a path's judgement over its
	// merged facts.  Past it the path is split on the facts' own cases, each
	// judged alone: merged facts spare the paths only the measurement tells
	// apart, but on a path with hardware bios the solver can take 10-40 s to
	// do that case split itself.  Never changes a verdict (tested).
	unsigned merged_judgement_rlimit = 1'000'000;
	// Called as each path or fact case starts and each sweep ends (from the
	// worker threads, one call at a time): sweeps finished, sweeps in all,
	// paths and fact cases so far.  For a progress line; the result does not
	// depend on it.
	std::function<void(size_t done, size_t total, uint64_t paths, uint64_t fact_cases)>
	    on_progress = nullptr;
	// A folder: every solver query is written there as SMT-LIB, named after
	// its sweep, path and what it asks, with queries.tsv (each query's
	// answer and time) and summary.txt (time per kind of query).  "": none.
	std::string dump_queries;
	// When it becomes true (a SIGINT handler sets it): queries under way are
	// interrupted, no path or sweep starts, and the answer is inconclusive.
	const std::atomic<bool> *stop = nullptr;
	// The same when this time comes (a time limit): the report then says
	// the time limit, not an interrupt, was reached.
	std::optional<std::chrono::steady_clock::time_point> deadline;
};

// A concrete layout and write: a case's state without its expectations.
struct ConcreteCase {
	FileState state;
	WriteReq write;
};

enum class ProofStatus { proved, counterexample, inconclusive };
std::string_view proof_status_name(ProofStatus s);

struct InvariantProof {
	std::string name;
	InvClass cls = InvClass::safety;
	ProofStatus status = ProofStatus::proved;
	std::optional<ConcreteCase> counterexample; // the first found (exploration order)
	Witness witness;                            // the crash choice, as judge reports it
	std::string smt2;                           // an undecided query, for inconclusive
};

struct ProveStats {
	uint64_t sweeps = 0;     // (block size, reflink, environment, extent counts) explored
	uint64_t paths = 0;      // feasible paths of impl's, each run once
	// Paths whose merged judgement was over budget, and the runs that judged
	// them case by case (ProveBounds::merged_judgement_rlimit).  max_paths
	// bounds paths and fact cases together.
	uint64_t split_paths = 0, fact_cases = 0;
	// decisions negated: each one a solver query, or answered by an earlier
	// refutation (the explorer's cache) without one
	uint64_t decisions = 0;
	uint64_t judgements = 0; // per-path invariant queries
	// How the explored paths ended (impl's paths, not fact cases; for a
	// diff, under the first variant): the write done on the hardware or the
	// software path, refused at admission, or failed after it, by errno.  A
	// proof with no path done covers no successful write.
	uint64_t done_hw = 0, done_sw = 0, refused = 0;
	std::map<int, uint64_t> failed; // errno -> paths
	double seconds = 0;
};

// One sweep's share of a proof or diff, for the report.
struct SweepStats {
	std::string sweep; // Sweep::describe()
	unsigned size = 0; // extents, shared ranges and allocator answers in all
	bool finished = false;
	ProveStats stats;
};

struct ProveResult {
	Variant variant{};
	std::vector<InvariantProof> invariants; // catalogue order
	ProveStats stats;
	// Loud: a run that did not follow the path it was steered to, or a
	// counterexample the concrete impl + specification do not confirm.
	std::vector<std::string> divergences;
	std::string inconclusive_reason; // why exploration itself was cut short
	// Sweeps are explored smallest first (by extents, shared ranges and
	// allocator answers in all).  Every sweep of at most this many was
	// explored to the end and decided, so within those layouts every
	// invariant not refuted holds -- the answer of a proof stopped early.
	// None: not even the sweeps with none of them.
	std::optional<unsigned> complete_up_to;
	// complete_at[K]: seconds from the start after which the proof was
	// complete up to K (K = 0..complete_up_to): how the proof grows with
	// time, for a report (not deterministic, unlike everything else here).
	std::vector<double> complete_at;
	// With ProveBounds::record_paths: every explored path, as the outcome of
	// each decision in order (untorn_concolic::path_outcomes()), sorted.  Within a
	// sweep, distinct paths have distinct strings.
	std::vector<std::string> paths;
	std::vector<SweepStats> per_sweep; // in sweep order, those started
};

ProveResult prove(Variant v, const ProveBounds &b);

// A counterexample found any other way (a random layout, a minimized
// witness) checked as the explorer checks its own: valid for
// validate_state(), the concolic build taking the same decisions, result
// and path as the concrete impl, and the concrete specification (Z3 engine)
// finding `invariant` ("": any outcome).  "" when all agree, else what does
// not (a model/impl divergence).
std::string confirm_counterexample(const ConcreteCase &k, Variant v, const std::string &invariant);

// What a reader of a write can tell apart, and the verdicts.
enum class DiffStatus { equivalent, different, inconclusive };
std::string_view diff_status_name(DiffStatus s);

struct DiffResult {
	Variant a{}, b{};
	DiffStatus status = DiffStatus::equivalent;
	std::optional<ConcreteCase> witness;
	std::string what; // what differs on the witness
	ProveStats stats;
	std::vector<std::string> divergences;
	std::string inconclusive_reason, smt2;
	// As for ProveResult: every sweep of at most this many extents, shared
	// ranges and allocator answers in all was explored to the end, with no
	// difference.
	std::optional<unsigned> complete_up_to;
	std::vector<SweepStats> per_sweep; // in sweep order, those started
};

// Compares result, path (hw/sw/none), bytes written, the final forks and
// refcounts, and every invariant's verdict.
DiffResult diff(Variant a, Variant b, const ProveBounds &bounds);

} // namespace untorn
