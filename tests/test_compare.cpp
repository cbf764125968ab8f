// Tests of `untorn check --compare BASE --variant PATCHED` (checker/src/compare.cpp)
// and of `untorn explain --pair A B`: the same layouts as plain check, no difference
// between a variant and itself, the what-if differences found, minimized and
// written as case pairs that replay, bad usage, determinism.
#include "commands.h"
#include "compare.h"
#include "explain.h"
#include "generate.h"
#include "minimize.h"
#include "untorn/checker.h"
#include "untorn/model.h"

#include "common/capture.h"
#include "common/files.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace untorn;
using namespace untorn_test;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace
{

constexpr uint64_t kCount = 3000;


Captured run_check(const CheckOptions &o)
{
	return capture([&] { return cmd_check(o); });
}

CheckOptions compare_options(const TempDir &out, const std::string &base,
                             const std::string &patched)
{
	CheckOptions o;
	o.compare = base;
	o.variants = {patched};
	o.seed = 1;
	o.count = kCount;
	o.out = out.path.string();
	return o;
}

std::string slurp(const fs::path &p)
{
	std::ifstream f(p, std::ios::binary);
	std::ostringstream s;
	s << f.rdbuf();
	return s.str();
}

json report(const fs::path &dir)
{
	return json::parse(slurp(dir / "report.json"));
}

std::map<std::string, std::string> files_in(const fs::path &dir)
{
	std::map<std::string, std::string> m;
	for (const auto &e : fs::directory_iterator(dir))
		m[e.path().filename().string()] = slurp(e.path());
	return m;
}

// A written pair: loads, each case is its own variant's, the same layout,
// and each replays to what it expects.
std::pair<Case, Case> load_pair(const fs::path &dir, const json &files, const std::string &base,
                                const std::string &patched)
{
	Case a = load_case_file(dir / files.at(0).get<std::string>());
	Case b = load_case_file(dir / files.at(1).get<std::string>());
	CHECK(variant_name(a.variant) == base);
	CHECK(variant_name(b.variant) == patched);
	CHECK(a.state.data_fork == b.state.data_fork);
	CHECK(a.state.cow_fork == b.state.cow_fork);
	CHECK(a.state.refcount == b.state.refcount);
	CHECK(a.write.offset == b.write.offset);
	CHECK(a.write.length == b.write.length);
	Spec spec(Engine::compiled);
	for (const Case *c : {&a, &b}) {
		Trace t = run_atomic_write(c->state, c->write, c->variant);
		Judgement j = spec.judge(t);
		CHECK(c->expect.result == t.result);
		CHECK(c->expect.path == t.path);
		CHECK(c->expect.verdict == std::string(verdict_name(j.verdict)));
		CHECK(c->expect.invariants == j.broken_names());
	}
	return {a, b};
}

std::optional<Difference> difference_of(const Case &a, const Case &b)
{
	Spec spec(Engine::compiled);
	Trace ta = run_atomic_write(a.state, a.write, a.variant),
	      tb = run_atomic_write(b.state, b.write, b.variant);
	return first_difference(ta, spec.judge(ta), tb, spec.judge(tb));
}

} // namespace

TEST_CASE("check --compare: a variant compared with itself differs nowhere", "[compare]")
{
	for (Variant v : all_variants) {
		const std::string n(variant_name(v));
		INFO(n);
		TempDir t("self", false);
		const Captured r = run_check(compare_options(t, n, n));
		INFO(r.out << r.err);
		CHECK(r.rc == EXIT_CLEAN);
		const json rep = report(t.path);
		CHECK(rep.at("layouts") == kCount);
		CHECK(rep.at("layouts_differing") == 0);
		CHECK(rep.at("differences").empty());
		CHECK(rep.at("new_findings").empty());
		CHECK(rep.at("gone_findings").empty());
		CHECK(rep.at("runs").at(0).at("verdicts") == rep.at("runs").at(1).at("verdicts"));
		CHECK(files_in(t.path).size() == 1); // report.json alone
	}
}

TEST_CASE("check --compare runs the layouts plain check runs", "[compare]")
{
	// Same seed and count: the base's paths and verdicts are plain check's.
	TempDir plain("plain", false), cmp("cmp", false);
	CheckOptions o;
	o.variants = {"v6.16"};
	o.seed = 1;
	o.count = kCount;
	o.out = plain.path.string();
	o.no_minimize = true;
	const Captured rp = run_check(o);
	REQUIRE(rp.rc == EXIT_FOUND);
	const Captured rc = run_check(compare_options(cmp, "v6.16", "v6.18"));
	INFO(rc.out << rc.err);
	REQUIRE(rc.rc == EXIT_FOUND);
	const json p = report(plain.path), c = report(cmp.path);
	CHECK(c.at("runs").at(0).at("variant") == "v6.16");
	CHECK(c.at("runs").at(0).at("verdicts") == p.at("verdicts"));
	CHECK(c.at("runs").at(0).at("paths") == p.at("paths"));
}

