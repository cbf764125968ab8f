// Tests of the CI report formats (checker/src/reports.cpp): the SARIF 2.1.0
// report of `untorn replay` and `untorn check` is well formed and carries
// what code scanning needs -- one rule per invariant with the catalogue's
// names as ids, every result's ruleId with a rule, a location (the variant's
// source file and the line of the deciding branch, which must be a BRANCH()
// in that file), a stable fingerprint and the trace as a code flow -- and the
// JUnit report is well-formed XML, escapes everything, and counts right.
#include "commands.h"
#include "common/files.h"
#include "minimize.h"
#include "reports.h"
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

const fs::path kSource = UNTORN_SOURCE_DIR;

// Line `n` (1-based) of a source file, cached.
std::string source_line(const std::string &uri, int n)
{
	static std::map<std::string, std::vector<std::string>> cache;
	auto it = cache.find(uri);
	if (it == cache.end()) {
		std::vector<std::string> lines;
		std::ifstream in(kSource / uri);
		for (std::string l; std::getline(in, l);)
			lines.push_back(l);
		it = cache.emplace(uri, std::move(lines)).first;
	}
	if (n < 1 || size_t(n) > it->second.size())
		return "";
	return it->second[size_t(n - 1)];
}

// Runs a command with stdout and stderr captured.
template <class F> int quietly(F f, std::string *out = nullptr)
{
	std::ostringstream o, e;
	auto *ob = std::cout.rdbuf(o.rdbuf());
	auto *eb = std::cerr.rdbuf(e.rdbuf());
	int rc;
	try {
		rc = f();
	} catch (...) {
		std::cout.rdbuf(ob);
		std::cerr.rdbuf(eb);
		throw;
	}
	std::cout.rdbuf(ob);
	std::cerr.rdbuf(eb);
	if (out)
		*out = o.str() + e.str();
	return rc;
}

ReportItem item_for(const Case &c, Spec &spec)
{
	Trace t = run_atomic_write(c.state, c.write, c.variant);
	Judgement j = spec.judge(t);
	return {c, t, j, true, ""};
}

Case load(const std::string &rel)
{
	return load_case_file(kSource / rel);
}

