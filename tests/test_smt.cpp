// The solver wrapper (model/src/smt.h): limits applied, answers and cores,
// and the query log behind `--dump-queries`, which must name every query
// and change nothing the prover does.
#include "common/files.h"
#include "smt.h"
#include "untorn/model.h"
#include "untorn/prove.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

using namespace untorn;
using untorn_test::TempDir;

namespace
{

z3::expr bv(const char *name)
{
	return smt::ctx().bv_const(name, 64);
}
z3::expr num(uint64_t v)
{
	return smt::ctx().bv_val(v, 64);
}

std::vector<std::string> lines_of(const std::filesystem::path &p)
{
	std::ifstream f(p);
	std::vector<std::string> v;
	for (std::string l; std::getline(f, l);)
		v.push_back(l);
	return v;
}

// Every prover bound at 0, on the software-only profile: a few seconds.
ProveBounds small()
{
	ProveBounds b;
	b.data_extents = b.cow_extents = b.refcount = b.alloc = 0;
	b.geometries = {default_geometries().at(2)};
	b.jobs = 2;
	b.record_paths = true;
	return b;
}

} // namespace

TEST_CASE("smt::Solver: answers, models, cores and the limits it is given", "[smt]")
{
	smt::Solver s(SolverLimits{10000, 0, 4096});
	const z3::expr x = bv("x"), y = bv("y");
	REQUIRE(s.check("sat", {z3::ugt(x, num(5))}, {x == num(7) || x == num(9)}) ==
	        smt::Answer::sat);
	const uint64_t v = s.value(x);
	CHECK((v == 7 || v == 9));

	const z3::expr a = x == num(1), b = x == num(2), c = y == num(3);
	REQUIRE(s.check("unsat", {}, {a, c, b}) == smt::Answer::unsat);
	// the refutation needs both values of x, not y's
	bool has_a = false, has_b = false, has_c = false;
	for (const auto &e : s.core()) {
		has_a |= z3::eq(e, a);
		has_b |= z3::eq(e, b);
		has_c |= z3::eq(e, c);
	}
	CHECK(has_a);
	CHECK(has_b);
	CHECK_FALSE(has_c);

	// A resource limit too small for a product's inverse: unknown, never an
	// answer, and it says why.
	smt::Solver tight(SolverLimits{10000, 1, 4096});
	const z3::expr hard =
	    x * y == num(0x9e3779b97f4a7c15ULL) && z3::ugt(x, num(1)) && z3::ugt(y, num(1));
	CHECK(tight.check("tight", {hard}) == smt::Answer::unknown);
	CHECK_FALSE(tight.reason_unknown().empty());
	// and the per-query budget is capped by the limits' own
	smt::Solver loose(SolverLimits{10000, 0, 4096});
	CHECK(loose.check("budget", {hard}, {}, 1) == smt::Answer::unknown);
}

