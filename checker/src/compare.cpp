// `untorn check --compare BASE --variant PATCHED`: the layouts of plain
// `check` (same generator, same seed), each run under both variants; where
// the two runs differ, grouped by the kind of difference, and the findings
// the patched variant has on a layout where the base has none of them.  Each
// group's first layout is minimized while the pair still differs the same
// way, and written as two cases, one per variant, that `replay` replays and
// `explain A B` shows side by side.
#include "compare.h"
#include "commands.h"
#include "generate.h"
#include "minimize.h"
#include "text.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace untorn
{

namespace fs = std::filesystem;

std::string Difference::key() const
{
	return detail.empty() ? kind : kind + ": " + detail;
}

const std::vector<std::string> &difference_kinds()
{
	static const std::vector<std::string> kinds = {
	    "result",   "path",       "bytes_written", "limits",       "data_fork", "cow_fork",
	    "refcount", "invariants", "bios",          "transactions", "mappings",  "decisions"};
	return kinds;
}

namespace
{

std::string name_of(const Trace &t)
{
	return std::string(variant_name(t.variant));
}

std::string result_text(const Trace &t)
{
	return t.result ? "-" + std::string(errno_name(t.result))
	                : "ok (" + std::to_string(t.bytes_written) + " bytes)";
}

std::string extents_text(const std::vector<xfs_bmbt_irec> &f)
{
	std::string s;
	for (const auto &e : f)
		s += (s.empty() ? "" : " ") + format_extent(e);
	return s.empty() ? "(none)" : s;
}

std::string refcount_text(const std::vector<xfs_refcount_irec> &rc)
{
	std::string s;
	for (const auto &r : rc)
		s += (s.empty() ? "[" : " [") + std::to_string(r.rc_startblock) + "+" +
		     std::to_string(r.rc_blockcount) + "] refcount " +
		     std::to_string(r.rc_refcount);
	return s.empty() ? "(none)" : s;
}

bool same_bio(const Bio &a, const Bio &b)
{
	return a.file_off == b.file_off && a.fsbno == b.fsbno && a.nblocks == b.nblocks &&
	       a.req_atomic == b.req_atomic && a.payload == b.payload && a.status == b.status &&
	       a.txns_before == b.txns_before && a.call == b.call;
}

std::string bio_text(const Bio &b)
{
	return "file block " + std::to_string(b.file_off) + " +" + std::to_string(b.nblocks) +
	       " to fsbno " + std::to_string(b.fsbno) + (b.req_atomic ? " REQ_ATOMIC" : " plain") +
	       (b.payload == Payload::old_copy ? " (copy of old data)" : "") +
	       (b.status ? " -" + std::string(errno_name(b.status)) : "") + " after " +
	       std::to_string(b.txns_before) + " transactions";
}

bool same_txn(const Transaction &a, const Transaction &b)
{
	return std::strcmp(a.name, b.name) == 0 && a.other == b.other &&
	       a.data_fork == b.data_fork && a.cow_fork == b.cow_fork && a.refcount == b.refcount;
}

std::string txn_text(const Transaction &x)
{
	return std::string(x.name) + (x.other ? " (another actor)" : "") + ": " + x.what;
}

bool same_call(const IomapBeginCall &a, const IomapBeginCall &b)
{
	return a.ops == b.ops && a.pos == b.pos && a.length == b.length && a.flags == b.flags &&
	       a.error == b.error && a.iomap == b.iomap && a.srcmap == b.srcmap;
}

std::string call_text(const IomapBeginCall &c)
{
	std::string s = std::string(ops_name(c.ops)) + " pos " + std::to_string(c.pos) +
	                " length " + std::to_string(c.length) + " flags " +
	                iomap_flags_str(c.flags) + " -> ";
	if (c.error)
		return s + "-" + std::string(errno_name(c.error));
	s += std::string(iomap_type_name(c.iomap.type)) + " [" + std::to_string(c.iomap.offset) +
	     ", +" + std::to_string(c.iomap.length) + ") " + iomap_fflags_str(c.iomap.flags) +
	     " from " + format_extent(c.iomap.irec);
	if (c.srcmap)
		s += ", srcmap " + std::string(iomap_type_name(c.srcmap->type)) + " from " +
		     format_extent(c.srcmap->irec);
	return s;
}

// Every decision of a run in order: the ones outside ->iomap_begin, then each
// call's, with the call it belongs to (-1: outside).
struct Decision {
	const Branch *branch;
	int call;
};

std::vector<Decision> decisions_of(const Trace &t)
{
	std::vector<Decision> d;
	for (const auto &b : t.file_branches)
		d.push_back({&b, -1});
	for (size_t c = 0; c < t.calls.size(); c++)
		for (const auto &b : t.calls[c].branches)
			d.push_back({&b, int(c)});
	return d;
}

std::string decision_text(const Decision &d)
{
	return std::string(d.call < 0 ? "" : "call " + std::to_string(d.call) + ": ") +
	       d.branch->func + ": if (" + d.branch->cond + ") " +
	       (d.branch->taken ? "taken" : "not taken");
}

template <class T, class Same>
size_t first_unequal(const std::vector<T> &a, const std::vector<T> &b, Same same)
{
	size_t k = 0;
	while (k < a.size() && k < b.size() && same(a[k], b[k]))
		k++;
	return k;
}

} // namespace

std::optional<Difference> first_difference(const Trace &a, const Judgement &ja, const Trace &b,
                                           const Judgement &jb)
{
	const std::string an = name_of(a), bn = name_of(b);
	auto both = [&](const std::string &what, const std::string &x, const std::string &y) {
		return what + ": " + an + " " + x + ", " + bn + " " + y;
	};
	if (a.result != b.result)
		return Difference{"result",
		                  std::string(errno_name(a.result)) + " vs " +
		                      std::string(errno_name(b.result)),
		                  both("result", result_text(a), result_text(b))};
	if (a.path != b.path)
		return Difference{
		    "path",
		    std::string(path_name(a.path)) + " vs " + std::string(path_name(b.path)),
		    both("path", std::string(path_name(a.path)), std::string(path_name(b.path)))};
	if (a.bytes_written != b.bytes_written)
		return Difference{"bytes_written", "",
		                  both("bytes written", std::to_string(a.bytes_written),
		                       std::to_string(b.bytes_written))};
	if (a.awu_min != b.awu_min || a.awu_max != b.awu_max)
		return Difference{
		    "limits", "",
		    both("the inode's atomic write limits (bytes)",
		         "[" + std::to_string(a.awu_min) + ", " + std::to_string(a.awu_max) + "]",
		         "[" + std::to_string(b.awu_min) + ", " + std::to_string(b.awu_max) + "]")};
	if (a.final_state.data_fork != b.final_state.data_fork)
		return Difference{"data_fork", "",
		                  both("data fork after the write",
		                       extents_text(a.final_state.data_fork),
		                       extents_text(b.final_state.data_fork))};
	if (a.final_state.cow_fork != b.final_state.cow_fork)
		return Difference{"cow_fork", "",
		                  both("CoW fork after the write",
		                       extents_text(a.final_state.cow_fork),
		                       extents_text(b.final_state.cow_fork))};
	if (a.final_state.refcount != b.final_state.refcount)
		return Difference{"refcount", "",
		                  both("shared ranges after the write",
		                       refcount_text(a.final_state.refcount),
		                       refcount_text(b.final_state.refcount))};
	if (ja.broken_names() != jb.broken_names()) {
		std::string x = "[" + join(ja.broken_names()) + "]",
		            y = "[" + join(jb.broken_names()) + "]";
		return Difference{"invariants", x + " vs " + y, both("broken invariants", x, y)};
	}
	if (size_t k = first_unequal(a.bios, b.bios, same_bio);
	    k < a.bios.size() || k < b.bios.size())
		return Difference{"bios", "",
		                  both("bio " + std::to_string(k),
		                       k < a.bios.size() ? bio_text(a.bios[k]) : "(none)",
		                       k < b.bios.size() ? bio_text(b.bios[k]) : "(none)")};
	if (size_t k = first_unequal(a.txns, b.txns, same_txn);
	    k < a.txns.size() || k < b.txns.size()) {
		const std::string nth = "transaction " + std::to_string(k);
		if (k >= a.txns.size() || k >= b.txns.size() ||
		    std::strcmp(a.txns[k].name, b.txns[k].name) != 0 ||
		    a.txns[k].other != b.txns[k].other)
			return Difference{"transactions", "",
			                  both(nth,
			                       k < a.txns.size() ? txn_text(a.txns[k]) : "(none)",
			                       k < b.txns.size() ? txn_text(b.txns[k]) : "(none)")};
		// the same transaction, committing different forks
		const Transaction &x = a.txns[k], &y = b.txns[k];
		return Difference{
		    "transactions", "",
		    x.data_fork != y.data_fork
		        ? both("data fork as " + nth + " (" + x.name + ") commits it",
		               extents_text(x.data_fork), extents_text(y.data_fork))
		    : x.cow_fork != y.cow_fork
		        ? both("CoW fork as " + nth + " (" + x.name + ") commits it",
		               extents_text(x.cow_fork), extents_text(y.cow_fork))
		        : both("shared ranges as " + nth + " (" + x.name + ") commits them",
		               refcount_text(x.refcount), refcount_text(y.refcount))};
	}
	if (size_t k = first_unequal(a.calls, b.calls, same_call);
	    k < a.calls.size() || k < b.calls.size())
		return Difference{"mappings", "",
		                  both("->iomap_begin call " + std::to_string(k),
		                       k < a.calls.size() ? call_text(a.calls[k]) : "(none)",
		                       k < b.calls.size() ? call_text(b.calls[k]) : "(none)")};
	const auto da = decisions_of(a), db = decisions_of(b);
	auto same_decision = [](const Decision &x, const Decision &y) {
		return x.call == y.call && x.branch->taken == y.branch->taken &&
		       std::strcmp(x.branch->func, y.branch->func) == 0;
	};
	if (size_t k = first_unequal(da, db, same_decision); k < da.size() || k < db.size())
		return Difference{
		    "decisions", (k < da.size() ? da[k] : db[k]).branch->func,
		    both("decision " + std::to_string(k),
		         k < da.size() ? decision_text(da[k])
		                       : "(no more: " + std::to_string(k) + " in all)",
		         k < db.size() ? decision_text(db[k])
		                       : "(no more: " + std::to_string(k) + " in all)")};
	return std::nullopt;
}

std::vector<std::string> findings_added(const Judgement &a, const Judgement &b)
{
	const auto in_a = a.broken_names();
	std::vector<std::string> out;
	for (const auto &n : b.broken_names())
		if (std::find(in_a.begin(), in_a.end(), n) == in_a.end())
			out.push_back(n);
	return out;
}

namespace
{

std::atomic<bool> interrupted{false};
extern "C" void on_compare_sigint(int)
{
	interrupted = true;
}

std::string every_variant_name()
{
	std::string s;
	for (Variant v : all_variants)
		s += (s.empty() ? "" : ", ") + std::string(variant_name(v));
	for (Variant v : whatif_variants)
		s += ", " + std::string(variant_name(v));
	return s;
}

struct Group {
	uint64_t layouts = 0;
	uint64_t first = UINT64_MAX; // the lowest layout index showing it
	void add(uint64_t i)
	{
		layouts++;
		first = std::min(first, i);
	}
	void add(const Group &g)
	{
		layouts += g.layouts;
		first = std::min(first, g.first);
	}
};

struct PerVariant {
	uint64_t hw = 0, sw = 0, none = 0, clean = 0, violation = 0, divergence = 0,
	         inconclusive = 0;
	void add(const Trace &t, const Judgement &j)
	{
		(t.path == Path::hw ? hw : t.path == Path::sw ? sw : none)++;
		(j.verdict == Verdict::clean        ? clean
		 : j.verdict == Verdict::violation  ? violation
		 : j.verdict == Verdict::divergence ? divergence
		                                    : inconclusive)++;
	}
	void add(const PerVariant &o)
	{
		hw += o.hw, sw += o.sw, none += o.none, clean += o.clean, violation += o.violation;
		divergence += o.divergence, inconclusive += o.inconclusive;
	}
	nlohmann::ordered_json json(Variant v) const
	{
		return {{"variant", std::string(variant_name(v))},
		        {"paths", {{"hw", hw}, {"sw", sw}, {"none", none}}},
		        {"verdicts",
		         {{"clean", clean},
		          {"violation", violation},
		          {"divergence", divergence},
		          {"inconclusive", inconclusive}}}};
	}
};

// Differences by (kind's rank, detail): the order they are reported in.
using DiffKey = std::pair<size_t, std::string>;

struct Tally {
	uint64_t layouts = 0, differing = 0, z3_checked = 0, z3_inconclusive = 0;
	PerVariant base, patched;
	std::map<DiffKey, Group> diffs;
	std::map<std::string, Group> added, removed; // invariants joined with '+'
	std::vector<std::string> engine_mismatch;
	void add(const Tally &o)
	{
		layouts += o.layouts, differing += o.differing, z3_checked += o.z3_checked;
		z3_inconclusive += o.z3_inconclusive;
		base.add(o.base);
		patched.add(o.patched);
		for (const auto &[k, g] : o.diffs)
			diffs[k].add(g);
		for (const auto &[k, g] : o.added)
			added[k].add(g);
		for (const auto &[k, g] : o.removed)
			removed[k].add(g);
		engine_mismatch.insert(engine_mismatch.end(), o.engine_mismatch.begin(),
		                       o.engine_mismatch.end());
	}
};

size_t kind_rank(const std::string &kind)
{
	const auto &k = difference_kinds();
	return size_t(std::find(k.begin(), k.end(), kind) - k.begin());
}

std::vector<std::string> split_plus(const std::string &s)
{
	std::vector<std::string> v;
	for (size_t from = 0; from <= s.size();) {
		size_t plus = std::min(s.find('+', from), s.size());
		v.push_back(s.substr(from, plus - from));
		from = plus + 1;
	}
	return v;
}

std::string hash8(const std::string &content)
{
	char buf[9];
	snprintf(buf, sizeof buf, "%08llx", (unsigned long long)(fnv1a(content) & 0xffffffffULL));
	return buf;
}

// Sizes of a written pair's layout (the same under both variants).
nlohmann::ordered_json size_json(const Case &c)
{
	uint64_t blocks = 0;
	for (const auto *f : {&c.state.data_fork, &c.state.cow_fork})
		for (const auto &e : *f)
			blocks += e.br_blockcount;
	return {{"extents", c.state.data_fork.size() + c.state.cow_fork.size()},
	        {"refcount", c.state.refcount.size()},
	        {"alloc", c.state.alloc.size()},
	        {"interleave", c.state.interleave.size()},
	        {"blocks", blocks},
	        {"write_blocks", c.write.length / c.state.geo.block_size}};
}

struct Pair {
	std::string files[2];
	std::string what; // the written pair's difference
	nlohmann::ordered_json size;
};

// Writes the layout `m` as two cases, one per variant, each expecting what
// its own variant does; `describe` says, from the two runs, what the pair
// shows.  File names: PREFIX-HASH-VARIANT.json, HASH of the layout.
template <class Describe>
Pair write_pair(const std::string &out, const std::string &prefix, const Case &m, Variant base,
                Variant patched, Spec &spec, const std::string &origin, Describe describe)
{
	Case k = m;
	k.variant = base;
	const std::string stem = prefix + "-" + hash8(canonical_content(k));
	Pair p;
	Case cs[2] = {m, m};
	Trace ts[2];
	Judgement js[2];
	const Variant vs[2] = {base, patched};
	for (int i = 0; i < 2; i++) {
		cs[i].variant = vs[i];
		cs[i].name = stem + "-" + std::string(variant_name(vs[i]));
		p.files[i] = cs[i].name + ".json";
		ts[i] = run_atomic_write(cs[i].state, cs[i].write, vs[i]);
		js[i] = spec.judge(ts[i]);
		cs[i].expect = {};
		cs[i].expect.result = ts[i].result;
		cs[i].expect.path = ts[i].path;
		cs[i].expect.verdict = std::string(verdict_name(js[i].verdict));
		cs[i].expect.invariants = js[i].broken_names();
	}
	p.what = describe(ts[0], js[0], ts[1], js[1]);
	for (int i = 0; i < 2; i++) {
		cs[i].note = origin + ": " + p.what + ". The same layout under " +
		             std::string(variant_name(vs[1 - i])) + ": " + p.files[1 - i] + ".";
		write_file_atomically(fs::path(out) / p.files[i], case_to_json(cs[i]));
	}
	p.size = size_json(m);
	return p;
}

} // namespace

int cmd_check_compare(const CheckOptions &o)
{
	auto bad = [](const std::string &msg) {
		std::cerr << "untorn: check: " << msg << "\n";
		return EXIT_BAD_INPUT;
	};
	const auto base_v = variant_from_name(o.compare);
	if (!base_v)
		return bad("--compare: \"" + o.compare + "\" is not a variant; expected one of " +
		           every_variant_name());
	if (o.variants.size() != 1)
		return bad("--compare BASE needs exactly one --variant PATCHED (got " +
		           std::to_string(o.variants.size()) + ")");
	const auto patched_v = variant_from_name(o.variants[0]);
	if (!patched_v)
		return bad("--variant: \"" + o.variants[0] +
		           "\" is not a variant; expected one of " + every_variant_name());
	if (o.shard != "1/1")
		return bad("--shard is not supported with --compare");
	if (!o.known.empty())
		return bad("--known is not supported with --compare (run plain check for that)");
	if (!o.sarif.empty() || !o.junit.empty())
		return bad("--sarif and --junit are not supported with --compare");
	const Variant base = *base_v, patched = *patched_v;
	const std::string bn(variant_name(base)), pn(variant_name(patched));
	const SolverLimits limits{o.solver_timeout_ms, o.solver_rlimit, o.solver_memory_mb};

	std::signal(SIGINT, on_compare_sigint);
	const bool progress = isatty(2);
	std::atomic<uint64_t> done{0};
	std::mutex mu;
	Tally total;

	// Worker w of J takes layouts i with i mod J = w; tallies add up and
	// keep the lowest index, so the report is the same for any J.
	auto worker = [&](unsigned w) {
		Spec spec(Engine::compiled, limits);
		Tally mine;
		for (uint64_t i = w; i < o.count && !interrupted; i += o.jobs) {
			Case c = generate_layout(o.seed, i, base, o.interleave);
			Trace ta = run_atomic_write(c.state, c.write, base);
			Trace tb = run_atomic_write(c.state, c.write, patched);
			Judgement ja = spec.judge(ta), jb = spec.judge(tb);
			mine.layouts++;
			mine.base.add(ta, ja);
			mine.patched.add(tb, jb);
			if (o.z3_every && i % o.z3_every == 0)
				for (const Trace *t : {&ta, &tb}) {
					mine.z3_checked++;
					bool undecided = false;
					std::string d = spec.cross_check(*t, &undecided);
					mine.z3_inconclusive += undecided;
					if (!d.empty())
						mine.engine_mismatch.push_back(
						    c.name + " (" + name_of(*t) + "): " + d);
				}
			if (auto d = first_difference(ta, ja, tb, jb)) {
				mine.differing++;
				mine.diffs[{kind_rank(d->kind), d->detail}].add(i);
			}
			if (auto n = findings_added(ja, jb); !n.empty())
				mine.added[join(n, "+")].add(i);
			if (auto n = findings_added(jb, ja); !n.empty())
				mine.removed[join(n, "+")].add(i);
			uint64_t dn = ++done;
			if (progress && dn % 4096 == 0)
				std::cerr << "\r" << dn << " / " << o.count << " layouts"
				          << std::flush;
		}
		std::lock_guard<std::mutex> g(mu);
		total.add(mine);
	};
	std::vector<std::thread> threads;
	for (unsigned w = 0; w < o.jobs; w++)
		threads.emplace_back(worker, w);
	for (auto &t : threads)
		t.join();
	if (progress)
		std::cerr << "\r\033[K";

	std::error_code ec;
	fs::create_directories(o.out, ec);
	if (ec)
		return bad("cannot create " + o.out + ": " + ec.message());

	nlohmann::ordered_json rep;
	rep["seed"] = o.seed;
	rep["count"] = o.count;
	if (o.interleave)
		rep["interleave"] = true;
	rep["base"] = bn;
	rep["patched"] = pn;
	rep["interrupted"] = interrupted.load();
	rep["layouts"] = total.layouts;
	rep["runs"] = {total.base.json(base), total.patched.json(patched)};
	rep["z3_cross_checks"] = total.z3_checked;
	rep["z3_inconclusive"] = total.z3_inconclusive;
	std::sort(total.engine_mismatch.begin(),
	          total.engine_mismatch.end()); // workers finish in any order
	rep["engine_mismatches"] = total.engine_mismatch;
	rep["layouts_differing"] = total.differing;

	// Each group's first layout, minimized (unless asked not to) while the
	// pair still differs the same way, in report order: deterministic.
	Spec spec(Engine::compiled, limits);
	const std::string origin = "found by untorn check --compare " + bn + " --variant " + pn +
	                           (o.no_minimize ? "" : " and minimized");
	auto runs = [&](const Case &c) {
		Trace ta = run_atomic_write(c.state, c.write, base),
		      tb = run_atomic_write(c.state, c.write, patched);
		Judgement ja = spec.judge(ta), jb = spec.judge(tb);
		return std::make_tuple(std::move(ta), std::move(ja), std::move(tb), std::move(jb));
	};
	auto minimized = [&](const Case &c, const MinimizeKey &key) {
		return o.no_minimize
		           ? c
		           : minimize_keeping(c, key, "the two variants do not differ on it")
		                 .minimized;
	};
	auto pair_json = [&](nlohmann::ordered_json &j, const Pair &p) {
		j["files"] = {p.files[0], p.files[1]};
		j["what"] = p.what;
		j["size"] = p.size;
	};
	rep["differences"] = nlohmann::ordered_json::array();
	std::vector<Pair> diff_pairs, new_pairs;
	for (const auto &[key, g] : total.diffs) {
		const std::string kind = difference_kinds()[key.first];
		Case m = minimized(generate_layout(o.seed, g.first, base, o.interleave),
		                   [&](const Case &c) {
			                   auto [ta, ja, tb, jb] = runs(c);
			                   auto d = first_difference(ta, ja, tb, jb);
			                   return d ? d->key() : std::string();
		                   });
		Pair p = write_pair(
		    o.out, "compare-" + kind, m, base, patched, spec, origin,
		    [](const Trace &ta, const Judgement &ja, const Trace &tb, const Judgement &jb) {
			    return first_difference(ta, ja, tb, jb).value_or(Difference{}).what;
		    });
		nlohmann::ordered_json j = {{"kind", kind},
		                            {"detail", key.second},
		                            {"layouts", g.layouts},
		                            {"first_layout", g.first}};
		pair_json(j, p);
		rep["differences"].push_back(j);
		diff_pairs.push_back(p);
	}
	rep["new_findings"] = nlohmann::ordered_json::array();
	for (const auto &[invs, g] : total.added) {
		Case m = minimized(generate_layout(o.seed, g.first, base, o.interleave),
		                   [&](const Case &c) {
			                   auto [ta, ja, tb, jb] = runs(c);
			                   return join(findings_added(ja, jb), "+");
		                   });
		Pair p = write_pair(
		    o.out, "new-" + invs, m, base, patched, spec, origin,
		    [&](const Trace &, const Judgement &ja, const Trace &, const Judgement &jb) {
			    return pn + " breaks " + join(findings_added(ja, jb)) + ", " + bn +
			           " does not (" + bn + " [" + join(ja.broken_names()) + "], " +
			           pn + " [" + join(jb.broken_names()) + "])";
		    });
		nlohmann::ordered_json j = {{"invariants", split_plus(invs)},
		                            {"layouts", g.layouts},
		                            {"first_layout", g.first}};
		pair_json(j, p);
		rep["new_findings"].push_back(j);
		new_pairs.push_back(p);
	}
	rep["gone_findings"] = nlohmann::ordered_json::array();
	for (const auto &[invs, g] : total.removed)
		rep["gone_findings"].push_back({{"invariants", split_plus(invs)},
		                                {"layouts", g.layouts},
		                                {"first_layout", g.first}});
	write_file_atomically(fs::path(o.out) / "report.json", rep.dump(2) + "\n");

	if (o.json) {
		std::cout << rep.dump(2) << "\n";
	} else {
		const fs::path dir(o.out);
		auto explain_line = [&](const Pair &p) {
			return "      untorn explain --pair " + (dir / p.files[0]).string() + " " +
			       (dir / p.files[1]).string() + "\n";
		};
		auto size_text = [](const nlohmann::ordered_json &s) {
			return std::to_string(s["extents"].get<uint64_t>()) + " extents, " +
			       std::to_string(s["blocks"].get<uint64_t>()) + " blocks, " +
			       std::to_string(s["refcount"].get<uint64_t>()) + " shared ranges, " +
			       std::to_string(s["alloc"].get<uint64_t>()) + " allocator answers";
		};
		auto runs_text = [](const std::string &name, const PerVariant &s) {
			return "  " + name + ": paths hw " + std::to_string(s.hw) + ", sw " +
			       std::to_string(s.sw) + ", none " + std::to_string(s.none) +
			       "; verdicts clean " + std::to_string(s.clean) + ", violation " +
			       std::to_string(s.violation) + ", divergence " +
			       std::to_string(s.divergence) + ", inconclusive " +
			       std::to_string(s.inconclusive) + "\n";
		};
		std::cout << "untorn check --compare " << bn << " --variant " << pn << ": seed "
		          << o.seed << ", " << total.layouts << " layouts"
		          << (interrupted ? " -- INTERRUPTED, partial report" : "") << "\n"
		          << runs_text(bn, total.base) << runs_text(pn, total.patched)
		          << "  layouts that differ: " << total.differing << " of " << total.layouts
		          << "\n";
		size_t i = 0;
		for (const auto &d : rep["differences"]) {
			const Pair &p = diff_pairs[i++];
			std::string detail = d["detail"];
			std::cout << "    " << d["kind"].get<std::string>()
			          << (detail.empty() ? "" : " (" + detail + ")") << ": "
			          << d["layouts"].get<uint64_t>() << " layouts, first layout "
			          << d["first_layout"].get<uint64_t>() << "\n      " << p.what
			          << "\n      " << (o.no_minimize ? "unminimized: " : "minimized: ")
			          << size_text(p.size) << "\n"
			          << explain_line(p);
		}
		std::cout << "  new findings of " << pn << " (broken where " << bn
		          << " does not break them, same layout): " << rep["new_findings"].size()
		          << "\n";
		i = 0;
		for (const auto &n : rep["new_findings"]) {
			const Pair &p = new_pairs[i++];
			std::cout << "    ["
			          << join(n["invariants"].get<std::vector<std::string>>())
			          << "]: " << n["layouts"].get<uint64_t>()
			          << " layouts, first layout " << n["first_layout"].get<uint64_t>()
			          << "\n      " << (o.no_minimize ? "unminimized: " : "minimized: ")
			          << size_text(p.size) << "\n"
			          << explain_line(p);
		}
		std::cout << "  findings of " << bn << " that " << pn
		          << " does not have: " << rep["gone_findings"].size() << "\n";
		for (const auto &n : rep["gone_findings"])
			std::cout << "    ["
			          << join(n["invariants"].get<std::vector<std::string>>())
			          << "]: " << n["layouts"].get<uint64_t>()
			          << " layouts, first layout " << n["first_layout"].get<uint64_t>()
			          << "\n";
		std::cout << "  cases in " << o.out << "\n  z3 cross-checks: " << total.z3_checked
		          << ", mismatches: " << total.engine_mismatch.size()
		          << ", inconclusive: " << total.z3_inconclusive << "\n";
		for (const auto &m : total.engine_mismatch)
			std::cout << "    ENGINE MISMATCH (a bug in untorn): " << m << "\n";
	}
	if (interrupted)
		return EXIT_INTERRUPTED;
	if (!total.engine_mismatch.empty())
		return EXIT_INTERNAL;
	if (total.differing)
		return EXIT_FOUND;
	if (total.base.inconclusive || total.patched.inconclusive || total.z3_inconclusive)
		return EXIT_INCONCLUSIVE;
	return EXIT_CLEAN;
}

} // namespace untorn