// Structural validation of a SARIF 2.1.0 report as untorn writes it; returns
// the results for further checks.
json validate_sarif(const std::string &text)
{
	json d = json::parse(text);
	REQUIRE(d.contains("$schema"));
	REQUIRE(d["$schema"].is_string());
	REQUIRE(d["version"] == "2.1.0");
	REQUIRE(d["runs"].is_array());
	REQUIRE(d["runs"].size() == 1);
	const json &run = d["runs"][0];
	const json &driver = run["tool"]["driver"];
	REQUIRE(driver["name"] == "untorn");
	REQUIRE(driver["informationUri"].is_string());
	REQUIRE(driver["informationUri"].get<std::string>().find(':') != std::string::npos);

	std::set<std::string> catalogue;
	for (const auto &i : invariant_catalogue())
		catalogue.insert(i.name);
	const json &rules = driver["rules"];
	REQUIRE(rules.is_array());
	REQUIRE(rules.size() == invariant_catalogue().size());
	std::map<std::string, size_t> rule_index;
	for (size_t i = 0; i < rules.size(); i++) {
		const json &r = rules[i];
		std::string id = r["id"];
		INFO("rule " << id);
		CHECK(catalogue.count(id) == 1);
		CHECK(rule_index.count(id) == 0);
		rule_index[id] = i;
		CHECK(r["shortDescription"]["text"].is_string());
		CHECK(r["fullDescription"]["text"].is_string());
		CHECK(r["help"]["text"].is_string());
		std::string cls = r["properties"]["class"];
		CHECK((cls == "violation" || cls == "divergence"));
		CHECK(r["defaultConfiguration"]["level"] ==
		      (cls == "violation" ? "error" : "warning"));
	}
	// the catalogue's order and names
	for (size_t i = 0; i < invariant_catalogue().size(); i++)
		CHECK(rules[i]["id"] == invariant_catalogue()[i].name);

	const json &results = run["results"];
	REQUIRE(results.is_array());
	for (const auto &r : results) {
		std::string rule = r["ruleId"];
		INFO("result " << rule << ": " << r["message"]["text"].get<std::string>());
		REQUIRE(rule_index.count(rule) == 1);
		CHECK(r["ruleIndex"] == rule_index[rule]);
		std::string cls = rules[rule_index[rule]]["properties"]["class"];
		CHECK(r["level"] == (cls == "violation" ? "error" : "warning"));
		CHECK(!r["message"]["text"].get<std::string>().empty());
		REQUIRE(r["locations"].is_array());
		REQUIRE(!r["locations"].empty());
		const json &pl = r["locations"][0]["physicalLocation"];
		std::string uri = pl["artifactLocation"]["uri"];
		int line = pl["region"]["startLine"];
		CHECK(fs::exists(kSource / uri));
		CHECK(line >= 1);
		CHECK(source_line(uri, line).find("BRANCH(") != std::string::npos);
		REQUIRE(r["partialFingerprints"].is_object());
		std::string fp = r["partialFingerprints"]["untorn/v1"];
		CHECK(fp.size() == 16);
		CHECK(fp.find_first_not_of("0123456789abcdef") == std::string::npos);
		REQUIRE(r["codeFlows"].is_array());
		REQUIRE(!r["codeFlows"].empty());
		const json &locs = r["codeFlows"][0]["threadFlows"][0]["locations"];
		REQUIRE(locs.is_array());
		REQUIRE(!locs.empty());
		for (const auto &l : locs) {
			const json &p = l["location"]["physicalLocation"];
			std::string u = p["artifactLocation"]["uri"];
			int n = p["region"]["startLine"];
			INFO(u << ":" << n << " "
			       << l["location"]["message"]["text"].get<std::string>());
			CHECK(source_line(u, n).find("BRANCH(") != std::string::npos);
			CHECK(l["location"]["message"]["text"].get<std::string>().find(": if (") !=
			      std::string::npos);
		}
	}
	REQUIRE(run["invocations"].is_array());
	CHECK(run["invocations"][0]["executionSuccessful"].is_boolean());
	return results;
}

// A small XML 1.0 well-formedness check: balanced, properly nested elements,
// quoted attributes without '<' or a bare '&', only the predefined or
// numeric entities, no control characters.  Returns "" or what is wrong.
std::string xml_problem(const std::string &x)
{
	std::vector<std::string> stack;
	auto bad_text = [](std::string_view t) -> std::string {
		for (size_t i = 0; i < t.size(); i++) {
			unsigned char ch = static_cast<unsigned char>(t[i]);
			if (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r')
				return "control character";
			if (ch == '<')
				return "bare <";
			if (ch == '&') {
				size_t semi = t.find(';', i);
				if (semi == std::string::npos)
					return "bare &";
				std::string ent(t.substr(i + 1, semi - i - 1));
				if (ent != "amp" && ent != "lt" && ent != "gt" && ent != "quot" &&
				    ent != "apos" &&
				    !(ent.size() > 1 && ent[0] == '#' &&
				      ent.find_first_not_of("0123456789", 1) == std::string::npos))
					return "unknown entity &" + ent + ";";
			}
		}
		return "";
	};
	size_t i = 0;
	if (x.rfind("<?xml", 0) == 0)
		i = x.find("?>") + 2;
	bool root_seen = false;
	while (i < x.size()) {
		size_t lt = x.find('<', i);
		std::string text =
		    x.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
		if (auto p = bad_text(text); !p.empty())
			return p + " in text";
		if (stack.empty() && text.find_first_not_of(" \t\r\n") != std::string::npos)
			return "text outside the root element";
		if (lt == std::string::npos)
			break;
		size_t gt = lt + 1;
		char quote = 0;
		for (; gt < x.size(); gt++) {
			if (quote) {
				if (x[gt] == quote)
					quote = 0;
				else if (x[gt] == '<')
					return "< in an attribute value";
			} else if (x[gt] == '"' || x[gt] == '\'')
				quote = x[gt];
			else if (x[gt] == '>')
				break;
		}
		if (gt >= x.size())
			return "unterminated tag";
		std::string tag = x.substr(lt + 1, gt - lt - 1);
		if (tag.empty())
			return "empty tag";
		if (tag[0] == '/') {
			if (stack.empty() || stack.back() != tag.substr(1))
				return "mismatched </" + tag.substr(1) + ">";
			stack.pop_back();
		} else {
			bool self = tag.back() == '/';
			std::string body = self ? tag.substr(0, tag.size() - 1) : tag;
			size_t sp = body.find_first_of(" \t\n");
			std::string name = body.substr(0, sp);
			if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0])))
				return "bad element name \"" + name + "\"";
			// attributes: name="value" pairs
			std::string rest = sp == std::string::npos ? "" : body.substr(sp);
			size_t k = 0;
			std::set<std::string> seen;
			while (true) {
				k = rest.find_first_not_of(" \t\n", k);
				if (k == std::string::npos)
					break;
				size_t eq = rest.find('=', k);
				if (eq == std::string::npos || eq + 1 >= rest.size() ||
				    rest[eq + 1] != '"')
					return "attribute without a quoted value in <" + name + ">";
				std::string an = rest.substr(k, eq - k);
				if (!seen.insert(an).second)
					return "duplicate attribute " + an;
				size_t close = rest.find('"', eq + 2);
				if (close == std::string::npos)
					return "unterminated attribute value";
				if (auto p = bad_text(rest.substr(eq + 2, close - eq - 2));
				    !p.empty())
					return p + " in attribute " + an;
				k = close + 1;
			}
			if (stack.empty() && root_seen)
				return "a second root element";
			root_seen = true;
			if (!self)
				stack.push_back(name);
		}
		i = gt + 1;
	}
	if (!stack.empty())
		return "unclosed <" + stack.back() + ">";
	if (!root_seen)
		return "no root element";
	return "";
}

