// Tests of `untorn check` (checker/src/check.cpp, cmd_check): the report and
// the case files depend only on the seed and the count, never on --jobs; the
// shards of a run add up to the whole run; the exit codes; and every case file
// written replays to exactly what it expects.
#include "commands.h"
#include "common/capture.h"
#include "common/files.h"
#include "untorn/checker.h"
#include "untorn/model.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <memory>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace untorn;
using namespace untorn_test;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kCount = 3000;

// cmd_check prints its summary on stdout and errors on stderr: keep both
// out of the test output, but keep them for messages.
Captured run_check(const CheckOptions &o)
{
	return capture([&] { return cmd_check(o); });
}

CheckOptions options(const TempDir &out, std::vector<std::string> variants = {})
{
	CheckOptions o;
	o.variants = std::move(variants);
	o.seed = 1;
	o.count = kCount;
	o.jobs = 1;
	o.out = out.str();
	return o;
}

// Every file check wrote but report.json: name -> content.
std::map<std::string, std::string> case_files(const fs::path &dir)
{
	std::map<std::string, std::string> m;
	for (const auto &e : fs::directory_iterator(dir))
		if (e.is_regular_file() && e.path().filename() != "report.json")
			m[e.path().filename().string()] = slurp(e.path());
	return m;
}

json report(const fs::path &dir) { return json::parse(slurp(dir / "report.json")); }

std::string names(const std::map<std::string, std::string> &m)
{
	std::string s;
	for (const auto &[k, v] : m)
		s += k + " ";
	return s;
}

} // namespace

TEST_CASE("check: the same seed gives byte-identical output, for any number of jobs", "[check]")
{
	TempDir a("det-a", false), b("det-b", false), c("det-c", false);
	CheckOptions oa = options(a), ob = options(b), oc = options(c);
	oc.jobs = 2;
	const Captured ra = run_check(oa), rb = run_check(ob), rc = run_check(oc);
	INFO(ra.out << ra.err);
	REQUIRE(ra.rc == EXIT_FOUND);
	CHECK(rb.rc == ra.rc);
	CHECK(rc.rc == ra.rc);

	const auto files_a = case_files(a.path);
	REQUIRE(!files_a.empty());
	const std::string rep_a = slurp(a.path / "report.json");
	REQUIRE(!rep_a.empty());
	CHECK(report(a.path).at("findings").size() == files_a.size());

	// same seed, same jobs
	CHECK(slurp(b.path / "report.json") == rep_a);
	CHECK(names(case_files(b.path)) == names(files_a));
	CHECK(case_files(b.path) == files_a);
	// jobs=2
	CHECK(slurp(c.path / "report.json") == rep_a);
	CHECK(names(case_files(c.path)) == names(files_a));
	CHECK(case_files(c.path) == files_a);
}

// The scale-out contract: N shards of one stream, merged with `untorn merge`,
// give byte for byte the report and the cases of the single run.  (A shard
// alone may minimize a different representative of a finding than the
// single run -- the lowest layout of its slice -- so the shards' folders are
// merged, not simply unioned: merge keeps the lowest layout per raw finding,
// which is exactly the single run's choice.)
TEST_CASE("check: the shards, merged, give the single run's report", "[check]")
{
	TempDir whole("shard-whole", false);
	const Captured rw = run_check(options(whole));
	INFO(rw.out << rw.err);
	REQUIRE(rw.rc == EXIT_FOUND);
	REQUIRE(!case_files(whole.path).empty());

	std::vector<std::unique_ptr<TempDir>> shards;
	uint64_t layouts = 0;
	for (const char *shard : {"1/3", "2/3", "3/3"}) {
		INFO("shard " << shard);
		shards.push_back(
		    std::make_unique<TempDir>(std::string("shard-") + shard[0], false));
		CheckOptions o = options(*shards.back());
		o.shard = shard;
		const Captured r = run_check(o);
		INFO(r.out << r.err);
		CHECK((r.rc == EXIT_FOUND || r.rc == EXIT_CLEAN));
		const json rep = report(shards.back()->path);
		CHECK(rep.at("shard") == shard);
		layouts += rep.at("layouts").get<uint64_t>();
	}
	CHECK(layouts == report(whole.path).at("layouts").get<uint64_t>());

	TempDir merged("shard-merged", false);
	MergeOptions m;
	for (const auto &d : shards)
		m.dirs.push_back(d->str());
	m.out = merged.str();
	std::ostringstream out, err;
	auto *cout_buf = std::cout.rdbuf(out.rdbuf());
	auto *cerr_buf = std::cerr.rdbuf(err.rdbuf());
	const int rc = cmd_merge(m);
	std::cout.rdbuf(cout_buf);
	std::cerr.rdbuf(cerr_buf);
	INFO(out.str() << err.str());
	CHECK(rc == EXIT_FOUND);
	CHECK(slurp(merged.path / "report.json") == slurp(whole.path / "report.json"));
	CHECK(case_files(merged.path) == case_files(whole.path));
}

