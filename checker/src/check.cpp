// `untorn check`: seeded random layouts, impl and specification side by side,
// one replayable counterexample case per distinct finding; and `untorn bench`.
#include "commands.h"
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

void add_check_options(CLI::App *cmd, CheckOptions &o)
{
	cmd->add_option("--variant", o.variants, "variant(s) to check (default: all)")
	    ->check(CLI::IsMember(variant_names()));
	cmd->add_option("--seed", o.seed, "64-bit generator seed")->check(CLI::Validator([](std::string &v) { const char *e = whole_number_error(v); return e ? std::string(e) : std::string(); }, "UINT"));
	cmd->add_option("--count", o.count, "layouts per variant")->check(CLI::Range(uint64_t(1), uint64_t(1) << 40));
	cmd->add_option("--jobs", o.jobs, "worker threads")->check(CLI::Range(1u, 256u));
	cmd->add_option("--shard", o.shard, "K/N: run the K-th of N disjoint slices of the stream");
	cmd->add_option("--out", o.out, "folder for counterexample cases and report.json");
	cmd->add_flag("--json", o.json, "print the summary as JSON");
	cmd->add_option("--z3-every", o.z3_every, "cross-check the compiled evaluator against Z3 every N layouts (0: never)")
		->check(CLI::Validator([](std::string &v) { const char *e = whole_number_error(v); return e ? std::string(e) : std::string(); }, "UINT"));
	cmd->add_option("--solver-timeout", o.solver_timeout_ms, "Z3 timeout per query, ms")->check(CLI::Range(1u, 3600000u));
	cmd->add_option("--solver-rlimit", o.solver_rlimit, "Z3 resource limit per query (deterministic; 0: none)");
	cmd->add_option("--solver-memory", o.solver_memory_mb, "Z3 memory limit, MB")->check(CLI::Range(16u, 1u << 20));
	cmd->add_flag("--no-minimize", o.no_minimize, "write findings as found, unminimized");
	cmd->add_option("--known", o.known, "case files or folders of known findings: only new findings count");
	cmd->add_option("--sarif", o.sarif, "also write a SARIF 2.1.0 report here");
	cmd->add_option("--junit", o.junit, "also write a JUnit XML report here");
	cmd->add_flag("--interleave", o.interleave,
		      "also draw another actor's actions at the write's ILOCK drop points (x_interleave)");
}

int cmd_minimize(const MinimizeOptions &o)
{
	auto loaded = load_case_or_report(o.input);
	if (!loaded)
		return EXIT_BAD_INPUT;
	Case c = std::move(*loaded);
	Spec spec(Engine::compiled);
	MinimizeResult r;
	try {
		r = minimize_case(c, spec);
	} catch (const std::invalid_argument &e) {
		std::cerr << "untorn: minimize: " << o.input << ": " << e.what() << " (verdict clean under "
			  << variant_name(c.variant) << ")\n";
		return EXIT_BAD_INPUT;
	}
	Case m = r.minimized;
	Trace t = run_atomic_write(m.state, m.write, m.variant);
	Spec z3(Engine::z3);
	Judgement j = z3.judge(t);
	if (j.broken_names() != r.invariants) {
		std::cerr << "untorn: minimize: Z3 and the compiled evaluator disagree on the result ([" << join(j.broken_names())
			  << "] vs [" << join(r.invariants) << "]): a bug in untorn\n";
		return EXIT_INTERNAL;
	}
	m.expect.result = t.result;
	m.expect.path = t.path;
	m.expect.verdict = std::string(verdict_name(j.verdict));
	m.expect.invariants = r.invariants;
	m.note = (c.note.empty() ? "" : c.note + " ") + "[minimized by untorn minimize: " + std::to_string(r.oracle_calls) +
		 " oracle calls]";
	std::cerr << "untorn minimize: " << join(r.invariants) << " kept; " << r.oracle_calls << " oracle calls ("
		  << r.candidates_rejected_invalid << " invalid candidates never run); entries " << r.entries_before << " -> "
		  << r.entries_after << ", magnitude " << r.magnitude_before << " -> " << r.magnitude_after << " bits\n";
	if (o.output.empty()) {
		std::cout << case_to_json(m);
		return EXIT_CLEAN;
	}
	try {
		write_file_atomically(o.output, case_to_json(m));
	} catch (const std::exception &e) {
		std::cerr << "untorn: minimize: " << e.what() << "\n";
		return EXIT_BAD_INPUT;
	}
	return EXIT_CLEAN;
}

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
	void add(const Stats &o)
	{
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
		 (f.j.findings.empty() ? "" : f.j.findings.front().witness);
	return c;
}

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