size_t count_of(const std::string &s, const std::string &what)
{
	size_t n = 0;
	for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1))
		n++;
	return n;
}

} // namespace

TEST_CASE("replay --sarif --junit over the corpus: well formed, every field code scanning needs",
          "[reports]")
{
	TempDir dir("reports");
	ReplayOptions o;
	o.paths = {(kSource / "corpus").string()};
	o.engine = "compiled";
	o.sarif = (dir.path / "r.sarif").string();
	o.junit = (dir.path / "r.xml").string();
	std::string out;
	int rc = quietly([&] { return cmd_replay(o); }, &out);
	INFO(out);
	REQUIRE(rc == EXIT_CLEAN);
	json results = validate_sarif(slurp(o.sarif));

	// one result per (case, broken invariant)
	size_t expected_results = 0;
	std::set<std::string> finding_cases;
	Spec spec(Engine::compiled);
	for (const auto &f : collect_case_files({o.paths[0]})) {
		Case c = load_case_file(f);
		Judgement j = spec.judge(run_atomic_write(c.state, c.write, c.variant));
		expected_results += j.findings.size();
		if (!j.findings.empty())
			finding_cases.insert(c.name);
		if (!c.expect.invariants.empty())
			CHECK(c.expect.invariants == j.broken_names());
	}
	CHECK(results.size() == expected_results);
	CHECK(expected_results > 0);
	std::set<std::string> with_results;
	for (const auto &r : results) {
		with_results.insert(r["properties"]["case"].get<std::string>());
		CHECK(r["baselineState"] ==
		      "unchanged"); // every replayed case matched its expect block
	}
	CHECK(with_results == finding_cases);
	json d = json::parse(slurp(o.sarif));
	CHECK(d["runs"][0]["invocations"][0]["executionSuccessful"] == true);

	std::string xml = slurp(o.junit);
	CHECK(xml_problem(xml) == "");
	size_t ncases = collect_case_files({o.paths[0]}).size();
	CHECK(count_of(xml, "<testcase ") == ncases);
	CHECK(count_of(xml, "<failure ") == 0);
	CHECK(xml.find("tests=\"" + std::to_string(ncases) + "\" failures=\"0\"") !=
	      std::string::npos);
}

