// Runs the examples of the documentation and compares their output with the
// pages, so that the pages cannot drift from the tool.  The conventions
// (docs/README.md, "Examples in these pages"):
//
//   - A fenced block with the info string `sh` is an example.  Each line
//     starting with `$ ` is a command, run by bash from the repository's top
//     folder with `untorn` on the PATH; the lines up to the next command or
//     the end of the block are its output (stdout and stderr), compared line
//     by line.  A line `...` stands for any number of lines.  `echo $?`
//     shows the previous command's exit status.  Commands of one page run in
//     order in one shell; every `/tmp/` in them is a fresh folder per page.
//   - A synopsis is a `text` block (or has no `$ ` line): not run.
//   - An HTML comment right before the block changes how it runs, and the
//     runner lists every block it did not compare in full:
//       <!-- docs-test: skip REASON -->          not run (root, a kernel, ...);
//                                                 its lines may lack the `$ `
//       <!-- docs-test: run-only REASON -->      run; only `echo $?` compared
//       <!-- docs-test: replace "A" "B" REASON -->  run with A replaced by B
//                                                 in its commands (a smaller
//                                                 bound); only `echo $?` compared
//   - A `json` block holding an `untorn-case/1` case must load.
//
// Usage: untorn_docs_examples --untorn PATH --root DIR [--update] PAGE.md...
// --update writes each compared command's actual output into the page
// (outputs with `...` are left alone).  Exit 0 when every example matches.
#include "untorn/checker.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace
{

enum class Mode { compare, skip, run_only };

struct Command {
	size_t line = 0;                   // 1-based line of the `$ ` line
	std::string text;                  // without "$ "
	std::vector<std::string> expected; // the lines shown under it
	size_t expected_first = 0,
	       expected_end = 0; // their lines in the page (0-based, [first, end))
	std::string actual;
	bool ran = false;
};

struct Block {
	size_t line = 0; // 1-based line of the opening fence
	std::string info;
	std::vector<std::string> lines;
	Mode mode = Mode::compare;
	std::string reason;
	std::string from, to; // replace
	std::vector<Command> commands;
};

std::string slurp(const fs::path &p)
{
	std::ifstream in(p, std::ios::binary);
	std::ostringstream s;
	s << in.rdbuf();
	return s.str();
}

std::vector<std::string> split_lines(const std::string &s)
{
	std::vector<std::string> v;
	std::string line;
	std::istringstream in(s);
	while (std::getline(in, line))
		v.push_back(line);
	return v;
}

void replace_all(std::string &s, const std::string &from, const std::string &to)
{
	if (from.empty())
		return;
	for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
		s.replace(p, from.size(), to);
}

// The quoted strings of an annotation: replace "A" "B" REASON
std::vector<std::string> quoted(const std::string &s, size_t *after)
{
	std::vector<std::string> v;
	size_t i = 0;
	while (true) {
		size_t a = s.find('"', i);
		if (a == std::string::npos || v.size() == 2)
			break;
		size_t b = s.find('"', a + 1);
		if (b == std::string::npos)
			break;
		v.push_back(s.substr(a + 1, b - a - 1));
		i = b + 1;
	}
	*after = i;
	return v;
}

struct Page {
	fs::path file;
	std::string name; // as given
	std::vector<std::string> lines;
	std::vector<Block> blocks;
	std::vector<std::string> errors;
};

void parse(Page &pg)
{
	const auto &L = pg.lines;
	for (size_t i = 0; i < L.size(); i++) {
		if (L[i].rfind("```", 0) != 0)
			continue;
		Block b;
		b.line = i + 1;
		b.info = L[i].substr(3);
		// the annotation: the last non-blank line before the fence
		for (size_t k = i; k-- > 0;) {
			if (L[k].find_first_not_of(" \t") == std::string::npos)
				continue;
			const std::string tag = "<!-- docs-test:";
			if (L[k].rfind(tag, 0) == 0) {
				std::string a = L[k].substr(tag.size());
				if (a.size() >= 3 && a.ends_with("-->"))
					a = a.substr(0, a.size() - 3);
				a.erase(0, a.find_first_not_of(' '));
				while (!a.empty() && a.back() == ' ')
					a.pop_back();
				if (a.rfind("skip", 0) == 0) {
					b.mode = Mode::skip;
					b.reason = a.substr(4);
				} else if (a.rfind("run-only", 0) == 0) {
					b.mode = Mode::run_only;
					b.reason = a.substr(8);
				} else if (a.rfind("replace", 0) == 0) {
					size_t after = 0;
					auto q = quoted(a, &after);
					if (q.size() != 2)
						pg.errors.push_back(
						    pg.name + ":" + std::to_string(k + 1) +
						    ": replace needs two quoted strings");
					else {
						b.from = q[0];
						b.to = q[1];
					}
					b.mode = Mode::run_only;
					b.reason = "run with \"" + b.from + "\" replaced by \"" +
					           b.to + "\"" +
					           (after < a.size() ? ":" + a.substr(after) : "");
				} else {
					pg.errors.push_back(pg.name + ":" + std::to_string(k + 1) +
					                    ": unknown docs-test annotation (skip, "
					                    "run-only or replace)");
				}
				b.reason.erase(0, b.reason.find_first_not_of(' '));
			}
			break;
		}
		size_t j = i + 1;
		for (; j < L.size() && L[j].rfind("```", 0) != 0; j++)
			b.lines.push_back(L[j]);
		for (size_t k = 0; k < b.lines.size(); k++) {
			const std::string &ln = b.lines[k];
			if (ln.rfind("$ ", 0) == 0) {
				Command c;
				c.line = i + 2 + k;
				c.text = ln.substr(2);
				c.expected_first = i + 1 + k + 1;
				c.expected_end = c.expected_first;
				b.commands.push_back(c);
			} else if (!b.commands.empty()) {
				b.commands.back().expected.push_back(ln);
				b.commands.back().expected_end = i + 1 + k + 1;
			}
		}
		if (b.info == "sh" && b.commands.empty() && b.mode == Mode::skip)
			for (size_t k = 0; k < b.lines.size();
			     k++) // a skipped block may keep plain command lines
				if (!b.lines[k].empty() && b.lines[k][0] != '#')
					b.commands.push_back(
					    {i + 2 + k, b.lines[k], {}, 0, 0, "", false});
		if (b.info == "sh" && b.commands.empty())
			pg.errors.push_back(pg.name + ":" + std::to_string(b.line) +
			                    ": a ```sh block is an example: start each command "
			                    "with `$ ` (a synopsis is ```text)");
		if (!b.commands.empty() && b.info != "sh")
			pg.errors.push_back(
			    pg.name + ":" + std::to_string(b.line) +
			    ": an example (lines starting `$ `) must be a ```sh block");
		pg.blocks.push_back(std::move(b));
		i = j;
	}
}

// Cases shown in the pages load.
void check_cases(Page &pg)
{
	for (const auto &b : pg.blocks) {
		if (b.info != "json")
			continue;
		std::string text;
		for (const auto &l : b.lines)
			text += l + "\n";
		if (text.find("\"untorn-case/1\"") == std::string::npos)
			continue;
		try {
			untorn::parse_case(text, pg.name + ":" + std::to_string(b.line));
		} catch (const std::exception &e) {
			pg.errors.push_back(std::string("a case in the page does not load: ") +
			                    e.what());
		}
	}
}

std::string shell_quote(const std::string &s)
{
	std::string q = "'";
	for (char c : s)
		q += c == '\'' ? std::string("'\\''") : std::string(1, c);
	return q + "'";
}

// Runs the page's commands in one bash, each one's output into a file of its own.
bool run_page(Page &pg, const fs::path &root, const fs::path &bin, const fs::path &tmp)
{
	std::ostringstream sh;
	sh << "cd " << shell_quote(root.string()) << " || exit 99\n"
	   << "export PATH=" << shell_quote(bin.string()) << ":\"$PATH\" LC_ALL=C TZ=UTC\n"
	   << "__s=0\n";
	size_t n = 0;
	for (auto &b : pg.blocks) {
		if (b.mode == Mode::skip)
			continue;
		for (auto &c : b.commands) {
			std::string cmd = c.text;
			replace_all(cmd, b.from, b.to);
			replace_all(cmd, "/tmp/", tmp.string() + "/");
			sh << "( exit $__s ); { " << cmd << "\n} > "
			   << shell_quote((tmp / (".out" + std::to_string(n))).string())
			   << " 2>&1 < /dev/null; __s=$?\n";
			n++;
		}
	}
	const fs::path script = tmp / ".page.sh";
	std::ofstream(script) << sh.str();
	// a hung example must not hang the test: 300 s per page at most
	const std::string run = "timeout 300 bash " + shell_quote(script.string());
	int rc = std::system(run.c_str());
	if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) == 124 || WEXITSTATUS(rc) == 99) {
		pg.errors.push_back(
		    pg.name + ": the examples did not run to the end (timeout or no repository)");
		return false;
	}
	n = 0;
	for (auto &b : pg.blocks) {
		if (b.mode == Mode::skip)
			continue;
		for (auto &c : b.commands) {
			std::string out = slurp(tmp / (".out" + std::to_string(n)));
			replace_all(out, tmp.string() + "/", "/tmp/");
			replace_all(out, tmp.string(), "/tmp");
			c.actual = out;
			c.ran = true;
			n++;
		}
	}
	return true;
}

