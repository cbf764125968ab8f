// The command table behind `untorn`, and the option groups its commands
// share.  A command is one row of the table (command_table.cpp): its name,
// its help, its options and its body; `main` only walks the table.  An
// option several commands take is declared once, here, and added by one call.
#pragma once

#include "commands.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace untorn
{

// What runs once the command line is parsed: the command's body, bound to
// the options the parser filled.
using CommandBody = std::function<int()>;

struct Command {
	// "check"; a command inside a group is "GROUP NAME" ("kernel run"),
	// after the group's own row.
	std::string name;
	std::string help;
	// Declares the command's options on `cmd` and returns its body; empty
	// for a group, which only holds commands.
	std::function<CommandBody(CLI::App *cmd)> define;
};

// Every command of `untorn`, in the order `untorn --help` lists them.
const std::vector<Command> &command_table();

// A row whose options live in an `Options` struct, filled by `options` and
// handed to `body` (a cmd_X function).
template <class Options>
Command command(std::string name, std::string help, int (*body)(const Options &),
                void (*options)(CLI::App *, Options &))
{
	return {std::move(name), std::move(help), [body, options](CLI::App *cmd) -> CommandBody {
		        auto o = std::make_shared<Options>();
		        options(cmd, *o);
		        return [body, o] { return body(*o); };
	        }};
}

// Builds the whole command line from the table (used by main and tests).
// Fills `bodies` with one (subcommand, body) pair per command.
void build_command_line(CLI::App &app, std::vector<std::pair<CLI::App *, CommandBody>> &bodies);

// Parses and runs; what `main` does.  A usage error prints what is wrong (an
// unknown option or command with the nearest known one) and the command's
// --help to read, and returns EXIT_BAD_INPUT.
int run_command_line(int argc, const char *const *argv);

// `untorn --version`: the version, the git revision it was built from (if
// known) and Z3's version (version.cpp).
std::string version_text();

// The known name nearest to `word` by edit distance, if it is near enough
// to be a typo of it ("" if none is).
std::string nearest_name(const std::string &word, const std::vector<std::string> &names);

// ------------------------------------------------------- shared validators

// A non-negative whole number (CLI::NonNegativeNumber accepts fractions and
// prints its range as a double).
const CLI::Validator &whole_number();

// ------------------------------------------------------ shared option groups

// Z3's limits per query (SolverFlags, commands.h) and, with `engine`, the
// choice between Z3 and the compiled evaluator.
// `queries` says which queries the limits govern.
void add_solver_options(CLI::App *cmd, SolverFlags &o, std::string *engine = nullptr,
                        const std::string &queries = "each Z3 query");

// --variant, over every name a case may name (accepted_variant_names); the
// vector form is repeatable.
void add_variant_option(CLI::App *cmd, std::string &variant, const std::string &help);
void add_variant_option(CLI::App *cmd, std::vector<std::string> &variants, const std::string &help);
// The variant names a command takes as positional arguments.
CLI::Option *add_variant_positional(CLI::App *cmd, const std::string &name,
                                    std::vector<std::string> &variants, const std::string &help);

// --seed and --jobs.  `min_jobs` 0 means "0: one per core" is accepted.
void add_seed_option(CLI::App *cmd, uint64_t &seed, const std::string &help);
void add_jobs_option(CLI::App *cmd, unsigned &jobs, unsigned min_jobs, const std::string &help);

// The report outputs a command writes; a null member is not offered.
struct OutputFlags {
	bool *json = nullptr;
	std::string json_help = {};
	std::string *out = nullptr; // --out FOLDER
	std::string out_help = {};
	std::string *sarif = nullptr, *junit = nullptr;
	std::string *output = nullptr; // -o,--output FILE (atomically; default stdout)
};
void add_output_options(CLI::App *cmd, const OutputFlags &f);

} // namespace untorn