TEST_CASE("smt: the query log names and times every query, and changes no answer", "[smt]")
{
	TempDir dir("queries", false);
	REQUIRE(smt::dump_queries(dir.str()).empty());
	smt::Solver s(SolverLimits{10000, 0, 4096});
	s.set_scope("sweep/3", "the third sweep");
	const z3::expr x = bv("x");
	CHECK(s.check("path/1/decision/0", {z3::ult(x, num(4))}, {x == num(2)}) ==
	      smt::Answer::sat);
	CHECK(s.check("path/1/judge/torn_write", {z3::ult(x, num(4)), x == num(9)}) ==
	      smt::Answer::unsat);
	smt::Solver other(SolverLimits{10000, 0, 4096});
	other.set_scope("sweep/12", "the twelfth");
	CHECK(other.check("precondition", {x == num(1)}) == smt::Answer::sat);
	REQUIRE(smt::write_query_log().empty());
	smt::dump_queries("");

	const auto tsv = lines_of(dir.path / "queries.tsv");
	REQUIRE(tsv.size() == 4);
	CHECK(tsv[0] == "name\tanswer\tms");
	CHECK(tsv[1].rfind("sweep/12/000000/precondition\tsat\t", 0) == 0);
	CHECK(tsv[2].rfind("sweep/3/000000/path/1/decision/0\tsat\t", 0) == 0);
	CHECK(tsv[3].rfind("sweep/3/000001/path/1/judge/torn_write\tunsat\t", 0) == 0);
	// the time per scope, in scope order, with what each scope is
	const auto scopes = lines_of(dir.path / "scopes.tsv");
	REQUIRE(scopes.size() == 3);
	CHECK(scopes[0] == "scope\tqueries\tms\tmax_ms\twhat");
	CHECK(scopes[1].rfind("sweep/3\t2\t", 0) == 0);
	CHECK(scopes[1].find("\tthe third sweep") != std::string::npos);
	CHECK(scopes[2].rfind("sweep/12\t1\t", 0) == 0);
	// each query as SMT-LIB, assumptions kept as assumptions
	const auto q0 = lines_of(dir.path / "sweep-3-000000-path-1-decision-0.smt2");
	REQUIRE(!q0.empty());
	CHECK(q0[0] == "; sweep/3/000000/path/1/decision/0: sat");
	CHECK(q0.back() == "(check-sat-assuming (|assumption.0|))");
	const auto q1 = lines_of(dir.path / "sweep-3-000001-path-1-judge-torn_write.smt2");
	REQUIRE(!q1.empty());
	CHECK(q1.back() == "(check-sat)");
	// the summary groups the queries by kind (their names without numbers)
	const auto sum = lines_of(dir.path / "summary.txt");
	bool decision = false, judge = false;
	for (const auto &l : sum) {
		decision |= l.rfind("sweep///path//decision/ ", 0) == 0;
		judge |= l.rfind("sweep///path//judge/torn_write ", 0) == 0;
	}
	CHECK(decision);
	CHECK(judge);
	CHECK(std::count(sum.begin(), sum.end(), "scopes that took longest (all in scopes.tsv):") ==
	      1);
	bool third = false;
	for (const auto &l : sum)
		third |=
		    l.rfind("sweep/3 ", 0) == 0 && l.find("the third sweep") != std::string::npos;
	CHECK(third);

	// nothing is written once the log is off
	TempDir off("queries-off", false);
	CHECK(s.check("after", {x == num(1)}) == smt::Answer::sat);
	CHECK_FALSE(std::filesystem::exists(off.path));
}

TEST_CASE("prove --dump-queries: every query of a proof named, and the proof unchanged",
          "[smt][prove]")
{
	ProveBounds plain = small(), dumped = small();
	TempDir dir("prove-queries", false);
	dumped.dump_queries = dir.str();
	const ProveResult a = prove(Variant::v6_18, plain), b = prove(Variant::v6_18, dumped);
	CHECK(a.paths == b.paths);
	CHECK(a.stats.decisions == b.stats.decisions);
	CHECK(a.stats.judgements == b.stats.judgements);
	for (size_t i = 0; i < a.invariants.size(); i++)
		CHECK(a.invariants[i].status == b.invariants[i].status);

	const auto tsv = lines_of(dir.path / "queries.tsv");
	REQUIRE(tsv.size() > 1);
	size_t judgements = 0, preconditions = 0, files = 0;
	for (size_t i = 1; i < tsv.size(); i++) {
		const std::string name = tsv[i].substr(0, tsv[i].find('\t'));
		INFO(name);
		CHECK(name.rfind("sweep/", 0) == 0);
		judgements += name.find("/judge/") != std::string::npos;
		preconditions += name.find("/precondition") != std::string::npos;
	}
	for (const auto &e : std::filesystem::directory_iterator(dir.path))
		files += e.path().extension() == ".smt2";
	CHECK(judgements == b.stats.judgements);
	CHECK(preconditions == b.stats.sweeps); // one per sweep
	CHECK(files == tsv.size() - 1);
}

TEST_CASE("prove --dump-queries: a folder that cannot be made is an error", "[smt][prove]")
{
	TempDir dir("not-a-folder");
	const std::string file = (dir.path / "file").string();
	std::ofstream(file) << "x";
	ProveBounds b = small();
	b.dump_queries = file + "/queries";
	CHECK_THROWS_WITH(prove(Variant::v6_18, b), Catch::Contains("cannot create"));
}
