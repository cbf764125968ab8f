// untorn checker/: cases (the untorn-case/1 JSON contract), and the commands
// that run them.  Exit statuses are shared by every command.
#pragma once

#include "untorn/impl.h"

#include <nlohmann/json_fwd.hpp>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace untorn {

enum ExitCode : int {
	EXIT_CLEAN = 0,
	EXIT_MISMATCH = 1,     // replay: an expectation did not hold
	EXIT_BAD_INPUT = 2,    // bad case, bad usage
	EXIT_INTERNAL = 3,     // untorn disagrees with itself (e.g. compiled evaluator vs Z3): a bug to fix
	EXIT_UNAVAILABLE = 4,  // untorn kernel: this machine cannot do it (not root, no loop device, no XFS, ...)
	EXIT_INCONCLUSIVE = 5, // a solver query came back unknown
	EXIT_FOUND = 10,       // a counterexample was found
	EXIT_INTERRUPTED = 130,
};

struct Expect {
	std::optional<int> result; // 0 = ok, else errno
	std::optional<Path> path;
	std::optional<std::string> verdict; // clean | violation | divergence
	std::vector<std::string> invariants;
};

struct Case {
	std::string file; // where it was loaded from ("" if built in memory)
	std::string name;
	std::string note;
	Variant variant = Variant::v6_18;
	FileState state;
	WriteReq write;
	Expect expect;
};

// A case file that does not meet the contract: which file, where in the JSON
// (a path such as data_fork[2].startblock), and what was expected there.
struct CaseError : std::runtime_error {
	std::string file, path, expected;
	CaseError(std::string f, std::string p, std::string e);
};

// Parses and validates; throws CaseError.  Never runs anything.
// The commands' form: the case, or nothing after printing the error.
std::optional<Case> load_case_or_report(const std::filesystem::path &file);
Case load_case_file(const std::filesystem::path &file);
// Loads every file first, printing each one's error: false if any failed.
bool load_cases_or_report(const std::vector<std::filesystem::path> &files, std::vector<Case> &out);
Case parse_case(const std::string &text, const std::string &file);
std::string case_to_json(const Case &c); // stable key order, 2-space indent

// Writes `text` to a temporary file beside `dest` and renames it into place.
void write_file_atomically(const std::filesystem::path &dest, const std::string &text);

// Every *.json file under the given files/folders, sorted, deduplicated.
std::vector<std::filesystem::path> collect_case_files(const std::vector<std::string> &args);

// Every variant name a case or a command may name: the kernel versions
// first, then the what-ifs.
std::vector<std::string> accepted_variant_names();

struct Judgement;
// The outcome of one run as JSON (`untorn run --json`).
std::string outcome_json(const Case &c, const Trace &t, const Judgement &j);

} // namespace untorn
