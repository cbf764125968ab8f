// CI report formats: SARIF 2.1.0 and JUnit XML, for `untorn check` and
// `untorn replay`, and write_ci_reports, which writes them.
//
// SARIF: one rule per invariant of the specification (ruleId = the invariant's
// name, stable across versions); one result per (case, broken invariant),
// located at the kernel branch that decided the outcome in the variant's
// source file, with the whole branch-by-branch trace as a code flow and a
// fingerprint from the variant, the invariant and the case's canonical
// content (so GitHub code scanning tracks a finding across runs and names).
// What SARIF has no rule for -- a replayed case that did not match its expect
// block without breaking anything, or an inconclusive solver answer -- goes
// into the run's invocation as a tool execution notification.
#include "reports.h"
#include "text.h"

#include "minimize.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

namespace untorn
{

namespace
{

using ojson = nlohmann::ordered_json;

// Paths relative to the repository root (the SARIF's %SRCROOT%).

// The source file that holds `func` as the variant runs it.  The variants
// record their branches with BRANCH() (impl/src/xfs_kernel.h): v6.18 takes
// everything but xfs_atomic_write_cow_iomap_begin from v6_16.cpp, and the
// shared machinery that records branches lives in xfs_kernel.cpp.
// tests/test_reports.cpp checks every (file, line) of the corpus's traces
// against the sources.
// The file that decided a branch: recorded by the impl itself (BRANCH's
// __FILE__); the variant's file for anything recorded without one.
std::string branch_file(const Branch &b, Variant v);

// The file that states the variant (the table of variants says which: a
// kernel version's file, or a patch file).
std::string variant_file(Variant v)
{
	return std::string(variant_source(v));
}

std::string branch_file(const Branch &b, Variant v)
{
	return b.file ? b.file : variant_file(v);
}

std::string branch_text(const Branch &b)
{
	return std::string(b.func ? b.func : "?") + ": if (" + (b.cond ? b.cond : "?") + ") -> " +
	       (b.taken ? "taken" : "not taken");
}

// The branch that decided the outcome: the last branch taken in the last
// ->iomap_begin call that took one; with no calls (the write was rejected
// before any mapping), the last file-level branch taken.  Falls back to the
// last branch recorded at all.
const Branch *deciding_branch(const Trace &t)
{
	for (auto c = t.calls.rbegin(); c != t.calls.rend(); ++c)
		for (auto b = c->branches.rbegin(); b != c->branches.rend(); ++b)
			if (b->taken)
				return &*b;
	for (auto b = t.file_branches.rbegin(); b != t.file_branches.rend(); ++b)
		if (b->taken)
			return &*b;
	for (auto c = t.calls.rbegin(); c != t.calls.rend(); ++c)
		if (!c->branches.empty())
			return &c->branches.back();
	if (!t.file_branches.empty())
		return &t.file_branches.back();
	return nullptr;
}

ojson physical_location(const std::string &uri, int line)
{
	return {{"artifactLocation", {{"uri", uri}, {"uriBaseId", "%SRCROOT%"}}},
	        {"region", {{"startLine", line > 0 ? line : 1}}}};
}

// FNV-1a, 64 bits, as 16 hex digits: stable across platforms and runs.
std::string fnv1a64(std::string_view s)
{
	char buf[17];
	std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a(s)));
	return buf;
}

std::string result_name(int r)
{
	return r ? std::string(errno_name(r)) : std::string("ok");
}

const InvariantInfo *catalogue_entry(const std::string &name)
{
	for (const auto &i : invariant_catalogue())
		if (name == i.name)
			return &i;
	return nullptr;
}

const char *class_name(InvClass c)
{
	return c == InvClass::safety ? "violation" : "divergence";
}

