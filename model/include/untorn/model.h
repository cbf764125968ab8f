// untorn model/: the specification.  Each atomicity invariant is one named
// Z3 formula over the facts of a trace (and, for crashes, over symbolic crash
// choices); a trace is judged by asking, per invariant, whether the formula
// "this invariant is broken" is satisfiable.  Z3 stays inside model/.
#pragma once

#include "untorn/impl.h"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace untorn {

// safety: data can tear, leak or be corrupted (a finding is a "violation");
// liveness: the write fails or is slower than allowed (a "divergence").
enum class InvClass { safety, liveness };

struct InvariantInfo {
	const char *name;
	InvClass cls;
	const char *forbids; // one line: what it forbids
	const char *origin;  // where in the kernel / block layer it comes from
};
const std::vector<InvariantInfo> &invariant_catalogue();

enum class Verdict { clean, violation, divergence, inconclusive };
std::string_view verdict_name(Verdict v);

// A crash the specification chose: how many of the write's transactions
// committed before it, and whether each REQ_ATOMIC bio persisted.
struct CrashState {
	unsigned committed = 0;                        // transactions committed before the crash
	std::vector<std::pair<unsigned, bool>> atomic; // REQ_ATOMIC bio index -> persisted
	unsigned txns = 0;                             // of how many the write committed
};

// Why an invariant is broken: a crash state that breaks it, or none needed
// (the facts alone break it, whatever the crash).  The checker renders it
// (text, JSON, SARIF, SVG); nothing parses text().
// What the write did when no crash is needed to break a liveness invariant.
struct WriteOutcome {
	bool admitted = false;
	int result = 0; // 0 = success, else errno
	Path path = Path::none;
};

struct Witness {
	enum class Kind { none, any_crash, crash, no_crash } kind = Kind::none;
	CrashState crash;     // (Kind::crash)
	WriteOutcome outcome; // (Kind::no_crash)
	static Witness any() { return {Kind::any_crash, {}, {}}; }
	static Witness of(CrashState c) { return {Kind::crash, std::move(c), {}}; }
	static Witness no_crash(WriteOutcome o) { return {Kind::no_crash, {}, o}; }
	bool empty() const { return kind == Kind::none; }
	const CrashState *crash_state() const { return kind == Kind::crash ? &crash : nullptr; }
	// One line: "crash with 1 of 2 transactions committed; REQ_ATOMIC bio 0
	// persisted", "holds for every crash state", "no crash: the write is
	// admitted, returns EIO, path sw", or "" (none).
	std::string text() const;
};

struct Finding {
	std::string invariant;
	InvClass cls;
	Witness witness; // the crash state (or none needed) that breaks it
};

struct Judgement {
	Verdict verdict = Verdict::clean;
	std::vector<Finding> findings;		 // sorted by invariant name
	std::vector<std::string> inconclusive;	 // invariants the solver could not decide
	std::vector<std::string> broken_names() const;
};

std::string join(const std::vector<std::string> &v, const char *sep = ", ");
// The linked Z3's version, "MAJOR.MINOR.BUILD".
std::string z3_version();
std::string format_judgement(const Judgement &j);

// How formulas are decided: Z3 itself, or the evaluator compiled from the
// very same Z3 expressions (enumerating the finite crash choices).
enum class Engine { compiled, z3 };

// Limits of each Z3 query: wall-clock time, Z3's deterministic resource
// count (0: none) and memory.  A query that hits one is inconclusive.
struct SolverLimits {
	unsigned timeout_ms = 10000;
	unsigned rlimit = 0;
	unsigned max_memory_mb = 4096;
};

namespace spec {
struct Facts;
}

class Spec {
public:
	explicit Spec(Engine e = Engine::compiled, unsigned solver_timeout_ms = 10000);
	Spec(Engine e, const SolverLimits &limits);
	~Spec();
	Spec(const Spec &) = delete;
	Spec &operator=(const Spec &) = delete;
	Judgement judge(const Trace &t);
	// The same, given a trace's facts (model/src/facts.h; the prover's, evaluated).
	Judgement judge_facts(const spec::Facts &f);
	// Cross-check: judge with both engines; returns "" when they agree.
	// When Z3 cannot decide a query, sets *inconclusive (if given).
	std::string cross_check(const Trace &t, bool *inconclusive = nullptr);
	// How many distinct trace shapes have been built so far (each is built,
	// and compiled, the first time a trace of that shape is judged).
	size_t shapes_built() const;

private:
	struct Impl;
	std::unique_ptr<Impl> p;
};

} // namespace untorn
