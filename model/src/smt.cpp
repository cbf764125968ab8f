// The solver side of smt.h: the one place a query reaches Z3, and the log
// of queries (--dump-queries).
#include "smt.h"

#include "untorn/model.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

namespace untorn::smt
{

z3::context &ctx()
{
	thread_local z3::context c;
	return c;
}

namespace
{

struct LoggedQuery {
	std::string name;
	Answer answer;
	double ms;
};

// The folder queries are dumped to, and every query's time (under `mu`).
struct QueryLog {
	std::mutex mu;
	std::string dir;
	std::vector<LoggedQuery> queries;
	std::map<std::string, std::string> scopes; // described: scope -> what it is
};
QueryLog &query_log()
{
	static QueryLog log;
	return log;
}

const char *answer_name(Answer a)
{
	switch (a) {
	case Answer::sat:
		return "sat";
	case Answer::unsat:
		return "unsat";
	case Answer::unknown:
		return "unknown";
	}
	return "?";
}

Answer answer_of(z3::check_result r)
{
	return r == z3::sat ? Answer::sat : r == z3::unsat ? Answer::unsat : Answer::unknown;
}

// A query's name as a file name: '/' becomes '-'.
std::string file_name(std::string name)
{
	std::replace(name.begin(), name.end(), '/', '-');
	return name;
}

// The kind of a query: its name without the numbers in it.
std::string kind_of(const std::string &name)
{
	std::string k;
	for (char c : name)
		if (!(c >= '0' && c <= '9'))
			k += c;
	return k;
}

// Written to a temporary name and renamed into place.
std::string write_file(const std::filesystem::path &p, const std::string &text)
{
	const std::filesystem::path tmp = p.string() + ".tmp";
	{
		std::ofstream f(tmp, std::ios::binary);
		f << text;
		if (!f)
			return "cannot write " + tmp.string();
	}
	std::error_code ec;
	std::filesystem::rename(tmp, p, ec);
	return ec ? "cannot rename " + tmp.string() + " to " + p.string() + ": " + ec.message()
	          : "";
}

// A query as the solver gets it: the assumptions named (assumption.N) and
// checked with check-sat-assuming, so that a dumped query takes the same
// route through Z3 as the original (assumptions select its incremental
// core).  Built in a context of its own: new terms in the query's context
// would change the models Z3 gives later, so dumping would change the
// exploration it records.
std::string smt2_assuming(const std::vector<z3::expr> &asserted,
                          const std::vector<z3::expr> &assumed)
{
	thread_local z3::context c;
	auto here = [&](const z3::expr &e) { return z3::expr(c, Z3_translate(e.ctx(), e, c)); };
	z3::solver s(c, "QF_BV");
	for (const auto &e : asserted)
		s.add(here(e));
	std::string names;
	for (size_t i = 0; i < assumed.size(); i++) {
		const std::string n = "assumption." + std::to_string(i);
		s.add(c.bool_const(n.c_str()) == here(assumed[i]));
		names += (i ? " |" : "|") + n + "|";
	}
	std::string text = s.to_smt2();
	const std::string check = "(check-sat)\n";
	if (!assumed.empty() && text.size() >= check.size() &&
	    text.compare(text.size() - check.size(), check.size(), check) == 0)
		text.replace(text.size() - check.size(), check.size(),
		             "(check-sat-assuming (" + names + "))\n");
	return "(set-logic QF_BV)\n" + text;
}

// Queries added up: how many, their total and slowest time.
struct Tally {
	uint64_t n = 0;
	double total = 0, max = 0;
	void add(double ms)
	{
		n++;
		total += ms;
		max = std::max(max, ms);
	}
};
// A scope's queries, and what the scope is.
struct ScopeTime : Tally {
	std::string scope, what;
};
// Per described scope, in scope order (sweep/2 before sweep/10): a query
// belongs to the scope its name starts with ("sweep/12/000003/precondition"
// to "sweep/12").
std::vector<ScopeTime> scope_times(const std::vector<LoggedQuery> &qs,
                                   const std::map<std::string, std::string> &scopes)
{
	std::map<std::string, ScopeTime> by;
	for (const auto &[scope, what] : scopes)
		by[scope] = ScopeTime{{}, scope, what};
	for (const auto &q : qs)
		for (size_t slash = q.name.find('/'); slash != std::string::npos;
		     slash = q.name.find('/', slash + 1))
			if (auto it = by.find(q.name.substr(0, slash)); it != by.end()) {
				it->second.add(q.ms);
				break;
			}
	std::vector<ScopeTime> v;
	for (auto &[scope, t] : by)
		v.push_back(std::move(t));
	auto number = [](const std::string &scope) {
		const size_t at = scope.find_last_of('/');
		return std::strtoull(scope.c_str() + (at == std::string::npos ? 0 : at + 1),
		                     nullptr, 10);
	};
	std::stable_sort(v.begin(), v.end(), [&](const ScopeTime &a, const ScopeTime &b) {
		return number(a.scope) < number(b.scope);
	});
	return v;
}

// What a scope is ("sweep/12": "write length a power of two, ..."), for the
// log's time per scope; nothing when no log is kept.
void describe_scope(const std::string &scope, const std::string &what)
{
	QueryLog &log = query_log();
	std::lock_guard<std::mutex> l(log.mu);
	if (!log.dir.empty())
		log.scopes[scope] = what;
}

std::string scopes_tsv(const std::vector<ScopeTime> &v)
{
	std::ostringstream o;
	o << "scope\tqueries\tms\tmax_ms\twhat\n";
	char line[128];
	for (const auto &t : v) {
		std::snprintf(line, sizeof line, "\t%llu\t%.3f\t%.3f\t", (unsigned long long)t.n,
		              t.total, t.max);
		o << t.scope << line << t.what << '\n';
	}
	return o.str();
}

std::string summary(std::vector<LoggedQuery> qs, std::vector<ScopeTime> scopes)
{
	std::map<std::string, Tally> kinds;
	for (const auto &q : qs)
		kinds[kind_of(q.name)].add(q.ms);
	std::ostringstream o;
	char line[512];
	std::snprintf(line, sizeof line, "%-48s %9s %12s %10s\n", "kind of query", "queries",
	              "total ms", "max ms");
	o << line;
	for (const auto &[name, k] : kinds) {
		std::snprintf(line, sizeof line, "%-48s %9llu %12.1f %10.1f\n", name.c_str(),
		              (unsigned long long)k.n, k.total, k.max);
		o << line;
	}
	std::stable_sort(scopes.begin(), scopes.end(),
	                 [](const ScopeTime &a, const ScopeTime &b) { return a.total > b.total; });
	if (!scopes.empty()) {
		o << "\nscopes that took longest (all in scopes.tsv):\n";
		std::snprintf(line, sizeof line, "%-12s %9s %12s  %s\n", "scope", "queries",
		              "total ms", "what");
		o << line;
	}
	for (size_t i = 0; i < scopes.size() && i < 20; i++) {
		std::snprintf(line, sizeof line, "%-12s %9llu %12.1f  ", scopes[i].scope.c_str(),
		              (unsigned long long)scopes[i].n, scopes[i].total);
		o << line << scopes[i].what << "\n";
	}
	std::stable_sort(qs.begin(), qs.end(),
	                 [](const LoggedQuery &a, const LoggedQuery &b) { return a.ms > b.ms; });
	o << "\nslowest queries:\n";
	for (size_t i = 0; i < qs.size() && i < 20; i++) {
		std::snprintf(line, sizeof line, "%10.1f ms  %-7s %s\n", qs[i].ms,
		              answer_name(qs[i].answer), qs[i].name.c_str());
		o << line;
	}
	return o.str();
}

} // namespace

std::string dump_queries(const std::string &dir)
{
	if (!dir.empty()) {
		std::error_code ec;
		std::filesystem::create_directories(dir, ec);
		if (ec || !std::filesystem::is_directory(dir))
			return dir + ": cannot create the folder for queries";
	}
	QueryLog &log = query_log();
	std::lock_guard<std::mutex> l(log.mu);
	log.dir = dir;
	log.queries.clear();
	log.scopes.clear();
	return "";
}

std::string write_query_log()
{
	QueryLog &log = query_log();
	std::lock_guard<std::mutex> l(log.mu);
	if (log.dir.empty())
		return "";
	std::vector<LoggedQuery> qs = log.queries;
	std::sort(qs.begin(), qs.end(),
	          [](const LoggedQuery &a, const LoggedQuery &b) { return a.name < b.name; });
	std::ostringstream tsv;
	tsv << "name\tanswer\tms\n";
	char ms[32];
	for (const auto &q : qs) {
		std::snprintf(ms, sizeof ms, "%.3f", q.ms);
		tsv << q.name << '\t' << answer_name(q.answer) << '\t' << ms << '\n';
	}
	const std::filesystem::path dir(log.dir);
	if (std::string e = write_file(dir / "queries.tsv", tsv.str()); !e.empty())
		return e;
	std::vector<ScopeTime> scopes = scope_times(qs, log.scopes);
	if (std::string e = write_file(dir / "scopes.tsv", scopes_tsv(scopes)); !e.empty())
		return e;
	return write_file(dir / "summary.txt", summary(std::move(qs), std::move(scopes)));
}

void Solver::set_scope(std::string scope, const std::string &what)
{
	if (!what.empty())
		describe_scope(scope, what);
	scope_ = std::move(scope);
}

Solver::Solver(const SolverLimits &limits)
    : timeout_ms_(limits.timeout_ms), rlimit_(limits.rlimit), max_memory_mb_(limits.max_memory_mb)
{
}

// The limits, and this query's own budget within them.
z3::params Solver::params(unsigned rlimit) const
{
	z3::params p(ctx());
	p.set("timeout", timeout_ms_);
	if (rlimit_ || rlimit)
		p.set("rlimit",
		      rlimit_ && rlimit ? std::min(rlimit, rlimit_) : std::max(rlimit, rlimit_));
	p.set("max_memory", max_memory_mb_);
	// SIGINT is the caller's (the prover's stop flag): Z3's own handler,
	// swapped in and out around each check by several threads, would
	// swallow it
	p.set("ctrl_c", false);
	return p;
}

Answer Solver::check(std::string_view name, const std::vector<z3::expr> &asserted,
                     const std::vector<z3::expr> &assumed, unsigned rlimit)
{
	z3::context &c = ctx();
	z3::solver s(c, "QF_BV"); // the queries are quantifier-free bit-vector logic
	s.set(params(rlimit));
	for (const auto &e : asserted)
		s.add(e);
	z3::expr_vector as(c);
	for (const auto &e : assumed)
		as.push_back(e);

	// (a solver with no scope is one of many short-lived ones, as the
	// specification's: numbered across all of them)
	static std::atomic<uint64_t> unscoped{0};
	const uint64_t number = scope_.empty() ? unscoped++ : queries_++;
	const auto t0 = std::chrono::steady_clock::now();
	const z3::check_result r = as.empty() ? s.check() : s.check(as);
	const double ms =
	    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
	        .count();

	core_.clear();
	if (r == z3::unsat && !as.empty()) {
		z3::expr_vector core = s.unsat_core();
		for (unsigned i = 0; i < core.size(); i++)
			core_.push_back(core[i]);
	}
	if (r == z3::sat)
		model_ = s.get_model();
	else
		model_.reset();
	unknown_ = r == z3::unknown ? s.reason_unknown() : "";
	log_query(number, name, answer_of(r), ms, asserted, assumed);
	return answer_of(r);
}

// Into the query log, if one is kept (dump_queries()).
void Solver::log_query(uint64_t number, std::string_view name, Answer a, double ms,
                       const std::vector<z3::expr> &asserted,
                       const std::vector<z3::expr> &assumed) const
{
	QueryLog &log = query_log();
	std::string dir;
	{
		std::lock_guard<std::mutex> l(log.mu);
		dir = log.dir;
	}
	if (dir.empty())
		return;
	char num[32];
	std::snprintf(num, sizeof num, "%06llu", (unsigned long long)number);
	const std::string full =
	    (scope_.empty() ? "" : scope_ + "/") + num + "/" + std::string(name);
	std::ostringstream text;
	text << "; " << full << ": " << answer_name(a) << "\n" << smt2_assuming(asserted, assumed);
	// (a file that cannot be written is reported by write_query_log's own
	// writes into the same folder)
	write_file(std::filesystem::path(dir) / (file_name(full) + ".smt2"), text.str());
	std::lock_guard<std::mutex> l(log.mu);
	log.queries.push_back({full, a, ms});
}

uint64_t Solver::value(const z3::expr &e) const
{
	return model_->eval(e, true).get_numeral_uint64();
}

std::string Solver::smt2(const std::vector<z3::expr> &asserted,
                         const std::vector<z3::expr> &assumed)
{
	z3::solver s(ctx(), "QF_BV");
	for (const auto *v : {&asserted, &assumed})
		for (const auto &e : *v)
			s.add(e);
	return s.to_smt2();
}

} // namespace untorn::smt
