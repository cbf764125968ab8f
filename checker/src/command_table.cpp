// Every command of `untorn`, one row each: name, help, options, body.  A new
// command is its X.cpp (cmd_X and its Options in commands.h) and one row here.
#include "cli.h"
#include "untorn/checker.h"

namespace untorn
{

namespace
{

// What is enumerated and what is pinned: prove, diff and census alike.
void add_layout_bounds(CLI::App *cmd, ProveOptions &o)
{
	cmd->add_option("--data-extents", o.data_extents, "at most this many data-fork extents")
	    ->check(CLI::Range(0u, 8u));
	cmd->add_option("--cow-extents", o.cow_extents, "at most this many CoW-fork extents")
	    ->check(CLI::Range(0u, 8u));
	cmd->add_option("--refcount", o.refcount, "at most this many shared ranges")
	    ->check(CLI::Range(0u, 8u));
	cmd->add_option("--alloc", o.alloc, "at most this many allocator answers (then ENOSPC)")
	    ->check(CLI::Range(0u, 8u));
	cmd->add_option("--geometry", o.geometry,
	                "profiles (the 4 pinned filesystems), 1..4 (one of them), or symbolic "
	                "(every AG size, CoW "
	                "hint and device limit)")
	    ->check(CLI::IsMember({"profiles", "1", "2", "3", "4", "symbolic"}));
	cmd->add_option("--block-size", o.block_size,
	                "with --geometry symbolic: block size in bytes (pinned per sweep), or all")
	    ->check(CLI::IsMember(
	        {"512", "1024", "2048", "4096", "8192", "16384", "32768", "65536", "all"}));
	cmd->add_option("--env", o.env,
	                "what-if inputs: real (direct I/O, no DAX), all, dax-implies-iomap-dax, "
	                "dax-iff-iomap-dax")
	    ->check(CLI::IsMember({"real", "all", "dax-implies-iomap-dax", "dax-iff-iomap-dax"}));
}

// prove and diff: the bounds, and how far a proof may go.
void add_prove_options(CLI::App *cmd, ProveOptions &o)
{
	add_layout_bounds(cmd, o);
	add_output_options(cmd,
	                   {.json = &o.json,
	                    .json_help = "print the result as JSON",
	                    .out = &o.out,
	                    .out_help = "folder for counterexample cases and undecided queries"});
	// (the rlimit also caps a path's merged judgement, past which the path
	// is judged case by case)
	add_solver_options(cmd, o, nullptr,
	                   "each Z3 query of the exploration (a branch's feasibility, a path's "
	                   "judgement)");
	cmd->add_option("--max-paths", o.max_paths,
	                "give up (inconclusive) beyond this many paths and fact cases in one sweep")
	    ->check(CLI::Range(1, 1000000000));
	cmd->add_option("--time-limit", o.time_limit_s,
	                "stop each proof (or the diff) after this many seconds, inconclusive, "
	                "saying up to what "
	                "size it is complete (0: no limit)")
	    ->check(CLI::Range(0.0, 1e7));
	add_jobs_option(cmd, o.jobs, 0,
	                "sweeps explored at once (threads; 0: one per core); the result is the "
	                "same for any value");
	cmd->add_option("--random", o.random_layouts,
	                "first run this many random layouts within the bounds; a counterexample "
	                "(difference) among them is the answer, minimized (0: none)")
	    ->check(CLI::Range(uint64_t(0), uint64_t(1) << 40));
	add_seed_option(cmd, o.seed, "seed of the random layouts");
	cmd->add_option("--known", o.known,
	                "case files or folders of known findings: a witness that is one of them "
	                "is named");
	cmd->add_option("--dump-queries", o.dump_queries,
	                "write every solver query of the exploration to this folder (SMT-LIB, "
	                "named by sweep, path and what it asks), with each one's answer and "
	                "time (queries.tsv) and the time per kind of query (summary.txt)");
}

void add_kernel_trial_options(CLI::App *cmd, KernelTrialOptions &o)
{
	cmd->add_option("--count", o.count, "trials")
	    ->check(CLI::Range(uint64_t(1), uint64_t(100000000)));
	add_seed_option(cmd, o.seed, "trial generator seed");
	cmd->add_option("--start", o.start,
	                "number of the first trial (to run one trial of a seed again: --start I "
	                "--count 1)")
	    ->check(whole_number());
	cmd->add_option(
	    "--geometry", o.geometry,
	    "BLOCK_SIZE:AG_BLOCKS:AG_COUNT of the scratch filesystem (default 4096:20011:4)");
	add_output_options(
	    cmd, {.json = &o.json,
	          .json_help = "print the summary as JSON",
	          .out = &o.out,
	          .out_help = "folder for each trial with findings (its plan, what happened, the "
	                      "findings) and report.json"});
}

std::vector<Command> rows()
{
	std::vector<Command> t;
	t.push_back(command<RunOptions>(
	    "run", "run cases and print each trace and outcome", cmd_run,
	    [](CLI::App *cmd, RunOptions &o) {
		    cmd->add_option("cases", o.files, "case files")->required();
		    add_output_options(
		        cmd, {.json = &o.json, .json_help = "print each outcome as one JSON line"});
		    add_solver_options(cmd, o, &o.engine);
	    }));
	t.push_back(command<ReplayOptions>(
	    "replay", "run cases and compare each with its expect block", cmd_replay,
	    [](CLI::App *cmd, ReplayOptions &o) {
		    cmd->add_option("paths", o.paths, "case files or folders")->required();
		    add_output_options(cmd, {.json = &o.json,
		                             .json_help = "print one JSON line per case",
		                             .sarif = &o.sarif,
		                             .junit = &o.junit});
		    add_solver_options(cmd, o, &o.engine);
		    cmd->add_flag("--coverage", o.coverage,
		                  "also report, for every BRANCH() of every variant, how many cases take "
		                  "each direction and which");
		    cmd->add_flag("--markdown", o.markdown,
		                  "print only the coverage, as the Markdown table of docs/corpus.md");
		    cmd->add_option("--as", o.as,
		                    "run every case of this variant's base under this variant, against "
		                    "the case's own expectations (other cases are skipped)");
	    }));
	t.push_back(command<CoverOptions>(
	    "cover",
	    "the BRANCH() directions a corpus leaves uncovered; --fill: a generated, minimized case "
	    "for each",
	    cmd_cover, [](CLI::App *cmd, CoverOptions &o) {
		    cmd->add_option("paths", o.paths, "the corpus: case files or folders")->required();
		    // (one name per --variant: the corpus paths follow)
		    cmd->add_option("--variant", o.variants,
		                    "variant (repeatable; default: every kernel version)")
		        ->check(CLI::IsMember(accepted_variant_names()))
		        ->allow_extra_args(false);
		    cmd->add_flag("--fill", o.fill,
		                  "search check's generator for a layout taking each uncovered "
		                  "direction, minimize it, write it as a case");
		    add_output_options(cmd,
		                       {.json = &o.json,
		                        .json_help = "print the result as JSON",
		                        .out = &o.out,
		                        .out_help = "folder for the generated cases (one subfolder per "
		                                    "variant)"});
		    add_seed_option(cmd, o.seed, "generator seed");
		    cmd->add_option("--count", o.count, "layouts searched per variant at most")
		        ->check(CLI::Range(uint64_t(1), uint64_t(1000000000)));
	    }));
	t.push_back(command<CheckOptions>(
	    "check", "random layouts, impl and specification side by side", cmd_check,
	    [](CLI::App *cmd, CheckOptions &o) {
		    add_variant_option(cmd, o.variants,
		                       "variant(s) to check (default: every kernel version)");
		    add_seed_option(cmd, o.seed, "64-bit generator seed");
		    cmd->add_option("--count", o.count, "layouts per variant")
		        ->check(CLI::Range(uint64_t(1), uint64_t(1) << 40));
		    add_jobs_option(cmd, o.jobs, 1, "worker threads");
		    cmd->add_option("--shard", o.shard,
		                    "K/N: run the K-th of N disjoint slices of the stream");
		    add_output_options(
		        cmd, {.json = &o.json,
		              .json_help = "print the summary as JSON",
		              .out = &o.out,
		              .out_help = "folder for counterexample cases and report.json",
		              .sarif = &o.sarif,
		              .junit = &o.junit});
		    cmd->add_option("--z3-every", o.z3_every,
		                    "cross-check the compiled evaluator against Z3 every N layouts "
		                    "(0: never)")
		        ->check(whole_number());
		    add_solver_options(cmd, o);
		    cmd->add_flag("--no-minimize", o.no_minimize,
		                  "write findings as found, unminimized");
		    cmd->add_option(
		        "--known", o.known,
		        "case files or folders of known findings: only new findings count");
		    cmd->add_flag(
		        "--interleave", o.interleave,
		        "also draw another actor's actions at the write's ILOCK drop points "
		        "(x_interleave)");
		    cmd->add_flag("--coverage", o.coverage,
		                  "also report, for every BRANCH() of the variants checked, how many "
		                  "layouts take each direction (the first three of them)");
		    // (checked by the command, which names the variants it knows)
		    cmd->add_option("--compare", o.compare,
		                    "BASE: run every layout under BASE and the one --variant, and "
		                    "report where they differ");
	    }));
	t.push_back(command<MergeOptions>(
	    "merge", "merge the --out folders of sharded check runs into one report", cmd_merge,
	    [](CLI::App *cmd, MergeOptions &o) {
		    cmd->add_option("dirs", o.dirs, "the shards' --out folders")->required();
		    add_output_options(cmd,
		                       {.json = &o.json,
		                        .json_help = "print the merged report as JSON",
		                        .out = &o.out,
		                        .out_help = "folder for the merged cases and report.json"});
		    cmd->add_option("--known", o.known, "case files or folders of known findings");
	    }));
	t.push_back(command<MinimizeOptions>(
	    "minimize", "shrink a failing case while it breaks the same invariants", cmd_minimize,
	    [](CLI::App *cmd, MinimizeOptions &o) {
		    cmd->add_option("case", o.input, "the failing case")->required();
		    add_output_options(cmd, {.output = &o.output});
	    }));
	t.push_back(command<ExplainOptions>(
	    "explain", "draw a case's layout, trace its decisions, show what breaks", cmd_explain,
	    [](CLI::App *cmd, ExplainOptions &o) {
		    cmd->add_option("cases", o.inputs, "case files")->required();
		    cmd->add_flag("--pair", o.pair,
		                  "two cases side by side (the same layout under two variants, as "
		                  "check --compare writes them)");
		    cmd->add_option(
		        "--svg", o.svg,
		        "also draw the layout as an SVG picture into this file (one case only)");
	    }));
	t.push_back(command<ExportOptions>(
	    "export", "turn a case into a reproducer for a real filesystem", cmd_export,
	    [](CLI::App *cmd, ExportOptions &o) {
		    cmd->add_option("case", o.input, "the case")->required();
		    cmd->add_flag("--xfs-io", o.xfs_io,
		                  "an fstests-style shell script using xfs_io")
		        ->required();
		    add_output_options(cmd, {.output = &o.output});
	    }));
	t.push_back(command<ImportOptions>(
	    "import", "turn xfs_bmap -v / fiemap -v / filefrag -v output into a case skeleton",
	    cmd_import, [](CLI::App *cmd, ImportOptions &o) {
		    cmd->add_option("input", o.input, "the tool's output (a file, or - for stdin)")
		        ->required();
		    cmd->add_option("--format", o.format, "which tool printed it")
		        ->check(CLI::IsMember({"auto", "xfs_bmap", "fiemap", "filefrag"}));
		    add_variant_option(cmd, o.variant, "variant of the skeleton");
		    cmd->add_option("--block-size", o.block_size,
		                    "filesystem block size in bytes (default: filefrag's own; "
		                    "else 4096, a guess the note lists)")
		        ->default_str("")
		        ->check(CLI::Range(512, 65536));
		    cmd->add_option("--offset", o.offset, "the atomic write's offset in bytes");
		    cmd->add_option("--length", o.length, "the atomic write's length in bytes");
		    add_output_options(cmd, {.output = &o.output});
	    }));
	t.push_back(command<BenchOptions>(
	    "bench", "layouts per second: impl alone vs impl + specification", cmd_bench,
	    [](CLI::App *cmd, BenchOptions &o) {
		    cmd->add_option("--count", o.count, "layouts per measurement")
		        ->check(CLI::Range(1000, 100000000));
		    add_seed_option(cmd, o.seed, "generator seed");
		    cmd->add_option("--z3-sample", o.z3_sample,
		                    "layouts to judge with Z3 itself (0: skip)")
		        ->check(whole_number());
		    add_variant_option(cmd, o.variant, "variant");
	    }));
	t.push_back(command<ProveOptions>(
	    "prove",
	    "prove every invariant over all layouts within bounds, or find a counterexample",
	    cmd_prove, [](CLI::App *cmd, ProveOptions &o) {
		    add_variant_option(cmd, o.variants,
		                       "variant (repeatable; default: every kernel version)");
		    add_prove_options(cmd, o);
	    }));
	t.push_back(command<ProveOptions>(
	    "diff",
	    "find a layout on which two variants differ, or prove them equivalent within bounds",
	    cmd_diff, [](CLI::App *cmd, ProveOptions &o) {
		    add_variant_positional(cmd, "variants", o.variants, "VAR_A VAR_B")
		        ->required()
		        ->expected(2);
		    add_prove_options(cmd, o);
	    }));
	t.push_back(command<CensusOptions>(
	    "census",
	    "count the paths `untorn prove` must explore at given bounds, on sampled layouts (a "
	    "lower bound)",
	    cmd_census, [](CLI::App *cmd, CensusOptions &o) {
		    add_variant_option(cmd, o.bounds.variants,
		                       "variant (repeatable; default: every kernel version)");
		    add_layout_bounds(cmd, o.bounds);
		    cmd->add_option("--count", o.count,
		                    "layouts sampled per variant, spread evenly over the sweeps")
		        ->check(CLI::Range(1, 1000000000));
		    add_seed_option(cmd, o.seed, "sampler seed");
		    add_jobs_option(
		        cmd, o.bounds.jobs, 0,
		        "threads (0: one per core); the result is the same for any value");
		    cmd->add_flag("--branches", o.branches,
		                  "count the paths of the variants' BRANCH() decisions only: what "
		                  "would be left "
		                  "if every helper's decisions were merged");
		    add_output_options(
		        cmd, {.json = &o.bounds.json, .json_help = "print the result as JSON"});
	    }));

	t.push_back(
	    {"kernel", "the running kernel's XFS as the oracle: probe, run, fuzz (root)", {}});
	t.push_back(command<KernelProbeOptions>(
	    "kernel probe", "the kernel's atomic write limits beside impl's, per geometry",
	    cmd_kernel_probe, [](CLI::App *cmd, KernelProbeOptions &o) {
		    cmd->add_option(
		        "--geometry", o.geometries,
		        "BLOCK_SIZE:AG_BLOCKS:AG_COUNT (repeatable; default: four built-in ones)");
		    add_output_options(
		        cmd, {.json = &o.json, .json_help = "also print the result as JSON"});
	    }));
	t.push_back(command<KernelRunOptions>(
	    "kernel run",
	    "build a script's (or case's) layout, write it atomically for real, compare with the "
	    "model",
	    cmd_kernel_run, [](CLI::App *cmd, KernelRunOptions &o) {
		    cmd->add_option("inputs", o.inputs, "scripts (untorn-kernel-script/1) or cases")
		        ->required();
		    add_variant_option(cmd, o.variant, "the model's variant");
		    cmd->add_option(
		        "--geometry", o.geometry,
		        "BLOCK_SIZE:AG_BLOCKS:AG_COUNT of the scratch filesystem (default: the "
		        "script's)");
		    add_output_options(
		        cmd,
		        {.json = &o.json,
		         .json_help = "one JSON line per input",
		         .out = &o.out,
		         .out_help = "write each input's read-back case here, the kernel's outcome "
		                     "as its expect (regression cases that replay without a "
		                     "kernel)"});
	    }));
	t.push_back(command<KernelFuzzOptions>(
	    "kernel fuzz", "random scripts and atomic writes, kernel against model",
	    cmd_kernel_fuzz, [](CLI::App *cmd, KernelFuzzOptions &o) {
		    cmd->add_option("--count", o.count, "trials")
		        ->check(CLI::Range(uint64_t(1), uint64_t(100000000)));
		    add_seed_option(cmd, o.seed, "script generator seed");
		    add_variant_option(cmd, o.variant, "the model's variant");
		    cmd->add_option(
		        "--geometry", o.geometry,
		        "BLOCK_SIZE:AG_BLOCKS:AG_COUNT of the scratch filesystem (default "
		        "4096:20011:4)");
		    add_output_options(
		        cmd, {.json = &o.json,
		              .json_help = "print the summary as JSON",
		              .out = &o.out,
		              .out_help = "folder for each distinct disagreement (script, case, "
		                          "side-by-side text) and report.json"});
		    cmd->add_flag("--no-minimize", o.no_minimize,
		                  "save disagreeing scripts as generated");
		    cmd->add_flag(
		        "--remount-every-trial", o.remount_always,
		        "remount after every layout, not only when it left CoW fork state (the "
		        "benchmark's baseline)");
	    }));
	t.push_back(command<KernelAwriteOptions>(
	    "kernel awrite",
	    "one O_DIRECT pwritev2(RWF_ATOMIC) of LENGTH bytes at OFFSET, printed as xfs_io's "
	    "pwrite prints it "
	    "(exit 1: the write failed)",
	    cmd_kernel_awrite, [](CLI::App *cmd, KernelAwriteOptions &o) {
		    cmd->add_option("file", o.file, "an existing file")->required();
		    cmd->add_option("offset", o.offset, "bytes")->required();
		    cmd->add_option("length", o.length, "bytes")->required();
		    cmd->add_flag("--dsync", o.dsync, "RWF_DSYNC too (xfs_io's pwrite -D)");
		    cmd->add_option("--byte", o.byte, "the byte written");
	    }));
	t.push_back(command<KernelExportRunOptions>(
	    "kernel export-run",
	    "run each case's `export --xfs-io` script on a raw scratch device of its own",
	    cmd_kernel_export_run, [](CLI::App *cmd, KernelExportRunOptions &o) {
		    cmd->add_option("cases", o.inputs, "cases or folders of cases")->required();
		    cmd->add_flag("--verbose", o.verbose, "print each script's output");
	    }));
	t.push_back(command<KernelTrialOptions>(
	    "kernel crash",
	    "atomic writes, a shutdown before, during or after them, log recovery: torn, lost or "
	    "unmodelled",
	    cmd_kernel_crash, [](CLI::App *cmd, KernelTrialOptions &o) {
		    add_kernel_trial_options(cmd, o);
		    add_variant_option(
		        cmd, o.variant,
		        "the model whose crash states the recovered layout must be one of");
		    cmd->add_flag(
		        "--plain", o.plain,
		        "the control: the same writes without RWF_ATOMIC, which may tear (and are "
		        "reported when they do)");
	    }));
	t.push_back(command<KernelTrialOptions>(
	    "kernel race",
	    "concurrent atomic writers on neighbouring ranges, with buffered writes, faults, "
	    "reflinks, fsync and crashes beside them",
	    cmd_kernel_race, [](CLI::App *cmd, KernelTrialOptions &o) {
		    add_kernel_trial_options(cmd, o);
		    add_variant_option(cmd, o.variant,
		                       "the model each writer's outcome must be one of (alone, or "
		                       "interleaved with the others)");
	    }));
	return t;
}

} // namespace

const std::vector<Command> &command_table()
{
	static const std::vector<Command> table = rows();
	return table;
}

} // namespace untorn
