// The two engines that decide the specification: Z3 itself, and the
// evaluator compiled from the very same Z3 terms (spec::Program).
//  (a) on generated layouts, run by every variant, both engines find the
//      same broken invariants (Spec::cross_check);
//  (b) Program::compile/eval on small hand-made terms agrees with Z3's own
//      evaluation (simplify of the term with the variables substituted),
//      including SMT-LIB's division by zero and 2^64 wraparound;
//  (c) the search protocol, prepare() + eval_dependent(), gives eval()'s
//      answer for every value of the searched slots -- on hand-made terms and
//      on the real invariant formulas of real traces.
#include "compile.h"
#include "facts.h"
#include "generate.h"
#include "invariants.h"
#include "smt.h"
#include "untorn/impl.h"
#include "untorn/model.h"

#include <catch2/catch.hpp>

#include <z3++.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace untorn;
using untorn::spec::Program;

namespace
{

constexpr uint64_t MAX = ~0ULL;

// Values at the corners of 64-bit arithmetic.
const std::vector<uint64_t> corner_values = {
    0, 1, 2, 3, 7, 8, 4096, 12345, 1ULL << 32, (1ULL << 63) - 1, 1ULL << 63, MAX - 1, MAX};

z3::context &C()
{
	return smt::ctx();
}

// Z3's own value of `e` with vars := vals: substitute, then simplify to a
// constant.  Booleans come back as 0/1.
uint64_t z3_value(const z3::expr &e, const std::vector<z3::expr> &vars,
                  const std::vector<uint64_t> &vals)
{
	z3::expr_vector src(C()), dst(C());
	for (size_t i = 0; i < vars.size(); i++) {
		src.push_back(vars[i]);
		dst.push_back(C().bv_val(vals[i], 64));
	}
	z3::expr copy = e; // substitute() is not const
	z3::expr r = copy.substitute(src, dst).simplify();
	if (r.is_bool()) {
		if (r.is_true())
			return 1;
		if (r.is_false())
			return 0;
		FAIL("Z3 did not reduce the boolean to a constant: " << r.to_string());
	}
	uint64_t v = 0;
	if (!r.is_numeral_u64(v))
		FAIL("Z3 did not reduce the bit-vector to a constant: " << r.to_string());
	return v;
}

// Compiles `e` over vars (none searched) and compares eval with Z3 on every
// combination of the corner values.
void agree_everywhere(const z3::expr &e, const std::vector<z3::expr> &vars)
{
	Program p = Program::compile(e, vars, unsigned(vars.size()));
	CHECK_FALSE(p.reads_searched_slots());
	std::vector<uint64_t> vals(vars.size(), 0);
	std::vector<size_t> idx(vars.size(), 0);
	for (;;) {
		for (size_t i = 0; i < vars.size(); i++)
			vals[i] = corner_values[idx[i]];
		uint64_t want = z3_value(e, vars, vals);
		uint64_t got = p.eval(vals.data());
		if (got != want) {
			std::string at;
			for (size_t i = 0; i < vars.size(); i++)
				at += vars[i].to_string() + "=" + std::to_string(vals[i]) + " ";
			FAIL_CHECK("term " << e.to_string() << " at " << at << ": compiled " << got
			                   << ", z3 " << want);
		}
		size_t i = 0;
		while (i < idx.size() && ++idx[i] == corner_values.size())
			idx[i++] = 0;
		if (i == idx.size())
			break;
	}
}

// Checks the search protocol on `p` for the fact values in `slots`: prepare()
// (run with junk in the searched slots, as Spec leaves them) then
// eval_dependent() must equal eval() for every searched assignment in `space`.
void protocol_agrees(const Program &p, std::vector<uint64_t> slots, unsigned search_first,
                     const std::vector<std::vector<uint64_t>> &space)
{
	std::vector<uint64_t> want;
	for (const auto &s : space) {
		std::copy(s.begin(), s.end(), slots.begin() + search_first);
		want.push_back(p.eval(slots.data()) != 0);
	}
	for (size_t i = search_first; i < slots.size(); i++)
		slots[i] = 0xdeadbeefULL + i;
	bool prepared = p.prepare(slots.data());
	for (size_t n = 0; n < space.size(); n++) {
		std::copy(space[n].begin(), space[n].end(), slots.begin() + search_first);
		bool got = prepared && p.eval_dependent(slots.data());
		if (got != (want[n] != 0))
			FAIL_CHECK("searched assignment #" << n << ": prepare " << prepared
			                                   << ", protocol " << got << ", eval "
			                                   << want[n]);
		if (!prepared)
			CHECK(want[n] == 0);
	}
}

} // namespace

