// `untorn kernel probe | run | fuzz`: the running kernel's XFS as the oracle
// of the model.  A layout is built on a scratch filesystem, read back
// exactly as a case, written with a real RWF_ATOMIC write, and the same case
// is run through impl; what differs is a disagreement.
#include "commands.h"
#include "kernel_compare.h"
#include "kernel_script.h"
#include "untorn/checker.h"
#include "untorn/kernel.h"
#include "untorn/model.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <unistd.h>

namespace untorn
{

using json = nlohmann::json;
namespace ks = kscript;
namespace kc = kcompare;
namespace fs = std::filesystem;

namespace
{

using kc::blocks_of;
using kc::BlockView;
using kc::calls_str;
using kc::result_name;

std::string model_result(const Trace &t)
{
	return t.result ? std::string(errno_name(t.result)) : std::string("ok");
}

// ------------------------------------------------------------ one write, compared

struct Disagreement {
	std::string kind; // result, calls, bytes, data_fork, sharing
	std::string detail;
};

struct WriteReport {
	WriteReq write;
	int64_t kernel_ret = 0;
	std::vector<std::pair<uint64_t, uint64_t>> kernel_calls,
	    model_calls;                       // sw ->iomap_begin (pos, length)
	FileState kernel_before, kernel_after; // read back
	Trace trace;                           // the model's run
	Judgement judgement;
	std::vector<Disagreement> disagreements;
};

void compare_forks(WriteReport &w, const FileState &model_before, uint64_t nblocks)
{
	const kc::ForkDiff d = kc::diff_forks(
	    blocks_of(w.kernel_before, nblocks), blocks_of(w.kernel_after, nblocks),
	    blocks_of(model_before, nblocks), blocks_of(w.trace.final_state, nblocks));
	if (!d.forks.empty())
		w.disagreements.push_back({"data_fork", d.forks.str()});
	if (!d.sharing.empty())
		w.disagreements.push_back({"sharing", d.sharing.str()});
}

// The kernel's own bytes: outside the write unchanged; inside all new on
// success, all old on failure.  Not a model question: a break here is the
// kernel tearing a write.
void check_bytes(WriteReport &w, const std::vector<uint8_t> &before,
                 const std::vector<uint8_t> &after, const std::vector<uint8_t> &data, uint32_t bs)
{
	kc::RunList torn;
	const uint64_t lo = w.write.offset, hi = w.write.offset + w.write.length;
	for (uint64_t off = 0; off < before.size(); off += bs) {
		const uint64_t n = std::min<uint64_t>(bs, before.size() - off);
		bool same_old = memcmp(before.data() + off, after.data() + off, n) == 0;
		if (off + n <= lo || off >= hi) {
			if (!same_old)
				torn.add(off / bs, "changed outside the write");
			continue;
		}
		// compare the part inside the write against the new data
		const uint64_t a = std::max(off, lo), z = std::min(off + n, hi);
		bool inside_new = memcmp(after.data() + a, data.data() + (a - lo), z - a) == 0;
		bool rest_old = memcmp(before.data() + off, after.data() + off, a - off) == 0 &&
		                memcmp(before.data() + z, after.data() + z, off + n - z) == 0;
		if (w.kernel_ret >= 0 && !(inside_new && rest_old))
			torn.add(off / bs, "does not read new after a successful write");
		if (w.kernel_ret < 0 && !same_old)
			torn.add(off / bs, "changed by a failed write");
	}
	if (!torn.runs.empty())
		w.disagreements.push_back({"bytes", torn.str()});
}

void compare_outcome(WriteReport &w)
{
	const kc::Outcome model = kc::outcome_of(w.trace);
	if (model.ret != w.kernel_ret)
		w.disagreements.push_back(
		    {"result",
		     "kernel " + result_name(w.kernel_ret) +
		         (w.kernel_ret >= 0 ? " " + std::to_string(w.kernel_ret) : "") +
		         ", model " + model_result(w.trace) +
		         (w.trace.result ? "" : " " + std::to_string(w.trace.bytes_written))});
	w.model_calls = model.calls;
	if (w.model_calls != w.kernel_calls)
		w.disagreements.push_back(
		    {"calls", "xfs_atomic_write_cow_iomap_begin (pos,length): kernel " +
		                  calls_str(w.kernel_calls) + ", model " +
		                  calls_str(w.model_calls)});
}

// ------------------------------------------------------------ one trial

struct TrialReport {
	ks::Script script;
	bool remounted = false;
	Case first_case; // the read-back case of the first write
	std::vector<WriteReport> writes;
	size_t disagreements() const
	{
		size_t n = 0;
		for (const auto &w : writes)
			n += w.disagreements.size();
		return n;
	}
	std::set<std::string> kinds() const
	{
		std::set<std::string> k;
		for (const auto &w : writes)
			for (const auto &d : w.disagreements)
				k.insert(d.kind);
		return k;
	}
};

TrialReport run_trial(kernel::ScratchFs &sfs, const ks::Script &s, Variant variant, Spec &spec,
                      const std::string &tag, bool remount_always = false)
{
	TrialReport t;
	t.script = s;
	ks::Built b = ks::build(sfs, s, tag, remount_always);
	t.remounted = b.remounted;
	sfs.take_events(); // the layout's own events
	const uint32_t bs = s.geometry.block_size;
	const uint64_t nblocks = s.file_size / bs;
	const uint64_t ino = b.target->ino();
	FileState model_state = ks::read_back(sfs, b);
	for (size_t k = 0; k < s.writes.size(); ++k) {
		WriteReport w;
		w.write = s.writes[k];
		w.kernel_before = k == 0 ? model_state : t.writes.back().kernel_after;
		if (k == 0) {
			t.first_case.name = s.name;
			t.first_case.variant = variant;
			t.first_case.state = model_state;
			t.first_case.write = w.write;
		}
		const std::vector<uint8_t> before = b.target->read_all(s.file_size);
		const std::vector<uint8_t> data =
		    ks::pattern(uint32_t(1000 + k), w.write.offset, w.write.length);
		w.kernel_ret = b.target->atomic_write(w.write.offset, data);
		for (const auto &e : sfs.take_events())
			if (e.ino == ino && e.name == "xfs_iomap_atomic_write_cow")
				w.kernel_calls.push_back({e.a, e.b});
		const std::vector<uint8_t> after = b.target->read_all(s.file_size);
		w.kernel_after = ks::read_back(sfs, b);
		// A state the kernel holds that the case loader would refuse is a
		// disagreement too: the loader's rules claim to be the kernel's.
		std::string refused;
		for (const auto &e : validate_state(w.kernel_before, w.write))
			refused += (refused.empty() ? "" : "; ") + e.path + ": " + e.what;
		if (!refused.empty())
			w.disagreements.push_back(
			    {"loader", "the case loader refuses the kernel's state: " + refused});
		w.trace = run_atomic_write(model_state, w.write, variant);
		w.judgement = spec.judge(w.trace);
		compare_outcome(w);
		check_bytes(w, before, after, data, bs);
		compare_forks(w, model_state, nblocks);
		model_state = w.trace.final_state;
		t.writes.push_back(std::move(w));
	}
	unlink(b.target->path().c_str());
	unlink(b.donor->path().c_str());
	return t;
}

// The disagreement kinds of a trial and where the model went: what makes
// two disagreements the same for saving and counting.
std::string signature(const TrialReport &t)
{
	std::string s;
	for (const auto &w : t.writes)
		for (const auto &d : w.disagreements)
			s += d.kind + ":" + decision_signature(w.trace) + "|";
	return s;
}

// ------------------------------------------------------------ printing

std::string extents_str(const std::vector<xfs_bmbt_irec> &v)
{
	std::string s;
	for (const auto &e : v)
		s += (s.empty() ? "" : " ") + format_extent(e);
	return s.empty() ? "(none)" : s;
}

void print_trial(std::ostream &out, const TrialReport &t)
{
	for (size_t k = 0; k < t.writes.size(); ++k) {
		const WriteReport &w = t.writes[k];
		out << "write " << k << ": RWF_ATOMIC offset " << w.write.offset << " length "
		    << w.write.length << "\n";
		out << "  result      kernel " << result_name(w.kernel_ret) << "   model "
		    << model_result(w.trace) << " (path " << path_name(w.trace.path) << ", verdict "
		    << verdict_name(w.judgement.verdict) << ")\n";
		out << "  sw calls    kernel " << calls_str(w.kernel_calls) << "   model "
		    << calls_str(w.model_calls) << "\n";
		out << "  before      " << extents_str(w.kernel_before.data_fork) << "\n";
		out << "  after       kernel " << extents_str(w.kernel_after.data_fork) << "\n";
		out << "              model  " << extents_str(w.trace.final_state.data_fork)
		    << "\n";
		for (const auto &d : w.disagreements)
			out << "  DISAGREE    " << d.kind << ": " << d.detail << "\n";
	}
	out << (t.disagreements() ? "disagreement" : "agree")
	    << (t.remounted ? " (remounted to empty the CoW fork)" : "") << "\n";
}

json trial_json(const TrialReport &t)
{
	json j = {{"name", t.script.name}, {"remounted", t.remounted}, {"writes", json::array()}};
	for (const auto &w : t.writes) {
		json d = json::array();
		for (const auto &x : w.disagreements)
			d.push_back({{"kind", x.kind}, {"detail", x.detail}});
		j["writes"].push_back({{"offset", w.write.offset},
		                       {"length", w.write.length},
		                       {"kernel_result", result_name(w.kernel_ret)},
		                       {"model_result", model_result(w.trace)},
		                       {"model_path", path_name(w.trace.path)},
		                       {"model_verdict", verdict_name(w.judgement.verdict)},
		                       {"disagreements", d}});
	}
	return j;
}

// The case a disagreement is kept as: the read-back layout, the kernel's
// outcome as its expectation.
Case case_of(const TrialReport &t)
{
	Case c = t.first_case;
	const WriteReport &w = t.writes.front();
	c.note = "read back from the running kernel (" + kernel::kernel_release() +
	         ") after script " + t.script.name + "; expect holds the kernel's result";
	c.expect.result = w.kernel_ret >= 0 ? 0 : int(-w.kernel_ret);
	c.expect.path =
	    w.kernel_calls.empty() ? (w.kernel_ret >= 0 ? Path::hw : Path::none) : Path::sw;
	return c;
}

// ------------------------------------------------------------ minimizing

// Drops layout operations and later writes while the trial still disagrees
// in the same kinds; each candidate runs on the kernel again, at most
// max_minimize_runs of them per disagreement.
constexpr unsigned max_minimize_runs = 200;
ks::Script minimize_script(kernel::ScratchFs &sfs, const TrialReport &t, Variant variant,
                           Spec &spec)
{
	ks::Script best = t.script;
	const auto want = t.kinds();
	unsigned runs = 0;
	auto still = [&](const ks::Script &s) {
		++runs;
		TrialReport r = run_trial(sfs, s, variant, spec, "min");
		return r.kinds() == want;
	};
	for (bool progress = true; progress && runs < max_minimize_runs;) {
		progress = false;
		for (size_t i = best.writes.size(); i-- > 1;) { // drop later writes first
			ks::Script c = best;
			c.writes.erase(c.writes.begin() + long(i));
			if (still(c)) {
				best = c;
				progress = true;
			}
		}
		for (size_t i = best.ops.size(); i-- > 0 && runs < max_minimize_runs;) {
			ks::Script c = best;
			c.ops.erase(c.ops.begin() + long(i));
			if (still(c)) {
				best = c;
				progress = true;
			}
		}
	}
	return best;
}

// ------------------------------------------------------------ shared

Variant pick_variant(const std::string &name)
{
	auto v = variant_from_name(name);
	if (!v)
		throw CaseError("", "--variant", "a variant name, got \"" + name + "\"");
	return *v;
}

} // namespace

// ------------------------------------------------------------ probe

int cmd_kernel_probe(const KernelProbeOptions &o)
{
	return ks::guarded([&]() -> int {
		kernel::check_capabilities();
		ks::report_leftovers();
		std::vector<kernel::MkfsGeometry> geos;
		if (o.geometries.empty())
			geos = {
			    {4096, 20011, 4}, {4096, 32768, 4}, {1024, 80021, 4}, {16384, 8192, 4}};
		for (const auto &g : o.geometries)
			geos.push_back(ks::parse_geometry(g));
		json out = {{"kernel", kernel::kernel_release()}, {"geometries", json::array()}};
		std::cout << "kernel " << kernel::kernel_release() << "\n";
		unsigned differ = 0, probed = 0;
		bool sw_ok = false;
		for (const auto &g : geos) {
			std::unique_ptr<kernel::ScratchFs> sfs;
			try {
				sfs = std::make_unique<kernel::ScratchFs>(g);
			} catch (const kernel::Missing &) {
				throw;
			} catch (const std::exception &e) {
				std::cout << "\n"
				          << g.describe() << ": not made here (" << e.what()
				          << ")\n";
				out["geometries"].push_back(
				    {{"geometry", g.describe()}, {"error", e.what()}});
				continue;
			}
			++probed;
			kernel::File f(*sfs, "probe");
			f.truncate(1 << 20);
			const kernel::StatxAtomic sx = f.statx_atomic();
			const kernel::MountLimits ml = sfs->mount_limits();
			const int64_t w = f.atomic_write(0, ks::pattern(1, 0, g.block_size));
			sw_ok |= w == int64_t(g.block_size);
			ks::Built b{std::make_unique<kernel::File>(*sfs, "probe.t"),
			            std::make_unique<kernel::File>(*sfs, "probe.d"), false};
			const FileState st = ks::read_back(*sfs, b);
			const AtomicLimits il = atomic_write_limits(st, Variant::v6_18);
			struct Row {
				const char *what;
				uint64_t kernel, impl;
			} rows[] = {
			    {"statx atomic_write_unit_min (bytes)", sx.unit_min, il.awu_min},
			    {"statx atomic_write_unit_max (bytes)", sx.unit_max, il.awu_max},
			    {"max_write (blocks)", ml.max_write, il.max_write},
			    {"max_ioend (blocks)", ml.max_ioend, il.max_ioend},
			    {"max_gsize (blocks)", ml.max_gsize, il.max_gsize},
			    {"awu_max (blocks)", ml.awu_max, il.group_awu_max},
			};
			const kernel::FsGeometry fg = sfs->geometry();
			std::cout << "\n"
			          << g.describe() << " (read back: " << fg.block_size
			          << "-byte blocks, " << fg.ag_count << " AGs of " << fg.ag_blocks
			          << " blocks, log " << fg.log_blocks
			          << " blocks; device atomic units " << st.dev.awu_min << "-"
			          << st.dev.awu_max << " bytes)\n";
			std::cout << "  log can remap " << ml.log_blockcount
			          << " blocks in one transaction "
			          << "(xfs_calc_max_atomic_write_fsblocks; the case's "
			             "geometry.x_max_atomic_ioend)\n";
			std::cout << "  a one-block RWF_ATOMIC write: "
			          << (w >= 0 ? std::to_string(w) + " bytes" : result_name(w))
			          << "\n";
			json gj = {{"geometry", g.describe()},
			           {"log_blockcount", ml.log_blockcount},
			           {"one_block_write", result_name(w)},
			           {"rows", json::array()}};
			for (const Row &r : rows) {
				const bool same = r.kernel == r.impl;
				differ += !same;
				std::cout << "  " << (same ? "  " : "!=") << " " << r.what
				          << ": kernel " << r.kernel << ", impl " << r.impl << "\n";
				gj["rows"].push_back({{"what", r.what},
				                      {"kernel", r.kernel},
				                      {"impl", r.impl},
				                      {"same", same}});
			}
			out["geometries"].push_back(gj);
		}
		out["software_atomic_writes"] = sw_ok;
		out["disagreements"] = differ;
		if (probed == 0)
			throw std::runtime_error("no geometry could be made");
		if (!sw_ok)
			throw kernel::Missing("software RWF_ATOMIC writes (a one-block atomic "
			                      "write failed on every geometry)");
		std::cout << "\nsoftware atomic writes work; " << differ << " limit"
		          << (differ == 1 ? "" : "s") << " differ between the kernel and impl\n";
		if (o.json)
			std::cout << out.dump() << "\n";
		return differ ? EXIT_FOUND : EXIT_CLEAN;
	});
}

// ------------------------------------------------------------ run

int cmd_kernel_run(const KernelRunOptions &o)
{
	return ks::guarded([&]() -> int {
		const Variant variant = pick_variant(o.variant);
		kernel::MkfsGeometry geo = ks::parse_geometry(o.geometry);
		std::vector<ks::Script> scripts;
		for (const auto &file : o.inputs) {
			std::ifstream in(file, std::ios::binary);
			std::stringstream ss;
			ss << in.rdbuf();
			if (!in)
				throw CaseError(file, "", "cannot read the file");
			if (ks::looks_like_script(ss.str())) {
				ks::Script s = ks::parse_script(ss.str(), file);
				if (!o.geometry.empty())
					s.geometry = geo;
				if (s.name.empty())
					s.name = fs::path(file).stem().string();
				scripts.push_back(s);
			} else {
				scripts.push_back(
				    ks::script_from_case(parse_case(ss.str(), file), geo));
			}
		}
		kernel::check_capabilities();
		ks::report_leftovers();
		kernel::set_graceful_stop(true);
		Spec spec(Engine::compiled);
		std::unique_ptr<kernel::ScratchFs> sfs; // one per geometry in a row
		std::string made;
		unsigned disagreeing = 0;
		for (size_t i = 0; i < scripts.size() && !kernel::stop_requested(); ++i) {
			const ks::Script &s = scripts[i];
			if (!sfs || made != s.geometry.describe()) {
				sfs.reset();
				sfs = std::make_unique<kernel::ScratchFs>(s.geometry);
				made = s.geometry.describe();
			}
			TrialReport t =
			    run_trial(*sfs, s, variant, spec, "run" + std::to_string(i));
			disagreeing += t.disagreements() > 0;
			if (!o.out.empty()) {
				fs::create_directories(o.out);
				Case c = case_of(t);
				c.name = "kernel-" + s.name;
				c.note = s.note + (s.note.empty() ? "" : " ") + c.note;
				const std::string dest = o.out + "/" + c.name + ".json";
				write_file_atomically(dest, case_to_json(c));
				std::cerr << "untorn kernel: wrote " << dest << "\n";
			}
			if (o.json) {
				json j = trial_json(t);
				j["file"] = o.inputs[i];
				std::cout << j.dump() << "\n";
			} else {
				std::cout << "== " << o.inputs[i] << " (" << s.name << ", "
				          << s.geometry.describe() << ", kernel "
				          << kernel::kernel_release() << " vs "
				          << variant_name(variant) << ")\n";
				print_trial(std::cout, t);
			}
		}
		if (kernel::stop_requested())
			return int(EXIT_INTERRUPTED);
		return disagreeing ? EXIT_FOUND : EXIT_CLEAN;
	});
}

// ------------------------------------------------------------ fuzz

int cmd_kernel_fuzz(const KernelFuzzOptions &o)
{
	return ks::guarded([&]() -> int {
		const Variant variant = pick_variant(o.variant);
		const kernel::MkfsGeometry geo = ks::parse_geometry(o.geometry);
		kernel::check_capabilities();
		ks::report_leftovers();
		kernel::set_graceful_stop(true);
		kernel::ScratchFs sfs(geo);
		Spec spec(Engine::compiled);
		const bool tty = isatty(2);
		const auto t0 = std::chrono::steady_clock::now();
		std::map<std::string, uint64_t> by_kind;
		std::map<std::string, uint64_t> seen; // signature -> first trial
		uint64_t trials = 0, writes = 0, agreeing = 0, remounts = 0, saved = 0,
		         ok_writes = 0;
		json saved_list = json::array();
		for (uint64_t i = 0; i < o.count && !kernel::stop_requested(); ++i) {
			const ks::Script s = ks::generate_script(o.seed, i, geo);
			TrialReport t = run_trial(sfs, s, variant, spec, "f", o.remount_always);
			++trials;
			writes += t.writes.size();
			remounts += t.remounted;
			for (const auto &w : t.writes)
				ok_writes += w.kernel_ret >= 0;
			if (t.disagreements() == 0) {
				++agreeing;
			} else {
				for (const auto &k : t.kinds())
					++by_kind[k];
				const std::string sig = signature(t);
				if (seen.emplace(sig, i).second && !o.out.empty()) {
					ks::Script small =
					    o.no_minimize ? t.script
					                  : minimize_script(sfs, t, variant, spec);
					TrialReport r =
					    run_trial(sfs, small, variant, spec, "save");
					fs::create_directories(o.out);
					const std::string base = o.out + "/" + s.name;
					small.note = "minimized from trial " + std::to_string(i) +
					             " of seed " + std::to_string(o.seed);
					write_file_atomically(base + ".script.json",
					                      ks::script_to_json(small));
					Case c = case_of(r.disagreements() ? r : t);
					write_file_atomically(base + ".case.json", case_to_json(c));
					std::ostringstream txt;
					print_trial(txt, r.disagreements() ? r : t);
					write_file_atomically(base + ".txt", txt.str());
					saved_list.push_back(base);
					++saved;
				}
			}
			if (tty && (i % 50 == 0 || i + 1 == o.count)) {
				const double s_el = std::chrono::duration<double>(
				                        std::chrono::steady_clock::now() - t0)
				                        .count();
				std::cerr << "\r" << trials << "/" << o.count << " trials, "
				          << trials - agreeing << " disagreeing, "
				          << uint64_t(trials / std::max(s_el, 1e-9))
				          << " trials/s   " << std::flush;
			}
		}
		if (tty)
			std::cerr << "\n";
		const double secs =
		    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
		json kinds = json::object();
		for (const auto &[k, n] : by_kind)
			kinds[k] = n;
		json report = {{"kernel", kernel::kernel_release()},
		               {"variant", std::string(variant_name(variant))},
		               {"geometry", geo.describe()},
		               {"seed", o.seed},
		               {"trials", trials},
		               {"writes", writes},
		               {"writes_ok", ok_writes},
		               {"agreeing_trials", agreeing},
		               {"disagreeing_trials", trials - agreeing},
		               {"disagreements_by_kind", kinds},
		               {"distinct_disagreements", seen.size()},
		               {"saved", saved_list},
		               {"remounts", remounts},
		               {"seconds", secs},
		               {"trials_per_second", trials / std::max(secs, 1e-9)},
		               {"interrupted", kernel::stop_requested()}};
		if (!o.out.empty()) {
			fs::create_directories(o.out);
			write_file_atomically(o.out + "/report.json", report.dump(2) + "\n");
		}
		if (o.json) {
			std::cout << report.dump() << "\n";
		} else {
			std::cout << "kernel " << kernel::kernel_release() << " vs "
			          << variant_name(variant) << ", " << geo.describe() << ", seed "
			          << o.seed << "\n";
			std::cout << trials << " trials (" << writes << " atomic writes, "
			          << ok_writes << " succeeded), " << agreeing << " agree, "
			          << trials - agreeing << " disagree (" << seen.size()
			          << " distinct)\n";
			for (const auto &[k, n] : by_kind)
				std::cout << "  " << k << ": " << n << " trials\n";
			for (const auto &p : saved_list)
				std::cout << "  saved " << p.get<std::string>()
				          << ".{script,case}.json\n";
			std::cout << remounts << " remounts; " << std::fixed;
			std::cout.precision(1);
			std::cout << secs << " s, " << trials / std::max(secs, 1e-9)
			          << " trials/s\n";
		}
		if (kernel::stop_requested())
			return int(EXIT_INTERRUPTED);
		return trials == agreeing ? EXIT_CLEAN : EXIT_FOUND;
	});
}

// ------------------------------------------------------------ awrite

namespace
{

// A whole number, decimal or 0x-hex, all of `text`.
bool parse_number(const std::string &text, uint64_t max, uint64_t *out)
{
	if (text.empty() || text.size() > 20 || !std::isdigit(static_cast<unsigned char>(text[0])))
		return false;
	errno = 0;
	char *end = nullptr;
	unsigned long long v = strtoull(text.c_str(), &end, 0);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

} // namespace

int cmd_kernel_awrite(const KernelAwriteOptions &o)
{
	uint64_t off = 0, len = 0, byte = 0;
	const char *usage = nullptr;
	if (!parse_number(o.offset, uint64_t(INT64_MAX), &off))
		usage = "OFFSET: expected a whole number of bytes";
	else if (!parse_number(o.length, 1ULL << 30, &len) || len == 0)
		usage = "LENGTH: expected a whole number of bytes from 1 to 1 GiB";
	else if (!parse_number(o.byte, 255, &byte))
		usage = "--byte: expected a byte value, 0 to 255 (e.g. 0xa5)";
	if (usage) {
		std::cerr << "untorn kernel awrite: " << usage << "\n";
		return EXIT_BAD_INPUT;
	}
	std::unique_ptr<kernel::File> f;
	try {
		f = std::make_unique<kernel::File>(o.file);
	} catch (const std::exception &e) {
		std::cerr << "untorn kernel awrite: " << e.what() << "\n";
		return EXIT_BAD_INPUT;
	}
	// what xfs_io -d -c "pwrite -A [-D] -V1 -b LEN -S 0xBB OFF LEN" issues and prints
	const kernel::Ret n =
	    f->atomic_write(off, std::vector<uint8_t>(len, uint8_t(byte)), o.dsync);
	if (n < 0) {
		std::cerr << "pwrite: " << std::strerror(int(-n)) << "\n";
		return 1;
	}
	std::cout << "wrote " << n << "/" << len << " bytes at offset " << off << "\n";
	return uint64_t(n) == len ? EXIT_CLEAN : 1;
}

// ------------------------------------------------------------ export-run

namespace
{

// The text after `marker` on the first line of `out` holding it ("" if none).
std::string line_after(const std::string &out, const std::string &marker)
{
	size_t p = out.find(marker);
	if (p == std::string::npos)
		return "";
	p += marker.size();
	return out.substr(p, out.find('\n', p) - p);
}

} // namespace

int cmd_kernel_export_run(const KernelExportRunOptions &o)
{
	return ks::guarded([&]() -> int {
		std::vector<std::pair<fs::path, Case>> cases;
		for (const auto &f : collect_case_files(o.inputs))
			cases.emplace_back(f, load_case_file(f));
		if (cases.empty())
			throw CaseError(o.inputs.empty() ? "" : o.inputs[0], "",
			                "case files (*.json); found none");
		kernel::check_capabilities(false);
		std::error_code ec;
		const fs::path self = fs::read_symlink("/proc/self/exe", ec);
		if (ec)
			throw kernel::Missing("/proc/self/exe (" + ec.message() + ")");
		ks::report_leftovers();
		kernel::set_graceful_stop(true);
		constexpr uint64_t kMinDevice = 320ULL << 20;
		unsigned expected = 0, not_reproduced = 0, differ = 0, wrong = 0, not_run = 0;
		std::string not_run_why;
		std::vector<std::string> refused;
		size_t done = 0;
		for (const auto &[file, c] : cases) {
			if (kernel::stop_requested())
				break;
			const XfsIoScript x = xfs_io_script(c);
			kernel::ScratchDev dev(std::max(x.device_bytes, kMinDevice));
			const std::string script = dev.folder() + "/script.sh";
			write_file_atomically(script, x.text);
			const kernel::ScratchDev::Result r =
			    dev.run({"bash", script}, {{"SCRATCH_DEV", dev.device()},
			                               {"SCRATCH_MNT", dev.mountpoint()},
			                               {"UNTORN_PROG", self.string()},
			                               {"UNTORN_APPROXIMATE_COW", "0"},
			                               {"TMPDIR", dev.folder()}});
			const bool left_mounted = dev.unmount_leftovers();
			++done;
			std::string what;
			switch (r.status) {
			case SCRIPT_EXPECTED:
				++expected;
				what = "outcome as expected";
				break;
			case SCRIPT_NOT_REPRODUCED:
				++not_reproduced;
				refused.push_back(c.name);
				what =
				    "NOT REPRODUCED: " + line_after(r.output, ": NOT REPRODUCED: ");
				break;
			case SCRIPT_RESULT_DIFFERS:
				++differ;
				what =
				    "result differs: " + line_after(r.output, "RESULT DIFFERS: ");
				break;
			case SCRIPT_DATA_WRONG:
				++wrong;
				what = "DATA WRONG: " + line_after(r.output, "DATA WRONG ");
				break;
			default: {
				++not_run;
				std::string why = r.status == SCRIPT_NOT_RUN
				                      ? line_after(r.output, ": not run: ")
				                      : "the script ended with status " +
				                            std::to_string(r.status);
				if (not_run_why.empty())
					not_run_why = why;
				what = "not run: " + why;
			}
			}
			std::cout << file.string() << ": " << what << "\n";
			if (left_mounted)
				std::cout << "  (the script left " << dev.mountpoint()
				          << " mounted; unmounted)\n";
			if (o.verbose) {
				std::istringstream in(r.output);
				std::string l;
				while (std::getline(in, l))
					std::cout << "  | " << l << "\n";
			}
			std::cout.flush();
		}
		std::cout << expected << " expected, " << not_reproduced << " not reproduced, "
		          << differ << " differ, " << wrong << " data wrong";
		if (not_run)
			std::cout << ", " << not_run << " not run";
		if (done < cases.size())
			std::cout << " (interrupted: " << cases.size() - done << " not started)";
		std::cout << "\n";
		if (kernel::stop_requested())
			return int(EXIT_INTERRUPTED);
		if (differ || wrong)
			return EXIT_FOUND;
		if (not_run)
			throw kernel::Missing(std::to_string(not_run) + " script" +
			                      (not_run == 1 ? "" : "s") +
			                      " not run: " + not_run_why);
		if (not_reproduced) {
			std::string names;
			for (const auto &n : refused)
				names += (names.empty() ? "" : ", ") + n;
			std::cout << "every case as expected or not reproduced (not reproduced: "
			          << names << ")\n";
		} else {
			std::cout << "every case as expected\n";
		}
		return EXIT_CLEAN;
	});
}

} // namespace untorn
