// Random layouts within the prover's bounds (see portfolio.h).
#include "portfolio.h"

#include <algorithm>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

namespace untorn
{

namespace
{

// The lowest index in [0, s.layouts) for which `run` reports a hit of rank
// 0; when there is none, the lowest of rank 1.  `run(i, spec)` returns
// (rank, value) or nothing.  Threads take every jobs-th index in order and
// stop past the lowest rank-0 hit found so far, so every index below the
// answer has been run: the answer is the same for any number of threads.
template <class T, class Run>
std::optional<T> first_hit(const RandomSearch &s, Run run, uint64_t *drawn)
{
	constexpr uint64_t none = std::numeric_limits<uint64_t>::max();
	const unsigned jobs = std::max(1u, s.jobs);
	std::atomic<uint64_t> best0{none}, count{0};
	std::mutex m;
	std::map<uint64_t, T> hits[2]; // rank -> index -> value (each thread's lowest)
	auto worker = [&](unsigned w) {
		Spec spec(Engine::compiled);
		std::optional<std::pair<uint64_t, T>> mine[2];
		for (uint64_t i = w; i < s.layouts && i < best0.load(); i += jobs) {
			if ((s.stop && s.stop->load()) ||
			    (s.deadline && std::chrono::steady_clock::now() >= *s.deadline))
				break;
			count++;
			std::optional<std::pair<unsigned, T>> h = run(i, spec);
			if (!h)
				continue;
			const unsigned rank = h->first ? 1 : 0;
			if (!mine[rank])
				mine[rank].emplace(i, std::move(h->second));
			if (rank == 0) {
				for (uint64_t b = best0.load();
				     i < b && !best0.compare_exchange_weak(b, i);)
					;
				break;
			}
		}
		std::lock_guard<std::mutex> l(m);
		for (unsigned r = 0; r < 2; r++)
			if (mine[r])
				hits[r].emplace(mine[r]->first, std::move(mine[r]->second));
	};
	if (jobs == 1) {
		worker(0);
	} else {
		std::vector<std::thread> ts;
		for (unsigned w = 0; w < jobs; w++)
			ts.emplace_back(worker, w);
		for (auto &t : ts)
			t.join();
	}
	// (with a hit, the layouts up to it: how many more the threads ran
	// past it depends on the schedule)
	if (drawn)
		*drawn = hits[0].empty() ? count.load() : hits[0].begin()->first + 1;
	for (auto &h : hits)
		if (!h.empty())
			return std::move(h.begin()->second);
	return std::nullopt;
}

std::string outcome_text(const Trace &t, const Judgement &j)
{
	std::string s = std::string(errno_name(t.result)) + "/" + std::string(path_name(t.path));
	const auto broken = j.broken_names();
	s += broken.empty() ? " clean" : " breaks " + join(broken, "+");
	return s;
}

} // namespace

std::optional<RandomRefutation> random_refutation(Variant v, const LayoutBounds &b,
                                                  const RandomSearch &s, uint64_t *drawn)
{
	auto hit = first_hit<RandomRefutation>(
	    s,
	    [&](uint64_t i, Spec &spec) -> std::optional<std::pair<unsigned, RandomRefutation>> {
		    Case c = generate_layout_within(s.seed, i, v, b);
		    Judgement j = spec.judge(run_atomic_write(c.state, c.write, v));
		    if (j.verdict != Verdict::violation)
			    return std::nullopt;
		    RandomRefutation r;
		    r.layout = i;
		    r.found = std::move(c);
		    return std::pair{0u, std::move(r)};
	    },
	    drawn);
	if (!hit)
		return hit;
	Spec spec(Engine::compiled);
	MinimizeResult m = minimize_case(hit->found, spec);
	hit->minimized = m.minimized;
	hit->invariants = m.invariants;
	hit->oracle_calls = m.oracle_calls;
	return hit;
}

PairDifference pair_difference(const Case &c, Variant a, Variant b, Spec &spec)
{
	const Trace ta = run_atomic_write(c.state, c.write, a),
	            tb = run_atomic_write(c.state, c.write, b);
	const Judgement ja = spec.judge(ta), jb = spec.judge(tb);
	const bool bytes = ta.bytes_written != tb.bytes_written;
	const bool maps = ta.final_state.data_fork != tb.final_state.data_fork ||
	                  ta.final_state.cow_fork != tb.final_state.cow_fork ||
	                  !(ta.final_state.refcount == tb.final_state.refcount);
	PairDifference d;
	const std::string oa = outcome_text(ta, ja), ob = outcome_text(tb, jb);
	if (oa == ob && !bytes && !maps)
		return d;
	d.key = oa + " | " + ob + (bytes ? " | bytes" : "") + (maps ? " | maps" : "");
	std::vector<std::string> parts;
	if (ta.result != tb.result)
		parts.push_back("result " + std::string(errno_name(ta.result)) + " vs " +
		                std::string(errno_name(tb.result)));
	if (ta.path != tb.path)
		parts.push_back("path " + std::string(path_name(ta.path)) + " vs " +
		                std::string(path_name(tb.path)));
	if (ja.broken_names() != jb.broken_names())
		parts.push_back("invariants broken [" + join(ja.broken_names()) + "] vs [" +
		                join(jb.broken_names()) + "]");
	if (bytes)
		parts.push_back("bytes written " + std::to_string(ta.bytes_written) + " vs " +
		                std::to_string(tb.bytes_written));
	if (maps)
		parts.push_back("final extent maps differ");
	d.what = join(parts, "; ");
	d.allocator_only = ta.result == ENOSPC || tb.result == ENOSPC;
	return d;
}

std::optional<RandomDifference> random_difference(Variant a, Variant b, const LayoutBounds &bounds,
                                                  const RandomSearch &s, uint64_t *drawn)
{
	auto hit = first_hit<RandomDifference>(
	    s,
	    [&](uint64_t i, Spec &spec) -> std::optional<std::pair<unsigned, RandomDifference>> {
		    Case c = generate_layout_within(s.seed, i, a, bounds);
		    PairDifference d = pair_difference(c, a, b, spec);
		    if (d.key.empty())
			    return std::nullopt;
		    RandomDifference r;
		    r.layout = i;
		    r.found = std::move(c);
		    r.diff = d;
		    return std::pair{d.allocator_only ? 1u : 0u, std::move(r)};
	    },
	    drawn);
	if (!hit)
		return hit;
	const std::string key = hit->diff.key;
	Spec spec(Engine::compiled);
	MinimizeResult m = minimize_case_with(
	    hit->found, [&](const Case &c) { return pair_difference(c, a, b, spec).key == key; });
	hit->minimized = m.minimized;
	hit->diff = pair_difference(hit->minimized, a, b, spec);
	hit->oracle_calls = m.oracle_calls;
	return hit;
}

std::vector<KnownFinding> load_known_findings(const std::vector<std::string> &paths)
{
	std::vector<KnownFinding> v;
	for (const auto &file : collect_case_files(paths)) {
		Case k = load_case_file(file); // a bad file: CaseError, naming it
		if (k.expect.verdict && *k.expect.verdict == "violation")
			v.push_back({file.string(), std::move(k)});
	}
	return v;
}

std::string match_known(const Case &c, const std::vector<KnownFinding> &known)
{
	auto without_policy = [](Case k) {
		k.state.alloc_policy = AllocPolicy::default_policy;
		return canonical_content(k);
	};
	const std::string content = canonical_content(c), loose = without_policy(c);
	for (const auto &k : known)
		if (canonical_content(k.c) == content)
			return k.c.name + " (" + k.file + ")";
	Spec spec(Engine::compiled);
	const Trace t = run_atomic_write(c.state, c.write, c.variant);
	const auto broken = spec.judge(t).broken_names();
	for (const auto &k : known)
		if (without_policy(k.c) == loose && k.c.expect.invariants == broken)
			return k.c.name + " (" + k.file +
			       "; the same case under the default allocator policy)";
	const std::string sig = decision_signature(t);
	for (const auto &k : known) {
		if (k.c.variant != c.variant)
			continue;
		const Trace tk = run_atomic_write(k.c.state, k.c.write, k.c.variant);
		if (decision_signature(tk) == sig && spec.judge(tk).broken_names() == broken)
			return k.c.name + " (" + k.file +
			       "; the same decisions and invariants, other numbers)";
	}
	return "";
}

} // namespace untorn
