// `untorn replay`: run cases and compare each with its expect block.
#include "commands.h"
#include "coverage.h"
#include "reports.h"
#include "text.h"
#include "untorn/checker.h"
#include "untorn/model.h"

#include <nlohmann/json.hpp>

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
	std::optional<Variant> as;
	if (!o.as.empty()) {
		as = variant_from_name(o.as);
		if (!as) {
			std::cerr << "untorn: replay: --as " << o.as << ": unknown variant; expected one of";
			for (Variant v : coverage_variants())
				std::cerr << " " << variant_name(v);
			std::cerr << "\n";
			return EXIT_BAD_INPUT;
		}
	}
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
	const bool coverage = o.coverage || o.markdown;
	Coverage cov(coverage_variants());
	size_t passed = 0, failed = 0, inconclusive = 0, skipped = 0;
	std::vector<ReportItem> items;
	for (const auto &c : cases) {
		// --as: only the base's cases, each under the patched variant
		if (as && c.variant != variant_base(*as)) {
			skipped++;
			continue;
		}
		const Variant v = as ? *as : c.variant;
		Trace t = run_atomic_write(c.state, c.write, v);
		Judgement j = spec.judge(t);
		if (coverage)
			cov.add(t, c.file);
		std::string diff = compare(c, t, j);
		if (j.verdict == Verdict::inconclusive && c.expect.verdict) {
			diff = "inconclusive (" + join(j.inconclusive) + "): not a pass";
			inconclusive++;
		}
		(diff.empty() ? passed : failed)++;
		if (!o.sarif.empty() || !o.junit.empty())
			items.push_back({c, t, j, diff.empty(), diff});
		const std::string line = std::string(diff.empty() ? "PASS " : "FAIL ") + c.file + ": " +
		                         (as ? "under " : "") + std::string(variant_name(v)) + " " +
		                         result_name(t.result) + " " + std::string(path_name(t.path)) +
		                         " " + std::string(verdict_name(j.verdict)) +
		                         (diff.empty() ? "" : " -- " + diff);
		if (o.markdown) {
			if (!diff.empty())
				std::cerr << line << "\n";
		} else if (o.json) {
			std::cout << outcome_json(c, t, j) << "\n";
		} else {
			std::cout << line << "\n";
		}
	}
	if (!write_ci_reports(items, o.sarif, o.junit, "untorn replay"))
		return EXIT_BAD_INPUT;
	if (o.markdown) {
		std::cout << coverage_markdown(cov.table());
	} else {
		if (coverage && o.json)
			std::cout << nlohmann::json{{"coverage", coverage_json(cov.table())}}.dump() << "\n";
		else if (coverage)
			std::cout << coverage_text(cov.table(), std::to_string(passed + failed) + " cases");
		std::cout << passed << " passed, " << failed << " failed";
		if (as)
			std::cout << ", " << skipped << " skipped (not " << variant_name(variant_base(*as))
			          << " cases)";
		std::cout << "\n";
	}
	if (failed && failed == inconclusive)
		return EXIT_INCONCLUSIVE;
	return failed ? EXIT_MISMATCH : EXIT_CLEAN;
}

} // namespace untorn
