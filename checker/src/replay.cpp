// `untorn replay`: run cases and compare each with its expect block.
#include "commands.h"
#include "reports.h"
#include "text.h"
#include "untorn/checker.h"
#include "untorn/model.h"

#include <iostream>

namespace untorn
{

namespace
{

std::string result_name(int r)
{
	return r ? std::string(errno_name(r)) : std::string("ok");
}

// What differs between the case's expectations and what happened; "" if none.
std::string compare(const Case &c, const Trace &t, const Judgement &j)
{
	std::string diff;
	auto add = [&](const std::string &s) { diff += (diff.empty() ? "" : "; ") + s; };
	if (c.expect.result && *c.expect.result != t.result)
		add("result " + result_name(t.result) + ", expected " +
		    result_name(*c.expect.result));
	if (c.expect.path && *c.expect.path != t.path)
		add("path " + std::string(path_name(t.path)) + ", expected " +
		    std::string(path_name(*c.expect.path)));
	if (c.expect.verdict && *c.expect.verdict != verdict_name(j.verdict))
		add("verdict " + std::string(verdict_name(j.verdict)) + ", expected " +
		    *c.expect.verdict);
	if (!c.expect.invariants.empty() && c.expect.invariants != j.broken_names())
		add("invariants [" + join(j.broken_names()) + "], expected [" +
		    join(c.expect.invariants) + "]");
	return diff;
}

} // namespace

int cmd_replay(const ReplayOptions &o)
{
	std::vector<Case> cases;
	auto files = collect_case_files(o.paths);
	if (files.empty()) {
		std::cerr << "untorn: replay: " << join(o.paths)
		          << ": no case files (*.json) found; expected case files or folders "
		             "holding them\n";
		return EXIT_BAD_INPUT;
	}
	if (!load_cases_or_report(files, cases))
		return EXIT_BAD_INPUT;
	Spec spec(o.engine == "z3" ? Engine::z3 : Engine::compiled, o.limits());
	size_t passed = 0, failed = 0, inconclusive = 0;
	std::vector<ReportItem> items;
	for (const auto &c : cases) {
		Trace t = run_atomic_write(c.state, c.write, c.variant);
		Judgement j = spec.judge(t);
		std::string diff = compare(c, t, j);
		if (j.verdict == Verdict::inconclusive && c.expect.verdict) {
			diff = "inconclusive (" + join(j.inconclusive) + "): not a pass";
			inconclusive++;
		}
		(diff.empty() ? passed : failed)++;
		if (!o.sarif.empty() || !o.junit.empty())
			items.push_back({c, t, j, diff.empty(), diff});
		if (o.json)
			std::cout << outcome_json(c, t, j) << "\n";
		else
			std::cout << (diff.empty() ? "PASS " : "FAIL ") << c.file << ": "
			          << variant_name(c.variant) << " " << result_name(t.result) << " "
			          << path_name(t.path) << " " << verdict_name(j.verdict)
			          << (diff.empty() ? "" : " -- " + diff) << "\n";
	}
	if (!write_ci_reports(items, o.sarif, o.junit, "untorn replay"))
		return EXIT_BAD_INPUT;
	std::cout << passed << " passed, " << failed << " failed\n";
	if (failed && failed == inconclusive)
		return EXIT_INCONCLUSIVE;
	return failed ? EXIT_MISMATCH : EXIT_CLEAN;
}

} // namespace untorn