// A distinct raw finding (variant, invariants, branch path) with its
// representative layout and its (minimized) counterexample.
struct RawFinding {
	std::string key;
	uint64_t layout;
	Case c;
};

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
		 (j.findings.empty() ? "" : j.findings.front().witness);
	return c;
}

// Known findings: the content of every case under the paths that expects a
// violation or a divergence.
bool load_known(const std::vector<std::string> &paths, std::set<std::string> &known)
{
	for (const auto &file : collect_case_files(paths)) {
		try {
			Case k = load_case_file(file);
			if (k.expect.verdict && *k.expect.verdict != "clean")
				known.insert(canonical_content(k));
		} catch (const CaseError &e) {
			std::cerr << "untorn: --known: " << e.what() << "\n";
			return false;
		}
	}
	return true;
}

// Writes one case per distinct content (its layout: the lowest of the raw
// findings that led to it) and fills rep["raw_findings"] and rep["findings"].
void write_findings(const std::string &out, std::vector<RawFinding> &raws, const std::set<std::string> &known,
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
		bool is_known = known.count(content) > 0;
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
	}
	rep["new_findings"] = *nnew;
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
			  << "] " << f["file"].get<std::string>() << "\n";
}

} // namespace

int cmd_check(const CheckOptions &o)
{
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

	std::set<std::string> known; // checked before anything runs or is written
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
	auto worker = [&](unsigned w) {
		Spec spec(Engine::compiled, SolverLimits{o.solver_timeout_ms, o.solver_rlimit, o.solver_memory_mb});
		std::map<std::string, FindingRec> mine;
		Stats st;
		uint64_t nth = 0;
		for (uint64_t i = shard_k - 1; i < o.count && !interrupted; i += shard_n, nth++) {
			if (nth % o.jobs != w)
				continue;
			for (Variant v : variants) {
				Case c = generate_layout(o.seed, i, v, o.interleave);
				Trace t = run_atomic_write(c.state, c.write, v);
				Judgement j = spec.judge(t);
				st.layouts++;
				(t.path == Path::hw ? st.path_hw : t.path == Path::sw ? st.path_sw : st.path_none)++;
				switch (j.verdict) {
				case Verdict::clean: st.clean++; break;
				case Verdict::violation: st.violation++; break;
				case Verdict::divergence: st.divergence++; break;
				case Verdict::inconclusive: st.inconclusive++; break;
				}
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
	rep["z3_cross_checks"] = total.z3_checked;
	rep["z3_inconclusive"] = total.z3_inconclusive;
	std::sort(total.engine_mismatch.begin(), total.engine_mismatch.end()); // workers finish in any order
	rep["engine_mismatches"] = total.engine_mismatch;
	// Minimize the representative (lowest layout index) of each distinct
	// raw finding, in key order: deterministic.
	std::vector<RawFinding> raws;
	{
		Spec spec(Engine::compiled, SolverLimits{o.solver_timeout_ms, o.solver_rlimit, o.solver_memory_mb});
		for (const auto &[key, f] : found)
			raws.push_back({key, f.index, finish_finding(as_counterexample(f), spec, o.no_minimize)});
	}
	size_t nnew = 0;
	std::vector<ReportItem> items;
	write_findings(o.out, raws, known, rep, &nnew, (!o.sarif.empty() || !o.junit.empty()) ? &items : nullptr);
	write_file_atomically(fs::path(o.out) / "report.json", rep.dump(2) + "\n");
	if (!write_ci_reports(items, o.sarif, o.junit, "untorn check"))
		return EXIT_BAD_INPUT;

	if (o.json) {
		std::cout << rep.dump(2) << "\n";
	} else {
		std::cout << "untorn check: seed " << o.seed << ", shard " << o.shard << ", " << total.layouts
			  << " layouts (" << join(rep["variants"].get<std::vector<std::string>>()) << ")"
			  << (interrupted ? " -- INTERRUPTED, partial report" : "") << "\n";
		std::cout << "  paths: hw " << total.path_hw << ", sw " << total.path_sw << ", none " << total.path_none
			  << "\n";
		std::cout << "  verdicts: clean " << total.clean << ", violation " << total.violation << ", divergence "
			  << total.divergence << ", inconclusive " << total.inconclusive << "\n";
		print_findings_summary(rep, o.no_minimize, nnew, o.out);
		std::cout << "  z3 cross-checks: " << total.z3_checked << ", mismatches: " << total.engine_mismatch.size()
			  << ", inconclusive: " << total.z3_inconclusive << "\n";
		for (const auto &m : total.engine_mismatch)
			std::cout << "    ENGINE MISMATCH (a bug in untorn): " << m << "\n";
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

int cmd_merge(const MergeOptions &o)
{
	std::set<std::string> known;
	if (!load_known(o.known, known))
		return EXIT_BAD_INPUT;
	nlohmann::ordered_json rep;
	std::map<std::string, std::pair<uint64_t, fs::path>> best; // raw key -> lowest layout, its case file
	std::vector<std::string> mismatches;
	for (const auto &dir : o.dirs) {
		fs::path file = fs::path(dir) / "report.json";
		nlohmann::ordered_json r;
		try {
			std::ifstream in(file);
			if (!in)
				throw std::runtime_error("cannot open");
			r = nlohmann::ordered_json::parse(in);
			for (const char *k : {"seed", "count", "variants", "layouts", "verdicts", "paths", "raw_findings"})
				if (!r.contains(k))
					throw std::runtime_error(std::string("missing \"") + k + "\"; expected a report of untorn check");
		} catch (const std::exception &e) {
			std::cerr << "untorn: merge: " << file.string() << ": " << e.what() << "\n";
			return EXIT_BAD_INPUT;
		}
		if (rep.empty()) {
			rep["seed"] = r["seed"];
			rep["count"] = r["count"];
			if (r.value("interleave", false))
				rep["interleave"] = true;
			rep["shard"] = "1/1";
			rep["variants"] = r["variants"];
			rep["interrupted"] = false;
			rep["layouts"] = 0;
			rep["verdicts"] = {{"clean", 0}, {"violation", 0}, {"divergence", 0}, {"inconclusive", 0}};
			rep["paths"] = {{"hw", 0}, {"sw", 0}, {"none", 0}};
			rep["z3_cross_checks"] = 0;
			rep["z3_inconclusive"] = 0;
		} else if (r["seed"] != rep["seed"] || r["count"] != rep["count"] || r["variants"] != rep["variants"] ||
			   r.value("interleave", false) != rep.value("interleave", false)) {
			std::cerr << "untorn: merge: " << file.string()
				  << ": a different run (seed, count, variants or --interleave differ)\n";
			return EXIT_BAD_INPUT;
		}
		rep["interrupted"] = rep["interrupted"].get<bool>() || r.value("interrupted", false);
		rep["layouts"] = rep["layouts"].get<uint64_t>() + r["layouts"].get<uint64_t>();
		for (const char *k : {"clean", "violation", "divergence", "inconclusive"})
			rep["verdicts"][k] = rep["verdicts"][k].get<uint64_t>() + r["verdicts"][k].get<uint64_t>();
		for (const char *k : {"hw", "sw", "none"})
			rep["paths"][k] = rep["paths"][k].get<uint64_t>() + r["paths"][k].get<uint64_t>();
		rep["z3_cross_checks"] = rep["z3_cross_checks"].get<uint64_t>() + r.value("z3_cross_checks", uint64_t(0));
		rep["z3_inconclusive"] = rep["z3_inconclusive"].get<uint64_t>() + r.value("z3_inconclusive", uint64_t(0));
		for (const auto &m : r.value("engine_mismatches", std::vector<std::string>{}))
			mismatches.push_back(m);
		for (const auto &raw : r["raw_findings"]) {
			std::string key = raw["key"];
			uint64_t layout = raw["layout"];
			auto it = best.find(key);
			if (it == best.end() || layout < it->second.first)
				best[key] = {layout, fs::path(dir) / raw["file"].get<std::string>()};
		}
	}
	// The folders must be the N distinct shards K/N of one run, all of them.
	{
		std::set<uint64_t> ks;
		uint64_t n0 = 0;
		for (const auto &dir : o.dirs) {
			std::ifstream in(fs::path(dir) / "report.json");
			std::string shard = nlohmann::ordered_json::parse(in).value("shard", std::string());
			uint64_t k, n;
			if (!parse_shard(shard, &k, &n) || (n0 && n != n0) || !ks.insert(k).second) {
				std::cerr << "untorn: merge: " << dir << ": shard \"" << shard
					  << "\" repeats or does not match the others; expected the shards 1/N .. N/N of one run\n";
				return EXIT_BAD_INPUT;
			}
			n0 = n;
		}
		if (ks.size() != n0) {
			std::cerr << "untorn: merge: " << ks.size() << " of " << n0 << " shards given; expected all of them\n";
			return EXIT_BAD_INPUT;
		}
	}
	std::sort(mismatches.begin(), mismatches.end());
	rep["engine_mismatches"] = mismatches;
	std::vector<RawFinding> raws;
	for (const auto &[key, lf] : best) {
		try {
			raws.push_back({key, lf.first, load_case_file(lf.second)});
		} catch (const CaseError &e) {
			std::cerr << "untorn: merge: " << e.what() << "\n";
			return EXIT_BAD_INPUT;
		}
	}
	std::error_code ec;
	fs::create_directories(o.out, ec);
	size_t nnew = 0;
	write_findings(o.out, raws, known, rep, &nnew, nullptr);
	write_file_atomically(fs::path(o.out) / "report.json", rep.dump(2) + "\n");
	if (o.json)
		std::cout << rep.dump(2) << "\n";
	else {
		std::cout << "untorn merge: " << o.dirs.size() << " reports, " << rep["layouts"].get<uint64_t>() << " layouts\n";
		print_findings_summary(rep, false, nnew, o.out);
	}
	if (rep["interrupted"].get<bool>())
		return EXIT_INTERRUPTED;
	if (!mismatches.empty())
		return EXIT_INTERNAL;
	if (nnew)
		return EXIT_FOUND;
	if (rep["verdicts"]["inconclusive"].get<uint64_t>() || rep["z3_inconclusive"].get<uint64_t>())
		return EXIT_INCONCLUSIVE;
	return EXIT_CLEAN;
}

int cmd_bench(const BenchOptions &o)
{
	using clock = std::chrono::steady_clock;
	Variant v = *variant_from_name(o.variant);
	std::vector<Case> cases;
	cases.reserve(o.count);
	for (uint64_t i = 0; i < o.count; i++)
		cases.push_back(generate_layout(o.seed, i, v));

	// The two measurements alternate over the same chunks of layouts, so a
	// noisy machine slows both alike and their ratio stays meaningful.
	Spec compiled(Engine::compiled);
	uint64_t sink = 0;
	auto time_chunk = [&](uint64_t from, uint64_t to, bool with_spec) {
		auto t0 = clock::now();
		for (uint64_t i = from; i < to; i++) {
			Trace t = run_atomic_write(cases[i].state, cases[i].write, v);
			sink += t.calls.size();
			if (with_spec)
				sink += compiled.judge(t).findings.size();
		}
		return std::chrono::duration<double>(clock::now() - t0).count();
	};
	// Warm-up, untimed: every layout once, so that every shape the timed
	// passes meet is already compiled.  (Warming only the first layouts
	// left the rest's shapes to compile inside the timed passes, and the
	// ratio then depended on --count: 3.56x at 300,000, 2.77x at 1,000,000.)
	double t_warm = time_chunk(0, o.count, true);
	const uint64_t chunks = 20;
	double t_impl = 0, t_both = 0;
	for (uint64_t k = 0; k < chunks; k++) {
		uint64_t from = o.count * k / chunks, to = o.count * (k + 1) / chunks;
		t_impl += time_chunk(from, to, false);
		t_both += time_chunk(from, to, true);
	}
	double impl = double(o.count) / t_impl, both = double(o.count) / t_both;
	uint64_t zn = std::min<uint64_t>(o.count, o.z3_sample);
	double z3 = 0;
	if (zn) {
		Spec z(Engine::z3);
		auto t0 = clock::now();
		for (uint64_t i = 0; i < zn; i++)
			sink += z.judge(run_atomic_write(cases[i].state, cases[i].write, v)).findings.size();
		z3 = double(zn) / std::chrono::duration<double>(clock::now() - t0).count();
	}
	if (sink == 42)
		std::cerr << "";
	std::cout << "untorn bench: variant " << o.variant << ", seed " << o.seed << ", " << o.count
		  << " layouts, one thread\n";
	// (what a check run pays once per shape: the warm-up less a warm pass)
	std::cout << "  warm-up, untimed: every layout judged once, " << std::fixed << std::setprecision(1)
		  << t_warm << " s; " << compiled.shapes_built() << " shapes compiled in about "
		  << std::max(0.0, t_warm - t_both) << " s of it\n"
		  << std::defaultfloat << std::setprecision(6);
	std::cout << "  impl alone:                      " << uint64_t(impl) << " layouts/s\n";
	std::cout << "  impl + specification (compiled): " << uint64_t(both) << " layouts/s\n";
	if (zn)
		std::cout << "  impl + specification (Z3 itself, " << zn << " layouts): " << uint64_t(z3) << " layouts/s\n";
	std::cout << "  cost of the specification: " << impl / both << "x the impl alone (target <= 3x)";
	if (zn)
		std::cout << "; compiled evaluator vs Z3: " << both / z3 << "x faster";
	std::cout << "\n";
	return EXIT_CLEAN;
}

} // namespace untorn
