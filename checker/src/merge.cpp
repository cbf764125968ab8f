// `untorn merge`: the --out folders of sharded `untorn check` runs joined
// into the report the single run would have written.
#include "commands.h"
#include "findings.h"
#include "untorn/checker.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

namespace untorn
{

namespace fs = std::filesystem;

int cmd_merge(const MergeOptions &o)
{
	KnownFindings known;
	if (!load_known(o.known, known))
		return EXIT_BAD_INPUT;
	nlohmann::ordered_json rep;
	std::map<std::string, std::pair<uint64_t, fs::path>>
	    best; // raw key -> lowest layout, its case file
	std::vector<std::string> mismatches;
	for (const auto &dir : o.dirs) {
		fs::path file = fs::path(dir) / "report.json";
		nlohmann::ordered_json r;
		try {
			std::ifstream in(file);
			if (!in)
				throw std::runtime_error("cannot open");
			r = nlohmann::ordered_json::parse(in);
			for (const char *k : {"seed", "count", "variants", "layouts", "verdicts",
			                      "paths", "raw_findings"})
				if (!r.contains(k))
					throw std::runtime_error(
					    std::string("missing \"") + k +
					    "\"; expected a report of untorn check");
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
			rep["verdicts"] = {
			    {"clean", 0}, {"violation", 0}, {"divergence", 0}, {"inconclusive", 0}};
			rep["paths"] = {{"hw", 0}, {"sw", 0}, {"none", 0}};
			if (r.contains("per_variant")) { // the shards' counts summed below
				rep["per_variant"] = r["per_variant"];
				for (auto &[name, pv] : rep["per_variant"].items()) {
					pv["layouts"] = 0;
					for (auto &[k, n] : pv["verdicts"].items())
						n = 0;
					for (auto &[k, n] : pv["paths"].items())
						n = 0;
				}
			}
			rep["z3_cross_checks"] = 0;
			rep["z3_inconclusive"] = 0;
		} else if (r["seed"] != rep["seed"] || r["count"] != rep["count"] ||
		           r["variants"] != rep["variants"] ||
		           r.value("interleave", false) != rep.value("interleave", false)) {
			std::cerr
			    << "untorn: merge: " << file.string()
			    << ": a different run (seed, count, variants or --interleave differ)\n";
			return EXIT_BAD_INPUT;
		}
		rep["interrupted"] =
		    rep["interrupted"].get<bool>() || r.value("interrupted", false);
		rep["layouts"] = rep["layouts"].get<uint64_t>() + r["layouts"].get<uint64_t>();
		for (const char *k : {"clean", "violation", "divergence", "inconclusive"})
			rep["verdicts"][k] =
			    rep["verdicts"][k].get<uint64_t>() + r["verdicts"][k].get<uint64_t>();
		for (const char *k : {"hw", "sw", "none"})
			rep["paths"][k] =
			    rep["paths"][k].get<uint64_t>() + r["paths"][k].get<uint64_t>();
		if (rep.contains("per_variant")) {
			bool same = r.contains("per_variant") && r["per_variant"].size() == rep["per_variant"].size();
			for (const auto &[name, pv] : rep["per_variant"].items())
				same = same && r["per_variant"].contains(name);
			if (!same) {
				std::cerr << "untorn: merge: " << file.string()
					  << ": no per_variant counts, unlike the other reports\n";
				return EXIT_BAD_INPUT;
			}
			for (auto &[name, pv] : rep["per_variant"].items()) {
				const auto &q = r["per_variant"][name];
				pv["layouts"] = pv["layouts"].get<uint64_t>() + q["layouts"].get<uint64_t>();
				for (auto &[k, n] : pv["verdicts"].items())
					n = n.get<uint64_t>() + q["verdicts"][k].get<uint64_t>();
				for (auto &[k, n] : pv["paths"].items())
					n = n.get<uint64_t>() + q["paths"][k].get<uint64_t>();
			}
		}
		rep["z3_cross_checks"] = rep["z3_cross_checks"].get<uint64_t>() +
		                         r.value("z3_cross_checks", uint64_t(0));
		rep["z3_inconclusive"] = rep["z3_inconclusive"].get<uint64_t>() +
		                         r.value("z3_inconclusive", uint64_t(0));
		for (const auto &m : r.value("engine_mismatches", std::vector<std::string>{}))
			mismatches.push_back(m);
		for (const auto &raw : r["raw_findings"]) {
			std::string key = raw["key"];
			uint64_t layout = raw["layout"];
			auto it = best.find(key);
			if (it == best.end() || layout < it->second.first)
				best[key] = {layout,
				             fs::path(dir) / raw["file"].get<std::string>()};
		}
	}
	// The folders must be the N distinct shards K/N of one run, all of them.
	{
		std::set<uint64_t> ks;
		uint64_t n0 = 0;
		for (const auto &dir : o.dirs) {
			std::ifstream in(fs::path(dir) / "report.json");
			std::string shard =
			    nlohmann::ordered_json::parse(in).value("shard", std::string());
			uint64_t k, n;
			if (!parse_shard(shard, &k, &n) || (n0 && n != n0) ||
			    !ks.insert(k).second) {
				std::cerr << "untorn: merge: " << dir << ": shard \"" << shard
				          << "\" repeats or does not match the others; expected "
				             "the shards 1/N .. N/N of one run\n";
				return EXIT_BAD_INPUT;
			}
			n0 = n;
		}
		if (ks.size() != n0) {
			std::cerr << "untorn: merge: " << ks.size() << " of " << n0
			          << " shards given; expected all of them\n";
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
		std::cout << "untorn merge: " << o.dirs.size() << " reports, "
		          << rep["layouts"].get<uint64_t>() << " layouts\n";
		print_per_variant(rep);
		print_findings_summary(rep, false, nnew, o.out);
	}
	if (rep["interrupted"].get<bool>())
		return EXIT_INTERRUPTED;
	if (!mismatches.empty())
		return EXIT_INTERNAL;
	if (nnew)
		return EXIT_FOUND;
	if (rep["verdicts"]["inconclusive"].get<uint64_t>() ||
	    rep["z3_inconclusive"].get<uint64_t>())
		return EXIT_INCONCLUSIVE;
	return EXIT_CLEAN;
}

} // namespace untorn
