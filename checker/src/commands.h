// The subcommands behind `untorn`, one function each.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace untorn {

struct RunOptions {
	std::vector<std::string> files;
	bool json = false;
	std::string engine = "z3"; // z3 | compiled
	unsigned solver_timeout_ms = 10000;
};
int cmd_run(const RunOptions &o);

struct ReplayOptions {
	std::vector<std::string> paths;
	bool json = false;
	std::string engine = "z3";
	unsigned solver_timeout_ms = 10000;
};
int cmd_replay(const ReplayOptions &o);

struct CheckOptions {
	std::vector<std::string> variants; // empty = all
	uint64_t seed = 1;
	uint64_t count = 100000;
	unsigned jobs = 1;
	std::string shard = "1/1";
	std::string out = "untorn-findings";
	bool json = false;
	uint64_t z3_every = 10000;
	unsigned solver_timeout_ms = 10000;
	bool no_minimize = false;
	std::vector<std::string> known; // cases of findings already known (e.g. corpus/)
};
void add_check_options(CLI::App *cmd, CheckOptions &o);
int cmd_check(const CheckOptions &o);

struct MinimizeOptions {
	std::string input;
	std::string output; // "" = print to stdout
};
int cmd_minimize(const MinimizeOptions &o);

struct BenchOptions {
	uint64_t count = 200000;
	uint64_t seed = 42;
	uint64_t z3_sample = 200; // layouts judged by Z3 itself, for the engines' ratio (0: skip)
	std::string variant = "v6.18";
};
int cmd_bench(const BenchOptions &o);

} // namespace untorn
