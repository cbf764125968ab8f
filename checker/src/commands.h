// The commands behind `untorn`: each one's options and its body, cmd_X in
// X.cpp.  Their command-line form is one row each in command_table.cpp.
#pragma once

#include "untorn/model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace untorn {

// Z3's limits per query, as the commands that run Z3 take them.
struct SolverFlags {
	unsigned solver_timeout_ms = 10000;
	unsigned solver_rlimit = 0, solver_memory_mb = 4096;
	SolverLimits limits() const { return {solver_timeout_ms, solver_rlimit, solver_memory_mb}; }
};

struct RunOptions : SolverFlags {
	std::vector<std::string> files;
	bool json = false;
	std::string engine = "z3"; // z3 | compiled
};
int cmd_run(const RunOptions &o);

struct ReplayOptions : SolverFlags {
	std::vector<std::string> paths;
	bool json = false;
	std::string sarif, junit; // CI report files ("" = none)
	std::string engine = "z3";
	bool coverage = false; // also report which BRANCH() directions the cases take
	bool markdown = false; // the coverage as the docs' Markdown table, instead of the case lines
	std::string as;        // run the cases of this variant's base under it ("" = each under its own)
};
int cmd_replay(const ReplayOptions &o);

// Fills the holes of a corpus's coverage: for each BRANCH() direction of a
// variant no case takes, a generated layout taking it, minimized while it
// still takes it, written as a case with its expectations from the run.
struct CoverOptions {
	std::vector<std::string> paths;    // the corpus
	std::vector<std::string> variants; // empty = every kernel version
	bool fill = false;
	std::string out = "untorn-cover";
	uint64_t seed = 1;
	uint64_t count = 1000000; // layouts searched per variant at most
	bool json = false;
};
int cmd_cover(const CoverOptions &o);

struct CheckOptions : SolverFlags {
	std::vector<std::string> variants; // empty = all
	uint64_t seed = 1;
	uint64_t count = 100000;
	unsigned jobs = 1;
	std::string shard = "1/1";
	std::string out = "untorn-findings";
	bool json = false;
	uint64_t z3_every = 10000;
	bool no_minimize = false;
	std::vector<std::string> known; // cases of findings already known (e.g. corpus/)
	std::string sarif, junit;	 // CI report files ("" = none)
	bool interleave = false;	 // draw interleavings (x_interleave) too
	// --compare BASE: each layout under BASE and the one --variant, compared
	std::string compare;
	bool coverage = false; // also report which BRANCH() directions the layouts took
};
int cmd_check(const CheckOptions &o);
// `check --compare` (compare.cpp); cmd_check hands over to it.
int cmd_check_compare(const CheckOptions &o);

// Merges the --out folders of `untorn check --shard K/N` runs into the report
// the single run would have written.
struct MergeOptions {
	std::vector<std::string> dirs;
	std::string out = "untorn-findings";
	std::vector<std::string> known;
	bool json = false;
};
int cmd_merge(const MergeOptions &o);

struct MinimizeOptions {
	std::string input;
	std::string output; // "" = print to stdout
};
int cmd_minimize(const MinimizeOptions &o);

struct ExplainOptions {
	std::vector<std::string> inputs; // case files, explained in turn
	std::string svg;		 // "" = no picture (one case only)
	bool pair = false;		 // the two cases side by side (a check --compare pair)
};
int cmd_explain(const ExplainOptions &o);

struct ExportOptions {
	std::string input;
	std::string output; // "" = stdout
	bool xfs_io = false;
};
int cmd_export(const ExportOptions &o);

struct Case;
// The `export --xfs-io` script of a loaded case, and the smallest scratch
// device it asks for, in bytes (export.cpp).
struct XfsIoScript {
	std::string text;
	uint64_t device_bytes = 0;
};
XfsIoScript xfs_io_script(const Case &c);
// The script's exit statuses (docs/export.md).
enum ScriptExit : int {
	SCRIPT_EXPECTED = 0,
	SCRIPT_DATA_WRONG = 1,
	SCRIPT_NOT_RUN = 2,
	SCRIPT_RESULT_DIFFERS = 3,
	SCRIPT_NOT_REPRODUCED = 4,
};

struct ImportOptions {
	std::string input;	     // a file with the tool's output; "-" = stdin
	std::string format = "auto"; // auto | xfs_bmap | fiemap | filefrag
	std::string variant = "v6.18";
	std::string output; // "" = stdout
	uint64_t block_size = 0; // 0: filefrag's, else 4096 listed as a guess
	uint64_t offset = 0, length = 0; // the write to put in the skeleton (0 length: one block at 0)
};
int cmd_import(const ImportOptions &o);