// Where the tool's home page is: set by the caller (UNTORN_INFORMATION_URI),
// else the repository GitHub Actions runs in, else a URN naming the tool.
std::string information_uri()
{
	if (const char *u = std::getenv("UNTORN_INFORMATION_URI"); u && *u)
		return u;
	const char *server = std::getenv("GITHUB_SERVER_URL");
	const char *repo = std::getenv("GITHUB_REPOSITORY");
	if (server && *server && repo && *repo)
		return std::string(server) + "/" + repo;
	return "urn:untorn";
}

// The trace as one thread flow: the file-level decisions (admission, path
// choice, fallback), then each ->iomap_begin call's decisions in order.
ojson code_flow(const Trace &t, const std::string &fallback_uri)
{
	ojson locs = ojson::array();
	int order = 0;
	auto add = [&](const Branch &b, const std::string &where) {
		ojson l;
		l["location"] = {
		    {"physicalLocation",
		     physical_location(branch_file(b, t.variant), b.line)},
		    {"message", {{"text", branch_text(b) + where}}}};
		l["executionOrder"] = ++order;
		locs.push_back(l);
	};
	for (const auto &b : t.file_branches)
		add(b, " [file level]");
	for (size_t i = 0; i < t.calls.size(); i++) {
		const auto &c = t.calls[i];
		std::string where =
		    " [call " + std::to_string(i + 1) + "/" + std::to_string(t.calls.size()) +
		    ": " + std::string(ops_name(c.ops)) + "->iomap_begin(pos " +
		    std::to_string(c.pos) + ", len " + std::to_string(c.length) + ")" +
		    (c.error ? " = -" + std::string(errno_name(c.error)) : std::string()) + "]";
		for (const auto &b : c.branches)
			add(b, where);
	}
	if (locs.empty()) {
		ojson l;
		l["location"] = {{"physicalLocation", physical_location(fallback_uri, 1)},
		                 {"message", {{"text", "no branch recorded"}}}};
		l["executionOrder"] = 1;
		locs.push_back(l);
	}
	return ojson::array({{{"threadFlows", ojson::array({{{"locations", locs}}})}}});
}

std::string case_label(const Case &c)
{
	return c.file.empty() ? c.name : c.name + " (" + c.file + ")";
}

// The verdict and outcome of one item, as people read it.
std::string summary(const ReportItem &it)
{
	const Trace &t = it.trace;
	std::string s = std::string(variant_name(it.c.variant)) + " " + result_name(t.result) +
	                " path " + std::string(path_name(t.path)) + " verdict " +
	                std::string(verdict_name(it.j.verdict));
	if (!it.j.findings.empty())
		s += " [" + join(it.j.broken_names()) + "]";
	if (!it.j.inconclusive.empty())
		s += " inconclusive [" + join(it.j.inconclusive) + "]";
	return s;
}

} // namespace

ojson witness_json(const Witness &w)
{
	if (w.empty())
		return nullptr;
	if (w.kind == Witness::Kind::no_crash)
		return ojson{{"kind", "no_crash"},
		             {"admitted", w.outcome.admitted},
		             {"result", w.outcome.result ? std::string(errno_name(w.outcome.result))
		                                         : std::string("ok")},
		             {"path", std::string(path_name(w.outcome.path))}};
	if (!w.crash_state())
		return ojson{{"kind", "any_crash"}};
	const CrashState &c = *w.crash_state();
	ojson bios = ojson::array();
	for (const auto &[b, persisted] : c.atomic)
		bios.push_back(ojson{{"bio", b}, {"persisted", persisted}});
	return ojson{
	    {"kind", "crash"}, {"committed", c.committed}, {"of", c.txns}, {"atomic_bios", bios}};
}

