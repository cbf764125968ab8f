// The `untorn` command line.  Every subcommand returns one of the ExitCodes.
#include "commands.h"
#include "untorn/checker.h"

#include <CLI/CLI.hpp>

#include <iostream>

using namespace untorn;

int main(int argc, char **argv)
{
	CLI::App app{"untorn: proves or refutes that XFS's RWF_ATOMIC write logic never tears a write"};
	app.require_subcommand(1);

	RunOptions run;
	auto *run_cmd = app.add_subcommand("run", "run cases and print each trace and outcome");
	run_cmd->add_option("cases", run.files, "case files")->required();
	run_cmd->add_flag("--json", run.json, "print each outcome as one JSON line");
	run_cmd->add_option("--engine", run.engine, "decide the specification with z3 or the compiled evaluator")
		->check(CLI::IsMember({"z3", "compiled"}));
	run_cmd->add_option("--solver-timeout", run.solver_timeout_ms, "Z3 timeout per query, ms")
		->check(CLI::Range(1u, 3600000u));
	run_cmd->add_option("--solver-rlimit", run.solver_rlimit, "Z3 resource limit per query (deterministic; 0: none)");
	run_cmd->add_option("--solver-memory", run.solver_memory_mb, "Z3 memory limit, MB")->check(CLI::Range(16u, 1u << 20));

	ReplayOptions replay;
	auto *replay_cmd = app.add_subcommand("replay", "run cases and compare each with its expect block");
	replay_cmd->add_option("paths", replay.paths, "case files or folders")->required();
	replay_cmd->add_flag("--json", replay.json, "print one JSON line per case");
	replay_cmd->add_option("--sarif", replay.sarif, "also write a SARIF 2.1.0 report here");
	replay_cmd->add_option("--junit", replay.junit, "also write a JUnit XML report here");
	replay_cmd->add_option("--engine", replay.engine, "decide the specification with z3 or the compiled evaluator")
		->check(CLI::IsMember({"z3", "compiled"}));
	replay_cmd->add_option("--solver-timeout", replay.solver_timeout_ms, "Z3 timeout per query, ms")
		->check(CLI::Range(1u, 3600000u));
	replay_cmd->add_option("--solver-rlimit", replay.solver_rlimit, "Z3 resource limit per query (deterministic; 0: none)");
	replay_cmd->add_option("--solver-memory", replay.solver_memory_mb, "Z3 memory limit, MB")->check(CLI::Range(16u, 1u << 20));

	CheckOptions check;
	auto *check_cmd = app.add_subcommand("check", "random layouts, impl and specification side by side");
	add_check_options(check_cmd, check);

	MergeOptions merge;
	auto *merge_cmd = app.add_subcommand("merge", "merge the --out folders of sharded check runs into one report");
	merge_cmd->add_option("dirs", merge.dirs, "the shards' --out folders")->required();
	merge_cmd->add_option("--out", merge.out, "folder for the merged cases and report.json");
	merge_cmd->add_option("--known", merge.known, "case files or folders of known findings");
	merge_cmd->add_flag("--json", merge.json, "print the merged report as JSON");

	MinimizeOptions min;
	auto *min_cmd = app.add_subcommand("minimize", "shrink a failing case while it breaks the same invariants");
	min_cmd->add_option("case", min.input, "the failing case")->required();
	min_cmd->add_option("-o,--output", min.output, "write the minimized case here (atomically); default: stdout");

	ExplainOptions explain;
	auto *explain_cmd = app.add_subcommand("explain", "draw a case's layout, trace its decisions, show what breaks");
	explain_cmd->add_option("case", explain.input, "the case")->required();
	explain_cmd->add_option("--svg", explain.svg, "also draw the layout as an SVG picture into this file");

	ExportOptions exp;
	auto *export_cmd = app.add_subcommand("export", "turn a case into a reproducer for a real filesystem");
	export_cmd->add_option("case", exp.input, "the case")->required();
	export_cmd->add_flag("--xfs-io", exp.xfs_io, "an fstests-style shell script using xfs_io")->required();
	export_cmd->add_option("-o,--output", exp.output, "write here (atomically); default: stdout");

	ImportOptions imp;
	auto *import_cmd = app.add_subcommand("import", "turn xfs_bmap -v / fiemap -v / filefrag -v output into a case skeleton");
	import_cmd->add_option("input", imp.input, "the tool's output (a file, or - for stdin)")->required();
	import_cmd->add_option("--format", imp.format, "which tool printed it")
		->check(CLI::IsMember({"auto", "xfs_bmap", "fiemap", "filefrag"}));
	import_cmd->add_option("--variant", imp.variant, "variant of the skeleton")->check(CLI::IsMember(variant_names()));
	import_cmd->add_option("--block-size", imp.block_size, "filesystem block size in bytes")->check(CLI::Range(512, 65536));
	import_cmd->add_option("--offset", imp.offset, "the atomic write's offset in bytes");
	import_cmd->add_option("--length", imp.length, "the atomic write's length in bytes");
	import_cmd->add_option("-o,--output", imp.output, "write here (atomically); default: stdout");

	BenchOptions bench;
	auto *bench_cmd = app.add_subcommand("bench", "layouts per second: impl alone vs impl + specification");
	bench_cmd->add_option("--count", bench.count, "layouts per measurement")->check(CLI::Range(1000, 100000000));
	bench_cmd->add_option("--seed", bench.seed, "generator seed")->check(CLI::Validator([](std::string &v) { const char *e = whole_number_error(v); return e ? std::string(e) : std::string(); }, "UINT"));
	bench_cmd->add_option("--z3-sample", bench.z3_sample, "layouts to judge with Z3 itself (0: skip)")
		->check(CLI::Validator([](std::string &v) { const char *e = whole_number_error(v); return e ? std::string(e) : std::string(); }, "UINT"));
	bench_cmd->add_option("--variant", bench.variant, "variant")->check(CLI::IsMember(variant_names()));

	const std::vector<std::string> &every_variant = variant_names();
	// what is enumerated and what is pinned: prove, diff and census alike
	auto layout_bounds = [&](CLI::App *cmd, ProveOptions &o) {
		cmd->add_option("--data-extents", o.data_extents, "at most this many data-fork extents")->check(CLI::Range(0u, 8u));
		cmd->add_option("--cow-extents", o.cow_extents, "at most this many CoW-fork extents")->check(CLI::Range(0u, 8u));
		cmd->add_option("--refcount", o.refcount, "at most this many shared ranges")->check(CLI::Range(0u, 8u));
		cmd->add_option("--alloc", o.alloc, "at most this many allocator answers (then ENOSPC)")->check(CLI::Range(0u, 8u));
		cmd->add_option("--geometry", o.geometry, "profiles (the 4 pinned filesystems), 1..4 (one of them), or symbolic (every AG size, CoW hint and device limit)")
			->check(CLI::IsMember({"profiles", "1", "2", "3", "4", "symbolic"}));
		cmd->add_option("--block-size", o.block_size, "with --geometry symbolic: block size in bytes (pinned per sweep), or all")
			->check(CLI::IsMember({"512", "1024", "2048", "4096", "8192", "16384", "32768", "65536", "all"}));
		cmd->add_option("--env", o.env, "what-if inputs: real (direct I/O, no DAX), all, dax-implies-iomap-dax, dax-iff-iomap-dax")
			->check(CLI::IsMember({"real", "all", "dax-implies-iomap-dax", "dax-iff-iomap-dax"}));
	};
	auto prove_bounds = [&](CLI::App *cmd, ProveOptions &o) {
		layout_bounds(cmd, o);
		cmd->add_option("--out", o.out, "folder for counterexample cases and undecided queries");
		cmd->add_flag("--json", o.json, "print the result as JSON");
		cmd->add_option("--solver-timeout", o.solver_timeout_ms, "Z3 timeout per query, ms")->check(CLI::Range(1u, 3600000u));
		cmd->add_option("--solver-rlimit", o.solver_rlimit, "Z3 resource limit per query (deterministic; 0: none)");
		cmd->add_option("--solver-memory", o.solver_memory_mb, "Z3 memory limit, MB")->check(CLI::Range(16u, 1u << 20));
		cmd->add_option("--max-paths", o.max_paths, "give up (inconclusive) beyond this many paths in one sweep")->check(CLI::Range(1, 1000000000));
		cmd->add_option("--time-limit", o.time_limit_s, "stop each proof (or the diff) after this many seconds, inconclusive, saying up to what size it is complete (0: no limit)")->check(CLI::Range(0.0, 1e7));
		cmd->add_option("--jobs", o.jobs, "sweeps explored at once (threads; 0: one per core); the result is the same for any value")->check(CLI::Range(0u, 256u));
	};
	ProveOptions prove_o;
	auto *prove_cmd = app.add_subcommand("prove", "prove every invariant over all layouts within bounds, or find a counterexample");
	prove_cmd->add_option("--variant", prove_o.variants, "variant (repeatable; default: every kernel version)")
		->check(CLI::IsMember(every_variant));
	prove_bounds(prove_cmd, prove_o);
	ProveOptions diff_o;
	auto *diff_cmd = app.add_subcommand("diff", "find a layout on which two variants differ, or prove them equivalent within bounds");
	diff_cmd->add_option("variants", diff_o.variants, "VAR_A VAR_B")->required()->expected(2)->check(CLI::IsMember(every_variant));
	prove_bounds(diff_cmd, diff_o);
	CensusOptions census_o;
	auto *census_cmd = app.add_subcommand("census", "count the paths `untorn prove` must explore at given bounds, on sampled layouts (a lower bound)");
	census_cmd->add_option("--variant", census_o.bounds.variants, "variant (repeatable; default: every kernel version)")
		->check(CLI::IsMember(every_variant));
	layout_bounds(census_cmd, census_o.bounds);
	census_cmd->add_option("--count", census_o.count, "layouts sampled per variant, spread evenly over the sweeps")->check(CLI::Range(1, 1000000000));
	census_cmd->add_option("--seed", census_o.seed, "sampler seed")->check(CLI::Validator([](std::string &v) { const char *e = whole_number_error(v); return e ? std::string(e) : std::string(); }, "UINT"));
	census_cmd->add_option("--jobs", census_o.bounds.jobs, "threads (0: one per core); the result is the same for any value")->check(CLI::Range(0u, 256u));
	census_cmd->add_flag("--branches", census_o.branches, "count the paths of the variants' BRANCH() decisions only: what would be left if every helper's decisions were merged");
	census_cmd->add_flag("--json", census_o.bounds.json, "print the result as JSON");

	auto *kernel_cmd = app.add_subcommand("kernel", "the running kernel's XFS as the oracle: probe, run, fuzz (root)");
	kernel_cmd->require_subcommand(1);
	KernelProbeOptions kprobe;
	auto *kprobe_cmd = kernel_cmd->add_subcommand("probe", "the kernel's atomic write limits beside impl's, per geometry");
	kprobe_cmd->add_option("--geometry", kprobe.geometries, "BLOCK_SIZE:AG_BLOCKS:AG_COUNT (repeatable; default: four built-in ones)");
	kprobe_cmd->add_flag("--json", kprobe.json, "also print the result as JSON");
	KernelRunOptions krun;
	auto *krun_cmd = kernel_cmd->add_subcommand("run", "build a script's (or case's) layout, write it atomically for real, compare with the model");
	krun_cmd->add_option("inputs", krun.inputs, "scripts (untorn-kernel-script/1) or cases")->required();
	krun_cmd->add_option("--variant", krun.variant, "the model's variant")->capture_default_str()->check(CLI::IsMember(every_variant));
	krun_cmd->add_option("--geometry", krun.geometry, "BLOCK_SIZE:AG_BLOCKS:AG_COUNT of the scratch filesystem (default: the script's)");
	krun_cmd->add_option("--out", krun.out, "write each input's read-back case here, the kernel's outcome as its expect (regression cases that replay without a kernel)");
	krun_cmd->add_flag("--json", krun.json, "one JSON line per input");
	KernelFuzzOptions kfuzz;
	auto *kfuzz_cmd = kernel_cmd->add_subcommand("fuzz", "random scripts and atomic writes, kernel against model");
	kfuzz_cmd->add_option("--count", kfuzz.count, "trials")->capture_default_str()->check(CLI::Range(uint64_t(1), uint64_t(100000000)));
	kfuzz_cmd->add_option("--seed", kfuzz.seed, "script generator seed")->capture_default_str()->check(CLI::Validator([](std::string &v) { const char *e = whole_number_error(v); return e ? std::string(e) : std::string(); }, "UINT"));
	kfuzz_cmd->add_option("--variant", kfuzz.variant, "the model's variant")->capture_default_str()->check(CLI::IsMember(every_variant));
	kfuzz_cmd->add_option("--geometry", kfuzz.geometry, "BLOCK_SIZE:AG_BLOCKS:AG_COUNT of the scratch filesystem (default 4096:20011:4)");
	kfuzz_cmd->add_option("--out", kfuzz.out, "folder for each distinct disagreement (script, case, side-by-side text) and report.json");
	kfuzz_cmd->add_flag("--no-minimize", kfuzz.no_minimize, "save disagreeing scripts as generated");
	kfuzz_cmd->add_flag("--remount-every-trial", kfuzz.remount_always, "remount after every layout, not only when it left CoW fork state (the benchmark's baseline)");
	kfuzz_cmd->add_flag("--json", kfuzz.json, "print the summary as JSON");
	KernelAwriteOptions kaw;
	auto *kaw_cmd = kernel_cmd->add_subcommand("awrite", "one O_DIRECT pwritev2(RWF_ATOMIC) of LENGTH bytes at OFFSET, printed as xfs_io's pwrite prints it (exit 1: the write failed)");
	kaw_cmd->add_option("file", kaw.file, "an existing file")->required();
	kaw_cmd->add_option("offset", kaw.offset, "bytes")->required();
	kaw_cmd->add_option("length", kaw.length, "bytes")->required();
	kaw_cmd->add_flag("--dsync", kaw.dsync, "RWF_DSYNC too (xfs_io's pwrite -D)");
	kaw_cmd->add_option("--byte", kaw.byte, "the byte written (default 0xa5)");
	KernelExportRunOptions kexp;
	auto *kexp_cmd = kernel_cmd->add_subcommand("export-run", "run each case's `export --xfs-io` script on a raw scratch device of its own");
	kexp_cmd->add_option("cases", kexp.inputs, "cases or folders of cases")->required();
	kexp_cmd->add_flag("--verbose", kexp.verbose, "print each script's output");

	KernelTrialOptions kcrash, krace;
	auto trial_options = [&](CLI::App *cmd, KernelTrialOptions &o) {
		cmd->add_option("--count", o.count, "trials")->capture_default_str()->check(CLI::Range(uint64_t(1), uint64_t(100000000)));
		cmd->add_option("--seed", o.seed, "trial generator seed")->capture_default_str()->check(CLI::Validator([](std::string &v) { const char *e = whole_number_error(v); return e ? std::string(e) : std::string(); }, "UINT"));
		cmd->add_option("--geometry", o.geometry, "BLOCK_SIZE:AG_BLOCKS:AG_COUNT of the scratch filesystem (default 4096:20011:4)");
		cmd->add_option("--out", o.out, "folder for each trial with findings (its plan, what happened, the findings) and report.json");
		cmd->add_flag("--json", o.json, "print the summary as JSON");
	};
	auto *kcrash_cmd = kernel_cmd->add_subcommand("crash", "atomic writes, a shutdown before, during or after them, log recovery: torn, lost or unmodelled");
	trial_options(kcrash_cmd, kcrash);
	kcrash_cmd->add_option("--variant", kcrash.variant, "the model whose crash states the recovered layout must be one of")->capture_default_str()->check(CLI::IsMember(every_variant));
	kcrash_cmd->add_flag("--plain", kcrash.plain, "the control: the same writes without RWF_ATOMIC, which may tear (and are reported when they do)");
	auto *krace_cmd = kernel_cmd->add_subcommand("race", "concurrent atomic writers on neighbouring ranges, with buffered writes, reflinks, fsync and crashes beside them");
	trial_options(krace_cmd, krace);

	try {
		app.parse(argc, argv);
	} catch (const CLI::CallForHelp &e) {
		return app.exit(e);
	} catch (const CLI::CallForAllHelp &e) {
		return app.exit(e);
	} catch (const CLI::ParseError &e) {
		std::cerr << "untorn: " << e.what() << "\n(see `untorn --help`)\n";
		return EXIT_BAD_INPUT;
	}

	if (*run_cmd)
		return cmd_run(run);
	if (*replay_cmd)
		return cmd_replay(replay);
	if (*check_cmd)
		return cmd_check(check);
	if (*bench_cmd)
		return cmd_bench(bench);
	if (*min_cmd)
		return cmd_minimize(min);
	if (*merge_cmd)
		return cmd_merge(merge);
	if (*explain_cmd)
		return cmd_explain(explain);
	if (*export_cmd)
		return cmd_export(exp);
	if (*import_cmd)
		return cmd_import(imp);
	if (*prove_cmd)
		return cmd_prove(prove_o);
	if (*diff_cmd)
		return cmd_diff(diff_o);
	if (*census_cmd)
		return cmd_census(census_o);
	if (*kprobe_cmd)
		return cmd_kernel_probe(kprobe);
	if (*krun_cmd)
		return cmd_kernel_run(krun);
	if (*kfuzz_cmd)
		return cmd_kernel_fuzz(kfuzz);
	if (*kaw_cmd)
		return cmd_kernel_awrite(kaw);
	if (*kexp_cmd)
		return cmd_kernel_export_run(kexp);
	if (*kcrash_cmd)
		return cmd_kernel_crash(kcrash);
	if (*krace_cmd)
		return cmd_kernel_race(krace);
	return EXIT_BAD_INPUT;
}
