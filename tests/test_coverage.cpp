// Decision coverage (checker/src/coverage.cpp) and the BRANCH() registry it
// stands on (impl's branch_sites()).
#include "coverage.h"
#include "generate.h"
#include "minimize.h"
#include "untorn/checker.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

using namespace untorn;

namespace
{

template <class F> void each_branch(const Trace &t, F f)
{
	for (const auto &b : t.file_branches)
		f(b);
	for (const auto &c : t.calls)
		for (const auto &b : c.branches)
			f(b);
}

bool is_site(const Branch &b)
{
	for (const auto &s : branch_sites())
		if (s.line == b.line && std::string(s.file) == b.file &&
		    std::string(s.func) == b.func && std::string(s.cond) == b.cond)
			return true;
	return false;
}

// The BRANCH( uses in a source file, by line.
std::set<int> branch_lines(const std::string &path)
{
	std::ifstream in(std::string(UNTORN_SOURCE_DIR) + "/" + path);
	REQUIRE(in);
	std::set<int> lines;
	std::string l;
	for (int n = 1; std::getline(in, l); n++)
		if (l.find("BRANCH(ip,") != std::string::npos)
			lines.insert(n);
	return lines;
}

} // namespace

TEST_CASE("branch_sites lists every BRANCH() of the sources, each once, whether run or not")
{
	const auto &sites = branch_sites();
	REQUIRE(!sites.empty());
	std::map<std::string, std::set<int>> by_file;
	for (const auto &s : sites)
		CHECK(by_file[s.file].insert(s.line).second); // once
	for (const char *f : {"impl/variants/rfc_v1.cpp", "impl/variants/v6_16.cpp",
	                      "impl/variants/v6_18.cpp", "impl/src/xfs_kernel.cpp"}) {
		INFO(f);
		CHECK(by_file[f] == branch_lines(f));
	}
}

TEST_CASE("every decision a run records is a registered site")
{
	for (Variant v : coverage_variants())
		for (uint64_t i = 0; i < 300; i++) {
			Case c = generate_layout(7, i, v, true);
			each_branch(run_atomic_write(c.state, c.write, v), [&](const Branch &b) {
				INFO(b.file << ":" << b.line);
				CHECK(is_site(b));
			});
		}
}

TEST_CASE("coverage counts a run once per direction, keeps the lowest-ordered names, merges to the "
          "same table")
{
	Variant v = all_variants[0];
	std::vector<Trace> runs;
	for (uint64_t i = 0; i < 40; i++) {
		Case c = generate_layout(3, i, v, false);
		runs.push_back(run_atomic_write(c.state, c.write, v));
	}
	Coverage one({v}, 2), a({v}, 2), b({v}, 2);
	for (size_t i = 0; i < runs.size(); i++) {
		one.add(runs[i], "r" + std::to_string(i), i);
		(i % 2 ? a : b).add(runs[i], "r" + std::to_string(i), i);
	}
	a.merge(b);
	auto t1 = one.table(), t2 = a.table();
	REQUIRE(t1.size() == 1);
	CHECK(coverage_json(t1) == coverage_json(t2));

	// expected counts, straight from the traces
	std::map<std::pair<std::string, int>, std::array<uint64_t, 2>> want;
	std::map<std::pair<std::string, int>, std::array<std::string, 2>> first;
	for (size_t i = 0; i < runs.size(); i++) {
		std::set<std::tuple<std::string, int, bool>> seen;
		each_branch(runs[i], [&](const Branch &br) {
			if (!seen.insert({br.file, br.line, br.taken}).second)
				return;
			auto k = std::make_pair(std::string(br.file), br.line);
			if (!want[k][br.taken]++)
				first[k][br.taken] = "r" + std::to_string(i);
		});
	}
	size_t covered = 0;
	for (const auto &s : t1[0].sites) {
		const BranchSite &bs = branch_sites()[s.site];
		auto k = std::make_pair(std::string(bs.file), bs.line);
		for (int d = 0; d < 2; d++) {
			INFO(bs.file << ":" << bs.line << " " << d);
			uint64_t w = want.count(k) ? want[k][d] : 0;
			CHECK(s.dir[d].runs == w);
			CHECK(s.dir[d].names.size() == std::min<uint64_t>(w, 2));
			if (w)
				CHECK(s.dir[d].names[0] == first[k][d]);
			covered += w > 0;
		}
	}
	CHECK(t1[0].covered() == covered);
	// every site a run decided at belongs to the variant's table
	for (const auto &[k, c] : want) {
		bool in_table = false;
		for (const auto &s : t1[0].sites)
			in_table |= branch_sites()[s.site].line == k.second &&
			            branch_sites()[s.site].file == k.first;
		CHECK(in_table);
	}
	// and the table has directions no run took (the variant's other BRANCH()es)
	CHECK(t1[0].covered() < t1[0].directions());
}

TEST_CASE("a variant's table holds only the functions its write path enters")
{
	// a what-if's sites are in its generated file, never in its base's
	for (Variant w : whatif_variants) {
		Coverage c({w});
		auto t = c.table();
		REQUIRE(t.size() == 1);
		CHECK(!t[0].sites.empty());
		CHECK(t[0].covered() == 0);
		const std::string base_file(variant_source(variant_base(w)));
		for (const auto &s : t[0].sites)
			CHECK(std::string(branch_sites()[s.site].file) != base_file);
	}
}

TEST_CASE("minimize_case_with keeps the predicate and shrinks")
{
	Variant v = all_variants[0];
	// a layout with a CoW-fork extent; keep "has a CoW-fork extent and is admitted"
	for (uint64_t i = 0; i < 2000; i++) {
		Case c = generate_layout(11, i, v, false);
		if (c.state.cow_fork.empty() || case_entries(c) < 3)
			continue;
		auto keep = [&](const Case &k) {
			return !k.state.cow_fork.empty() &&
			       run_atomic_write(k.state, k.write, k.variant).admitted;
		};
		if (!keep(c))
			continue;
		MinimizeResult m = minimize_case_with(c, keep);
		CHECK(keep(m.minimized));
		CHECK(m.entries_after <= m.entries_before);
		CHECK(m.minimized.state.cow_fork.size() == 1);
		CHECK(m.minimized.state.data_fork.empty());
		return;
	}
	FAIL("no layout with a CoW extent in 2000");
}