// ====================================================== (a) cross-check

namespace
{

constexpr uint64_t SEED = 0x756e746f726eULL; // "untorn"

unsigned env_count(const char *name, unsigned dflt)
{
	const char *s = std::getenv(name);
	return s && *s ? unsigned(std::strtoul(s, nullptr, 10)) : dflt;
}

struct LayoutStats {
	std::map<std::string, unsigned> broken, mutant_broken;
	std::set<std::string> shapes;
	unsigned hw = 0, sw = 0, failed = 0, checked = 0;
	std::vector<std::string> mismatches;
	void add(const LayoutStats &o)
	{
		for (const auto &[n, k] : o.broken)
			broken[n] += k;
		for (const auto &[n, k] : o.mutant_broken)
			mutant_broken[n] += k;
		shapes.insert(o.shapes.begin(), o.shapes.end());
		hw += o.hw;
		sw += o.sw;
		failed += o.failed;
		checked += o.checked;
		mismatches.insert(mismatches.end(), o.mismatches.begin(), o.mismatches.end());
	}
	std::string summary() const
	{
		std::string s = "broken:";
		for (const auto &[n, k] : broken)
			s += " " + n + "=" + std::to_string(k);
		s += "; in mutants:";
		for (const auto &[n, k] : mutant_broken)
			s += " " + n + "=" + std::to_string(k);
		return s + "; shapes " + std::to_string(shapes.size()) + "; hw " +
		       std::to_string(hw) + " sw " + std::to_string(sw) + " failed " +
		       std::to_string(failed) + "; traces compared " + std::to_string(checked);
	}
};

// Traces the kernel model would not produce but the specification must judge
// the same way with either engine, chosen to make the crash-dependent
// invariants fire: every REQ_ATOMIC bio issued plain; the last transaction
// lost; every bio landing one disk block later (misaligned on disk); every
// bio failed while the completion still remapped/converted (stale blocks).
std::vector<std::pair<std::string, Trace>> mutants(const Trace &t)
{
	std::vector<std::pair<std::string, Trace>> out;
	Trace plain = t;
	for (auto &b : plain.bios)
		b.req_atomic = false;
	out.emplace_back("plain bios", std::move(plain));
	if (!t.txns.empty()) {
		Trace lost = t;
		lost.txns.pop_back();
		const int gone = int(lost.txns.size());
		std::erase_if(lost.timeline, [&](const TraceEvent &e) {
			return e.kind == TraceEvent::txn && e.index == gone;
		});
		for (auto &b : lost.bios)
			b.txns_before = std::min(b.txns_before, unsigned(gone));
		lost.final_state.data_fork =
		    lost.txns.empty() ? lost.initial.data_fork : lost.txns.back().data_fork;
		lost.final_state.cow_fork =
		    lost.txns.empty() ? lost.initial.cow_fork : lost.txns.back().cow_fork;
		out.emplace_back("last transaction lost", std::move(lost));
	}
	if (!t.bios.empty()) {
		Trace moved = t;
		for (auto &b : moved.bios)
			b.daddr += 1;
		out.emplace_back("bios one disk block later", std::move(moved));
		Trace failed = t;
		for (auto &b : failed.bios)
			b.status = EIO;
		out.emplace_back("bios failed, completion ran", std::move(failed));
	}
	return out;
}

// Layouts [0, count) of SEED for variant v, split over worker threads (each
// with its own Spec, hence its own thread-local Z3 context); `check` returns
// "" or a description of a disagreement.  No Catch assertion runs off the
// main thread.
template <class Check>
LayoutStats over_layouts(Variant v, unsigned count, unsigned mutate_every, Check check)
{
	unsigned jobs = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
	std::vector<LayoutStats> part(jobs);
	std::vector<std::thread> threads;
	for (unsigned w = 0; w < jobs; w++)
		threads.emplace_back([&, w] {
			Spec spec(Engine::compiled);
			LayoutStats &st = part[w];
			for (unsigned i = w; i < count; i += jobs) {
				Case c = generate_layout(SEED, i, v);
				Trace t = run_atomic_write(c.state, c.write, v);
				Judgement j = spec.judge(t);
				std::string d = check(spec, t, j, false, st.checked);
				if (!d.empty())
					st.mismatches.push_back("layout " + std::to_string(i) +
					                        ": " + d + "\n" + format_trace(t));
				if (mutate_every && i % mutate_every == 0)
					for (const auto &[what, m] : mutants(t)) {
						Judgement mj = spec.judge(m);
						std::string md =
						    check(spec, m, mj, true, st.checked);
						if (!md.empty())
							st.mismatches.push_back(
							    "layout " + std::to_string(i) + " (" +
							    what + "): " + md + "\n" +
							    format_trace(m));
						for (const auto &n : mj.broken_names())
							st.mutant_broken[n]++;
					}
				for (const auto &n : j.broken_names())
					st.broken[n]++;
				st.shapes.insert(spec::extract_facts(t).shape.key());
				st.hw += t.path == Path::hw && t.result == 0;
				st.sw += t.path == Path::sw && t.result == 0;
				st.failed += t.result != 0;
			}
		});
	for (auto &th : threads)
		th.join();
	LayoutStats all;
	for (const auto &p : part)
		all.add(p);
	return all;
}

void require_rich_and_clean(const LayoutStats &st)
{
	INFO(st.summary());
	for (const auto &m : st.mismatches)
		FAIL_CHECK(m);
	REQUIRE(st.mismatches.empty());
	// the comparison is not vacuous: both paths, failures and many shapes occur
	CHECK(st.hw > 0);
	CHECK(st.sw > 0);
	CHECK(st.failed > 0);
	CHECK(st.shapes.size() >= 10);
	// and invariants fire, at least in the mutants, crash-dependent ones included
	CHECK(st.mutant_broken.count("torn_write"));
	CHECK(st.mutant_broken.size() >= 3);
}

// Z3's own verdict for one invariant on one trace, without the solver: the
// facts substituted, then every crash choice (k in [0, T], one bit per
// REQ_ATOMIC bio) substituted and simplified to true or false.
struct ShapeTerms {
	spec::Sym sym;
	std::vector<z3::expr> broken;
	explicit ShapeTerms(const spec::Shape &sh) : sym(sh)
	{
		for (const auto &inv : spec::invariants())
			broken.push_back(inv.broken(sym).z3());
	}
};

std::vector<std::string>
z3_broken_by_evaluation(std::map<std::string, std::unique_ptr<ShapeTerms>> &cache, const Trace &t)
{
	spec::Facts f = spec::extract_facts(t);
	const spec::Shape &sh = f.shape;
	auto &st = cache[sh.key()];
	if (!st)
		st = std::make_unique<ShapeTerms>(sh);
	z3::context &c = smt::ctx();
	z3::expr_vector fsrc(c), fdst(c);
	for (unsigned j = 0; j < sh.fact_count(); j++) {
		fsrc.push_back(st->sym.slot(j).z3());
		fdst.push_back(c.bv_val(f.v[j], 64));
	}
	std::vector<unsigned> bits;
	for (unsigned b = 0; b < sh.bios; b++)
		if (st->sym.atomic_bit_exists(b))
			bits.push_back(b);
	std::vector<std::string> out;
	for (size_t i = 0; i < spec::invariants().size(); i++) {
		z3::expr e = st->broken[i].substitute(fsrc, fdst).simplify();
		bool broken = false;
		for (uint64_t k = 0; k <= sh.txns && !broken; k++)
			for (uint64_t m = 0; m < (1ULL << bits.size()) && !broken; m++) {
				z3::expr_vector src(c), dst(c);
				src.push_back(st->sym.crash_k().z3());
				dst.push_back(c.bv_val(k, 64));
				for (unsigned b = 0, j = 0; b < sh.bios; b++) {
					uint64_t bit =
					    st->sym.atomic_bit_exists(b) ? (m >> j++) & 1 : 0;
					src.push_back(st->sym.crash_atomic(b).z3());
					dst.push_back(c.bv_val(bit, 64));
				}
				z3::expr r = e.substitute(src, dst).simplify();
				if (!r.is_true() && !r.is_false())
					throw std::runtime_error("not reduced to a constant: " +
					                         r.to_string());
				broken = r.is_true();
			}
		if (broken)
			out.push_back(spec::invariants()[i].info.name);
	}
	return out;
}

} // namespace