// Whether the actual lines match the expected ones (`...` = any lines).
bool matches(const std::vector<std::string> &exp, size_t i, const std::vector<std::string> &act,
             size_t j)
{
	if (i == exp.size())
		return j == act.size();
	if (exp[i] == "...") {
		for (size_t k = j; k <= act.size(); k++)
			if (matches(exp, i + 1, act, k))
				return true;
		return false;
	}
	return j < act.size() && exp[i] == act[j] && matches(exp, i + 1, act, j + 1);
}

bool compared(const Block &b, const Command &c)
{
	return b.mode == Mode::compare || c.text == "echo $?";
}

} // namespace

int main(int argc, char **argv)
{
	fs::path untorn, root;
	bool update = false;
	std::vector<std::string> pages;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "--untorn" && i + 1 < argc)
			untorn = argv[++i];
		else if (a == "--root" && i + 1 < argc)
			root = argv[++i];
		else if (a == "--update")
			update = true;
		else
			pages.push_back(a);
	}
	if (untorn.empty() || root.empty() || pages.empty()) {
		std::cerr << "usage: untorn_docs_examples --untorn PATH --root DIR [--update] "
		             "PAGE.md...\n";
		return 2;
	}
	untorn = fs::absolute(untorn);
	root = fs::absolute(root);
	char tmpl[] = "/tmp/untorn-docs-XXXXXX";
	if (!mkdtemp(tmpl)) {
		std::perror("mkdtemp");
		return 2;
	}
	const fs::path work = tmpl;
	const fs::path bin = work / "bin";
	fs::create_directories(bin);
	fs::create_symlink(untorn, bin / "untorn");

	const auto t0 = std::chrono::steady_clock::now();
	size_t failures = 0, ran = 0, cmp = 0, pages_with_examples = 0;
	std::vector<std::string> not_compared;
	for (size_t p = 0; p < pages.size(); p++) {
		Page pg;
		pg.name = pages[p];
		pg.file = root / pages[p];
		if (!fs::exists(pg.file)) {
			std::cerr << pg.name << ": no such page\n";
			failures++;
			continue;
		}
		pg.lines = split_lines(slurp(pg.file));
		parse(pg);
		check_cases(pg);
		const bool any = std::any_of(pg.blocks.begin(), pg.blocks.end(),
		                             [](const Block &b) { return !b.commands.empty(); });
		if (any) {
			pages_with_examples++;
			const fs::path tmp = work / ("page" + std::to_string(p));
			fs::create_directories(tmp);
			run_page(pg, root, bin, tmp);
		}
		bool changed = false;
		// back to front, so that rewriting an output keeps the earlier lines' numbers
		for (auto b = pg.blocks.rbegin(); b != pg.blocks.rend(); ++b) {
			if (b->commands.empty())
				continue;
			if (b->mode != Mode::compare)
				not_compared.push_back(
				    pg.name + ":" + std::to_string(b->line) + ": " +
				    (b->mode == Mode::skip ? "not run: "
				                           : "run, output not compared: ") +
				    b->reason);
			for (auto c = b->commands.rbegin(); c != b->commands.rend(); ++c) {
				if (!c->ran)
					continue;
				ran++;
				if (!compared(*b, *c))
					continue;
				cmp++;
				const auto act = split_lines(c->actual);
				if (matches(c->expected, 0, act, 0))
					continue;
				const bool wild = std::find(c->expected.begin(), c->expected.end(),
				                            "...") != c->expected.end();
				if (update && !wild) {
					pg.lines.erase(pg.lines.begin() + long(c->expected_first),
					               pg.lines.begin() + long(c->expected_end));
					pg.lines.insert(pg.lines.begin() + long(c->expected_first),
					                act.begin(), act.end());
					changed = true;
					std::cout << pg.name << ":" << c->line
					          << ": output updated: $ " << c->text << "\n";
					continue;
				}
				failures++;
				std::cout << "FAIL " << pg.name << ":" << c->line << ": $ "
				          << c->text << "\n";
				size_t k = 0;
				while (k < c->expected.size() && k < act.size() &&
				       c->expected[k] == act[k])
					k++;
				std::cout << "  the page shows (from its line "
				          << c->expected_first + 1 << "):\n";
				for (const auto &l : c->expected)
					std::cout << "    | " << l << "\n";
				std::cout << "  the tool printed:\n";
				for (const auto &l : act)
					std::cout << "    | " << l << "\n";
				if (!wild)
					std::cout << "  first difference at output line " << k + 1
					          << "\n";
			}
		}
		for (const auto &e : pg.errors) {
			std::cout << "FAIL " << e << "\n";
			failures++;
		}
		if (changed) {
			std::string text;
			for (const auto &l : pg.lines)
				text += l + "\n";
			untorn::write_file_atomically(pg.file, text);
		}
	}
	const double secs =
	    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	for (const auto &n : not_compared)
		std::cout << n << "\n";
	std::cout << pages.size() << " pages, " << pages_with_examples << " with examples: " << ran
	          << " commands run, " << cmp << " outputs compared, " << not_compared.size()
	          << " blocks not compared in full (listed above), " << failures << " failures; "
	          << int(secs + 0.5) << " s\n";
	std::error_code ec;
	fs::remove_all(work, ec);
	return failures ? 1 : 0;
}
