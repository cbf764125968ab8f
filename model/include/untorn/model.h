// untorn model/: the specification.  Each atomicity invariant is one named
// Z3 formula over the facts of a trace (and, for crashes, over symbolic crash
// choices); a trace is judged by asking, per invariant, whether the formula
// "this invariant is broken" is satisfiable.  Z3 stays inside model/.
#pragma once

#include "untorn/impl.h"

#include <memory>
#include <string>
#include <string_view>
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

struct Finding {
	std::string invariant;
	InvClass cls;
	std::string witness; // the crash state (or facts) that break it
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