TEST_CASE(
    "engines: Spec::cross_check agrees (compiled vs Z3 solver) on generated layouts, every variant",
    "[engines]")
{
	// The Z3 engine costs ~100-150 ms a trace (12 fresh solvers), so the
	// default is kept small for the unit-test budget; UNTORN_CROSS_CHECK_LAYOUTS=150
	// runs the full 150 per variant (about a minute on two cores).  Besides
	// each layout, its mutants that tear are cross-checked too, so that the
	// solver also has to find crash choices, not only refute them.
	const unsigned count = env_count("UNTORN_CROSS_CHECK_LAYOUTS", 8);
	for (Variant v : all_variants) {
		INFO("variant " << variant_name(v) << ", " << count << " layouts");
		LayoutStats st =
		    over_layouts(v, count, 1,
		                 [](Spec &spec, const Trace &t, const Judgement &j, bool mutant,
		                    unsigned &checked) -> std::string {
			                 auto names = j.broken_names();
			                 if (mutant && std::find(names.begin(), names.end(),
			                                         "torn_write") == names.end())
				                 return "";
			                 checked++;
			                 return spec.cross_check(t);
		                 });
		INFO(st.summary());
		for (const auto &m : st.mismatches)
			FAIL_CHECK(m);
		REQUIRE(st.mismatches.empty());
		CHECK(st.shapes.size() >= 5);
		CHECK(st.checked > count); // some tearing mutants were cross-checked
	}
}

