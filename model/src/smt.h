// Z3 behind one small value type and one solver, in the manner of Alive2's
// smt/: an Expr is a 64-bit bit-vector or a boolean, built in one
// thread-local context; a Solver is the only way a query reaches Z3 (limits
// set once, every query named).  Nothing outside model/src sees z3++.h, and
// Z3's solver API (solvers, parameters, models, answers) is used only in
// smt.cpp.
#pragma once

#include <z3++.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace untorn
{
struct SolverLimits; // untorn/model.h
}

namespace untorn::smt
{

z3::context &ctx();

class Expr
{
public:
	explicit Expr(z3::expr e) : e_(std::move(e)) {}
	static Expr var(const std::string &name) { return Expr(ctx().bv_const(name.c_str(), 64)); }
	static Expr num(uint64_t v) { return Expr(ctx().bv_val(v, 64)); }
	static Expr boolean(bool b) { return Expr(ctx().bool_val(b)); }
	const z3::expr &z3() const { return e_; }

	friend Expr operator+(const Expr &a, const Expr &b) { return Expr(a.e_ + b.e_); }
	friend Expr operator-(const Expr &a, const Expr &b) { return Expr(a.e_ - b.e_); }
	friend Expr operator*(const Expr &a, const Expr &b) { return Expr(a.e_ * b.e_); }
	friend Expr operator&(const Expr &a, const Expr &b) { return Expr(a.e_ & b.e_); }
	friend Expr operator|(const Expr &a, const Expr &b) { return Expr(a.e_ | b.e_); }
	friend Expr urem(const Expr &a, const Expr &b) { return Expr(z3::urem(a.e_, b.e_)); }
	friend Expr operator==(const Expr &a, const Expr &b) { return Expr(a.e_ == b.e_); }
	friend Expr operator!=(const Expr &a, const Expr &b) { return Expr(a.e_ != b.e_); }
	friend Expr operator<(const Expr &a, const Expr &b) { return Expr(z3::ult(a.e_, b.e_)); }
	friend Expr operator<=(const Expr &a, const Expr &b) { return Expr(z3::ule(a.e_, b.e_)); }
	friend Expr operator>(const Expr &a, const Expr &b) { return Expr(z3::ugt(a.e_, b.e_)); }
	friend Expr operator>=(const Expr &a, const Expr &b) { return Expr(z3::uge(a.e_, b.e_)); }
	friend Expr operator&&(const Expr &a, const Expr &b) { return Expr(a.e_ && b.e_); }
	friend Expr operator||(const Expr &a, const Expr &b) { return Expr(a.e_ || b.e_); }
	friend Expr operator!(const Expr &a) { return Expr(!a.e_); }
	friend Expr implies(const Expr &a, const Expr &b) { return Expr(z3::implies(a.e_, b.e_)); }
	friend Expr ite(const Expr &c, const Expr &a, const Expr &b)
	{
		return Expr(z3::ite(c.e_, a.e_, b.e_));
	}

	Expr operator+(uint64_t b) const { return *this + num(b); }
	Expr operator-(uint64_t b) const { return *this - num(b); }
	Expr operator==(uint64_t b) const { return *this == num(b); }
	Expr operator!=(uint64_t b) const { return *this != num(b); }

private:
	z3::expr e_;
};

// n != 0 && (n & (n - 1)) == 0
inline Expr is_pow2(const Expr &n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

enum class Answer { sat, unsat, unknown };

// One query at a time, each on a fresh QF_BV solver: its bit-blasting
// preprocessing decides the prover's queries several times faster than
// Z3's incremental core (measured; see docs/design/history.md).  Limits
// (SolverLimits) are set once, here; each query has a name (which invariant,
// which path and decision) that a dump or a slow query is known by.
class Solver
{
public:
	explicit Solver(const SolverLimits &limits);

	// Prefixed to every query's name: the sweep, say ("sweep/12").  `what`
	// describes it in the query log's time per scope (dump_queries).
	void set_scope(std::string scope, const std::string &what = "");

	// Are `asserted` and `assumed` satisfiable together?  `rlimit`: a
	// resource budget for this query alone, within the limits' (0: the
	// limits only).  After unsat, core() is the assumptions the refutation
	// needed; after sat, value() reads the model; after unknown,
	// reason_unknown() says why.
	Answer check(std::string_view name, const std::vector<z3::expr> &asserted,
	             const std::vector<z3::expr> &assumed = {}, unsigned rlimit = 0);

	const std::vector<z3::expr> &core() const { return core_; }
	// The model's value of a term (0 for a variable the query left free).
	uint64_t value(const z3::expr &e) const;
	const std::string &reason_unknown() const { return unknown_; }

	// The query as SMT-LIB, for a report of an undecided query.
	static std::string smt2(const std::vector<z3::expr> &asserted,
	                        const std::vector<z3::expr> &assumed = {});

private:
	z3::params params(unsigned rlimit) const;
	void log_query(uint64_t number, std::string_view name, Answer a, double ms,
	               const std::vector<z3::expr> &asserted,
	               const std::vector<z3::expr> &assumed) const;

	unsigned timeout_ms_, rlimit_, max_memory_mb_; // (SolverLimits)
	std::string scope_;
	uint64_t queries_ = 0; // asked by this solver: numbers its dumped queries
	std::vector<z3::expr> core_;
	std::optional<z3::model> model_;
	std::string unknown_;
};

// Every query from now on, in every thread, is written to `dir` (one SMT-LIB
// file each, named scope-number-name) and timed; write_query_log() then
// writes `dir`/queries.tsv (name, answer, milliseconds; sorted by name),
// `dir`/scopes.tsv (per scope: how many queries, their total and slowest
// time, what the scope is; in scope order) and `dir`/summary.txt (per kind
// of query -- the name without its numbers -- how many, their total and
// slowest time; the scopes that took longest; and the slowest queries by
// name).  "" (the default): nothing is written or timed.  Returns "" or
// what could not be done.
std::string dump_queries(const std::string &dir);
// Returns "" or what could not be written.
std::string write_query_log();

} // namespace untorn::smt
