// The command line built from the command table, and the option groups the
// commands share.
#include "cli.h"
#include "untorn/checker.h"

#include <algorithm>
#include <cctype>
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

namespace
{

size_t edit_distance(const std::string &a, const std::string &b)
{
	std::vector<size_t> row(b.size() + 1);
	for (size_t j = 0; j <= b.size(); j++)
		row[j] = j;
	for (size_t i = 1; i <= a.size(); i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= b.size(); j++) {
			size_t up = row[j];
			row[j] =
			    std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
			diag = up;
		}
	}
	return row[b.size()];
}

// "untorn", "untorn check", "untorn kernel run".
std::string command_path(const CLI::App *cmd)
{
	std::string path;
	for (; cmd; cmd = cmd->get_parent())
		path = (cmd->get_parent() ? cmd->get_name() : std::string("untorn")) +
		       (path.empty() ? "" : " " + path);
	return path;
}

bool looks_like_number(const std::string &a)
{
	return a.size() > 1 && a[0] == '-' && (std::isdigit((unsigned char)a[1]) || a[1] == '.');
}

bool knows_option(const CLI::App *cmd, const std::string &name)
{
	if (cmd->get_option_no_throw(name))
		return true;
	// -oFILE: a short option with its value attached
	return name.size() > 2 && name[1] != '-' && cmd->get_option_no_throw(name.substr(0, 2));
}

// What the arguments ask for, before CLI11 parses them: the command they
// select, and the first option or command it does not know (so that a typo
// is reported as such, not as the required option it failed to give).
struct Scan {
	CLI::App *cmd;
	std::string unknown, suggestion; // "--varient", "--variant"
	bool unknown_command = false;
};

Scan scan_arguments(CLI::App &app, int argc, const char *const *argv)
{
	Scan s{&app, "", "", false};
	for (int i = 1; i < argc; i++) {
		const std::string a = argv[i];
		if (a == "--")
			break;
		if (a.size() > 1 && a[0] == '-' && !looks_like_number(a)) {
			const std::string name = a.substr(0, a.find('='));
			if (s.unknown.empty() && !knows_option(s.cmd, name)) {
				s.unknown = name;
				std::vector<std::string> names;
				for (const CLI::Option *o : s.cmd->get_options())
					for (const auto &l : o->get_lnames())
						names.push_back("--" + l);
				s.suggestion = nearest_name(name, names);
			}
			continue;
		}
		const auto subs = s.cmd->get_subcommands(std::function<bool(CLI::App *)>());
		auto sub = std::find_if(subs.begin(), subs.end(),
		                        [&](CLI::App *c) { return c->check_name(a); });
		if (sub != subs.end()) {
			s.cmd = *sub;
			continue;
		}
		// A word where only a command can stand: a group takes no other.
		bool positional = false;
		for (const CLI::Option *o : s.cmd->get_options())
			positional |= o->get_positional();
		if (s.unknown.empty() && !subs.empty() && !positional) {
			s.unknown = a;
			s.unknown_command = true;
			std::vector<std::string> names;
			for (const CLI::App *sub : subs)
				names.push_back(sub->get_name());
			s.suggestion = nearest_name(a, names);
		}
	}
	return s;
}

} // namespace

std::string nearest_name(const std::string &word, const std::vector<std::string> &names)
{
	auto bare = [](const std::string &n) { return n.substr(n.find_first_not_of('-')); };
	const std::string w = bare(word);
	std::string best;
	size_t best_d = std::max<size_t>(2, w.size() / 3) + 1;
	for (const auto &n : names) {
		size_t d = edit_distance(w, bare(n));
		if (d < best_d)
			best = n, best_d = d;
	}
	return best;
}

int run_command_line(int argc, const char *const *argv)
{
	CLI::App app{
	    "untorn: proves or refutes that XFS's RWF_ATOMIC write logic never tears a write"};
	app.require_subcommand(1);
	app.option_defaults()->always_capture_default(); // every --help shows the defaults
	app.set_version_flag("--version", version_text());
	std::vector<std::pair<CLI::App *, CommandBody>> bodies;
	build_command_line(app, bodies);

	const Scan scan = scan_arguments(app, argc, argv);
	const std::string help = "(see `" + command_path(scan.cmd) + " --help`)\n";
	const std::string where = scan.cmd == &app ? "" : command_path(scan.cmd).substr(7) + ": ";
	if (!scan.unknown.empty()) {
		std::cerr << "untorn: " << where << "unknown "
		          << (scan.unknown_command ? "subcommand " : "option ") << scan.unknown;
		if (!scan.suggestion.empty())
			std::cerr << "; did you mean " << scan.suggestion << "?";
		std::cerr << "\n" << help;
		return EXIT_BAD_INPUT;
	}
	try {
		app.parse(argc, argv);
	} catch (const CLI::CallForHelp &e) {
		return app.exit(e);
	} catch (const CLI::CallForAllHelp &e) {
		return app.exit(e);
	} catch (const CLI::CallForVersion &e) {
		return app.exit(e);
	} catch (const CLI::ParseError &e) {
		std::cerr << "untorn: " << where << e.what() << "\n" << help;
		return EXIT_BAD_INPUT;
	}
	for (auto &[cmd, body] : bodies)
		if (*cmd)
			return body();
	return EXIT_BAD_INPUT;
}

} // namespace untorn