TEST_CASE("SARIF location: the deciding branch in the variant's own source file", "[reports]")
{
	Spec spec(Engine::compiled);
	SECTION("v6.16 software path: xfs_atomic_write_cow_iomap_begin in v6_16.cpp")
	{
		ReportItem it = item_for(
		    load("corpus/findings/v6.16/v6.16-hole-runs-to-next-cow-extent-written.json"),
		    spec);
		REQUIRE(!it.j.findings.empty());
		json results = validate_sarif(sarif_report({it}, "untorn replay"));
		REQUIRE(results.size() == it.j.findings.size());
		for (const auto &r : results) {
			const json &pl = r["locations"][0]["physicalLocation"];
			CHECK(pl["artifactLocation"]["uri"] == "impl/variants/v6_16.cpp");
			std::string src =
			    source_line("impl/variants/v6_16.cpp", pl["region"]["startLine"]);
			CHECK(src.find("cmap.br_state != XFS_EXT_NORM") != std::string::npos);
			CHECK(r["message"]["text"].get<std::string>().find("v6.16") !=
			      std::string::npos);
			CHECK(r["message"]["text"].get<std::string>().find("via the sw path") !=
			      std::string::npos);
		}
	}
	SECTION("rfc-v1: rfc_v1.cpp")
	{
		ReportItem it = item_for(
		    load("corpus/findings/rfc-v1/rfc-v1-span-checked-before-cow-trim-einval.json"),
		    spec);
		json results = validate_sarif(sarif_report({it}, "untorn replay"));
		REQUIRE(!results.empty());
		for (const auto &r : results)
			CHECK(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] ==
			      "impl/variants/rfc_v1.cpp");
	}
	SECTION("v6.18 runs v6.16's xfs_direct_write_iomap_begin: located in v6_16.cpp")
	{
		ReportItem it = item_for(load("corpus/fstests/v6.18-mapped-aligned-hw.json"), spec);
		it.j.findings.push_back(
		    {"hw_path_when_possible", InvClass::liveness, Witness::any()});
		it.j.verdict = Verdict::divergence;
		json results = validate_sarif(sarif_report({it}, "untorn replay"));
		REQUIRE(results.size() == 1);
		CHECK(results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] ==
		      "impl/variants/v6_16.cpp");
		CHECK(results[0]["level"] == "warning");
	}
	SECTION("rejected before any mapping: the file-level branch, in xfs_kernel.cpp")
	{
		ReportItem it = item_for(load("corpus/fstests/v6.16-reject-offset-1.json"), spec);
		REQUIRE(it.trace.calls.empty());
		it.j.findings.push_back({"admission", InvClass::liveness, Witness::any()});
		json results = validate_sarif(sarif_report({it}, "untorn replay"));
		REQUIRE(results.size() == 1);
		const json &pl = results[0]["locations"][0]["physicalLocation"];
		CHECK(pl["artifactLocation"]["uri"] == "impl/src/xfs_kernel.cpp");
		CHECK(source_line("impl/src/xfs_kernel.cpp", pl["region"]["startLine"])
		          .find("IS_ALIGNED(w.offset, w.length)") != std::string::npos);
		// the code flow is the file-level decisions
		const json &locs = results[0]["codeFlows"][0]["threadFlows"][0]["locations"];
		CHECK(locs.size() == it.trace.file_branches.size());
	}
}

TEST_CASE("SARIF fingerprints: stable, name-blind, and tell variants and invariants apart",
          "[reports]")
{
	Spec spec(Engine::compiled);
	Case c = load("corpus/findings/v6.16/v6.16-cow-delalloc-handed-to-dio-eio.json");
	auto fps = [&](const Case &x) {
		std::vector<std::string> v;
		for (const auto &r :
		     validate_sarif(sarif_report({item_for(x, spec)}, "untorn check")))
			v.push_back(r["partialFingerprints"]["untorn/v1"]);
		return v;
	};
	auto a = fps(c);
	REQUIRE(a.size() >= 2);
	CHECK(a == fps(c));
	CHECK(std::set<std::string>(a.begin(), a.end()).size() == a.size()); // one per invariant
	Case renamed = c;
	renamed.name = "something-else";
	renamed.file = "elsewhere.json";
	renamed.note = "a different note";
	CHECK(fps(renamed) == a);
	Case moved = c;
	moved.write.offset += moved.state.geo.block_size * 64; // a different finding (or none)
	auto b = fps(moved);
	for (const auto &fp : b)
		CHECK(std::find(a.begin(), a.end(), fp) == a.end());
}