TEST_CASE("check: exit codes", "[check]")
{
	TempDir found("exit-v616", false);
	const Captured r16 = run_check(options(found, {"v6.16"}));
	{
		INFO(r16.out << r16.err);
		REQUIRE(r16.rc == EXIT_FOUND);
		const json rep = report(found.path);
		CHECK(rep.at("new_findings").get<uint64_t>() > 0);
		CHECK(!rep.at("findings").empty());
	}

	SECTION("v6.18 is clean over the same layouts")
	{
		TempDir t("exit-v618", false);
		const Captured r = run_check(options(t, {"v6.18"}));
		INFO(r.out << r.err);
		CHECK(r.rc == EXIT_CLEAN);
		const json rep = report(t.path);
		CHECK(rep.at("findings").empty());
		CHECK(rep.at("new_findings") == 0);
		CHECK(case_files(t.path).empty());
	}

	SECTION("with its own cases as --known, v6.16 has nothing new")
	{
		// The cases alone (every file but report.json).
		TempDir t("exit-known-files", false);
		CheckOptions o = options(t, {"v6.16"});
		for (const auto &[file, content] : case_files(found.path))
			o.known.push_back((found.path / file).string());
		const Captured r = run_check(o);
		INFO(r.out << r.err);
		CHECK(r.rc == EXIT_CLEAN);
		const json rep = report(t.path);
		CHECK(rep.at("new_findings") == 0);
		for (const auto &f : rep.at("findings")) {
			CHECK(f.at("known") == true);
			// each names the --known file it matched, in report.json and in the text
			const std::string as = (found.path / f.at("file").get<std::string>()).string();
			CHECK(f.at("known_as") == as);
			CHECK(r.out.find(f.at("file").get<std::string>() + " = " + as + "\n") != std::string::npos);
		}
		CHECK(case_files(t.path) == case_files(found.path));
	}

	SECTION("with its own output folder as --known, v6.16 has nothing new")
	{
		// Regression: `--known DIR` with DIR a previous check's --out folder
		// once failed with exit 2, because collect_case_files() took
		// report.json for a case.
		TempDir t("exit-known-dir", false);
		CheckOptions o = options(t, {"v6.16"});
		o.known = {found.str()};
		const Captured r = run_check(o);
		INFO(r.out << r.err);
		CHECK(r.rc == EXIT_CLEAN);
		if (r.rc == EXIT_CLEAN)
			CHECK(report(t.path).at("new_findings") == 0);
	}

	SECTION("a bad --shard is bad usage")
	{
		// Regression: "1/2/3" and "1/2x" were once accepted as 1/2
		// (std::stoull stops at the first non-digit).
		for (const char *bad : {"0/2", "3/2", "1/0", "2", "a/b", "", "1/2/3", "1/2x"}) {
			INFO("--shard \"" << bad << "\"");
			TempDir t("exit-bad-shard", false);
			CheckOptions o = options(t, {"v6.16"});
			o.count = 10;
			o.shard = bad;
			const Captured r = run_check(o);
			CHECK(r.rc == EXIT_BAD_INPUT);
			CHECK(r.err.find("--shard") != std::string::npos);
			CHECK(!fs::exists(t.path / "report.json"));
		}
	}
}