// Bounded-exhaustive proofs and variant comparison (prove_cmd.cpp).
struct ProveOptions : SolverFlags {
	ProveOptions() { solver_timeout_ms = 60000; } // a proof's queries are larger than a layout's
	std::vector<std::string> variants; // prove: empty = the kernel versions; diff: exactly two
	unsigned data_extents = 4, cow_extents = 2, refcount = 2, alloc = 2;
	std::string geometry = "profiles"; // profiles | 1..4 (one profile) | symbolic
	std::string block_size = "4096";   // bytes, or "all" (symbolic geometry only)
	std::string env = "real";	   // real | all | dax-implies-iomap-dax | dax-iff-iomap-dax
	std::string out = "untorn-proofs"; // counterexample cases, undecided queries
	bool json = false;
	uint64_t max_paths = 5000000;
	unsigned jobs = 0; // 0: one per core
	// Each variant's proof (or the diff) stops after this long, as Ctrl-C
	// stops it but inconclusive (exit 5), saying how far it got; 0: none.
	double time_limit_s = 0;
	// Random layouts within the bounds, run before the exploration: a
	// counterexample (or difference) among them is the answer.  0: none.
	uint64_t random_layouts = 100000;
	uint64_t seed = 1;
	std::vector<std::string> known; // case files or folders of known findings, to name a match
	std::string dump_queries;       // folder for every solver query (ProveBounds::dump_queries)
};
int cmd_prove(const ProveOptions &o);
int cmd_diff(const ProveOptions &o);

// How many paths `untorn prove` has to explore at the same bounds, counted on
// sampled layouts (prove_cmd.cpp; model's untorn/census.h).  Of `bounds`,
// the variants, extent bounds, geometry, block size, environment and jobs.
struct CensusOptions {
	ProveOptions bounds;
	uint64_t count = 1000000; // layouts sampled per variant
	uint64_t seed = 1;
	bool branches = false; // count the variants' BRANCH() paths only (CensusSample::by_branches)
};
int cmd_census(const CensusOptions &o);

struct BenchOptions {
	uint64_t count = 200000;
	uint64_t seed = 42;
	uint64_t z3_sample = 200; // layouts judged by Z3 itself, for the engines' ratio (0: skip)
	std::string variant = "v6.18";
};
int cmd_bench(const BenchOptions &o);

// `untorn kernel`: the running kernel's XFS as the model's oracle
// (kernel_cmd.cpp; the scratch filesystem is checker/kernel/).
struct KernelProbeOptions {
	std::vector<std::string> geometries; // BLOCK_SIZE:AG_BLOCKS:AG_COUNT; empty = a built-in list
	bool json = false;
};
int cmd_kernel_probe(const KernelProbeOptions &o);

struct KernelRunOptions {
	std::vector<std::string> inputs; // scripts or cases
	std::string variant = "v6.18";
	std::string geometry; // "" = the script's (a case: the default)
	std::string out;      // "" = none; else each input's read-back case, the kernel's outcome expected
	bool json = false;
};
int cmd_kernel_run(const KernelRunOptions &o);

struct KernelFuzzOptions {
	uint64_t count = 1000;
	uint64_t seed = 1;
	std::string variant = "v6.18";
	std::string geometry; // "" = the default scratch geometry
	std::string out;      // "" = keep nothing
	bool json = false;
	bool no_minimize = false;
	bool remount_always = false; // the benchmark's baseline
};
int cmd_kernel_fuzz(const KernelFuzzOptions &o);

// One pwritev2(RWF_ATOMIC) as xfs_io's `pwrite -A [-D] -V1` prints it: the
// exported scripts' atomic write where xfs_io has no -A.
struct KernelAwriteOptions {
	std::string file;
	std::string offset, length; // bytes (validated in the command: exit 2)
	bool dsync = false;
	std::string byte = "0xa5";
};
int cmd_kernel_awrite(const KernelAwriteOptions &o);

// Runs each case's exported script on a raw scratch device of its own.
struct KernelExportRunOptions {
	std::vector<std::string> inputs; // cases or folders
	bool verbose = false;            // print each script's output
};
int cmd_kernel_export_run(const KernelExportRunOptions &o);

// `untorn kernel crash` and `kernel race` (kernel_crash.cpp).
struct KernelTrialOptions {
	uint64_t count = 200;
	uint64_t start = 0; // the first trial's number (a trial's plan depends on the seed and it)
	uint64_t seed = 1;
	std::string variant = "v6.18"; // crash: the model whose crash states the recovered layout must be
	std::string geometry;
	std::string out; // "" = keep nothing; else each trial with findings and report.json
	bool json = false;
	bool plain = false; // crash: writes without RWF_ATOMIC, the control that shows tearing is seen
};
int cmd_kernel_crash(const KernelTrialOptions &o);
int cmd_kernel_race(const KernelTrialOptions &o);

} // namespace untorn