TEST_CASE("SARIF: no result for a replayed case that passed clean; mismatches are notifications",
          "[reports]")
{
	Spec spec(Engine::compiled);
	ReportItem clean = item_for(load("corpus/fstests/v6.16-mapped-aligned-hw.json"), spec);
	REQUIRE(clean.j.findings.empty());
	json d = json::parse(sarif_report({clean}, "untorn replay"));
	CHECK(d["runs"][0]["results"].empty());
	CHECK(d["runs"][0]["invocations"][0]["executionSuccessful"] == true);

	ReportItem failed = clean;
	failed.passed = false;
	failed.message = "path hw, expected sw";
	json results = validate_sarif(sarif_report({clean, failed}, "untorn replay"));
	CHECK(results.empty());
	json d2 = json::parse(sarif_report({clean, failed}, "untorn replay"));
	const json &inv = d2["runs"][0]["invocations"][0];
	CHECK(inv["executionSuccessful"] == false);
	REQUIRE(inv["toolExecutionNotifications"].size() == 1);
	CHECK(inv["toolExecutionNotifications"][0]["message"]["text"].get<std::string>().find(
	          "path hw, expected sw") != std::string::npos);

	// a new finding (check: passed = false) is "new", a known one "unchanged"
	ReportItem finding =
	    item_for(load("corpus/findings/v6.16/v6.16-cow-delalloc-handed-to-dio-eio.json"), spec);
	finding.passed = false;
	for (const auto &r : validate_sarif(sarif_report({finding}, "untorn check")))
		CHECK(r["baselineState"] == "new");
}

TEST_CASE("JUnit: well formed, escaped, one test case per case, failures counted", "[reports]")
{
	Spec spec(Engine::compiled);
	ReportItem a = item_for(load("corpus/fstests/v6.16-mapped-aligned-hw.json"), spec);
	ReportItem b =
	    item_for(load("corpus/findings/v6.16/v6.16-cow-delalloc-handed-to-dio-eio.json"), spec);
	b.passed = false;
	b.message = "new finding <&> \"quoted\" 'apos'\x01 and a\nnewline";
	b.c.name = "we<ird> & \"name\" 'x'";
	b.c.file = "dir/with <angle>&amp.json";
	std::string x = junit_report({a, b}, "untorn check <suite> & \"more\"");
	INFO(x);
	CHECK(xml_problem(x) == "");
	CHECK(count_of(x, "<testcase ") == 2);
	CHECK(count_of(x, "<failure ") == 1);
	CHECK(count_of(x, "<system-out>") == 2);
	CHECK(x.find("tests=\"2\" failures=\"1\"") != std::string::npos);
	CHECK(x.find("classname=\"v6.16\"") != std::string::npos);
	CHECK(x.find("name=\"we&lt;ird&gt; &amp; &quot;name&quot; &apos;x&apos;\"") !=
	      std::string::npos);
	CHECK(x.find("untorn check &lt;suite&gt; &amp; &quot;more&quot;") != std::string::npos);
	CHECK(x.find('\x01') == std::string::npos);
	CHECK(x.find("verdict violation") != std::string::npos);
	CHECK(xml_problem(junit_report({}, "empty")) == "");

	// the checker itself catches what it must
	CHECK(xml_problem("<a><b></a></b>") != "");
	CHECK(xml_problem("<a x=\"1 < 2\"/>") != "");
	CHECK(xml_problem("<a>&nbsp;</a>") != "");
	CHECK(xml_problem("<a>fish & chips</a>") != "");
}