TEST_CASE("check: with several variants, the counts of each", "[check]")
{
	TempDir all("per-variant-all");
	const Captured r = run_check(options(all, {"rfc-v1", "v6.16", "v6.18"}));
	INFO(r.out << r.err);
	REQUIRE(r.rc == EXIT_FOUND);
	const json rep = report(all.path);
	REQUIRE(rep.contains("per_variant"));
	REQUIRE(rep.at("per_variant").size() == 3);
	uint64_t layouts = 0, violations = 0;
	for (const char *v : {"rfc-v1", "v6.16", "v6.18"}) {
		INFO(v);
		// each variant's counts are those of a run of that variant alone
		TempDir one(std::string("per-variant-") + v);
		const Captured r1 = run_check(options(one, {v}));
		const json alone = report(one.path);
		const json &pv = rep.at("per_variant").at(v);
		CHECK(pv.at("layouts") == alone.at("layouts"));
		CHECK(pv.at("verdicts") == alone.at("verdicts"));
		CHECK(pv.at("paths") == alone.at("paths"));
		CHECK(!alone.contains("per_variant")); // one variant: the totals say it all
		layouts += pv.at("layouts").get<uint64_t>();
		violations += pv.at("verdicts").at("violation").get<uint64_t>();
		CHECK(r.out.find(std::string("\n  ") + v + ": " + std::to_string(pv.at("layouts").get<uint64_t>()) +
				 " layouts; paths hw ") != std::string::npos);
	}
	CHECK(layouts == rep.at("layouts").get<uint64_t>());
	CHECK(violations == rep.at("verdicts").at("violation").get<uint64_t>());
}

TEST_CASE("check: every case file it writes replays to what it expects", "[check]")
{
	for (bool minimize : {true, false}) {
		INFO((minimize ? "minimized" : "--no-minimize"));
		TempDir t(minimize ? "replay-min" : "replay-raw", false);
		CheckOptions o = options(t);
		o.no_minimize = !minimize;
		o.count = minimize ? kCount : 300; // raw findings of rfc-v1 and v6.16
		const Captured r = run_check(o);
		INFO(r.out << r.err);
		REQUIRE(r.rc == EXIT_FOUND);
		const json rep = report(t.path);
		const auto files = case_files(t.path);
		REQUIRE(!files.empty());
		REQUIRE(rep.at("findings").size() == files.size());

		Spec z3(Engine::z3);
		std::set<std::string> listed;
		for (const auto &f : rep.at("findings")) {
			const std::string file = f.at("file").get<std::string>();
			listed.insert(file);
			INFO("case " << file);
			Case c;
			REQUIRE_NOTHROW(c = load_case_file(t.path / file));
			CHECK(c.name + ".json" == file);
			REQUIRE(c.expect.verdict.has_value());
			REQUIRE(c.expect.result.has_value());
			REQUIRE(c.expect.path.has_value());
			CHECK(*c.expect.verdict != "clean");
			CHECK(!c.expect.invariants.empty());
			// the report says what the case says
			CHECK(f.at("variant") == std::string(variant_name(c.variant)));
			CHECK(f.at("verdict") == *c.expect.verdict);
			CHECK(f.at("invariants").get<std::vector<std::string>>() == c.expect.invariants);

			const Trace tr = run_atomic_write(c.state, c.write, c.variant);
			const Judgement j = z3.judge(tr);
			CHECK(j.inconclusive.empty());
			CHECK(j.broken_names() == c.expect.invariants);
			CHECK(std::string(verdict_name(j.verdict)) == *c.expect.verdict);
			CHECK(tr.result == *c.expect.result);
			CHECK(tr.path == *c.expect.path);
			// and a case round-trips through the writer byte for byte
			CHECK(case_to_json(c) == files.at(file));
		}
		std::set<std::string> on_disk;
		for (const auto &[file, content] : files)
			on_disk.insert(file);
		CHECK(listed == on_disk);
	}
}