TEST_CASE("engines: compiled judgement equals Z3's evaluation over every crash choice, 150 layouts "
          "per variant",
          "[engines]")
{
	// The same question as the Z3 engine asks ("is `broken` true for some crash
	// choice, the facts fixed?"), answered by Z3's evaluator on each choice.
	const unsigned count = env_count("UNTORN_EVAL_CHECK_LAYOUTS", 150);
	for (Variant v : all_variants) {
		INFO("variant " << variant_name(v) << ", " << count << " layouts");
		LayoutStats st = over_layouts(
		    v, count, 1,
		    [](Spec &, const Trace &t, const Judgement &j, bool,
		       unsigned &checked) -> std::string {
			    checked++;
			    thread_local std::map<std::string, std::unique_ptr<ShapeTerms>> cache;
			    std::vector<std::string> want = z3_broken_by_evaluation(cache, t);
			    if (want != j.broken_names())
				    return "compiled [" + join(j.broken_names()) +
				           "] vs z3 evaluation [" + join(want) + "]";
			    return "";
		    });
		require_rich_and_clean(st);
	}
}

TEST_CASE("engines: cross_check reports agreement as an empty string on a trivial trace",
          "[engines]")
{
	Spec spec(Engine::z3);
	FileState st;
	st.geo.block_size = 4096;
	st.geo.ag_blocks = 1024;
	st.geo.ag_count = 4;
	st.geo.reflink = true;
	st.dev.awu_min = 4096;
	st.dev.awu_max = 65536;
	WriteReq w;
	w.offset = 0;
	w.length = 3 * 4096; // rejected: not a power of two
	for (Variant v : all_variants) {
		Trace t = run_atomic_write(st, w, v);
		CHECK(spec.cross_check(t) == "");
		CHECK(spec.judge(t).verdict == Verdict::clean);
	}
}

TEST_CASE("engines: shapes_built() counts the distinct trace shapes judged, each built once",
          "[engines][compile]")
{
	// (untorn bench warms up until every shape is built, so that compiling
	// is not timed: the count must be the number of distinct shapes)
	Spec spec(Engine::compiled);
	std::set<std::string> keys;
	std::vector<Trace> traces;
	for (uint64_t i = 0; i < 400; i++) {
		Case c = generate_layout(7, i, Variant::v6_18);
		traces.push_back(run_atomic_write(c.state, c.write, Variant::v6_18));
		keys.insert(spec::extract_facts(traces.back()).shape.key());
	}
	REQUIRE(keys.size() > 10);
	CHECK(spec.shapes_built() == 0);
	for (const Trace &t : traces)
		spec.judge(t);
	CHECK(spec.shapes_built() == keys.size());
	for (const Trace &t : traces) // judged again: nothing new to build
		spec.judge(t);
	CHECK(spec.shapes_built() == keys.size());
}

