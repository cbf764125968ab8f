// `untorn check`: seeded random layouts, impl and specification side by side,
// one replayable counterexample case per distinct finding.
#include "commands.h"
#include "findings.h"
#include "coverage.h"
#include "generate.h"
#include "minimize.h"
#include "reports.h"
#include "text.h"
#include "untorn/checker.h"
#include "untorn/model.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace untorn {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> interrupted{false};
extern "C" void on_sigint(int) { interrupted = true; }

// The branch path of a run: every decision (line, outcome) and every call's
// result, so that two findings through the same code path deduplicate.
uint64_t branch_signature(const Trace &t)
{
	uint64_t h = FNV1A_OFFSET;
	for (const auto &b : t.file_branches)
		h = fnv1a_u64(h, uint64_t(b.line) << 1 | b.taken);
	for (const auto &c : t.calls) {
		h = fnv1a_u64(h, uint64_t(c.ops) << 32 | uint64_t(c.error));
		for (const auto &b : c.branches)
			h = fnv1a_u64(h, uint64_t(b.line) << 1 | b.taken);
	}
	h = fnv1a_u64(h, uint64_t(t.result) << 8 | uint64_t(t.path));
	return h;
}

struct FindingRec {
	uint64_t index;
	Case c;
	Judgement j;
	uint64_t signature;
};

struct Stats {
	uint64_t layouts = 0, clean = 0, violation = 0, divergence = 0, inconclusive = 0;
	uint64_t path_hw = 0, path_sw = 0, path_none = 0, z3_checked = 0, z3_inconclusive = 0;
	std::vector<std::string> engine_mismatch;
	std::vector<Stats> per_variant; // the same counts for each variant, in --variant order
	void count(const Trace &t, const Judgement &j)
	{
		layouts++;
		(t.path == Path::hw ? path_hw : t.path == Path::sw ? path_sw : path_none)++;
		switch (j.verdict) {
		case Verdict::clean: clean++; break;
		case Verdict::violation: violation++; break;
		case Verdict::divergence: divergence++; break;
		case Verdict::inconclusive: inconclusive++; break;
		}
	}
	void add(const Stats &o)
	{
		per_variant.resize(std::max(per_variant.size(), o.per_variant.size()));
		for (size_t i = 0; i < o.per_variant.size(); i++)
			per_variant[i].add(o.per_variant[i]);
		layouts += o.layouts, clean += o.clean, violation += o.violation, divergence += o.divergence;
		inconclusive += o.inconclusive, path_hw += o.path_hw, path_sw += o.path_sw, path_none += o.path_none;
		z3_checked += o.z3_checked;
		z3_inconclusive += o.z3_inconclusive;
		engine_mismatch.insert(engine_mismatch.end(), o.engine_mismatch.begin(), o.engine_mismatch.end());
	}
};

std::string finding_key(const Case &c, const Judgement &j, uint64_t sig)
{
	char buf[17];
	snprintf(buf, sizeof buf, "%016llx", (unsigned long long)sig);
	return std::string(variant_name(c.variant)) + "|" + join(j.broken_names(), "+") + "|" + buf;
}

void record(std::map<std::string, FindingRec> &found, FindingRec rec)
{
	std::string key = finding_key(rec.c, rec.j, rec.signature);
	auto it = found.find(key);
	if (it == found.end() || rec.index < it->second.index)
		found[key] = std::move(rec);
}

Case as_counterexample(const FindingRec &f)
{
	Case c = f.c;
	Trace t = run_atomic_write(c.state, c.write, c.variant);
	c.expect.result = t.result;
	c.expect.path = t.path;
	c.expect.verdict = std::string(verdict_name(f.j.verdict));
	c.expect.invariants = f.j.broken_names();
	c.note = "found by untorn check (" + c.name + "): " + join(f.j.broken_names()) + ". " +
	         (f.j.findings.empty() ? "" : f.j.findings.front().witness.text());
	return c;
}

} // namespace

bool parse_shard(const std::string &s, uint64_t *k, uint64_t *n)
{
	auto slash = s.find('/');
	if (slash == std::string::npos)
		return false;
	auto whole_number = [](const std::string &t, uint64_t *v) {
		if (t.empty() || t.size() > 18 || t.find_first_not_of("0123456789") != std::string::npos)
			return false;
		*v = std::stoull(t);
		return true;
	};
	if (!whole_number(s.substr(0, slash), k) || !whole_number(s.substr(slash + 1), n))
		return false;
	return *n >= 1 && *k >= 1 && *k <= *n;
}

