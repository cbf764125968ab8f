// Judging a trace: per invariant, is "broken" satisfiable given the trace's
// facts?  Z3 decides it directly; the compiled engine evaluates the same Z3
// term, compiled once per shape, over every crash choice (there are few:
// crash_k in [0, T] and one bit per REQ_ATOMIC bio).
#include "compile.h"
#include "invariants.h"
#include "untorn/model.h"

#include <algorithm>
#include <unordered_map>
#include <sstream>

namespace untorn {

using namespace spec;

const std::vector<InvariantInfo> &invariant_catalogue()
{
	static const std::vector<InvariantInfo> cat = [] {
		std::vector<InvariantInfo> v;
		for (const auto &i : invariants())
			v.push_back(i.info);
		return v;
	}();
	return cat;
}

std::string_view verdict_name(Verdict v)
{
	switch (v) {
	case Verdict::clean: return "clean";
	case Verdict::violation: return "violation";
	case Verdict::divergence: return "divergence";
	case Verdict::inconclusive: return "inconclusive";
	}
	return "?";
}

std::vector<std::string> Judgement::broken_names() const
{
	std::vector<std::string> v;
	for (const auto &f : findings)
		v.push_back(f.invariant);
	return v;
}

std::string join(const std::vector<std::string> &v, const char *sep)
{
	std::string s;
	for (const auto &x : v)
		s += (s.empty() ? "" : sep) + x;
	return s;
}

std::string format_judgement(const Judgement &j)
{
	std::ostringstream o;
	o << "verdict: " << verdict_name(j.verdict) << "\n";
	for (const auto &f : j.findings) {
		const InvariantInfo *info = nullptr;
		for (const auto &i : invariant_catalogue())
			if (f.invariant == i.name)
				info = &i;
		o << "  " << (f.cls == InvClass::safety ? "violation " : "divergence") << " " << f.invariant;
		if (info)
			o << ": forbids " << info->forbids << " [" << info->origin << "]";
		if (!f.witness.empty())
			o << "\n      witness: " << f.witness.text();
		o << "\n";
	}
	for (const auto &n : j.inconclusive)
		o << "  inconclusive " << n << " (solver unknown or timeout)\n";
	return o.str();
}

std::string Witness::text() const
{
	if (kind == Kind::none)
		return "";
	if (kind == Kind::any_crash)
		return "holds for every crash state";
	if (kind == Kind::no_crash)
		return std::string("no crash: the write ") +
		       (outcome.admitted ? "is admitted" : "is refused") + ", returns " +
		       (outcome.result ? std::string(errno_name(outcome.result)) : std::string("success")) +
		       ", path " + std::string(path_name(outcome.path));
	std::ostringstream o;
	o << "crash with " << crash.committed << " of " << crash.txns << " transactions committed";
	for (const auto &[b, persisted] : crash.atomic)
		o << "; REQ_ATOMIC bio " << b << (persisted ? " persisted" : " lost");
	return o.str();
}

Witness spec::crash_witness(const Shape &sh, const uint64_t *slots)
{
	CrashState c;
	c.committed = unsigned(slots[sh.crash_k()]);
	c.txns = sh.txns;
	for (unsigned b = 0; b < sh.bios && b < 64; b++)
		if ((sh.atomic_mask >> b) & 1)
			c.atomic.emplace_back(b, slots[sh.crash_atomic(b)] != 0);
	return Witness::of(std::move(c));
}

namespace {

// Everything built once per shape.
struct ShapeSpec {
	Sym sym;
	std::vector<z3::expr> vars;
	std::vector<Program> programs; // per invariant (compiled engine)
	std::vector<bool> uses_crash;
	std::vector<smt::Expr> broken; // per invariant (Z3 engine)
	explicit ShapeSpec(const Shape &sh) : sym(sh)
	{
		for (unsigned i = 0; i < sh.slot_count(); i++)
			vars.push_back(sym.slot(i).z3());
		for (const auto &inv : invariants())
			broken.push_back(inv.broken(sym));
	}
	void compile()
	{
		if (!programs.empty())
			return;
		for (const auto &b : broken) {
			programs.push_back(Program::compile(b.z3(), vars, sym.shape().crash_k()));
			uses_crash.push_back(programs.back().reads_searched_slots());
		}
	}
};


} // namespace

struct Spec::Impl {
	Engine engine;
	SolverLimits limits;
	struct ShapeHash {
		size_t operator()(const Shape &s) const
		{
			return std::hash<uint64_t>()(s.atomic_mask * 0x9e3779b97f4a7c15ULL ^ uint64_t(s.segs) << 48 ^
						     uint64_t(s.bios) << 32 ^ uint64_t(s.txns) << 16 ^ s.calls);
		}
	};
	std::unordered_map<Shape, std::unique_ptr<ShapeSpec>, ShapeHash> shapes;
	std::vector<uint64_t> slots; // reused between judgements
	Facts facts;

	ShapeSpec &shape(const Shape &sh)
	{
		auto &p = shapes[sh];
		if (!p)
			p = std::make_unique<ShapeSpec>(sh);
		return *p;
	}