// ====================================================== (b) Program vs Z3

TEST_CASE("engines: bvurem and bvudiv by zero follow SMT-LIB", "[engines][compile]")
{
	z3::expr x = C().bv_const("eng_x", 64), y = C().bv_const("eng_y", 64);
	std::vector<z3::expr> vars{x, y};
	Program rem = Program::compile(z3::urem(x, y), vars, 2);
	Program div = Program::compile(z3::udiv(x, y), vars, 2);
	for (uint64_t a : corner_values) {
		uint64_t s[2] = {a, 0};
		CHECK(rem.eval(s) == a);   // (bvurem x 0) = x
		CHECK(div.eval(s) == MAX); // (bvudiv x 0) = all ones
		CHECK(z3_value(z3::urem(x, y), vars, {a, 0}) == a);
		CHECK(z3_value(z3::udiv(x, y), vars, {a, 0}) == MAX);
	}
	agree_everywhere(z3::urem(x, y), vars);
	agree_everywhere(z3::udiv(x, y), vars);
	// as the specification uses it: urem(pos, len) == 0 with len 0 is pos == 0
	agree_everywhere(z3::urem(x, y) == C().bv_val(0, 64), vars);
}

TEST_CASE("engines: arithmetic and comparisons at the 2^64 wraparound", "[engines][compile]")
{
	z3::expr x = C().bv_const("eng_x", 64), y = C().bv_const("eng_y", 64);
	std::vector<z3::expr> vars{x, y};
	z3::expr one = C().bv_val(1, 64), max = C().bv_val(MAX, 64);
	agree_everywhere(x + y, vars);
	agree_everywhere(x - y, vars);
	agree_everywhere(x * y, vars);
	agree_everywhere(x & y, vars);
	agree_everywhere(x | y, vars);
	agree_everywhere(z3::ult(x, y), vars);
	agree_everywhere(z3::ule(x, y), vars);
	agree_everywhere(z3::ugt(x, y), vars);
	agree_everywhere(z3::uge(x, y), vars);
	agree_everywhere(x == y, vars);
	agree_everywhere(x != y, vars);
	// x + 1 > x is false exactly at x = 2^64 - 1
	agree_everywhere(z3::ugt(x + one, x), vars);
	agree_everywhere(z3::ult(x - one, x), vars);
	agree_everywhere(z3::uge(x * C().bv_val(2, 64), x), vars);
	agree_everywhere(z3::ule(x + y, max), vars);
	agree_everywhere(z3::ugt(max, x + y), vars);
	// the specification's shapes: spans (off <= o && off + len >= E), is_pow2
	agree_everywhere(z3::ule(x, y) && z3::uge(x + y, max), vars);
	agree_everywhere(x != 0 && (x & (x - one)) == 0, vars);
	// explicit checks at the corner itself
	Program p = Program::compile(z3::ugt(x + one, x), vars, 2);
	uint64_t at_max[2] = {MAX, 0}, below[2] = {MAX - 1, 0};
	CHECK(p.eval(at_max) == 0);
	CHECK(p.eval(below) == 1);
}

TEST_CASE("engines: ite, nested and/or, not, implies, xor, distinct, boolean equality",
          "[engines][compile]")
{
	z3::expr x = C().bv_const("eng_x", 64), y = C().bv_const("eng_y", 64),
	         z = C().bv_const("eng_z", 64);
	std::vector<z3::expr> vars{x, y, z};
	z3::expr zero = C().bv_val(0, 64);
	agree_everywhere(z3::ite(z3::ult(x, y), x, y), vars);
	agree_everywhere(z3::ite(x == zero, y + z, z3::udiv(y, x)), vars);
	agree_everywhere(z3::ite(z3::ult(x, y), z3::ule(y, z), x == z), vars);
	agree_everywhere((z3::ult(x, y) && (x == z || !(y == z))) || (z3::uge(x, z) && y != zero),
	                 vars);
	agree_everywhere(!(z3::ult(x, y) || z3::ult(y, z)) && !(x == y && y == z), vars);
	agree_everywhere(z3::implies(z3::ult(x, y), z3::ult(x, z)), vars);
	agree_everywhere(z3::ult(x, y) ^ z3::ult(y, z), vars);
	agree_everywhere((z3::ult(x, y)) == (z3::ult(y, z)), vars);
	z3::expr_vector two(C());
	two.push_back(x);
	two.push_back(y);
	agree_everywhere(z3::distinct(two), vars);
	// constants alone, and a root conjunction with early exit
	agree_everywhere(C().bool_val(true), vars);
	agree_everywhere(C().bool_val(false), vars);
	agree_everywhere(C().bv_val(MAX, 64), vars);
	agree_everywhere(z3::ult(x, y) && z3::ult(y, z) && x != zero, vars);
	// shared subterms are compiled once and reused
	z3::expr s = x * y + z;
	agree_everywhere(z3::ite(z3::ult(s, x), s - x, s + s), vars);
}