TEST_CASE("check --compare rfc-v1 --variant rfc-v1+v6.16-alloc-check: the hardware path's "
          "one-block guard",
          "[compare]")
{
	// The what-if tests the write's length where the RFC tests the mapping
	// found: a write of several blocks whose first mapping is one block
	// long decides the other way.
	TempDir t("alloc-check", false);
	const Captured r = run_check(compare_options(t, "rfc-v1", "rfc-v1+v6.16-alloc-check"));
	INFO(r.out << r.err);
	REQUIRE(r.rc == EXIT_FOUND);
	const json rep = report(t.path);
	CHECK(rep.at("layouts_differing").get<uint64_t>() > 0);
	// the two runs take the same paths: only decisions (and, while the
	// specification asks the variant rather than its base, verdicts) differ
	CHECK(rep.at("runs").at(0).at("paths") == rep.at("runs").at(1).at("paths"));
	const json *guard = nullptr;
	for (const auto &d : rep.at("differences"))
		if (d.at("kind") == "decisions" && d.at("detail") == "xfs_direct_write_iomap_begin")
			guard = &d;
	REQUIRE(guard != nullptr);
	CHECK(guard->at("layouts").get<uint64_t>() > 0);
	CHECK(guard->at("first_layout").get<uint64_t>() < kCount);

	auto [a, b] = load_pair(t.path, guard->at("files"), "rfc-v1", "rfc-v1+v6.16-alloc-check");
	// still different the same way, minimized
	auto d = difference_of(a, b);
	REQUIRE(d);
	CHECK(d->key() == "decisions: xfs_direct_write_iomap_begin");
	CHECK(d->what == guard->at("what").get<std::string>());
	CHECK(d->what.find("need_alloc") != std::string::npos);
	const Case first = generate_layout(1, guard->at("first_layout").get<uint64_t>(), a.variant);
	CHECK(case_entries(a) <= case_entries(first));
	CHECK(a.state.data_fork.size() + a.state.cow_fork.size() <= 1);
	// the guard's two tests part ways: the write is longer than one block
	CHECK(a.write.length > a.state.geo.block_size);
	Trace ta = run_atomic_write(a.state, a.write, a.variant),
	      tb = run_atomic_write(b.state, b.write, b.variant);
	auto guard_taken = [](const Trace &tr) {
		for (const auto &c : tr.calls)
			for (const auto &br : c.branches)
				if (std::string(br.cond).find("need_alloc &&") != std::string::npos)
					return std::optional<bool>(br.taken);
		return std::optional<bool>();
	};
	CHECK(guard_taken(ta) == std::optional<bool>(false));
	CHECK(guard_taken(tb) == std::optional<bool>(true));

	SECTION("explain shows the pair side by side, the guard's lines marked")
	{
		Spec z3(Engine::z3);
		const std::string text =
		    explain::explain_pair(a, ta, z3.judge(ta), b, tb, z3.judge(tb));
		CHECK(text.find("first difference (decisions: xfs_direct_write_iomap_begin)") !=
		      std::string::npos);
		CHECK(text.find("\n-     xfs_direct_write_iomap_begin: if (need_alloc && "
		                "imap.br_blockcount > 1) -> "
		                "not taken") != std::string::npos);
		CHECK(text.find("\n+     xfs_direct_write_iomap_begin: if (need_alloc && end_fsb - "
		                "offset_fsb > 1) -> "
		                "taken") != std::string::npos);
		// the admission decisions are the same code, in two files
		CHECK(text.find("\n      xfs_file_write_iter: ") != std::string::npos);
		CHECK(text.find("\n-     xfs_file_write_iter: ") == std::string::npos);
	}
}

TEST_CASE("check --compare: the new findings of the patched variant", "[compare]")
{
	// v6.16 against the release that fixed it, the other way round: v6.16's
	// known bugs are findings v6.18 does not have on the same layouts.
	TempDir t("new-findings", false);
	const Captured r = run_check(compare_options(t, "v6.18", "v6.16"));
	INFO(r.out << r.err);
	REQUIRE(r.rc == EXIT_FOUND);
	const json rep = report(t.path);
	REQUIRE(!rep.at("new_findings").empty());
	CHECK(rep.at("gone_findings").empty());
	for (const auto &n : rep.at("new_findings")) {
		auto [a, b] = load_pair(t.path, n.at("files"), "v6.18", "v6.16");
		const auto invs = n.at("invariants").get<std::vector<std::string>>();
		for (const auto &inv : invs) {
			INFO(inv);
			CHECK(std::find(a.expect.invariants.begin(), a.expect.invariants.end(),
			                inv) == a.expect.invariants.end());
			CHECK(std::find(b.expect.invariants.begin(), b.expect.invariants.end(),
			                inv) != b.expect.invariants.end());
		}
	}
	// every pair written replays (the folder as `untorn replay` reads it)
	size_t cases = 0;
	for (const auto &f : collect_case_files({t.path.string()})) {
		cases++;
		Case c = load_case_file(f);
		CHECK(!c.note.empty());
	}
	CHECK(cases == 2 * (rep.at("differences").size() + rep.at("new_findings").size()));
}