namespace {

std::string content_hash(const std::string &content)
{
	const uint64_t h = fnv1a(content);
	char buf[9];
	snprintf(buf, sizeof buf, "%08llx", (unsigned long long)(h & 0xffffffffULL));
	return buf;
}

// The counterexample as written: minimized unless asked not to, with its
// expectations filled from the run.
Case finish_finding(Case c, Spec &spec, bool no_minimize)
{
	if (no_minimize)
		return c;
	MinimizeResult m = minimize_case(c, spec);
	c = m.minimized;
	Trace t = run_atomic_write(c.state, c.write, c.variant);
	Judgement j = spec.judge(t);
	c.expect.result = t.result;
	c.expect.path = t.path;
	c.expect.verdict = std::string(verdict_name(j.verdict));
	c.expect.invariants = j.broken_names();
	// The note depends on the minimized case only (report.json says where it
	// was found), so shards and merges write the same bytes as one run.
	c.note = "found by untorn check and minimized: " + join(j.broken_names()) + ". " +
	         (j.findings.empty() ? "" : j.findings.front().witness.text());
	return c;
}

} // namespace

// Known findings: the content of every case under the paths that expects a
// violation or a divergence.
bool load_known(const std::vector<std::string> &paths, KnownFindings &known)
{
	for (const auto &file : collect_case_files(paths)) {
		try {
			Case k = load_case_file(file);
			if (k.expect.verdict && *k.expect.verdict != "clean")
				known.emplace(canonical_content(k), file.string()); // the first file of a content
		} catch (const CaseError &e) {
			std::cerr << "untorn: --known: " << e.what() << "\n";
			return false;
		}
	}
	return true;
}

// Writes one case per distinct content (its layout: the lowest of the raw
// findings that led to it) and fills rep["raw_findings"] and rep["findings"].
void write_findings(const std::string &out, std::vector<RawFinding> &raws, const KnownFindings &known,
		    nlohmann::ordered_json &rep, size_t *nnew, std::vector<ReportItem> *items)
{
	std::sort(raws.begin(), raws.end(), [](const RawFinding &a, const RawFinding &b) { return a.key < b.key; });
	std::map<std::string, std::pair<Case, uint64_t>> distinct; // content -> case, lowest layout
	rep["raw_findings"] = nlohmann::ordered_json::array();
	for (auto &r : raws) {
		std::string content = canonical_content(r.c);
		std::string hash = content_hash(content);
		r.c.name = std::string(variant_name(r.c.variant)) + "-" + join(r.c.expect.invariants, "+") + "-" + hash;
		rep["raw_findings"].push_back({{"key", r.key}, {"layout", r.layout}, {"file", r.c.name + ".json"}});
		auto it = distinct.find(content);
		if (it == distinct.end())
			distinct.emplace(content, std::make_pair(r.c, r.layout));
		else
			it->second.second = std::min(it->second.second, r.layout);
	}
	rep["findings"] = nlohmann::ordered_json::array();
	*nnew = 0;
	Spec judge(Engine::compiled); // one for all items: shapes compile once
	for (auto &[content, cf] : distinct) {
		const Case &c = cf.first;
		std::string file = c.name + ".json";
		auto known_as = known.find(content);
		bool is_known = known_as != known.end();
		*nnew += !is_known;
		write_file_atomically(fs::path(out) / file, case_to_json(c));
		if (items) {
			Trace t = run_atomic_write(c.state, c.write, c.variant);
			Judgement j = judge.judge(t);
			items->push_back({c, t, j, is_known, is_known ? "known finding" : "new finding"});
		}
		rep["findings"].push_back({{"file", file},
					   {"variant", std::string(variant_name(c.variant))},
					   {"verdict", *c.expect.verdict},
					   {"invariants", c.expect.invariants},
					   {"layout", cf.second},
					   {"known", is_known}});
		if (is_known)
			rep["findings"].back()["known_as"] = known_as->second;
	}
	rep["new_findings"] = *nnew;
}

void print_per_variant(const nlohmann::ordered_json &rep)
{
	if (!rep.contains("per_variant"))
		return;
	for (const auto &[name, s] : rep["per_variant"].items()) {
		size_t found = 0, fresh = 0;
		for (const auto &f : rep["findings"])
			if (f["variant"] == name)
				found++, fresh += !f["known"].get<bool>();
		const auto &v = s["verdicts"], &p = s["paths"];
		std::cout << "  " << name << ": " << s["layouts"].get<uint64_t>() << " layouts; paths hw "
			  << p["hw"].get<uint64_t>() << ", sw " << p["sw"].get<uint64_t>() << ", none "
			  << p["none"].get<uint64_t>() << "; verdicts clean " << v["clean"].get<uint64_t>()
			  << ", violation " << v["violation"].get<uint64_t>() << ", divergence "
			  << v["divergence"].get<uint64_t>() << ", inconclusive " << v["inconclusive"].get<uint64_t>()
			  << "; " << found << " distinct findings, " << fresh << " not in --known\n";
	}
}