TEST_CASE(
    "engines: n-ary terms: a root conjunction is split, nested n-ary operators are refused loudly",
    "[engines][compile]")
{
	z3::expr x = C().bv_const("eng_x", 64), y = C().bv_const("eng_y", 64),
	         z = C().bv_const("eng_z", 64);
	std::vector<z3::expr> vars{x, y, z};
	z3::expr_vector three(C());
	three.push_back(z3::ult(x, y));
	three.push_back(z3::ult(y, z));
	three.push_back(x != C().bv_val(0, 64));
	// an n-ary conjunction at the root is flattened into conjuncts
	agree_everywhere(z3::mk_and(three), vars);
	// the specification only builds binary operators (smt::Expr); anything
	// else must fail to compile rather than be evaluated wrongly
	CHECK_THROWS_AS(Program::compile(z3::mk_or(three), vars, 3), std::logic_error);
	CHECK_THROWS_AS(Program::compile(z3::mk_and(three) || x == y, vars, 3), std::logic_error);
	z3::expr_vector dv(C());
	dv.push_back(x);
	dv.push_back(y);
	dv.push_back(z);
	CHECK_THROWS_AS(Program::compile(z3::distinct(dv), vars, 3), std::logic_error);
	// a variable that is not a slot
	CHECK_THROWS_AS(Program::compile(x == C().bv_const("eng_not_a_slot", 64), vars, 3),
	                std::logic_error);
	// bit-vector operators the specification never uses
	CHECK_THROWS_AS(Program::compile(~x == y, vars, 3), std::logic_error);
}

TEST_CASE("engines: a long chain of disjunctions (the shape any() builds)", "[engines][compile]")
{
	// The invariants fold long || chains (any()); the compiler walks them
	// iteratively.  The depth is kept at 1000 because Z3 4.8's context
	// teardown is slow on deep terms (seconds at a few thousand levels).
	z3::expr x = C().bv_const("eng_x", 64);
	std::vector<z3::expr> vars{x};
	z3::expr r = C().bool_val(false);
	for (uint64_t i = 0; i < 1000; i++)
		r = r || x == C().bv_val(i * 3 + 1, 64);
	Program p = Program::compile(r, vars, 1);
	for (uint64_t v : {uint64_t(0), uint64_t(1), uint64_t(2), uint64_t(4), uint64_t(2998),
	                   uint64_t(2999), uint64_t(3001), MAX}) {
		uint64_t s[1] = {v};
		CHECK(p.eval(s) == (v % 3 == 1 && v <= 2998 ? 1u : 0u));
	}
	agree_everywhere(r, vars);
}

// ====================================================== (c) search protocol

