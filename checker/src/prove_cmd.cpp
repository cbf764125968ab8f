// `untorn prove` and `untorn diff`: the bounded-exhaustive verification of
// model/'s prover, with its counterexamples written as cases and replayed
// through the checker's own loader, impl and specification; and `untorn
// census`, which counts the paths a proof at the same bounds has to explore.
#include "commands.h"
#include "minimize.h"
#include "portfolio.h"
#include "reports.h"
#include "text.h"
#include "untorn/census.h"
#include "untorn/checker.h"
#include "untorn/model.h"
#include "untorn/prove.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace untorn
{

namespace
{

std::vector<uint32_t> block_sizes_of(const std::string &s)
{
	if (s == "all")
		return {512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
	return {uint32_t(std::stoul(s))};
}

// The what-if environments (IterEnv) a proof or a diff sweeps.
std::vector<IterEnv> envs_of(const std::string &s)
{
	if (s == "real")
		return {IterEnv{}};
	std::vector<IterEnv> v;
	for (bool dax : {false, true})
		for (unsigned f : {0u, ITER_DIRECT, ITER_DAX, ITER_DIRECT | ITER_DAX}) {
			bool carries_dax = f & ITER_DAX;
			if (s == "dax-implies-iomap-dax" && dax && !carries_dax)
				continue;
			if (s == "dax-iff-iomap-dax" && dax != carries_dax)
				continue;
			v.push_back({dax, f});
		}
	return v;
}

ProveBounds bounds_of(const ProveOptions &o)
{
	ProveBounds b;
	b.data_extents = o.data_extents;
	b.cow_extents = o.cow_extents;
	b.refcount = o.refcount;
	b.alloc = o.alloc;
	b.block_sizes = block_sizes_of(o.block_size);
	if (o.geometry == "symbolic")
		b.symbolic_geometry = true;
	else if (o.geometry != "profiles")
		b.geometries = {default_geometries().at(std::stoul(o.geometry) - 1)};
	b.envs = envs_of(o.env);
	b.limits = {o.solver_timeout_ms, o.solver_rlimit, o.solver_memory_mb};
	b.max_paths = o.max_paths;
	b.jobs = o.jobs ? o.jobs : std::max(1u, std::thread::hardware_concurrency());
	b.dump_queries = o.dump_queries;
	return b;
}

// On a terminal, a progress line on stderr while a proof or diff runs
// (stdout, the report, is the same either way), erased when it ends.
class Progress
{
public:
	Progress(ProveBounds &b, std::string label)
	    : on_(isatty(STDERR_FILENO)), label_(std::move(label)),
	      t0_(std::chrono::steady_clock::now())
	{
		if (!on_)
			return;
		b.on_progress = [this](size_t done, size_t total, uint64_t paths, uint64_t cases) {
			std::lock_guard<std::mutex> l(m_);
			done_ = done;
			total_ = total;
			paths_ = paths;
			cases_ = cases;
		};
		// redrawn twice a second, so the clock moves during a long query too
		ticker_ = std::thread([this] {
			std::unique_lock<std::mutex> l(m_);
			while (!cv_.wait_for(l, std::chrono::milliseconds(500),
			                     [this] { return stop_; }))
				draw();
		});
	}
	~Progress()
	{
		if (!on_)
			return;
		{
			std::lock_guard<std::mutex> l(m_);
			stop_ = true;
		}
		cv_.notify_one();
		ticker_.join();
		std::fprintf(stderr, "\r\033[K");
	}
	Progress(const Progress &) = delete;
	Progress &operator=(const Progress &) = delete;

private:
	void draw() const
	{
		double s =
		    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
		std::fprintf(stderr,
		             "\r%s: %zu of %zu sweeps done, %llu paths, %llu fact cases, %.0f s ",
		             label_.c_str(), done_, total_, (unsigned long long)paths_,
		             (unsigned long long)cases_, s);
		std::fflush(stderr);
	}

	bool on_;
	std::string label_;
	std::chrono::steady_clock::time_point t0_;
	std::mutex m_;
	std::condition_variable cv_;
	bool stop_ = false;
	size_t done_ = 0, total_ = 0;
	uint64_t paths_ = 0, cases_ = 0;
	std::thread ticker_;
};

// Ctrl-C: the proof stops where it is and reports what it has, inconclusive
// (exit 130, as `check` does).
std::atomic<bool> stop_requested{false};
extern "C" void on_prove_sigint(int)
{
	stop_requested = true;
}
// Ctrl-C, and --time-limit from now on.
void stop_on_sigint_or_time(ProveBounds &b, const ProveOptions &o)
{
	std::signal(SIGINT, on_prove_sigint);
	b.stop = &stop_requested;
	if (o.time_limit_s > 0)
		b.deadline = std::chrono::steady_clock::now() +
		             std::chrono::duration_cast<std::chrono::steady_clock::duration>(
		                 std::chrono::duration<double>(o.time_limit_s));
}

// How a stopped proof grew: "complete up to K after T s", per K reached.
// (Times: text only, for the JSON report is byte-identical run to run.)
std::string complete_at_text(const std::vector<double> &at)
{
	std::string out;
	char line[96];
	for (size_t k = 0; k < at.size(); k++) {
		std::snprintf(line, sizeof line, "  complete up to %zu after %.1f s\n", k, at[k]);
		out += line;
	}
	return out;
}

nlohmann::ordered_json complete_up_to_json(const std::optional<unsigned> &n)
{
	return n ? nlohmann::ordered_json(*n) : nlohmann::ordered_json(nullptr);
}

std::string bounds_text(const ProveOptions &o)
{
	return "data extents <= " + std::to_string(o.data_extents) +
	       ", CoW extents <= " + std::to_string(o.cow_extents) +
	       ", shared ranges <= " + std::to_string(o.refcount) +
	       ", allocator answers <= " + std::to_string(o.alloc) + "; geometry " +
	       (o.geometry == "symbolic"   ? "symbolic, block size " + o.block_size
	        : o.geometry == "profiles" ? std::string("profiles 1-4")
	                                   : "profile " + o.geometry) +
	       "; environment " + o.env;
}

std::string stats_text(const ProveStats &s)
{
	std::ostringstream t;
	t << s.sweeps << " sweeps, " << s.paths << " paths";
	if (s.split_paths)
		t << " (" << s.split_paths << " judged case by case: " << s.fact_cases
		  << " fact cases)";
	t << ", " << s.decisions << " decisions negated, " << s.judgements << " judgements, "
	  << std::fixed << std::setprecision(2) << s.seconds << " s";
	return t.str();
}

nlohmann::ordered_json outcomes_json(const ProveStats &s)
{
	nlohmann::ordered_json failed = nlohmann::ordered_json::object();
	for (auto [e, n] : s.failed)
		failed[std::string(errno_name(e))] = n;
	return {{"done", {{"hw", s.done_hw}, {"sw", s.done_sw}}},
	        {"refused", s.refused},
	        {"failed", failed}};
}

nlohmann::ordered_json stats_json(const ProveStats &s)
{
	return {{"sweeps", s.sweeps},           {"paths", s.paths},
	        {"split_paths", s.split_paths}, {"fact_cases", s.fact_cases},
	        {"decisions", s.decisions},     {"judgements", s.judgements},
	        {"outcomes", outcomes_json(s)}};
}

nlohmann::ordered_json per_sweep_json(const std::vector<SweepStats> &v)
{
	nlohmann::ordered_json a = nlohmann::ordered_json::array();
	for (const auto &s : v)
		a.push_back({{"sweep", s.sweep},
		             {"size", s.size},
		             {"finished", s.finished},
		             {"paths", s.stats.paths},
		             {"outcomes", outcomes_json(s.stats)}});
	return a;
}

// How the explored paths ended, in one line.
std::string outcomes_text(const ProveStats &s)
{
	std::ostringstream t;
	t << "paths ended: write done " << s.done_hw << " hw, " << s.done_sw
	  << " sw; refused at admission " << s.refused << "; failed";
	if (s.failed.empty())
		t << " 0";
	for (auto [e, n] : s.failed)
		t << " " << errno_name(e) << " " << n;
	return t.str();
}

// A proof none of whose paths wrote anything proves nothing about a write
// that succeeds: said, not hidden in the counts.
std::string vacuity_warning(const ProveStats &s)
{
	if (s.paths == 0 || s.done_hw + s.done_sw > 0)
		return "";
	return "no explored path ends with the write done: within these bounds no write "
	       "succeeds, so nothing here is about a successful write (allow allocator "
	       "answers or mapped extents)";
}

// What the minimizer made of a witness, for a note or a report.
struct Shown {
	Case c;
	uint64_t oracle_calls = 0;
	bool minimized = false;
};

Shown minimized_witness(const ConcreteCase &k, Variant v)
{
	Shown s;
	s.c.variant = v;
	s.c.state = k.state;
	s.c.write = k.write;
	Spec spec(Engine::compiled);
	if (spec.judge(run_atomic_write(k.state, k.write, v)).broken_names().empty())
		return s; // (a divergence, reported where it is confirmed)
	MinimizeResult m = minimize_case(s.c, spec);
	s.c = m.minimized;
	s.oracle_calls = m.oracle_calls;
	s.minimized = true;
	return s;
}

// The crash choice that breaks `invariant` on `c`, as the specification says.
Witness witness_of(const Case &c, const std::string &invariant)
{
	Judgement j = Spec(Engine::z3).judge(run_atomic_write(c.state, c.write, c.variant));
	for (const auto &f : j.findings)
		if (f.invariant == invariant)
			return f.witness;
	return {};
}

// Writes a counterexample as a case with the expectations the concrete run
// gives, then loads it back and replays it: the loader, impl and the
// specification must all agree that it breaks `invariant` ("" = any outcome).
// Returns "" when they do, else what went wrong.
std::string write_and_replay(const ConcreteCase &k, Variant v, const std::string &name,
                             const std::string &note, const std::string &invariant,
                             const fs::path &file)
{
	Case c;
	c.name = name;
	c.note = note;
	c.variant = v;
	c.state = k.state;
	c.write = k.write;
	Trace t = run_atomic_write(c.state, c.write, v);
	Judgement j = Spec(Engine::z3).judge(t);
	c.expect.result = t.result;
	c.expect.path = t.path;
	c.expect.verdict = std::string(verdict_name(j.verdict));
	c.expect.invariants = j.broken_names();
	write_file_atomically(file, case_to_json(c));

	Case back = load_case_file(file);
	Trace t2 = run_atomic_write(back.state, back.write, back.variant);
	Judgement j2 = Spec(Engine::z3).judge(t2);
	if (t2.result != t.result || t2.path != t.path || j2.broken_names() != j.broken_names())
		return file.string() + ": the replayed case's outcome differs from the written one";
	if (invariant.empty())
		return "";
	for (const auto &n : j2.broken_names())
		if (n == invariant)
			return "";
	return file.string() + ": replay does not break " + invariant;
}

void make_out_dir(const std::string &out)
{
	std::error_code ec;
	fs::create_directories(out, ec);
	if (ec || !fs::is_directory(out))
		throw std::runtime_error(out + ": cannot create the output folder");
}

// One invariant's counterexample shown: minimized, checked against the
// concolic build, written as a case and replayed.
nlohmann::ordered_json show_counterexample(const ConcreteCase &k, Variant v, const std::string &inv,
                                           const std::string &how, const ProveOptions &o,
                                           const std::vector<KnownFinding> &known,
                                           std::vector<std::string> &divergences,
                                           std::string *where)
{
	const std::string vn(variant_name(v));
	Shown w = minimized_witness(k, v);
	const ConcreteCase mk{w.c.state, w.c.write};
	if (std::string d = confirm_counterexample(mk, v, inv); !d.empty())
		divergences.push_back(inv + " (minimized witness): " + d);
	const Witness crash = witness_of(w.c, inv);
	const std::string witness = crash.text();
	make_out_dir(o.out);
	fs::path file = fs::path(o.out) / ("prove-" + vn + "-" + inv + ".json");
	const std::string match = match_known(w.c, known);
	std::string note =
	    "untorn prove " + vn + " (" + bounds_text(o) + "): counterexample to " + inv + ", " +
	    how +
	    (w.minimized ? ", minimized in " + std::to_string(w.oracle_calls) + " oracle calls"
	                 : std::string()) +
	    "; " + witness + "." + (match.empty() ? "" : " The known finding " + match + ".");
	if (std::string d = write_and_replay(mk, v, "prove-" + vn + "-" + inv, note, inv, file);
	    !d.empty())
		divergences.push_back(d);
	*where = file.string() + " (" + witness + ")" +
	         (match.empty() ? "" : "; known finding " + match);
	nlohmann::ordered_json j = {{"case", file.string()},
	                            {"witness", witness},
	                            {"crash", witness_json(crash)},
	                            {"found_by", how},
	                            {"minimizer_oracle_calls", w.oracle_calls},
	                            {"entries", case_entries(w.c)},
	                            {"magnitude", case_magnitude(w.c)}};
	j["known"] =
	    match.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(match);
	return j;
}

void print_invariant_line(const ProveOptions &o, const InvariantProof &ip,
                          const std::string &status, const std::string &where)
{
	if (!o.json)
		std::cout << "  " << std::left << std::setw(15) << status << std::setw(27)
		          << ip.name << (ip.cls == InvClass::safety ? "safety  " : "liveness")
		          << (where.empty() ? "" : "  " + where) << "\n";
}

int prove_one(Variant v, const ProveOptions &o, nlohmann::ordered_json &report,
              bool *any_divergence, const std::vector<KnownFinding> &known)
{
	const std::string vn(variant_name(v));
	ProveBounds b = bounds_of(o);
	stop_on_sigint_or_time(b, o);
	nlohmann::ordered_json jr = {{"variant", vn}};

	// Random layouts first: cheap, and often the answer.
	if (o.random_layouts) {
		const auto t0 = std::chrono::steady_clock::now();
		uint64_t drawn = 0;
		auto rr = random_refutation(
		    v, layout_bounds_of(b),
		    RandomSearch{o.random_layouts, o.seed, b.jobs, &stop_requested, b.deadline},
		    &drawn);
		const double secs =
		    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
		jr["random"] = {{"seed", o.seed}, {"layouts", drawn}};
		if (rr) {
			jr["random"]["found_at"] = rr->layout;
			const std::string how = "random layout " + std::to_string(rr->layout) +
			                        " of seed " + std::to_string(o.seed);
			if (!o.json)
				std::cout << "untorn prove " << vn << ": refuted by " << how << " ("
				          << drawn << " layouts drawn, " << std::fixed
				          << std::setprecision(2) << secs
				          << " s); the exhaustive exploration was not run\n";
			jr["invariants"] = nlohmann::ordered_json::array();
			std::vector<std::string> divs;
			for (const auto &info : invariant_catalogue()) {
				InvariantProof ip{info.name, info.cls, ProofStatus::inconclusive,
				                  std::nullopt, Witness{}, ""};
				nlohmann::ordered_json ji = {{"invariant", ip.name}};
				std::string where;
				if (std::count(rr->invariants.begin(), rr->invariants.end(),
				               ip.name)) {
					ip.status = ProofStatus::counterexample;
					ji["status"] = "counterexample";
					ji.update(show_counterexample(
					    {rr->found.state, rr->found.write}, v, ip.name, how, o,
					    known, divs, &where));
				} else {
					ji["status"] = "not explored";
					where = "not explored (a counterexample was found first)";
				}
				jr["invariants"].push_back(ji);
				print_invariant_line(o, ip,
				                     ip.status == ProofStatus::counterexample
				                         ? "counterexample"
				                         : "not explored",
				                     where);
			}
			for (const auto &d : divs)
				std::cerr << "untorn prove " << vn
				          << ": MODEL/IMPL DIVERGENCE: " << d << "\n";
			jr["divergences"] = divs;
			*any_divergence |= !divs.empty();
			report["proofs"].push_back(jr);
			return EXIT_FOUND;
		}
	}

	ProveResult r;
	if (!o.dump_queries.empty()) // (one folder per variant proved)
		b.dump_queries = (fs::path(o.dump_queries) / vn).string();
	{
		Progress p(b, "untorn prove " + vn);
		r = prove(v, b);
	}
	if (!o.json)
		std::cout << "untorn prove " << vn << ": " << stats_text(r.stats) << "\n  "
		          << outcomes_text(r.stats) << "\n";
	const std::string warning = vacuity_warning(r.stats);
	if (!warning.empty() && !o.json)
		std::cout << "  warning: " << warning << "\n";
	jr["stats"] = stats_json(r.stats);
	jr["complete_up_to"] = complete_up_to_json(r.complete_up_to);
	jr["warnings"] =
	    warning.empty() ? std::vector<std::string>{} : std::vector<std::string>{warning};
	jr["invariants"] = nlohmann::ordered_json::array();
	bool cex = false, unknown = false;
	for (const auto &ip : r.invariants) {
		nlohmann::ordered_json ji = {{"invariant", ip.name},
		                             {"status", std::string(proof_status_name(ip.status))}};
		std::string where;
		if (ip.status == ProofStatus::counterexample) {
			cex = true;
			ji.update(show_counterexample(*ip.counterexample, v, ip.name,
			                              "the exhaustive exploration", o, known,
			                              r.divergences, &where));
		} else if (ip.status == ProofStatus::inconclusive) {
			unknown = true;
			// (none when stopped before it was decided: no query to show)
			if (!ip.smt2.empty()) {
				make_out_dir(o.out);
				fs::path file =
				    fs::path(o.out) / ("prove-" + vn + "-" + ip.name + ".smt2");
				write_file_atomically(file, ip.smt2);
				ji["query"] = file.string();
				where = "query in " + file.string();
			}
		}
		jr["invariants"].push_back(ji);
		print_invariant_line(o, ip, std::string(proof_status_name(ip.status)), where);
	}
	if (!r.inconclusive_reason.empty()) {
		jr["inconclusive"] = r.inconclusive_reason;
		if (!o.json)
			std::cout << "  exploration cut short: " << r.inconclusive_reason << "\n";
	}
	if (!o.json && !r.inconclusive_reason.empty())
		std::cout << complete_at_text(r.complete_at);
	jr["sweeps"] = per_sweep_json(r.per_sweep);
	for (const auto &d : r.divergences)
		std::cerr << "untorn prove " << vn << ": MODEL/IMPL DIVERGENCE: " << d << "\n";
	jr["divergences"] = r.divergences;
	*any_divergence |= !r.divergences.empty();
	report["proofs"].push_back(jr);
	return cex ? EXIT_FOUND : unknown ? EXIT_INCONCLUSIVE : EXIT_CLEAN;
}

} // namespace

// Known findings, checked before anything runs (a bad file: exit 2).
bool load_known_or_fail(const ProveOptions &o, const char *cmd, std::vector<KnownFinding> *known)
{
	try {
		*known = load_known_findings(o.known);
		return true;
	} catch (const std::exception &e) {
		std::cerr << "untorn " << cmd << ": --known: " << e.what() << "\n";
		return false;
	}
}

int cmd_prove(const ProveOptions &o)
{
	std::vector<KnownFinding> known;
	if (!load_known_or_fail(o, "prove", &known))
		return EXIT_BAD_INPUT;
	try {
		std::vector<Variant> vs;
		for (const auto &n : o.variants)
			vs.push_back(*variant_from_name(n));
		if (vs.empty())
			vs.assign(std::begin(all_variants), std::end(all_variants));
		nlohmann::ordered_json report = {{"bounds", bounds_text(o)},
		                                 {"proofs", nlohmann::ordered_json::array()}};
		if (!o.json)
			std::cout << "bounds: " << bounds_text(o) << "\n";
		int worst = EXIT_CLEAN;
		bool divergence = false;
		for (Variant v : vs) {
			int rc = prove_one(v, o, report, &divergence, known);
			if (rc == EXIT_FOUND || (rc == EXIT_INCONCLUSIVE && worst == EXIT_CLEAN))
				worst = rc;
			if (stop_requested)
				break; // the variants after it are not started
		}
		if (o.json)
			std::cout << report.dump() << "\n";
		return divergence ? EXIT_INTERNAL : stop_requested ? EXIT_INTERRUPTED : worst;
	} catch (const CaseError &e) {
		std::cerr << "untorn prove: " << e.what() << "\n";
		return EXIT_INTERNAL;
	} catch (const std::exception &e) {
		std::cerr << "untorn prove: " << e.what() << "\n";
		return EXIT_BAD_INPUT;
	}
}

int cmd_diff(const ProveOptions &o)
{
	std::vector<KnownFinding> known;
	if (!load_known_or_fail(o, "diff", &known))
		return EXIT_BAD_INPUT;
	try {
		Variant a = *variant_from_name(o.variants.at(0)),
		        b = *variant_from_name(o.variants.at(1));
		const std::string an(variant_name(a)), bn(variant_name(b));
		ProveBounds bounds = bounds_of(o);
		stop_on_sigint_or_time(bounds, o);
		DiffResult r;
		nlohmann::ordered_json random = nullptr;
		std::string how = "the exhaustive exploration";
		uint64_t oracle_calls = 0;
		if (o.random_layouts) {
			const auto t0 = std::chrono::steady_clock::now();
			uint64_t drawn = 0;
			auto rd =
			    random_difference(a, b, layout_bounds_of(bounds),
			                      RandomSearch{o.random_layouts, o.seed, bounds.jobs,
			                                   &stop_requested, bounds.deadline},
			                      &drawn);
			random = {{"seed", o.seed}, {"layouts", drawn}};
			if (rd) {
				random["found_at"] = rd->layout;
				random["allocator_only"] = rd->diff.allocator_only;
				how = "random layout " + std::to_string(rd->layout) + " of seed " +
				      std::to_string(o.seed);
				r.a = a;
				r.b = b;
				r.status = DiffStatus::different;
				r.witness = ConcreteCase{rd->minimized.state, rd->minimized.write};
				r.what = rd->diff.what;
				r.stats.seconds = std::chrono::duration<double>(
				                      std::chrono::steady_clock::now() - t0)
				                      .count();
				oracle_calls = rd->oracle_calls;
			}
		}
		if (r.status != DiffStatus::different) {
			Progress p(bounds, "untorn diff " + an + " " + bn);
			r = diff(a, b, bounds);
			if (r.witness) { // minimized as a pair: the same difference at every step
				Case c;
				c.variant = a;
				c.state = r.witness->state;
				c.write = r.witness->write;
				Spec spec(Engine::compiled);
				const PairDifference d0 = pair_difference(c, a, b, spec);
				if (!d0.key.empty()) {
					MinimizeResult m =
					    minimize_case_with(c, [&](const Case &k) {
						    return pair_difference(k, a, b, spec).key ==
						           d0.key;
					    });
					r.witness =
					    ConcreteCase{m.minimized.state, m.minimized.write};
					r.what += " (minimized: " +
					          pair_difference(m.minimized, a, b, spec).what +
					          ")";
					oracle_calls = m.oracle_calls;
				}
			}
		}
		const std::string warning = r.witness ? "" : vacuity_warning(r.stats);
		nlohmann::ordered_json report = {
		    {"a", an},
		    {"b", bn},
		    {"bounds", bounds_text(o)},
		    {"status", std::string(diff_status_name(r.status))},
		    {"stats", stats_json(r.stats)},
		    {"complete_up_to", complete_up_to_json(r.complete_up_to)}};
		if (!random.is_null())
			report["random"] = random;
		report["warnings"] = warning.empty() ? std::vector<std::string>{}
		                                     : std::vector<std::string>{warning};
		std::string match;
		if (r.witness) {
			make_out_dir(o.out);
			fs::path fa = fs::path(o.out) / ("diff-" + an + ".json"),
			         fb = fs::path(o.out) / ("diff-" + bn + ".json");
			for (Variant v : {a, b}) {
				Case c;
				c.variant = v;
				c.state = r.witness->state;
				c.write = r.witness->write;
				if (match.empty())
					match = match_known(c, known);
			}
			std::string note =
			    "untorn diff " + an + " " + bn + " (" + bounds_text(o) +
			    "): " + r.what + "; found by " + how + ", minimized as a pair in " +
			    std::to_string(oracle_calls) + " oracle calls." +
			    (match.empty() ? "" : " The known finding " + match + ".");
			for (auto [v, f] : {std::pair{a, fa}, std::pair{b, fb}}) {
				if (std::string d = confirm_counterexample(*r.witness, v, "");
				    !d.empty())
					r.divergences.push_back(std::string(variant_name(v)) +
					                        ": " + d);
				if (std::string d = write_and_replay(
				        *r.witness, v, "diff-" + std::string(variant_name(v)), note,
				        "", f);
				    !d.empty())
					r.divergences.push_back(d);
			}
			report["what"] = r.what;
			report["found_by"] = how;
			report["minimizer_oracle_calls"] = oracle_calls;
			report["known"] = match.empty() ? nlohmann::ordered_json(nullptr)
			                                : nlohmann::ordered_json(match);
			report["cases"] = {fa.string(), fb.string()};
		}
		if (r.status == DiffStatus::inconclusive) {
			report["inconclusive"] = r.inconclusive_reason;
			// (none when stopped before it was decided: no query to show)
			if (!r.smt2.empty()) {
				make_out_dir(o.out);
				fs::path f = fs::path(o.out) / ("diff-" + an + "-" + bn + ".smt2");
				write_file_atomically(f, r.smt2);
				report["query"] = f.string();
			}
		}
		report["sweeps"] = per_sweep_json(r.per_sweep);
		report["divergences"] = r.divergences;
		if (o.json) {
			std::cout << report.dump() << "\n";
		} else {
			std::cout << "bounds: " << bounds_text(o) << "\nuntorn diff " << an << " "
			          << bn << ": " << diff_status_name(r.status) << " ("
			          << (how == "the exhaustive exploration"
			                  ? stats_text(r.stats)
			                  : "found by " + how + " of " +
			                        std::to_string(random["layouts"].get<uint64_t>()) +
			                        " drawn; the exhaustive exploration was not run")
			          << ")\n";
			if (how == "the exhaustive exploration")
				std::cout << "  " << outcomes_text(r.stats) << "\n";
			if (!warning.empty())
				std::cout << "  warning: " << warning << "\n";
			if (r.witness)
				std::cout
				    << "  " << r.what << "\n  the same layout under each: "
				    << report["cases"][0].get<std::string>() << ", "
				    << report["cases"][1].get<std::string>() << " (minimized in "
				    << oracle_calls << " oracle calls)\n"
				    << (match.empty() ? "" : "  the known finding " + match + "\n");
			if (r.status == DiffStatus::inconclusive)
				std::cout
				    << "  cut short: " << r.inconclusive_reason
				    << (report.contains("query")
				            ? "; query in " + report["query"].get<std::string>()
				            : "")
				    << "\n";
		}
		for (const auto &d : r.divergences)
			std::cerr << "untorn diff: MODEL/IMPL DIVERGENCE: " << d << "\n";
		if (!r.divergences.empty())
			return EXIT_INTERNAL;
		if (stop_requested && r.status != DiffStatus::different)
			return EXIT_INTERRUPTED;
		return r.status == DiffStatus::different      ? EXIT_FOUND
		       : r.status == DiffStatus::inconclusive ? EXIT_INCONCLUSIVE
		                                              : EXIT_CLEAN;
	} catch (const std::exception &e) {
		std::cerr << "untorn diff: " << e.what() << "\n";
		return EXIT_BAD_INPUT;
	}
}

namespace
{

std::string with_commas(uint64_t n)
{
	std::string s = std::to_string(n);
	for (size_t i = s.size(); i > 3; i -= 3)
		s.insert(i - 3, ",");
	return s;
}

void print_census(const CensusResult &r, const CensusOptions &o)
{
	const std::string vn(variant_name(r.variant));
	const bool rising = r.growth.size() == 10 && r.growth[9] > r.growth[8];
	std::cout << "untorn census " << vn << ": " << with_commas(r.sweeps) << " sweeps, "
	          << with_commas(o.count) << " samples (seed " << o.seed << "), "
	          << with_commas(r.layouts) << " valid layouts run\n"
	          << (o.branches ? "  distinct paths of the variants' BRANCH() decisions: "
	                         : "  distinct paths: ")
	          << with_commas(r.paths)
	          << (o.branches ? " (what would be left for `untorn prove` if every helper's "
	                           "decisions were merged: a lower bound)\n"
	                         : " (each one a path `untorn prove` must explore at these "
	                           "bounds: a lower bound)\n")
	          << "  found by each tenth of the sample:";
	for (uint64_t g : r.growth)
		std::cout << " " << with_commas(g);
	std::cout << (rising ? "\n  still rising: a larger --count finds more\n"
	                     : "\n  none new in the last tenth\n")
	          << "  size  sweeps  paths   (size: extents, shared ranges and allocator "
	             "answers in all)\n";
	for (size_t n = 0; n < r.paths_by_size.size(); n++)
		std::cout << "  " << std::left << std::setw(6) << n << std::setw(8)
		          << r.sweeps_by_size[n] << with_commas(r.paths_by_size[n]) << "\n";
}

nlohmann::ordered_json census_json(const CensusResult &r, const CensusOptions &o)
{
	nlohmann::ordered_json by_size = nlohmann::ordered_json::array();
	for (size_t n = 0; n < r.paths_by_size.size(); n++)
		by_size.push_back({{"size", n},
		                   {"sweeps", r.sweeps_by_size[n]},
		                   {"paths", r.paths_by_size[n]}});
	return {{"variant", std::string(variant_name(r.variant))},
	        {"sweeps", r.sweeps},
	        {"samples", o.count},
	        {"seed", o.seed},
	        {"decisions", o.branches ? "branches" : "all"},
	        {"layouts", r.layouts},
	        {"paths", r.paths},
	        {"growth", r.growth},
	        {"by_size", by_size}};
}

} // namespace

int cmd_census(const CensusOptions &o)
{
	try {
		std::vector<Variant> vs;
		for (const auto &n : o.bounds.variants)
			vs.push_back(*variant_from_name(n));
		if (vs.empty())
			vs.assign(std::begin(all_variants), std::end(all_variants));
		const ProveBounds b = bounds_of(o.bounds);
		nlohmann::ordered_json report = {{"bounds", bounds_text(o.bounds)},
		                                 {"census", nlohmann::ordered_json::array()}};
		if (!o.bounds.json)
			std::cout << "bounds: " << bounds_text(o.bounds) << "\n";
		for (Variant v : vs) {
			const auto t0 = std::chrono::steady_clock::now();
			CensusResult r = census(v, b, CensusSample{o.count, o.seed, b.jobs, o.branches});
			// (the time on stderr: stdout is the same on every run)
			std::cerr << "untorn census " << variant_name(v) << ": " << std::fixed
			          << std::setprecision(1)
			          << std::chrono::duration<double>(std::chrono::steady_clock::now() -
			                                           t0)
			                 .count()
			          << " s\n";
			if (o.bounds.json)
				report["census"].push_back(census_json(r, o));
			else
				print_census(r, o);
		}
		if (o.bounds.json)
			std::cout << report.dump() << "\n";
		return EXIT_CLEAN;
	} catch (const std::exception &e) {
		std::cerr << "untorn census: " << e.what() << "\n";
		return EXIT_BAD_INPUT;
	}
}

} // namespace untorn
