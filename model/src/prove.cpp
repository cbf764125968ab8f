// The prover and the differ: concolic exploration of impl's own code (see
// untorn/prove.h and model/src/sym/), judged by the specification's formulas.
#include "untorn/prove.h"

#include "facts.h"
#include "invariants.h"
#include "smt.h"
#include "sweeps.h"
#include "sym/bridge.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace untorn
{

using untorn_concolic::In;
using untorn_concolic::InCase;
using untorn_concolic::RunOut;

std::string_view proof_status_name(ProofStatus s)
{
	switch (s) {
	case ProofStatus::proved:
		return "proved";
	case ProofStatus::counterexample:
		return "counterexample";
	case ProofStatus::inconclusive:
		return "inconclusive";
	}
	return "?";
}

std::string_view diff_status_name(DiffStatus s)
{
	switch (s) {
	case DiffStatus::equivalent:
		return "equivalent";
	case DiffStatus::different:
		return "different";
	case DiffStatus::inconclusive:
		return "inconclusive";
	}
	return "?";
}

const std::vector<GeometryProfile> &default_geometries()
{
	static const std::vector<GeometryProfile> g = {
	    {4096, 1000, 4, 0, 4096, 65536},  // AG not a power of two; hardware atomics to 64 KiB
	    {4096, 1024, 2, 16, 4096, 16384}, // power-of-two AG, CoW extent size hint 16
	    {4096, 4096, 4, 0, 0, 0},         // no hardware atomics: the software path only
	    {1024, 2048, 2, 4, 512, 4096},    // small blocks (the smallest a v5, reflink XFS has)
	};
	return g;
}

namespace
{

z3::context &C()
{
	return smt::ctx();
}
z3::expr num(uint64_t v)
{
	return C().bv_val(v, 64);
}

ConcreteCase concrete_case(const InCase &c)
{
	auto value = [](const In &x) { return x.value; };
	ConcreteCase k;
	k.state = untorn_concolic::file_state<FileState>(c, value, value);
	k.write = {c.offset.value, c.length.value};
	return k;
}

// The inputs' values in the model of the last query (satisfiable).
template <class Solved> InCase with_model(InCase c, const Solved &m)
{
	untorn_concolic::for_each_input(c, [&](In &x) {
		if (x.var)
			x.value = m.value(*x.var);
	});
	return c;
}

// ---------------------------------------------------------- the judgement

// The specification over one path's facts: each invariant's "broken" with
// the fact slots replaced by the facts' terms.  Crash choices stay free
// (prove: is there one that breaks it?) or are expanded (diff: the verdict
// as a formula of the inputs alone).
struct PathSpec {
	spec::Shape shape;
	std::vector<z3::expr> broken; // per invariant, crash choices free
	std::vector<z3::expr> crash_vars;
	z3::expr crash_domain = C().bool_val(true);

	explicit PathSpec(const RunOut &r)
	{
		shape.segs = r.segs;
		shape.bios = r.bios;
		shape.txns = r.txns;
		shape.calls = r.calls;
		shape.atomic_mask = r.atomic_mask;
		spec::Sym sym(shape);
		z3::expr_vector from(C()), to(C());
		for (unsigned j = 0; j < shape.fact_count(); j++) {
			from.push_back(sym.slot(j).z3());
			to.push_back(r.facts[j]);
		}
		for (const auto &inv : spec::invariants()) {
			z3::expr f = inv.broken(sym).z3();
			broken.push_back(f.substitute(from, to));
		}
		crash_vars.push_back(sym.crash_k().z3());
		crash_domain = z3::ule(sym.crash_k().z3(), num(shape.txns));
		for (unsigned b = 0; b < shape.bios; b++) {
			crash_vars.push_back(sym.slot(shape.crash_atomic(b)).z3());
			crash_domain = crash_domain && z3::ule(crash_vars.back(), num(1));
		}
	}

	// The verdict without crash variables: the disjunction over every crash
	// choice (there are few: committed prefix x one bit per REQ_ATOMIC bio).
	z3::expr verdict(size_t i) const
	{
		std::vector<unsigned> bits;
		for (unsigned b = 0; b < shape.bios && b < 64; b++)
			if ((shape.atomic_mask >> b) & 1)
				bits.push_back(b);
		z3::expr any = C().bool_val(false);
		for (uint64_t k = 0; k <= shape.txns; k++)
			for (uint64_t m = 0; m < (1ULL << bits.size()); m++) {
				z3::expr_vector from(C()), to(C());
				from.push_back(crash_vars[0]);
				to.push_back(num(k));
				for (unsigned b = 0; b < shape.bios; b++) {
					uint64_t bit = 0;
					for (size_t j = 0; j < bits.size(); j++)
						if (bits[j] == b)
							bit = (m >> j) & 1;
					from.push_back(crash_vars[1 + b]);
					to.push_back(num(bit));
				}
				z3::expr f = broken[i];
				any = any || f.substitute(from, to);
			}
		return any.simplify();
	}
};

template <class Solved> Witness crash_witness(const PathSpec &ps, const Solved &m)
{
	const spec::Shape &sh = ps.shape;
	std::vector<uint64_t> slots(sh.slot_count(), 0);
	for (size_t k = 0; k < ps.crash_vars.size(); k++)
		slots[sh.crash_k() + k] = m.value(ps.crash_vars[k]);
	return spec::crash_witness(sh, slots.data());
}

Witness outcome_witness(const RunOut &r)
{
	return Witness::no_crash({bool(r.admitted), int(r.result), Path(r.path)});
}

// ------------------------------------------------------------ the solver

double seconds_since(std::chrono::steady_clock::time_point t0)
{
	return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// UNTORN_PROVE_DEBUG=1: one line per path, slow queries, and where the time
// went (printed at exit) -- how the figures in docs/prove.md were taken.
struct DebugTimes {
	double slice = 0, full_sat = 0, full_unsat = 0, run = 0, judge = 0;
	unsigned n_slice_unsat = 0, n_slice_other = 0, n_sat = 0, n_unsat = 0, n_cached = 0;
	~DebugTimes()
	{
		if (std::getenv("UNTORN_PROVE_DEBUG"))
			std::fprintf(
			    stderr,
			    "slice %.1fs (%u refuted, %u not), full sat %.1fs (%u), full "
			    "unsat %.1fs (%u), refuted from cache %u, runs %.1fs, judging %.1fs\n",
			    slice, n_slice_unsat, n_slice_other, full_sat, n_sat, full_unsat,
			    n_unsat, n_cached, run, judge);
	}
};
thread_local DebugTimes dt;

// The assertions of a sweep (its precondition, and the judgement a path is
// being asked about) on a stack with push/pop, and the current path's
// decisions as assumptions, asked by one smt::Solver.  Decisions are
// assumptions, not assertions, so that a refuted branch's unsat core names
// the decisions that refute it.  Each query is named after the path it is
// asked on (at()) and what it asks.
class Stack
{
public:
	explicit Stack(const SolverLimits &lim) : solver_(lim) {}
	void set_scope(std::string scope, const std::string &what = "")
	{
		solver_.set_scope(std::move(scope), what);
	}
	// The path the next queries are about ("path/12", "path/12/case/3").
	void at(std::string path) { path_ = std::move(path); }

	void push() { marks_.push_back(items_.size()); }
	void pop(unsigned n = 1)
	{
		for (; n; n--) {
			items_.erase(items_.begin() + long(marks_.back()), items_.end());
			marks_.pop_back();
		}
	}
	void add(const z3::expr &e) { items_.push_back(e); }

	void assume(const z3::expr &e) { assumed_.push_back(e); }
	size_t assumed() const { return assumed_.size(); }
	void unassume_to(size_t n) { assumed_.resize(n, C().bool_val(true)); }
	// After an unsat check: the assumptions the refutation needed.
	const std::vector<z3::expr> &core() const { return solver_.core(); }

	// `what`: the query's name on this path.  `rlimit`: a resource budget
	// for this query (0: the user's limits only).  Deterministic, unlike a
	// timeout, so a query over budget is over budget on every run.
	smt::Answer check(const std::string &what, unsigned rlimit = 0)
	{
		return solver_.check(name(what), items_, assumed_, rlimit);
	}
	// Sound shortcut for infeasible branches: if `goal` contradicts the
	// assertions that mention only its own variables, it contradicts them
	// all.  (Most negated decisions are implied by a few bounds and earlier
	// decisions on the same values; the whole path is much harder to solve.)
	bool refuted_by_slice(const std::string &what, const z3::expr &goal)
	{
		const std::vector<unsigned> &gv = vars_of(goal);
		std::vector<z3::expr> slice;
		for (const auto *v : {&items_, &assumed_})
			for (const auto &e : *v) {
				const std::vector<unsigned> &ev = vars_of(e);
				if (std::includes(gv.begin(), gv.end(), ev.begin(), ev.end()))
					slice.push_back(e);
			}
		if (slice.size() == items_.size() + assumed_.size())
			return false; // the slice is everything: let check() decide
		slice.push_back(goal);
		return solver_.check(name(what), slice) == smt::Answer::unsat;
	}
	// After a sat check: the model's value of a term.
	uint64_t value(const z3::expr &e) const { return solver_.value(e); }
	std::string reason_unknown() const { return solver_.reason_unknown(); }
	std::string to_smt2() const { return smt::Solver::smt2(items_, assumed_); }

private:
	// The uninterpreted constants of a term, sorted by AST id (memoized).
	const std::vector<unsigned> &vars_of(const z3::expr &e)
	{
		auto it = vars_.find(e.id());
		if (it != vars_.end())
			return it->second;
		std::vector<unsigned> v;
		if (e.is_const() && e.decl().decl_kind() == Z3_OP_UNINTERPRETED) {
			v.push_back(e.id());
		} else if (e.is_app()) {
			for (unsigned i = 0; i < e.num_args(); i++) {
				const std::vector<unsigned> &a = vars_of(e.arg(i));
				std::vector<unsigned> m;
				std::set_union(v.begin(), v.end(), a.begin(), a.end(),
				               std::back_inserter(m));
				v.swap(m);
			}
		}
		keep_.push_back(e); // keeps the id alive (ids are reused after deletion)
		return vars_[e.id()] = std::move(v);
	}

	std::string name(const std::string &what) const
	{
		return path_.empty() ? what : path_ + "/" + what;
	}

	smt::Solver solver_;
	std::string path_;
	std::unordered_map<unsigned, std::vector<unsigned>> vars_;
	std::vector<z3::expr> keep_;
	std::vector<z3::expr> items_, assumed_;
	std::vector<size_t> marks_;
};

// ------------------------------------------------------------ the explorer

// Has the caller asked the proof to stop (ProveBounds::stop, on SIGINT), or
// has its time limit come (ProveBounds::deadline)?
bool interrupted(const ProveBounds &b)
{
	return b.stop && b.stop->load();
}
bool stop_asked(const ProveBounds &b)
{
	return interrupted(b) || (b.deadline && std::chrono::steady_clock::now() >= *b.deadline);
}

bool debug()
{
	static const bool on = std::getenv("UNTORN_PROVE_DEBUG") != nullptr;
	return on;
}

using untorn_concolic::literal;

z3::expr negate(const z3::expr &e)
{
	auto [core, pos] = literal(e);
	return pos ? !core : core;
}
bool same_decision(const z3::expr &a, const z3::expr &b)
{
	auto [ca, pa] = literal(a);
	auto [cb, pb] = literal(b);
	return pa == pb && z3::eq(ca, cb);
}

// Depth-first over the decisions of the runs (one run per variant compared):
// on each path, `on_path` judges with the path's decisions asserted; then
// each decision after the forced prefix is negated in turn.
class Explorer
{
public:
	// `split`: run with the facts deciding (see Judged::split).
	using RunFn = std::function<std::vector<RunOut>(const InCase &, bool split)>;
	// What judging a path asks for next: stop exploring, go on, or -- the
	// judgement over the merged facts was over its budget -- split the path
	// on the facts' own cases and judge each (never asked when split).
	enum class Judged { stop, next, split };
	using PathFn =
	    std::function<Judged(const InCase &, const std::vector<RunOut> &, Stack &, bool split)>;

	Explorer(const SolverLimits &lim, bool pinned_geometry, uint64_t max_paths,
	         ProveStats &stats, std::vector<std::string> &divs,
	         std::function<bool(bool fact_case)> cancelled)
	    : s_(lim), slice_(!pinned_geometry), max_paths_(max_paths), stats_(stats),
	      divergences_(divs), cancelled_(std::move(cancelled))
	{
	}

	// Explores every path of `tmpl`'s layouts that satisfy `pre`.  Returns
	// false when on_path asked to stop (or exploration was cut short).
	bool explore(const InCase &tmpl, const std::vector<z3::expr> &pre, RunFn run,
	             PathFn on_path)
	{
		run_ = std::move(run);
		on_path_ = std::move(on_path);
		refutations_.clear(); // they hold under this sweep's precondition only
		keep_.clear();
		s_.push();
		for (const auto &x : pre)
			s_.add(x);
		s_.at("");
		smt::Answer r = s_.check("precondition");
		bool go_on = true;
		if (r == smt::Answer::sat)
			go_on = dfs(with_model(tmpl, s_), 0, {});
		else if (r == smt::Answer::unknown)
			cut_short("the precondition: " + s_.reason_unknown());
		s_.pop();
		return go_on && incomplete_.empty();
	}

	// Names every query of this explorer (the sweep's: "sweep/12").
	void set_scope(std::string scope, const std::string &what = "")
	{
		s_.set_scope(std::move(scope), what);
	}

	const std::string &incomplete() const { return incomplete_; }
	std::string smt2() const { return smt2_; }

private:
	void cut_short(const std::string &why)
	{
		if (incomplete_.empty()) {
			incomplete_ = why;
			smt2_ = s_.to_smt2();
		}
	}

	bool dfs(const InCase &input, size_t fixed, const std::vector<z3::expr> &prefix,
	         bool split = false)
	{
		if (cancelled_(split))
			return false; // another sweep has answered, or a stop was asked
		auto r0 = std::chrono::steady_clock::now();
		std::vector<RunOut> runs = run_(input, split);
		dt.run += seconds_since(r0);
		std::vector<z3::expr> conds;
		for (auto &r : runs)
			conds.insert(conds.end(), r.conds.begin(), r.conds.end());
		if (conds.size() < fixed ||
		    !std::equal(prefix.begin(), prefix.end(), conds.begin(), same_decision)) {
			divergences_.push_back(
			    "a run did not follow the path it was steered to (decision " +
			    std::to_string(prefix.size()) +
			    "): a decision impl takes is not recorded");
			return false;
		}
		if (debug())
			std::fprintf(
			    stderr, "%s %llu: %zu decisions, forced %zu\n",
			    split ? "fact case" : "path",
			    (unsigned long long)(split ? stats_.fact_cases : stats_.paths) + 1,
			    conds.size(), fixed);
		++(split ? stats_.fact_cases : stats_.paths);
		// (this path's name, for its queries: paths are numbered in the
		// order explored, fact cases within all of the sweep's)
		const std::string here_path =
		    split ? path_name_ + "/case/" + std::to_string(stats_.fact_cases)
		          : "path/" + std::to_string(stats_.paths);
		if (!split) {
			path_name_ = here_path;
			const RunOut &r0 = runs[0];
			if (!r0.admitted)
				stats_.refused++;
			else if (r0.result != 0)
				stats_.failed[r0.result]++;
			else
				++(Path(r0.path) == Path::hw ? stats_.done_hw : stats_.done_sw);
		}
		if (stats_.paths + stats_.fact_cases > max_paths_) {
			cut_short("more than " + std::to_string(max_paths_) +
			          " paths and fact cases");
			return false;
		}
		const size_t base = s_.assumed();
		for (size_t i = fixed; i < conds.size(); i++)
			assume(conds[i]);
		auto j0 = std::chrono::steady_clock::now();
		s_.at(here_path);
		Judged j = on_path_(input, runs, s_, split);
		dt.judge += seconds_since(j0);
		if (debug() && seconds_since(j0) > 0.2)
			std::fprintf(stderr, "  slow judgement: %.2f s\n", seconds_since(j0));
		unassume_to(base);
		if (j == Judged::stop)
			return false;
		bool go_on = true;
		if (j == Judged::split) {
			// the same input with the facts deciding: its decisions past
			// conds are the facts' cases, explored below it (impl's are
			// fixed, and negated here as usual)
			stats_.split_paths++;
			if (debug())
				std::fprintf(stderr, "  splitting the facts of path %llu\n",
				             (unsigned long long)stats_.paths);
			for (size_t i = fixed; i < conds.size(); i++)
				assume(conds[i]);
			go_on = dfs(input, conds.size(), conds, true);
			unassume_to(base);
		}

		for (size_t i = fixed; i < conds.size() && go_on; i++) {
			// the same decision taken again (impl re-tests a value): its
			// negation contradicts the earlier one, no query needed
			bool repeated = false;
			for (size_t j = 0; j < i && !repeated; j++)
				repeated = same_decision(conds[j], conds[i]);
			if (repeated)
				continue;
			stats_.decisions++;
			const z3::expr other = canonical(negate(conds[i]));
			if (refuted_before(other)) {
				dt.n_cached++;
				assume(conds[i]);
				continue;
			}
			auto qs = std::chrono::steady_clock::now();
			s_.at(here_path);
			bool refuted =
			    slice_ &&
			    s_.refuted_by_slice("decision/" + std::to_string(i) + "/slice", other);
			dt.slice += seconds_since(qs);
			(refuted ? dt.n_slice_unsat : dt.n_slice_other)++;
			if (refuted) {
				assume(conds[i]);
				continue;
			}
			const size_t here = s_.assumed();
			assume(other);
			auto q0 = std::chrono::steady_clock::now();
			smt::Answer r = s_.check("decision/" + std::to_string(i));
			if (debug() && seconds_since(q0) > 0.2)
				std::fprintf(stderr,
				             "  slow query: negating decision %zu took %.2f s\n", i,
				             seconds_since(q0));
			(r == smt::Answer::sat ? dt.full_sat : dt.full_unsat) += seconds_since(q0);
			(r == smt::Answer::sat ? dt.n_sat : dt.n_unsat)++;
			if (r == smt::Answer::sat) {
				std::vector<z3::expr> next(conds.begin(), conds.begin() + long(i));
				next.push_back(negate(conds[i]));
				go_on = dfs(with_model(input, s_), i + 1, next, split);
			} else if (r == smt::Answer::unknown) {
				cut_short("a path's feasibility: " + s_.reason_unknown());
				go_on = false;
			} else {
				remember_refutation(other, s_.core());
			}
			unassume_to(here);
			assume(conds[i]);
		}
		unassume_to(base);
		return go_on;
	}

	// ---- the path's decisions as assumptions, and the refutation cache ----
	// A decision in one canonical form (NOTs stripped, then one NOT for a
	// negative literal), so that the same test taken on different runs is
	// the same term, and its key (the term's id: Z3 shares equal terms).
	static z3::expr canonical(const z3::expr &e)
	{
		auto [core, pos] = literal(e);
		return pos ? core : !core;
	}
	void assume(const z3::expr &e)
	{
		z3::expr c = canonical(e);
		s_.assume(c);
		active_[c.id()]++;
		assumed_ids_.push_back(c.id()); // (the stack's assumptions keep c alive)
	}
	void unassume_to(size_t n)
	{
		// the stack's assumptions past n, counted out of the active set
		while (assumed_ids_.size() > n) {
			auto it = active_.find(assumed_ids_.back());
			if (--it->second == 0)
				active_.erase(it);
			assumed_ids_.pop_back();
		}
		s_.unassume_to(n);
	}
	// Is `lit` refuted by decisions that all hold on the current path?  A
	// refutation's unsat core (with the sweep's precondition, asserted) is a
	// set of decisions that imply the opposite of `lit` on every path that
	// takes them all -- so no query is needed on such a path.  Sound because
	// the terms a refutation names are kept alive for the sweep (keep_), so
	// their ids are not reused for other terms.
	bool refuted_before(const z3::expr &lit) const
	{
		auto it = refutations_.find(lit.id());
		if (it == refutations_.end())
			return false;
		for (const auto &core : it->second)
			if (std::all_of(core.begin(), core.end(),
			                [&](unsigned id) { return active_.count(id) > 0; }))
				return true;
		return false;
	}
	void remember_refutation(const z3::expr &lit, const std::vector<z3::expr> &core)
	{
		std::vector<unsigned> ids;
		for (const auto &c : core) {
			if (z3::eq(c, lit))
				continue;
			ids.push_back(c.id());
			keep_.push_back(c);
		}
		keep_.push_back(lit);
		refutations_[lit.id()].push_back(std::move(ids));
	}

	Stack s_;
	// decision ids assumed on the current path (with multiplicity), and
	// their order (so unassume_to() can count them out)
	std::unordered_map<unsigned, unsigned> active_;
	std::vector<unsigned> assumed_ids_;
	std::unordered_map<unsigned, std::vector<std::vector<unsigned>>> refutations_;
	std::vector<z3::expr> keep_;
	bool slice_; // try refuting a branch on its variables' slice first (pays off on hard
	             // queries)
	uint64_t max_paths_;
	ProveStats &stats_;
	std::vector<std::string> &divergences_;
	std::function<bool(bool fact_case)> cancelled_;
	RunFn run_;
	PathFn on_path_;
	std::string incomplete_, smt2_;
	std::string path_name_; // of the last path (not fact case) started
};

// Every sweep within the bounds, in a fixed order.

unsigned variant_index(Variant v)
{
	return unsigned(v);
}

// A counterexample must be a valid case on which the concrete impl takes the
// same decisions and the specification (Z3 engine) finds the same invariant.
std::string confirm(const ConcreteCase &k, Variant v, const RunOut &sym,
                    const std::string &invariant)
{
	auto errs = validate_state(k.state, k.write);
	if (!errs.empty())
		return "the precondition admits a case validate_state() refuses (" + errs[0].path +
		       ": " + errs[0].what + ")";
	Trace t = run_atomic_write(k.state, k.write, v);
	if (decision_signature(t) != sym.branches || t.result != sym.result ||
	    unsigned(t.path) != sym.path)
		return "the concrete impl takes other decisions than the concolic run on the same "
		       "values";
	if (invariant.empty())
		return "";
	Spec z(Engine::z3);
	for (const auto &n : z.judge(t).broken_names())
		if (n == invariant)
			return "";
	return "the concrete specification does not find " + invariant + " on the counterexample";
}

} // namespace

namespace
{

// While it lives, interrupts the Z3 contexts listed in `live` (under `m`)
// whenever a stop is asked (stop_asked): polled from a thread of its own,
// for Z3_interrupt is not for signal handlers.  Nothing to do without
// b.stop or b.deadline.
class StopWatcher
{
public:
	StopWatcher(const ProveBounds &b, std::mutex &m, const std::vector<z3::context *> &live)
	{
		if (!b.stop && !b.deadline)
			return;
		thread_ = std::thread([this, &b, &m, &live] {
			while (!finished_) {
				if (stop_asked(b)) {
					std::lock_guard<std::mutex> l(m);
					for (z3::context *c : live)
						c->interrupt();
				}
				std::this_thread::sleep_for(std::chrono::milliseconds(50));
			}
		});
	}
	StopWatcher(const StopWatcher &) = delete;
	StopWatcher &operator=(const StopWatcher &) = delete;
	~StopWatcher()
	{
		finished_ = true;
		if (thread_.joinable())
			thread_.join();
	}

private:
	std::atomic<bool> finished_{false};
	std::thread thread_;
};

// What for_each_sweep() hands back.
template <class R> struct SweepResults {
	std::vector<Sweep> sweeps;
	std::vector<std::optional<R>> parts; // in sweep order; none: not run
	std::vector<char> finished;          // explored to the end before any stop was asked
	std::vector<double> ended_at;        // seconds from the start, for those finished
	size_t count_finished() const
	{
		return size_t(std::count(finished.begin(), finished.end(), 1));
	}
};

// Runs `one(sweep, cancelled)` over every sweep, `jobs` at a time, and
// hands back each sweep's result in sweep order.  Each sweep runs on a
// thread of its own, so on a fresh Z3 context (model's contexts are per
// thread): Z3's models depend on what its context has seen before, and a
// context shared by the sweeps one worker happens to take would make the
// counterexamples depend on the schedule.  When `stops(result)` holds for sweep k,
// sweeps after k are not needed: those not started are skipped and those
// running are told to give up (`cancelled()`), so the results present are
// exactly those of sweeps 0..k, whatever the threads' timing -- which keeps
// every report byte-identical for any --jobs.  `cancelled()` is asked as
// each path or fact case starts; that and each sweep's end go to
// b.on_progress.
template <class R, class One, class Stops>
SweepResults<R> for_each_sweep(const std::vector<Sweep> &sws, const ProveBounds &b, One one,
                               Stops stops)
{
	const unsigned jobs = b.jobs;
	SweepResults<R> res;
	res.sweeps = sws;
	res.finished.assign(sws.size(), 0);
	res.ended_at.assign(sws.size(), 0);
	const auto t0 = std::chrono::steady_clock::now();
	std::vector<std::optional<R>> &out = res.parts;
	out.resize(sws.size());
	std::atomic<size_t> next{0}, first_stop{SIZE_MAX};
	std::mutex m;
	size_t done = 0;
	uint64_t paths = 0;
	uint64_t cases = 0;
	auto progress = [&](size_t sweeps_ended, uint64_t paths_started, uint64_t cases_started) {
		if (!b.on_progress)
			return;
		std::lock_guard<std::mutex> l(m);
		done += sweeps_ended;
		paths += paths_started;
		cases += cases_started;
		b.on_progress(done, sws.size(), paths, cases);
	};
	// b.stop: the contexts of the sweeps under way, interrupted by a watcher
	std::vector<z3::context *> live;
	StopWatcher watcher(b, m, live);
	std::exception_ptr error;
	auto worker = [&] {
		try {
			for (size_t i;
			     !stop_asked(b) && (i = next++) < sws.size() && i <= first_stop;) {
				std::optional<R> r;
				std::exception_ptr e;
				std::thread([&] {
					{
						std::lock_guard<std::mutex> l(m);
						live.push_back(&C());
					}
					try {
						r = one(sws[i], [&](bool fact_case) {
							progress(0, !fact_case, fact_case);
							return i > first_stop || stop_asked(b);
						});
					} catch (...) {
						// (a Z3 call interrupted by a stop may throw:
						// the sweep is then not explored)
						if (!stop_asked(b))
							e = std::current_exception();
					}
					// (unlisted before this thread's context goes)
					std::lock_guard<std::mutex> l(m);
					live.erase(std::find(live.begin(), live.end(), &C()));
				}).join();
				if (e)
					std::rethrow_exception(e);
				if (i > first_stop || !r)
					continue;
				if (!stop_asked(b)) {
					res.finished[i] = 1; // (each i is one thread's)
					res.ended_at[i] = seconds_since(t0);
				}
				progress(1, 0, 0);
				bool stop = stops(*r);
				out[i] = std::move(r);
				for (size_t f = first_stop; stop && i < f;)
					first_stop.compare_exchange_weak(f, i);
			}
		} catch (...) {
			std::lock_guard<std::mutex> l(m);
			if (!error)
				error = std::current_exception();
			first_stop = 0;
		}
	};
	if (jobs <= 1) {
		worker();
	} else {
		std::vector<std::thread> threads;
		for (unsigned w = 0; w < jobs; w++)
			threads.emplace_back(worker);
		for (auto &t : threads)
			t.join();
	}
	if (error)
		std::rethrow_exception(error);
	if (first_stop != SIZE_MAX)
		out.resize(first_stop + 1);
	return res;
}

void add_stats(ProveStats &to, const ProveStats &s)
{
	to.sweeps += s.sweeps;
	to.paths += s.paths;
	to.split_paths += s.split_paths;
	to.fact_cases += s.fact_cases;
	to.decisions += s.decisions;
	to.judgements += s.judgements;
	to.done_hw += s.done_hw;
	to.done_sw += s.done_sw;
	to.refused += s.refused;
	for (auto [e, n] : s.failed)
		to.failed[e] += n;
}

template <class R> std::vector<SweepStats> per_sweep(const SweepResults<R> &sr)
{
	std::vector<SweepStats> v;
	for (size_t i = 0; i < sr.parts.size() && i < sr.sweeps.size(); i++)
		if (sr.parts[i])
			v.push_back({sr.sweeps[i].describe(), sr.sweeps[i].size(),
			             sr.finished[i] != 0, sr.parts[i]->stats});
	return v;
}

// Every invariant proved, until a path says otherwise.
std::vector<InvariantProof> all_proved()
{
	std::vector<InvariantProof> v;
	for (const auto &info : invariant_catalogue())
		v.push_back({info.name, info.cls, ProofStatus::proved, std::nullopt, {}, ""});
	return v;
}

// One sweep's part of a proof: each invariant's status on this sweep alone
// (inconclusive_reason: why this sweep's exploration was cut short).
ProveResult prove_sweep(Variant v, const Sweep &sw, const ProveBounds &b,
                        std::function<bool(bool fact_case)> cancelled)
{
	ProveResult res;
	res.variant = v;
	res.invariants = all_proved();
	Explorer ex(b.limits, !b.symbolic_geometry, b.max_paths, res.stats, res.divergences,
	            std::move(cancelled));
	ex.set_scope("sweep/" + std::to_string(sw.index), sw.describe());

	auto run = [&](const InCase &c, bool split) {
		return std::vector<RunOut>{untorn_concolic::run_symbolic(c, split)};
	};
	using Judged = Explorer::Judged;
	auto on_path = [&](const InCase &input, const std::vector<RunOut> &runs, Stack &s,
	                   bool split) {
		const RunOut &r = runs[0];
		if (b.record_paths && !split) // (impl's decisions: the facts' cases are not paths)
			res.paths.push_back(untorn_concolic::path_outcomes(r.conds));
		PathSpec ps(r);
		s.push();
		s.add(ps.crash_domain);
		z3::expr any = C().bool_val(false);
		for (size_t i = 0; i < ps.broken.size(); i++)
			if (res.invariants[i].status == ProofStatus::proved)
				any = any || ps.broken[i];
		res.stats.judgements++;
		s.push();
		s.add(any);
		smt::Answer quick = s.check("judge/any", split ? 0 : b.merged_judgement_rlimit);
		s.pop();
		if (quick == smt::Answer::unknown && !split) {
			s.pop();
			return Judged::split;
		}
		for (size_t i = 0; i < ps.broken.size() && quick != smt::Answer::unsat; i++) {
			InvariantProof &ip = res.invariants[i];
			if (ip.status != ProofStatus::proved)
				continue;
			s.push();
			s.add(ps.broken[i]);
			res.stats.judgements++;
			smt::Answer q = s.check("judge/" + ip.name);
			// (stopped: the checks that confirm it would be interrupted too)
			if (q == smt::Answer::sat && stop_asked(b))
				q = smt::Answer::unknown;
			if (q == smt::Answer::sat) {
				InCase cex = with_model(input, s);
				ip.status = ProofStatus::counterexample;
				ip.counterexample = concrete_case(cex);
				RunOut again = untorn_concolic::run_symbolic(cex);
				// A liveness invariant is about the write's own outcome: no
				// crash takes part, so the witness is what the write did.
				ip.witness = ip.cls == InvClass::liveness ? outcome_witness(again)
				                                          : crash_witness(ps, s);
				if (std::string d = confirm(*ip.counterexample, v, again, ip.name);
				    !d.empty())
					res.divergences.push_back(ip.name + ": " + d);
			} else if (q == smt::Answer::unknown) {
				ip.status = ProofStatus::inconclusive;
				ip.smt2 = s.to_smt2();
			}
			s.pop();
		}
		s.pop();
		return Judged::next;
	};

	InCase tmpl = symbolic_case(sw, variant_index(v));
	res.stats.sweeps = 1;
	if (!ex.explore(tmpl, precondition(tmpl), run, on_path)) {
		res.inconclusive_reason = sw.describe() + ": " + ex.incomplete();
		for (auto &ip : res.invariants)
			if (ip.status == ProofStatus::proved) {
				ip.status = ProofStatus::inconclusive;
				ip.smt2 = ex.smt2();
			}
	}
	return res;
}

// One sweep's part of a diff.
DiffResult diff_sweep(Variant a, Variant b, const Sweep &sw, const ProveBounds &bounds,
                      std::function<bool(bool fact_case)> cancelled)
{
	DiffResult res;
	res.a = a;
	res.b = b;
	Explorer ex(bounds.limits, !bounds.symbolic_geometry, bounds.max_paths, res.stats,
	            res.divergences, std::move(cancelled));
	ex.set_scope("sweep/" + std::to_string(sw.index), sw.describe());
	const auto &cat = invariant_catalogue();

	auto run = [&](const InCase &c, bool) {
		InCase cb = c;
		cb.variant = variant_index(b);
		return std::vector<RunOut>{untorn_concolic::run_symbolic(c),
		                           untorn_concolic::run_symbolic(cb)};
	};
	auto found = [&](const InCase &input, std::string what) {
		res.status = DiffStatus::different;
		res.witness = concrete_case(input);
		res.what = std::move(what);
		InCase cb = input;
		cb.variant = variant_index(b);
		for (auto [v, c] : {std::pair{a, input}, std::pair{b, cb}})
			if (std::string d =
			        confirm(*res.witness, v, untorn_concolic::run_symbolic(c), "");
			    !d.empty())
				res.divergences.push_back(std::string(variant_name(v)) + ": " + d);
		return false; // one difference is the answer
	};
	auto compare = [&](const InCase &input, const std::vector<RunOut> &runs, Stack &s) {
		const RunOut &ra = runs[0], &rb = runs[1];
		if (ra.result != rb.result)
			return found(input, "result " + std::string(errno_name(ra.result)) +
			                        " vs " + std::string(errno_name(rb.result)));
		if (ra.path != rb.path)
			return found(input, "path " + std::string(path_name(Path(ra.path))) +
			                        " vs " + std::string(path_name(Path(rb.path))));
		if (ra.outcome_shape != rb.outcome_shape)
			return found(input, "final extent maps differ in their number of extents");
		auto ask = [&](const z3::expr &q, const std::string &what,
		               const std::string &name) {
			s.push();
			s.add(q);
			res.stats.judgements++;
			smt::Answer r = s.check(name);
			std::optional<InCase> w;
			if (r == smt::Answer::sat)
				w = with_model(input, s);
			else if (r == smt::Answer::unknown && res.inconclusive_reason.empty()) {
				res.inconclusive_reason =
				    sw.describe() + ": " + what + ": " + s.reason_unknown();
				res.smt2 = s.to_smt2();
			}
			s.pop();
			return w ? found(*w, what) : true;
		};
		// Every way the two could differ on this path, asked once together
		// (nearly always refuted); only then one by one, in a fixed order.
		struct Way {
			z3::expr differs;
			std::string what, name; // (name: the query's)
		};
		std::vector<Way> ways;
		z3::expr differs = C().bool_val(false);
		for (size_t k = 0; k < ra.outcome.size(); k++)
			differs = differs || ra.outcome[k] != rb.outcome[k];
		ways.push_back(
		    {differs, "bytes written or final extent maps differ", "differ/outcome"});
		PathSpec pa(ra), pb(rb);
		for (size_t i = 0; i < cat.size(); i++)
			ways.push_back({pa.verdict(i) != pb.verdict(i),
			                std::string("invariant ") + cat[i].name +
			                    " is broken under one and holds under the other",
			                std::string("differ/") + cat[i].name});
		z3::expr any = C().bool_val(false);
		for (const auto &w : ways)
			any = any || w.differs;
		res.stats.judgements++;
		s.push();
		s.add(any);
		smt::Answer quick = s.check("differ/any");
		s.pop();
		if (quick == smt::Answer::unsat)
			return true;
		for (const auto &w : ways)
			if (!ask(w.differs, w.what, w.name))
				return false;
		return true;
	};

	auto on_path = [&](const InCase &input, const std::vector<RunOut> &runs, Stack &s, bool) {
		return compare(input, runs, s) ? Explorer::Judged::next : Explorer::Judged::stop;
	};

	InCase tmpl = symbolic_case(sw, variant_index(a));
	res.stats.sweeps = 1;
	bool complete = ex.explore(tmpl, precondition(tmpl), run, on_path);
	if (res.status != DiffStatus::different && !complete) {
		res.status = DiffStatus::inconclusive;
		res.inconclusive_reason = sw.describe() + ": " + ex.incomplete();
		res.smt2 = ex.smt2();
	}
	if (res.status == DiffStatus::equivalent && !res.inconclusive_reason.empty())
		res.status = DiffStatus::inconclusive;
	return res;
}

// While it lives, every query is dumped (ProveBounds::dump_queries);
// finish() writes the log of their times.  A folder that cannot be written
// is an error, not a silent empty dump.
class QueryDump
{
public:
	explicit QueryDump(const ProveBounds &b) : on_(!b.dump_queries.empty())
	{
		if (!on_)
			return;
		if (std::string e = smt::dump_queries(b.dump_queries); !e.empty())
			throw std::runtime_error(e);
	}
	QueryDump(const QueryDump &) = delete;
	QueryDump &operator=(const QueryDump &) = delete;
	~QueryDump()
	{
		if (on_)
			smt::dump_queries("");
	}
	void finish() const
	{
		if (!on_)
			return;
		if (std::string e = smt::write_query_log(); !e.empty())
			throw std::runtime_error(e);
	}

private:
	bool on_;
};

// The largest size (Sweep::size) such that every sweep of at most that size
// finished and `settled` holds for its result; none if not even size 0.
template <class R, class Settled>
std::optional<unsigned> complete_up_to(const SweepResults<R> &sr, Settled settled)
{
	std::optional<unsigned> upto;
	std::vector<bool> open; // open[n]: some sweep of size n is not settled
	for (size_t i = 0; i < sr.sweeps.size(); i++) {
		const unsigned n = sr.sweeps[i].size();
		if (open.size() <= n)
			open.resize(n + 1, false);
		if (!sr.finished[i] || i >= sr.parts.size() || !sr.parts[i] ||
		    !settled(*sr.parts[i]))
			open[n] = true;
	}
	for (unsigned n = 0; n < open.size() && !open[n]; n++)
		upto = n;
	return upto;
}

// When each size up to `upto` was complete: the last end among the sweeps of
// at most that size.
template <class R>
std::vector<double> complete_at(const SweepResults<R> &sr, std::optional<unsigned> upto)
{
	std::vector<double> at(upto ? *upto + 1 : 0, 0.0);
	for (size_t i = 0; i < sr.sweeps.size(); i++)
		for (unsigned k = sr.sweeps[i].size(); k < at.size(); k++)
			at[k] = std::max(at[k], sr.ended_at[i]);
	return at;
}

// Why a stopped proof or diff is inconclusive, and how far it got.  (A
// sweep under way when the stop came, or one whose query threw on the
// interrupt, has not finished.)
template <class R>
std::string stopped_reason(const ProveBounds &b, const SweepResults<R> &sr,
                           std::optional<unsigned> upto)
{
	return std::string(interrupted(b) ? "interrupted" : "time limit reached") + ", with " +
	       std::to_string(sr.count_finished()) + " of " + std::to_string(sr.sweeps.size()) +
	       " sweeps finished; " +
	       (upto ? "complete up to " + std::to_string(*upto) +
	                   " extents, shared ranges and allocator answers in all"
	             : std::string("not complete for any size"));
}

} // namespace

ProveResult prove(Variant v, const ProveBounds &b)
{
	auto t0 = std::chrono::steady_clock::now();
	QueryDump dump(b);
	ProveResult res;
	res.variant = v;
	res.invariants = all_proved();
	auto sr = for_each_sweep<ProveResult>(
	    sweeps(b), b,
	    [&](const Sweep &sw, std::function<bool(bool)> cancelled) {
		    return prove_sweep(v, sw, b, std::move(cancelled));
	    },
	    [](const ProveResult &) { return false; });
	// Each invariant: the first counterexample in sweep order; else
	// inconclusive if any sweep left it undecided (or was not explored, when
	// stopped); else proved.
	for (const auto &p : sr.parts) {
		if (!p)
			continue; // stopped before it started
		add_stats(res.stats, p->stats);
		res.divergences.insert(res.divergences.end(), p->divergences.begin(),
		                       p->divergences.end());
		if (res.inconclusive_reason.empty())
			res.inconclusive_reason = p->inconclusive_reason;
		res.paths.insert(res.paths.end(), p->paths.begin(), p->paths.end());
		for (size_t i = 0; i < res.invariants.size(); i++) {
			InvariantProof &ip = res.invariants[i];
			const InvariantProof &q = p->invariants[i];
			if (ip.status == ProofStatus::counterexample ||
			    q.status == ProofStatus::proved)
				continue;
			if (q.status == ProofStatus::counterexample ||
			    ip.status == ProofStatus::proved)
				ip = q;
		}
	}
	res.complete_up_to = complete_up_to(sr, [](const ProveResult &p) {
		return p.inconclusive_reason.empty() &&
		       std::none_of(p.invariants.begin(), p.invariants.end(), [](const auto &ip) {
			       return ip.status == ProofStatus::inconclusive;
		       });
	});
	res.complete_at = complete_at(sr, res.complete_up_to);
	if (sr.count_finished() < sr.sweeps.size()) { // stopped
		// (a query interrupted is no query the solver could not decide)
		res.inconclusive_reason = stopped_reason(b, sr, res.complete_up_to);
		for (auto &ip : res.invariants)
			if (ip.status != ProofStatus::counterexample) {
				ip.status = ProofStatus::inconclusive;
				ip.smt2.clear();
			}
	}
	res.per_sweep = per_sweep(sr);
	std::sort(res.paths.begin(), res.paths.end());
	res.paths.erase(std::unique(res.paths.begin(), res.paths.end()), res.paths.end());
	res.stats.seconds = seconds_since(t0);
	dump.finish();
	return res;
}

std::string confirm_counterexample(const ConcreteCase &k, Variant v, const std::string &invariant)
{
	if (!k.state.interleave.empty())
		return "the prover does not model interleaved actions";
	// the case's numbers as constants: the concolic build runs it as impl does
	auto in = [](uint64_t x) { return In{std::nullopt, x}; };
	InCase c;
	c.variant = variant_index(v);
	const Geometry &g = k.state.geo;
	c.block_size = in(g.block_size);
	c.ag_blocks = in(g.ag_blocks);
	c.ag_count = in(g.ag_count);
	c.cowextsize = in(g.cowextsize);
	c.max_atomic_ioend = in(g.max_atomic_ioend);
	c.awu_min = in(k.state.dev.awu_min);
	c.awu_max = in(k.state.dev.awu_max);
	c.reflink = g.reflink;
	c.inode_dax = k.state.env.inode_dax;
	c.iter_flags = k.state.env.iter_flags;
	for (auto [from, to] :
	     {std::pair{&k.state.data_fork, &c.data}, std::pair{&k.state.cow_fork, &c.cow}})
		for (const auto &e : *from)
			to->push_back({in(e.br_startoff), in(e.br_startblock), in(e.br_blockcount),
			               in(e.br_state)});
	for (const auto &r : k.state.refcount)
		c.refcount.push_back({in(r.rc_startblock), in(r.rc_blockcount), in(r.rc_refcount)});
	for (const auto &a : k.state.alloc)
		c.alloc.push_back({in(a.startblock), in(a.blockcount)});
	c.offset = in(k.write.offset);
	c.length = in(k.write.length);
	// (file_state() gives the concolic run the prover's script-only allocator)
	if (k.state.alloc_policy != AllocPolicy::script_only)
		return "the prover's allocator is script-only; the case's is not";
	return confirm(k, v, untorn_concolic::run_symbolic(c), invariant);
}

DiffResult diff(Variant a, Variant b, const ProveBounds &bounds)
{
	auto t0 = std::chrono::steady_clock::now();
	QueryDump dump(bounds);
	DiffResult res;
	res.a = a;
	res.b = b;
	auto sr = for_each_sweep<DiffResult>(
	    sweeps(bounds), bounds,
	    [&](const Sweep &sw, std::function<bool(bool)> cancelled) {
		    return diff_sweep(a, b, sw, bounds, std::move(cancelled));
	    },
	    [](const DiffResult &d) { return d.status == DiffStatus::different; });
	// The first difference in sweep order; else inconclusive if any sweep
	// was (or was not explored, when stopped); else equivalent.
	for (auto &p : sr.parts) {
		if (!p)
			continue; // stopped before it started
		add_stats(res.stats, p->stats);
		res.divergences.insert(res.divergences.end(), p->divergences.begin(),
		                       p->divergences.end());
		if (p->status == DiffStatus::different) {
			res.status = DiffStatus::different;
			res.witness = std::move(p->witness);
			res.what = p->what;
			res.inconclusive_reason.clear();
			res.smt2.clear();
			break;
		}
		if (p->status == DiffStatus::inconclusive && res.inconclusive_reason.empty()) {
			res.status = DiffStatus::inconclusive;
			res.inconclusive_reason = p->inconclusive_reason;
			res.smt2 = p->smt2;
		}
	}
	res.complete_up_to = complete_up_to(
	    sr, [](const DiffResult &p) { return p.status == DiffStatus::equivalent; });
	res.per_sweep = per_sweep(sr);
	if (sr.count_finished() < sr.sweeps.size() && res.status != DiffStatus::different) {
		res.status = DiffStatus::inconclusive; // stopped
		res.inconclusive_reason = stopped_reason(bounds, sr, res.complete_up_to);
		res.smt2.clear();
	}
	res.stats.seconds = seconds_since(t0);
	dump.finish();
	return res;
}

} // namespace untorn