TEST_CASE("check --compare: the same seed gives byte-identical output, for any number of jobs",
          "[compare]")
{
	TempDir a("jobs1", false), b("jobs2", false);
	CheckOptions o = compare_options(a, "v6.16", "v6.18");
	o.json = true;
	const Captured r1 = run_check(o);
	o.out = b.path.string();
	o.jobs = 2;
	const Captured r2 = run_check(o);
	REQUIRE(r1.rc == EXIT_FOUND);
	CHECK(r2.rc == r1.rc);
	CHECK(r1.out == r2.out);
	CHECK(files_in(a.path) == files_in(b.path));
}

TEST_CASE("check --compare: bad usage", "[compare]")
{
	TempDir t("bad", false);
	SECTION("a --compare name that is no variant")
	{
		const Captured r = run_check(compare_options(t, "v6.99", "v6.18"));
		CHECK(r.rc == EXIT_BAD_INPUT);
		CHECK(r.err.find("--compare: \"v6.99\" is not a variant") != std::string::npos);
		for (Variant v : all_variants)
			CHECK(r.err.find(std::string(variant_name(v))) != std::string::npos);
		CHECK(!fs::exists(t.path));
	}
	SECTION("a --variant name that is no variant")
	{
		const Captured r = run_check(compare_options(t, "v6.18", "nope"));
		CHECK(r.rc == EXIT_BAD_INPUT);
		CHECK(r.err.find("\"nope\" is not a variant") != std::string::npos);
	}
	SECTION("not exactly one --variant")
	{
		CheckOptions o = compare_options(t, "v6.16", "v6.18");
		o.variants.push_back("rfc-v1");
		CHECK(run_check(o).rc == EXIT_BAD_INPUT);
		o.variants.clear();
		const Captured r = run_check(o);
		CHECK(r.rc == EXIT_BAD_INPUT);
		CHECK(r.err.find("exactly one --variant") != std::string::npos);
	}
	SECTION("options it does not take")
	{
		CheckOptions o = compare_options(t, "v6.16", "v6.18");
		o.shard = "1/2";
		CHECK(run_check(o).rc == EXIT_BAD_INPUT);
		o = compare_options(t, "v6.16", "v6.18");
		o.known = {UNTORN_SOURCE_DIR "/corpus"};
		CHECK(run_check(o).rc == EXIT_BAD_INPUT);
		CHECK(!fs::exists(t.path));
	}
}

TEST_CASE("first_difference: the first aspect in which two runs differ", "[compare]")
{
	Case c = generate_layout(1, 20, variant_from_name("v6.16").value());
	Spec spec(Engine::compiled);
	Trace a = run_atomic_write(c.state, c.write, c.variant);
	Judgement ja = spec.judge(a);
	CHECK(!first_difference(a, ja, a, ja));
	Trace b = a;
	b.final_state.refcount.push_back({7, 1, 2});
	auto d = first_difference(a, ja, b, ja);
	REQUIRE(d);
	CHECK(d->kind == "refcount");
	b.path = a.path == Path::hw ? Path::sw : Path::hw;
	d = first_difference(a, ja, b, ja);
	REQUIRE(d);
	CHECK(d->kind == "path"); // before the refcounts
	b.result = a.result ? 0 : EIO;
	d = first_difference(a, ja, b, ja);
	REQUIRE(d);
	CHECK(d->kind == "result");
	CHECK(d->key().starts_with("result: "));
	// a decision's condition text and line are not compared, its outcome is
	Trace e = a;
	REQUIRE(!e.file_branches.empty());
	e.file_branches[0].cond = "some other spelling";
	e.file_branches[0].line += 100;
	CHECK(!first_difference(a, ja, e, ja));
	e.file_branches[0].taken = !e.file_branches[0].taken;
	d = first_difference(a, ja, e, ja);
	REQUIRE(d);
	CHECK(d->kind == "decisions");
	CHECK(d->detail == a.file_branches[0].func);
}

TEST_CASE("marked_lines: lines compared without their [file:line]", "[compare]")
{
	const std::string a = "  head\n    f: if (x) -> taken   [a.cpp:1]\n    g: if (y) -> taken  "
	                      " [a.cpp:2]\n  end\n";
	const std::string b = "  head\n    f: if (x) -> taken   [b.cpp:9]\n    g: if (z) -> taken  "
	                      " [b.cpp:10]\n  end\n";
	CHECK(explain::marked_lines(a, b) ==
	      "    head\n      f: if (x) -> taken   [a.cpp:1]\n"
	      "-     g: if (y) -> taken   [a.cpp:2]\n+     g: if (z) -> taken   [b.cpp:10]\n"
	      "    end\n");
	CHECK(explain::marked_lines(a, a).find("\n-") == std::string::npos);
}