TEST_CASE("engines: prepare + eval_dependent equal eval for every searched value (hand-made terms)",
          "[engines][compile]")
{
	// slots: x, y facts; k, b0, b1 searched
	z3::expr x = C().bv_const("eng_x", 64), y = C().bv_const("eng_y", 64);
	z3::expr k = C().bv_const("eng_k", 64), b0 = C().bv_const("eng_b0", 64),
	         b1 = C().bv_const("eng_b1", 64);
	std::vector<z3::expr> vars{x, y, k, b0, b1};
	z3::expr one = C().bv_val(1, 64), zero = C().bv_val(0, 64);
	std::vector<z3::expr> terms = {
	    // independent conjuncts mixed with dependent ones
	    z3::ult(x, y) && (k == x || b0 == one) && z3::ite(b1 == one, x != zero, y != zero) &&
	        (x & one) == zero,
	    // a dependent conjunct reading independent subterms (x + y) shared with an independent
	    // one
	    z3::ugt(x + y, x) && (z3::ult(k, x + y) || b1 == one),
	    // only dependent
	    (k == one && b0 == zero) || (b1 == one && z3::urem(x, k) == zero),
	    // only independent (reads no searched slot)
	    z3::ule(x, y) && y != zero,
	    // not a conjunction at the root
	    (k == x) || (b0 == one && z3::ugt(y, x)),
	    // a bit-vector root
	    z3::ite(b0 == one, x, y + k) == zero,
	};
	std::vector<std::vector<uint64_t>> space;
	for (uint64_t kk = 0; kk < 4; kk++)
		for (uint64_t b = 0; b < 4; b++)
			space.push_back({kk, b & 1, b >> 1});
	for (size_t ti = 0; ti < terms.size(); ti++) {
		INFO("term " << ti << ": " << terms[ti].to_string());
		Program p = Program::compile(terms[ti], vars, 2);
		CHECK(p.reads_searched_slots() == (ti != 3));
		for (uint64_t xv : {uint64_t(0), uint64_t(1), uint64_t(2), uint64_t(3), MAX})
			for (uint64_t yv : {uint64_t(0), uint64_t(1), uint64_t(4), MAX}) {
				INFO("x " << xv << " y " << yv);
				protocol_agrees(p, {xv, yv, 0, 0, 0}, 2, space);
				// and eval itself agrees with Z3 on each searched assignment
				for (const auto &s : space) {
					std::vector<uint64_t> vals{xv, yv, s[0], s[1], s[2]};
					CHECK(p.eval(vals.data()) ==
					      z3_value(terms[ti], vars, vals));
				}
			}
	}
}

TEST_CASE("engines: the invariant formulas of real traces: protocol and Z3 agree with eval",
          "[engines][compile]")
{
	// For a handful of generated layouts (every variant), compile each
	// invariant's "broken" formula over the trace's shape and compare, for
	// every crash choice, eval() with Z3's evaluation of the same term and
	// with the prepare/eval_dependent protocol.
	constexpr uint64_t seed = 0x656e67696e6573ULL; // "engines", another stream than SEED
	unsigned crash_terms = 0;
	for (Variant v : all_variants) {
		for (unsigned i = 0; i < 8; i++) {
			Case c = generate_layout(seed, i, v);
			Trace t = run_atomic_write(c.state, c.write, v);
			spec::Facts f = spec::extract_facts(t);
			const spec::Shape &sh = f.shape;
			spec::Sym sym(sh);
			std::vector<z3::expr> vars;
			for (unsigned s = 0; s < sh.slot_count(); s++)
				vars.push_back(sym.slot(s).z3());
			// every crash choice: k in [0, T], one bit per REQ_ATOMIC bio (others 0)
			std::vector<std::vector<uint64_t>> space;
			unsigned atomic_bios = 0;
			for (unsigned b = 0; b < sh.bios; b++)
				atomic_bios += sym.atomic_bit_exists(b);
			REQUIRE(atomic_bios <= 4);
			for (uint64_t kk = 0; kk <= sh.txns; kk++)
				for (uint64_t m = 0; m < (1ULL << atomic_bios); m++) {
					std::vector<uint64_t> choice{kk};
					unsigned j = 0;
					for (unsigned b = 0; b < sh.bios; b++)
						choice.push_back(
						    sym.atomic_bit_exists(b) ? (m >> j++) & 1 : 0);
					space.push_back(choice);
				}
			std::vector<uint64_t> slots(f.v.begin(), f.v.end());
			slots.resize(sh.slot_count(), 0);
			for (const auto &inv : spec::invariants()) {
				INFO(variant_name(v) << " layout " << i << " invariant "
				                     << inv.info.name << " shape " << sh.key());
				z3::expr e = inv.broken(sym).z3();
				Program p = Program::compile(e, vars, sh.crash_k());
				crash_terms += p.reads_searched_slots();
				protocol_agrees(p, slots, sh.crash_k(), space);
				for (const auto &choice : space) {
					std::copy(choice.begin(), choice.end(),
					          slots.begin() + sh.crash_k());
					CHECK(p.eval(slots.data()) == z3_value(e, vars, slots));
				}
			}
		}
	}
	CHECK(crash_terms > 0); // torn_write reads the crash choices
}
