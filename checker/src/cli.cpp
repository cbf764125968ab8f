// The command line built from the command table, and the option groups the
// commands share.
#include "cli.h"
#include "untorn/checker.h"

#include <iostream>

namespace untorn
{

const CLI::Validator &whole_number()
{
	static const CLI::Validator v(
	    [](std::string &s) {
		    if (s.empty() || s.size() > 20 ||
		        s.find_first_not_of("0123456789") != std::string::npos)
			    return std::string("expected a non-negative whole number");
		    return std::string();
	    },
	    "UINT");
	return v;
}

void add_solver_options(CLI::App *cmd, SolverFlags &o, std::string *engine,
                        const std::string &queries)
{
	if (engine)
		cmd->add_option("--engine", *engine,
		                "decide the specification with z3 or the compiled evaluator")
		    ->check(CLI::IsMember({"z3", "compiled"}));
	cmd->add_option("--solver-timeout", o.solver_timeout_ms,
	                "wall-clock limit of " + queries +
	                    ", ms; a query past it is inconclusive, never a pass")
	    ->check(CLI::Range(1u, 3600000u));
	cmd->add_option("--solver-rlimit", o.solver_rlimit,
	                "Z3 resource limit of " + queries + " (deterministic; 0: none)");
	cmd->add_option("--solver-memory", o.solver_memory_mb, "Z3 memory limit of " + queries + ", MB")
	    ->check(CLI::Range(16u, 1u << 20));
}

void add_variant_option(CLI::App *cmd, std::string &variant, const std::string &help)
{
	cmd->add_option("--variant", variant, help)->check(CLI::IsMember(accepted_variant_names()));
}

void add_variant_option(CLI::App *cmd, std::vector<std::string> &variants, const std::string &help)
{
	cmd->add_option("--variant", variants, help)
	    ->check(CLI::IsMember(accepted_variant_names()));
}

CLI::Option *add_variant_positional(CLI::App *cmd, const std::string &name,
                                    std::vector<std::string> &variants, const std::string &help)
{
	return cmd->add_option(name, variants, help)
	    ->check(CLI::IsMember(accepted_variant_names()));
}

void add_seed_option(CLI::App *cmd, uint64_t &seed, const std::string &help)
{
	cmd->add_option("--seed", seed, help)->check(whole_number());
}

void add_jobs_option(CLI::App *cmd, unsigned &jobs, unsigned min_jobs, const std::string &help)
{
	cmd->add_option("--jobs", jobs, help)->check(CLI::Range(min_jobs, 256u));
}

void add_output_options(CLI::App *cmd, const OutputFlags &f)
{
	if (f.out)
		cmd->add_option("--out", *f.out, f.out_help);
	if (f.json)
		cmd->add_flag("--json", *f.json, f.json_help);
	if (f.sarif)
		cmd->add_option("--sarif", *f.sarif, "also write a SARIF 2.1.0 report here");
	if (f.junit)
		cmd->add_option("--junit", *f.junit, "also write a JUnit XML report here");
	if (f.output)
		cmd->add_option("-o,--output", *f.output,
		                "write here (atomically); default: stdout");
}

void build_command_line(CLI::App &app, std::vector<std::pair<CLI::App *, CommandBody>> &bodies)
{
	for (const Command &c : command_table()) {
		CLI::App *parent = &app;
		std::string name = c.name;
		if (auto sp = name.rfind(' '); sp != std::string::npos) {
			parent = app.get_subcommand(name.substr(0, sp));
			name = name.substr(sp + 1);
		}
		CLI::App *cmd = parent->add_subcommand(name, c.help);
		if (c.define)
			bodies.emplace_back(cmd, c.define(cmd));
		else
			cmd->require_subcommand(1);
		// An empty list has no default worth showing ("=[]").
		for (CLI::Option *opt : cmd->get_options())
			if (opt->get_default_str() == "[]")
				opt->default_str("");
	}
}

int run_command_line(int argc, const char *const *argv)
{
	CLI::App app{
	    "untorn: proves or refutes that XFS's RWF_ATOMIC write logic never tears a write"};
	app.require_subcommand(1);
	app.option_defaults()->always_capture_default(); // every --help shows the defaults
	std::vector<std::pair<CLI::App *, CommandBody>> bodies;
	build_command_line(app, bodies);
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
	for (auto &[cmd, body] : bodies)
		if (*cmd)
			return body();
	return EXIT_BAD_INPUT;
}

} // namespace untorn