void print_findings_summary(const nlohmann::ordered_json &rep, bool no_minimize, size_t nnew, const std::string &out)
{
	size_t nviol = 0, ndiv = 0;
	for (const auto &f : rep["findings"])
		(f["verdict"] == "violation" ? nviol : ndiv)++;
	std::cout << "  distinct findings" << (no_minimize ? "" : " (minimized)") << ": " << nviol << " violations, "
		  << ndiv << " divergences, " << nnew << " not in --known (cases in " << out << ")\n";
	for (const auto &f : rep["findings"])
		std::cout << "    " << (f["known"].get<bool>() ? "known " : "NEW   ") << f["verdict"].get<std::string>() << " "
			  << f["variant"].get<std::string>() << " [" << join(f["invariants"].get<std::vector<std::string>>())
			  << "] " << f["file"].get<std::string>()
			  << (f.contains("known_as") ? " = " + f["known_as"].get<std::string>() : std::string()) << "\n";
}

int cmd_check(const CheckOptions &o)
{
	if (!o.compare.empty())
		return cmd_check_compare(o);
	uint64_t shard_k, shard_n;
	if (!parse_shard(o.shard, &shard_k, &shard_n)) {
		std::cerr << "untorn: check: --shard expects K/N with 1 <= K <= N, got \"" << o.shard << "\"\n";
		return EXIT_BAD_INPUT;
	}
	std::vector<Variant> variants;
	for (const auto &n : o.variants)
		variants.push_back(*variant_from_name(n));
	if (variants.empty())
		variants.assign(std::begin(all_variants), std::end(all_variants));

	KnownFindings known; // checked before anything runs or is written
	if (!load_known(o.known, known))
		return EXIT_BAD_INPUT;

	std::signal(SIGINT, on_sigint);
	const bool progress = isatty(2);
	std::atomic<uint64_t> done{0};
	std::mutex mu;
	std::map<std::string, FindingRec> found;
	Stats total;

	// Layout i belongs to this shard when i % N == K - 1; worker w of J takes
	// every J-th of those.  Results merge by index, so the report is the same
	// for any J and the union of the N shards' reports is the whole run's.
	Coverage cov(variants, 3);
	auto worker = [&](unsigned w) {
		Spec spec(Engine::compiled, o.limits());
		Coverage my_cov(variants, 3);
		std::map<std::string, FindingRec> mine;
		Stats st;
		st.per_variant.resize(variants.size());
		uint64_t nth = 0;
		for (uint64_t i = shard_k - 1; i < o.count && !interrupted; i += shard_n, nth++) {
			if (nth % o.jobs != w)
				continue;
			for (size_t vi = 0; vi < variants.size(); vi++) {
				const Variant v = variants[vi];
				Case c = generate_layout(o.seed, i, v, o.interleave);
				Trace t = run_atomic_write(c.state, c.write, v);
				Judgement j = spec.judge(t);
				if (o.coverage)
					my_cov.add(t, "layout " + std::to_string(i), i);
				st.count(t, j);
				st.per_variant[vi].count(t, j);
				if (o.z3_every && i % o.z3_every == 0) {
					st.z3_checked++;
					bool undecided = false;
					std::string d = spec.cross_check(t, &undecided);
					st.z3_inconclusive += undecided;
					if (!d.empty())
						st.engine_mismatch.push_back(c.name + " (" + std::string(variant_name(v)) + "): " + d);
				}
				if (j.verdict != Verdict::clean)
					record(mine, {i, std::move(c), std::move(j), branch_signature(t)});
			}
			uint64_t d = ++done;
			if (progress && d % 4096 == 0)
				std::cerr << "\r" << d << " / " << (o.count + shard_n - 1) / shard_n << " layouts" << std::flush;
		}
		std::lock_guard<std::mutex> g(mu);
		for (auto &[k, rec] : mine)
			record(found, std::move(rec));
		total.add(st);
		cov.merge(my_cov);
	};
	std::vector<std::thread> threads;
	for (unsigned w = 0; w < o.jobs; w++)
		threads.emplace_back(worker, w);
	for (auto &t : threads)
		t.join();
	if (progress)
		std::cerr << "\r\033[K";

	// Reports: one case per distinct finding, and report.json, written atomically.
	std::error_code ec;
	fs::create_directories(o.out, ec);
	if (ec) {
		std::cerr << "untorn: check: cannot create " << o.out << ": " << ec.message() << "\n";
		return EXIT_BAD_INPUT;
	}
	nlohmann::ordered_json rep;
	rep["seed"] = o.seed;
	rep["count"] = o.count;
	if (o.interleave)
		rep["interleave"] = true;
	rep["shard"] = o.shard;
	rep["variants"] = nlohmann::ordered_json::array();
	for (Variant v : variants)
		rep["variants"].push_back(std::string(variant_name(v)));
	rep["interrupted"] = interrupted.load();
	rep["layouts"] = total.layouts;
	rep["verdicts"] = {{"clean", total.clean}, {"violation", total.violation}, {"divergence", total.divergence},
			   {"inconclusive", total.inconclusive}};
	rep["paths"] = {{"hw", total.path_hw}, {"sw", total.path_sw}, {"none", total.path_none}};
	if (variants.size() > 1) {
		rep["per_variant"] = nlohmann::ordered_json::object();
		for (size_t vi = 0; vi < variants.size(); vi++) {
			const Stats &s = total.per_variant[vi];
			rep["per_variant"][std::string(variant_name(variants[vi]))] = {
				{"layouts", s.layouts},
				{"verdicts",
				 {{"clean", s.clean},
				  {"violation", s.violation},
				  {"divergence", s.divergence},
				  {"inconclusive", s.inconclusive}}},
				{"paths", {{"hw", s.path_hw}, {"sw", s.path_sw}, {"none", s.path_none}}}};
		}
	}
	rep["z3_cross_checks"] = total.z3_checked;
	rep["z3_inconclusive"] = total.z3_inconclusive;
	std::sort(total.engine_mismatch.begin(), total.engine_mismatch.end()); // workers finish in any order
	rep["engine_mismatches"] = total.engine_mismatch;
	// Minimize the representative (lowest layout index) of each distinct
	// raw finding, in key order: deterministic.
	std::vector<RawFinding> raws;
	{
		Spec spec(Engine::compiled, o.limits());
		for (const auto &[key, f] : found)
			raws.push_back({key, f.index, finish_finding(as_counterexample(f), spec, o.no_minimize)});
	}
	size_t nnew = 0;
	std::vector<ReportItem> items;
	write_findings(o.out, raws, known, rep, &nnew, (!o.sarif.empty() || !o.junit.empty()) ? &items : nullptr);
	write_file_atomically(fs::path(o.out) / "report.json", rep.dump(2) + "\n");
	if (!write_ci_reports(items, o.sarif, o.junit, "untorn check"))
		return EXIT_BAD_INPUT;

	std::vector<Coverage::VariantCov> table;
	if (o.coverage)
		table = cov.table();
	if (o.json) {
		if (o.coverage) // on stdout only: report.json stays what `merge` reads and writes
			rep["coverage"] = coverage_json(table);
		std::cout << rep.dump(2) << "\n";
	} else {
		std::cout << "untorn check: seed " << o.seed << ", shard " << o.shard << ", " << total.layouts
			  << " layouts (" << join(rep["variants"].get<std::vector<std::string>>()) << ")"
			  << (interrupted ? " -- INTERRUPTED, partial report" : "") << "\n";
		std::cout << "  paths: hw " << total.path_hw << ", sw " << total.path_sw << ", none " << total.path_none
			  << "\n";
		std::cout << "  verdicts: clean " << total.clean << ", violation " << total.violation << ", divergence "
			  << total.divergence << ", inconclusive " << total.inconclusive << "\n";
		print_per_variant(rep);
		print_findings_summary(rep, o.no_minimize, nnew, o.out);
		std::cout << "  z3 cross-checks: " << total.z3_checked << ", mismatches: " << total.engine_mismatch.size()
			  << ", inconclusive: " << total.z3_inconclusive << "\n";
		for (const auto &m : total.engine_mismatch)
			std::cout << "    ENGINE MISMATCH (a bug in untorn): " << m << "\n";
		if (o.coverage)
			std::cout << coverage_text(table, std::to_string(total.layouts) + " layouts (seed " +
			                                      std::to_string(o.seed) + ")");
	}
	if (interrupted)
		return EXIT_INTERRUPTED;
	if (!total.engine_mismatch.empty())
		return EXIT_INTERNAL;
	if (nnew)
		return EXIT_FOUND;
	if (total.inconclusive || total.z3_inconclusive)
		return EXIT_INCONCLUSIVE; // a query Z3 could not decide is never a pass
	return EXIT_CLEAN;
}

} // namespace untorn