std::string sarif_report(const std::vector<ReportItem> &items, const std::string &tool_command)
{
	ojson rules = ojson::array();
	const auto &cat = invariant_catalogue();
	for (const auto &inv : cat) {
		const char *cls = class_name(inv.cls);
		ojson r;
		r["id"] = inv.name;
		r["name"] = inv.name;
		r["shortDescription"] = {{"text", std::string("forbids ") + inv.forbids}};
		r["fullDescription"] = {{"text", std::string(inv.name) + " (" + cls +
		                                     "): forbids " + inv.forbids +
		                                     ". Where it comes from: " + inv.origin + "."}};
		r["help"] = {
		    {"text",
		     std::string("Comes from ") + inv.origin +
		         ". Reproduce with `untorn run CASE.json`; draw it with `untorn explain "
		         "CASE.json`; build it on a scratch XFS with `untorn export CASE.json "
		         "--xfs-io`."}};
		r["defaultConfiguration"] = {
		    {"level", inv.cls == InvClass::safety ? "error" : "warning"}};
		r["properties"] = {{"class", cls},
		                   {"origin", inv.origin},
		                   {"tags", ojson::array({"xfs", "atomic-write", cls})}};
		rules.push_back(r);
	}

	ojson results = ojson::array();
	ojson notes = ojson::array();
	bool all_ok = true;
	for (const auto &it : items) {
		const Trace &t = it.trace;
		all_ok &= it.passed;
		if (!it.j.inconclusive.empty())
			notes.push_back(
			    {{"level", "warning"},
			     {"message",
			      {{"text", case_label(it.c) + ": the solver could not decide [" +
			                    join(it.j.inconclusive) + "]: not a pass"}}},
			     {"descriptor", {{"id", "inconclusive"}}}});
		if (it.j.findings.empty()) {
			if (!it.passed)
				notes.push_back(
				    {{"level", "error"},
				     {"message",
				      {{"text",
				        case_label(it.c) + ": " +
				            (it.message.empty() ? summary(it) : it.message)}}},
				     {"descriptor", {{"id", "expectation-mismatch"}}}});
			continue;
		}
		const Branch *dec = deciding_branch(t);
		std::string uri = dec ? branch_file(*dec, t.variant)
		                      : variant_file(t.variant);
		int line = dec ? dec->line : 1;
		std::string content = canonical_content(it.c);
		ojson flow = code_flow(t, variant_file(t.variant));
		for (const auto &f : it.j.findings) {
			const InvariantInfo *inv = catalogue_entry(f.invariant);
			size_t rule_index = 0;
			for (size_t i = 0; i < cat.size(); i++)
				if (f.invariant == cat[i].name)
					rule_index = i;
			std::string text = std::string(variant_name(it.c.variant)) + ": " +
			                   f.invariant + " broken (" + class_name(f.cls) + ")";
			if (inv)
				text += ": forbids " + std::string(inv->forbids);
			text += ". Case " + case_label(it.c) + ": the write [" +
			        std::to_string(it.c.write.offset) + ", +" +
			        std::to_string(it.c.write.length) + ") returned " +
			        result_name(t.result) + " via the " +
			        std::string(path_name(t.path)) + " path";
			if (dec)
				text += "; decided at " + branch_text(*dec) + " (" + uri + ":" +
				        std::to_string(line) + ")";
			if (!f.witness.empty())
				text += ". Witness: " + f.witness.text();
			if (!it.message.empty())
				text += ". " + it.message;
			text += ".";
			ojson r;
			r["ruleId"] = f.invariant;
			if (inv)
				r["ruleIndex"] = rule_index;
			r["level"] = f.cls == InvClass::safety ? "error" : "warning";
			r["message"] = {{"text", text}};
			r["locations"] =
			    ojson::array({{{"physicalLocation", physical_location(uri, line)}}});
			r["partialFingerprints"] = {
			    {"untorn/v1", fnv1a64(std::string(variant_name(it.c.variant)) + "\n" +
			                          f.invariant + "\n" + content)}};
			r["codeFlows"] = flow;
			r["baselineState"] = it.passed ? "unchanged" : "new";
			ojson props = {{"variant", std::string(variant_name(it.c.variant))},
			               {"case", it.c.name},
			               {"result", result_name(t.result)},
			               {"path", std::string(path_name(t.path))},
			               {"verdict", std::string(verdict_name(it.j.verdict))},
			               {"matched_expectations", it.passed}};
			if (!it.c.file.empty())
				props["case_file"] = it.c.file;
			r["properties"] = props;
			results.push_back(r);
		}
	}

	ojson run;
	run["tool"] = {{"driver",
	                {{"name", "untorn"},
	                 {"informationUri", information_uri()},
	                 {"version", "0.1"},
	                 {"rules", rules}}}};
	run["originalUriBaseIds"] = {
	    {"%SRCROOT%", {{"description", {{"text", "the untorn source tree"}}}}}};
	ojson inv;
	inv["commandLine"] = tool_command;
	inv["executionSuccessful"] = all_ok;
	if (!notes.empty())
		inv["toolExecutionNotifications"] = notes;
	run["invocations"] = ojson::array({inv});
	run["automationDetails"] = {{"id", tool_command + "/"}};
	run["columnKind"] = "unicodeCodePoints";
	run["results"] = results;

	ojson doc;
	doc["$schema"] = "https://json.schemastore.org/sarif-2.1.0.json";
	doc["version"] = "2.1.0";
	doc["runs"] = ojson::array({run});
	return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string junit_report(const std::vector<ReportItem> &items, const std::string &suite_name)
{
	size_t failures = 0;
	for (const auto &it : items)
		failures += !it.passed;
	std::string o = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
	const std::string counts = " tests=\"" + std::to_string(items.size()) + "\" failures=\"" +
	                           std::to_string(failures) + "\" errors=\"0\" skipped=\"0\"";
	o += "<testsuites name=\"" + xml_escape(suite_name) + "\"" + counts + ">\n";
	o += "  <testsuite name=\"" + xml_escape(suite_name) + "\"" + counts + " time=\"0\">\n";
	for (const auto &it : items) {
		o += "    <testcase classname=\"" + xml_escape(variant_name(it.c.variant)) +
		     "\" name=\"" + xml_escape(it.c.name) + "\"";
		if (!it.c.file.empty())
			o += " file=\"" + xml_escape(it.c.file) + "\"";
		o += " time=\"0\">\n";
		if (!it.passed) {
			std::string msg = it.message.empty() ? summary(it) : it.message;
			o += "      <failure message=\"" + xml_escape(msg) + "\" type=\"" +
			     (it.j.findings.empty() ? "mismatch"
			                            : std::string(verdict_name(it.j.verdict))) +
			     "\">" + xml_escape(summary(it), false) + "</failure>\n";
		}
		std::string out = summary(it) + "\n";
		for (const auto &f : it.j.findings) {
			const InvariantInfo *inv = catalogue_entry(f.invariant);
			out += std::string(class_name(f.cls)) + " " + f.invariant;
			if (inv)
				out += ": forbids " + std::string(inv->forbids) + " [" +
				       inv->origin + "]";
			if (!f.witness.empty())
				out += "; witness: " + f.witness.text();
			out += "\n";
		}
		if (!it.message.empty())
			out += it.message + "\n";
		o += "      <system-out>" + xml_escape(out, false) + "</system-out>\n";
		o += "    </testcase>\n";
	}
	o += "  </testsuite>\n</testsuites>\n";
	return o;
}

bool write_ci_reports(const std::vector<ReportItem> &items, const std::string &sarif, const std::string &junit,
		      const std::string &tool)
{
	try {
		if (!sarif.empty())
			write_file_atomically(sarif, sarif_report(items, tool));
		if (!junit.empty())
			write_file_atomically(junit, junit_report(items, tool));
	} catch (const std::exception &e) {
		std::cerr << "untorn: " << e.what() << "\n";
		return false;
	}
	return true;
}

} // namespace untorn