	// Compiled engine: evaluate over every crash choice; the first that
	// breaks the invariant is the witness.
	bool eval_compiled(ShapeSpec &ss, size_t i, std::vector<uint64_t> &slots, Witness *witness)
	{
		const Shape &sh = ss.sym.shape();
		const Program &p = ss.programs[i];
		if (!ss.uses_crash[i]) {
			bool broken = p.eval(slots.data()) != 0;
			if (broken)
				*witness = Witness::any();
			return broken;
		}
		std::vector<unsigned> bits;
		for (unsigned b = 0; b < sh.bios && b < 64; b++)
			if ((sh.atomic_mask >> b) & 1)
				bits.push_back(b);
		if (!p.prepare(slots.data()))
			return false;
		for (uint64_t k = 0; k <= sh.txns; k++) {
			slots[sh.crash_k()] = k;
			for (uint64_t m = 0; m < (1ULL << bits.size()); m++) {
				for (size_t j = 0; j < bits.size(); j++)
					slots[sh.crash_atomic(bits[j])] = (m >> j) & 1;
				if (p.eval_dependent(slots.data())) {
					*witness = crash_witness(sh, slots.data());
					return true;
				}
			}
		}
		return false;
	}

	// Z3 engine: facts fixed, crash choices free within their domains.
	smt::Answer eval_z3(ShapeSpec &ss, size_t i, const Facts &f, Witness *witness)
	{
		const Shape &sh = ss.sym.shape();
		z3::context &c = smt::ctx();
		std::vector<z3::expr> q;
		for (unsigned j = 0; j < sh.fact_count(); j++)
			q.push_back(ss.sym.slot(j).z3() == c.bv_val(f.v[j], 64));
		q.push_back(z3::ule(ss.sym.crash_k().z3(), c.bv_val(uint64_t(sh.txns), 64)));
		for (unsigned b = 0; b < sh.bios; b++)
			q.push_back(z3::ule(ss.sym.slot(sh.crash_atomic(b)).z3(), c.bv_val(1, 64)));
		q.push_back(ss.broken[i].z3());
		smt::Solver s(limits);
		smt::Answer r = s.check(std::string("spec/") + invariants()[i].info.name, q);
		ss.compile(); // (cheap) to know whether the formula reads crash choices
		if (r == smt::Answer::sat && !ss.uses_crash[i]) {
			*witness = Witness::any();
		} else if (r == smt::Answer::sat) {
			std::vector<uint64_t> slots(sh.slot_count(), 0);
			for (unsigned j = sh.crash_k(); j < sh.slot_count(); j++)
				slots[j] = s.value(ss.sym.slot(j).z3());
			*witness = crash_witness(sh, slots.data());
		}
		return r;
	}
};

Spec::Spec(Engine e, unsigned timeout_ms) : Spec(e, SolverLimits{timeout_ms, 0, 4096}) {}

Spec::Spec(Engine e, const SolverLimits &limits) : p(std::make_unique<Impl>())
{
	p->engine = e;
	p->limits = limits;
}
Spec::~Spec() = default;

size_t Spec::shapes_built() const
{
	return p->shapes.size();
}

Judgement Spec::judge(const Trace &t)
{
	extract_facts(t, p->facts);
	return judge_facts(p->facts);
}

Judgement Spec::judge_facts(const Facts &f)
{
	ShapeSpec &ss = p->shape(f.shape);
	const auto &invs = invariants();
	Judgement j;
	std::vector<uint64_t> &slots = p->slots;
	if (p->engine == Engine::compiled) {
		ss.compile();
		slots.assign(f.v.begin(), f.v.end());
		slots.resize(f.shape.slot_count(), 0);
	}
	for (size_t i = 0; i < invs.size(); i++) {
		Witness witness;
		if (p->engine == Engine::compiled) {
			if (p->eval_compiled(ss, i, slots, &witness))
				j.findings.push_back({invs[i].info.name, invs[i].info.cls, witness});
			continue;
		}
		smt::Answer r = p->eval_z3(ss, i, f, &witness);
		if (r == smt::Answer::sat)
			j.findings.push_back({invs[i].info.name, invs[i].info.cls, witness});
		else if (r == smt::Answer::unknown)
			j.inconclusive.push_back(invs[i].info.name);
	}
	bool safety = std::any_of(j.findings.begin(), j.findings.end(),
				  [](const Finding &x) { return x.cls == InvClass::safety; });
	if (safety)
		j.verdict = Verdict::violation;
	else if (!j.inconclusive.empty())
		j.verdict = Verdict::inconclusive;
	else if (!j.findings.empty())
		j.verdict = Verdict::divergence;
	return j;
}

std::string Spec::cross_check(const Trace &t, bool *inconclusive)
{
	Spec z(Engine::z3, p->limits);
	Engine saved = p->engine;
	p->engine = Engine::compiled;
	Judgement a = judge(t);
	p->engine = saved;
	Judgement b = z.judge(t);
	if (inconclusive)
		*inconclusive = !b.inconclusive.empty();
	if (!b.inconclusive.empty())
		return "";
	if (a.broken_names() != b.broken_names())
		return "compiled [" + join(a.broken_names()) + "] vs z3 [" + join(b.broken_names()) + "]";
	return "";
}

} // namespace untorn