TEST_CASE("check --sarif --junit: new findings fail, the SARIF is valid", "[reports]")
{
	TempDir dir("reports");
	CheckOptions o;
	o.variants = {"v6.16"};
	o.seed = 1;
	o.count = 5000;
	o.jobs = 1;
	o.z3_every = 0;
	o.out = (dir.path / "out").string();
	o.sarif = (dir.path / "c.sarif").string();
	o.junit = (dir.path / "c.xml").string();
	std::string out;
	int rc = quietly([&] { return cmd_check(o); }, &out);
	INFO(out);
	REQUIRE((rc == EXIT_CLEAN || rc == EXIT_FOUND));
	json results = validate_sarif(slurp(o.sarif));
	std::string xml = slurp(o.junit);
	CHECK(xml_problem(xml) == "");
	if (rc == EXIT_FOUND) {
		CHECK(!results.empty());
		CHECK(count_of(xml, "<failure ") >= 1);
		for (const auto &r : results)
			CHECK(r["baselineState"] == "new"); // no --known: every finding is new
	}

	// With --known corpus, the same findings are known ("unchanged"), and
	// their fingerprints are those of the corpus cases replayed: code
	// scanning sees one alert per finding, whichever command reported it.
	o.known = {(kSource / "corpus").string()};
	o.out = (dir.path / "out-known").string();
	o.sarif = (dir.path / "k.sarif").string();
	o.junit.clear();
	rc = quietly([&] { return cmd_check(o); }, &out);
	INFO(out);
	REQUIRE(rc == EXIT_CLEAN);
	json known = validate_sarif(slurp(o.sarif));
	CHECK(known.size() == results.size());
	ReplayOptions ro;
	ro.paths = {(kSource / "corpus" / "findings" / "v6.16").string()};
	ro.engine = "compiled";
	ro.sarif = (dir.path / "r.sarif").string();
	REQUIRE(quietly([&] { return cmd_replay(ro); }) == EXIT_CLEAN);
	std::set<std::string> replayed;
	for (const auto &r : validate_sarif(slurp(ro.sarif)))
		replayed.insert(r["partialFingerprints"]["untorn/v1"].get<std::string>());
	for (const auto &r : known) {
		CHECK(r["baselineState"] == "unchanged");
		CHECK(replayed.count(r["partialFingerprints"]["untorn/v1"].get<std::string>()) ==
		      1);
	}
	CHECK(json::parse(slurp(o.sarif))["runs"][0]["invocations"][0]["executionSuccessful"] ==
	      true);
}

TEST_CASE("docs: the CI workflow in docs/ci.md is docs/untorn-ci.yml and runs what it should",
          "[reports]")
{
	std::string yml = slurp(kSource / "docs" / "untorn-ci.yml");
	std::string md = slurp(kSource / "docs" / "ci.md");
	REQUIRE(!yml.empty());
	CHECK(md.find("```yaml\n" + yml + "```") != std::string::npos);
	CHECK(yml.find("untorn check --known corpus --sarif untorn.sarif") != std::string::npos);
	CHECK(yml.find("untorn replay corpus --junit untorn-junit.xml") != std::string::npos);
	CHECK(yml.find("uses: github/codeql-action/upload-sarif@") != std::string::npos);
	CHECK(yml.find("sarif_file: untorn.sarif") != std::string::npos);
	CHECK(yml.find("security-events: write") != std::string::npos);
	// the Debian packages scripts/setup.sh installs
	for (const char *pkg : {"cmake", "g++", "pkg-config", "libz3-dev", "z3",
	                        "nlohmann-json3-dev", "catch2", "libcli11-dev"}) {
		INFO(pkg);
		CHECK(yml.find(std::string(" ") + pkg + " ") != std::string::npos);
	}
}

TEST_CASE("reports: a witness as JSON says its crash state field by field", "[reports]")
{
	CHECK(witness_json(Witness{}).is_null());
	CHECK(witness_json(Witness::any()).dump() == R"({"kind":"any_crash"})");
	CHECK(witness_json(Witness::of({1, {{0, true}, {2, false}}, 2})).dump() ==
	      R"({"kind":"crash","committed":1,"of":2,"atomic_bios":[{"bio":0,"persisted":true},)"
	      R"({"bio":2,"persisted":false}]})");
}
