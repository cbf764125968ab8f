// `untorn kernel crash` and `untorn kernel race`: the real kernel under
// crashes (XFS_IOC_GOINGDOWN, then unmount and mount: log recovery) and
// under concurrent writers, checked for torn atomic writes, changes outside
// the written ranges, lost acknowledged writes, and recovered layouts the
// model's crash semantics do not allow.
#include "commands.h"
#include "kernel_compare.h"
#include "kernel_script.h"
#include "untorn/checker.h"
#include "untorn/kernel.h"
#include "untorn/rng.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <latch>
#include <map>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace untorn
{

using json = nlohmann::json;
namespace ks = kscript;
namespace kc = kcompare;
namespace fs = std::filesystem;

namespace
{

// XFS_IOC_GOINGDOWN's flags (fs/xfs/libxfs/xfs_fs.h).
constexpr uint32_t GOING_DEFAULT = 0, GOING_LOGFLUSH = 1, GOING_NOLOGFLUSH = 2;
const char *going_name(uint32_t f)
{
	return f == GOING_DEFAULT ? "default" : f == GOING_LOGFLUSH ? "logflush" : "nologflush";
}

uint64_t now_ns()
{
	return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
	                    std::chrono::steady_clock::now().time_since_epoch())
	                    .count());
}

// The write-up of a known kernel finding's kind.
const char *known_finding_page(const std::string &kind)
{
	return kind == "other_file_data_after_shutdown"
	           ? "docs/design/unshared-overwrite-after-shutdown.md"
	           : "docs/design/durability-after-shutdown.md";
}

struct Finding {
	std::string kind; // torn, outside, lost_dsync, lost_after_logflush, layout, ...
	std::string detail;
	// A known kernel bug (known_finding_page): counted
	// and saved, but not a new finding (exit status).
	bool known = false;
};

// One atomic write of a trial as it happened.
struct Issued {
	WriteReq w;
	bool dsync = false;
	std::vector<uint8_t> data;
	int64_t ret = 0;
	uint64_t t0 = 0, t1 = 0; // before the call, after it returned
};

enum class Moment { before, during, after, none };
const char *moment_name(Moment m)
{
	return m == Moment::before   ? "before"
	       : m == Moment::during ? "during"
	       : m == Moment::after  ? "after"
	                             : "none";
}

// How each block of a range reads after recovery: old, new, or neither.
enum class Reads { old_data, new_data, other };
Reads block_reads(const std::vector<uint8_t> &before, const std::vector<uint8_t> &after,
                  const Issued &w, uint64_t off, uint64_t n)
{
	if (memcmp(after.data() + off, w.data.data() + (off - w.w.offset), n) == 0)
		return Reads::new_data;
	if (memcmp(after.data() + off, before.data() + off, n) == 0)
		return Reads::old_data;
	return Reads::other;
}

// ------------------------------------------------------------ plans

struct CrashPlan {
	ks::Script script;
	std::vector<bool> dsync;
	Moment moment = Moment::during;
	uint32_t flag = GOING_NOLOGFLUSH;
	uint32_t delay_us = 0;
};

// Writes that do not overlap: naturally aligned powers of two, 1 to 16
// blocks, in the first 256 blocks (where the layout is).
std::vector<WriteReq> disjoint_writes(Rng &r, uint32_t bs, unsigned n)
{
	std::vector<WriteReq> out;
	for (unsigned tries = 0; out.size() < n && tries < 50; ++tries) {
		WriteReq w;
		w.length = uint64_t(bs) << r.below(5);
		w.offset = r.below(256 * uint64_t(bs) / w.length) * w.length;
		bool clash = false;
		for (const auto &o : out)
			clash |= w.offset < o.offset + o.length && o.offset < w.offset + w.length;
		if (!clash)
			out.push_back(w);
	}
	return out;
}

CrashPlan plan_crash(uint64_t seed, uint64_t i, const kernel::MkfsGeometry &g)
{
	CrashPlan p;
	p.script = ks::generate_script(seed, i, g);
	p.script.name = "crash-" + std::to_string(seed) + "-" + std::to_string(i);
	Rng r(seed * 0xa0761d6478bd642fULL ^ (i + 1) * 0xe7037ed1a0b428dbULL);
	p.script.writes = disjoint_writes(r, g.block_size, 1 + unsigned(r.below(3)));
	for (size_t k = 0; k < p.script.writes.size(); ++k)
		p.dsync.push_back(r.chance(50));
	const unsigned m = unsigned(r.below(10));
	p.moment = m < 1 ? Moment::before : m < 8 ? Moment::during : Moment::after;
	static const uint32_t flags[] = {GOING_DEFAULT, GOING_LOGFLUSH, GOING_NOLOGFLUSH,
	                                 GOING_NOLOGFLUSH};
	p.flag = r.pick(flags);
	p.delay_us = uint32_t(r.below(2000));
	return p;
}

// ------------------------------------------------------------ checks

struct CrashReport {
	std::string name;
	Moment moment = Moment::none;
	uint32_t flag = 0;
	std::vector<Issued> writes;
	uint64_t sd0 = 0, sd1 = 0; // the shutdown ioctl: issued, returned (0: none)
	std::string matched;       // the model crash state the recovered layout matched ("" = none)
	std::vector<Finding> findings;
	unsigned acked = 0, read_new = 0, read_old = 0;
};

// Every atomic range reads all old or all new; nothing else changed; an
// acknowledged RWF_DSYNC write reads new; so does any write that returned
// before a shutdown that flushes the log.
void check_bytes(CrashReport &r, const std::vector<uint8_t> &before,
                 const std::vector<uint8_t> &after, uint32_t bs)
{
	std::vector<bool> written(before.size() / bs, false);
	for (const Issued &w : r.writes) {
		unsigned n_new = 0, n_old = 0, n_other = 0;
		for (uint64_t off = w.w.offset; off < w.w.offset + w.w.length; off += bs) {
			written[off / bs] = true;
			switch (block_reads(before, after, w, off, bs)) {
			case Reads::new_data:
				++n_new;
				break;
			case Reads::old_data:
				++n_old;
				break;
			case Reads::other:
				++n_other;
				break;
			}
		}
		const std::string what =
		    "write [" + std::to_string(w.w.offset) + ", +" + std::to_string(w.w.length) +
		    ") " + (w.dsync ? "RWF_DSYNC " : "") + "returned " + kc::result_name(w.ret);
		if (n_other || (n_new && n_old))
			r.findings.push_back({"torn", what + ": " + std::to_string(n_new) +
			                                  " blocks read new, " +
			                                  std::to_string(n_old) + " old, " +
			                                  std::to_string(n_other) + " neither"});
		const bool is_new = n_new && !n_old && !n_other;
		r.read_new += is_new;
		r.read_old += !n_new;
		if (w.ret < 0)
			continue;
		++r.acked;
		const bool before_shutdown = r.sd0 == 0 || w.t1 < r.sd0;
		if (!is_new && w.dsync && before_shutdown)
			r.findings.push_back(
			    {"lost_dsync", what + " before the shutdown began, and reads old "
			                          "after recovery"});
		else if (!is_new && w.dsync)
			r.findings.push_back(
			    {"lost_dsync_racing_shutdown",
			     what + " while a " + going_name(r.flag) +
			         " shutdown was under way, and reads old after recovery",
			     r.flag == GOING_NOLOGFLUSH});
		else if (!is_new && r.sd0 && before_shutdown && r.flag != GOING_NOLOGFLUSH)
			r.findings.push_back(
			    {"lost_after_logflush", what + " before a " + going_name(r.flag) +
			                                " shutdown, and reads old after recovery"});
	}
	kc::RunList outside;
	for (uint64_t b = 0; b < written.size(); ++b)
		if (!written[b] && memcmp(before.data() + b * bs, after.data() + b * bs, bs) != 0)
			outside.add(b, "changed, outside every write");
	if (!outside.empty())
		r.findings.push_back({"outside", outside.str()});
}

// The model's crash states of a sequence of writes: the layout before them,
// then after each committed transaction of each write in turn.
struct CrashState {
	std::string name;
	FileState st;
};
std::vector<CrashState> model_crash_states(const FileState &initial,
                                           const std::vector<Issued> &writes, Variant v)
{
	std::vector<CrashState> out{{"before any write", initial}};
	FileState cur = initial;
	for (size_t k = 0; k < writes.size(); ++k) {
		const Trace t = run_atomic_write(cur, writes[k].w, v);
		for (size_t j = 0; j < t.txns.size(); ++j) {
			FileState s = cur;
			s.data_fork = t.txns[j].data_fork;
			s.refcount = t.txns[j].refcount;
			out.push_back({"write " + std::to_string(k) + ", " + std::to_string(j + 1) +
			                   " of " + std::to_string(t.txns.size()) +
			                   " transactions (" + t.txns[j].name + ")",
			               s});
		}
		cur = t.final_state;
	}
	return out;
}

// Which model crash state the recovered layout is, up to renaming of new
// blocks; "" when none.
std::string match_crash_state(const FileState &initial, const FileState &recovered,
                              const std::vector<CrashState> &states, uint64_t nblocks)
{
	const auto kb = kc::blocks_of(initial, nblocks), ka = kc::blocks_of(recovered, nblocks);
	for (const CrashState &s : states) {
		const kc::ForkDiff d = kc::diff_forks(kb, ka, kb, kc::blocks_of(s.st, nblocks));
		if (d.forks.empty() && d.sharing.empty())
			return s.name;
	}
	return "";
}

// ------------------------------------------------------------ one crash trial

CrashReport run_crash_trial(kernel::ScratchFs &sfs, const CrashPlan &p, Variant variant,
                            const std::string &tag, bool plain)
{
	CrashReport r;
	r.name = p.script.name;
	r.moment = p.moment;
	r.flag = p.flag;
	const ks::Script &s = p.script;
	const uint32_t bs = s.geometry.block_size;
	ks::Built b = ks::build(sfs, s, tag);
	const FileState initial = ks::read_back(sfs, b);
	const std::vector<uint8_t> before = b.target->read_all(s.file_size);
	for (size_t k = 0; k < s.writes.size(); ++k)
		r.writes.push_back(
		    {s.writes[k], p.dsync[k],
		     ks::pattern(uint32_t(2000 + k), s.writes[k].offset, s.writes[k].length)});
	std::atomic<bool> shutdown_failed{false};
	auto shutdown = [&] {
		r.sd0 = now_ns();
		shutdown_failed = !sfs.shutdown(p.flag);
		r.sd1 = now_ns();
	};
	auto write_all = [&] {
		for (Issued &w : r.writes) {
			w.t0 = now_ns();
			w.ret = plain ? b.target->plain_write(w.w.offset, w.data, w.dsync)
			              : b.target->atomic_write(w.w.offset, w.data, w.dsync);
			w.t1 = now_ns();
		}
	};
	if (p.moment == Moment::before)
		shutdown();
	if (p.moment == Moment::during) {
		std::latch go(2);
		std::thread crasher([&] {
			go.arrive_and_wait();
			std::this_thread::sleep_for(std::chrono::microseconds(p.delay_us));
			shutdown();
		});
		go.arrive_and_wait();
		write_all();
		crasher.join();
	} else {
		write_all();
	}
	if (p.moment == Moment::after)
		shutdown();
	if (shutdown_failed)
		throw std::runtime_error("XFS_IOC_GOINGDOWN failed");
	b.target->close();
	b.donor->close();
	sfs.remount(); // log recovery
	b.target->reopen();
	b.donor->reopen();
	const std::vector<uint8_t> after = b.target->read_all(s.file_size);
	const FileState recovered = ks::read_back(sfs, b);
	check_bytes(r, before, after, bs);
	r.matched = match_crash_state(
	    initial, recovered, model_crash_states(initial, r.writes, variant), s.file_size / bs);
	if (r.matched.empty())
		r.findings.push_back(
		    {"layout", "the recovered data fork is none of the model's crash states"});
	unlink(b.target->path().c_str());
	unlink(b.donor->path().c_str());
	return r;
}

// ------------------------------------------------------------ one race trial

// Atomic writers on neighbouring ranges that share a CoW extent-size
// granule, an extent or a shared extent; beside them a buffered writer, a
// reflink and fsync; sometimes two atomic writers on the same range.
struct RacePlan {
	ks::Script script;
	std::vector<WriteReq> atomic; // one thread each
	bool overlapping = false;     // atomic[1] == atomic[0]
	WriteReq buffered;            // length 0: none
	WriteReq clone;               // reflink target range; length 0: none
	bool fsync_thread = false;
	bool crash = false;
	uint32_t flag = GOING_NOLOGFLUSH, delay_us = 0;
	// Actors that can run while an atomic write has dropped the ILOCK: a
	// write fault through a shared mapping (never with a crash: a fault on
	// a shut-down filesystem raises SIGBUS), and a direct write to the
	// donor's copy of shared blocks (its completion drops their refcount).
	WriteReq fault;       // length 0: none
	WriteReq donor_write; // donor offsets, which are the target's; length 0: none
};

RacePlan plan_race(uint64_t seed, uint64_t i, const kernel::MkfsGeometry &g)
{
	RacePlan p;
	Rng r(seed * 0x8ebc6af09c88c6e3ULL ^ (i + 1) * 0x589965cc75374cc3ULL);
	const uint32_t bs = g.block_size;
	ks::Script &s = p.script;
	s.name = "race-" + std::to_string(seed) + "-" + std::to_string(i);
	s.geometry = g;
	s.file_size = uint64_t(512) * bs;
	static const uint32_t hints[] = {0, 4, 8, 16, 32};
	s.cowextsize = r.pick(hints);
	// one granule of 32 blocks at a random aligned spot, laid out as one
	// kind: written, shared (cloned), unwritten, or a hole
	const uint64_t base = r.below(8) * 32 * uint64_t(bs), span = 32 * uint64_t(bs);
	const unsigned kind = unsigned(r.below(4));
	if (kind == 0)
		s.ops.push_back({ks::OpKind::write, base, span, base});
	else if (kind == 1)
		s.ops.push_back({ks::OpKind::reflink, base, span, base});
	else if (kind == 2)
		s.ops.push_back({ks::OpKind::falloc, base, span, base});
	if (r.chance(30)) // and a second kind over half of it
		s.ops.push_back({r.chance(50) ? ks::OpKind::reflink : ks::OpKind::write,
		                 base + span / 2, span / 2, base + span / 2});
	// two to four atomic writers on neighbouring ranges of 1-4 blocks
	const unsigned n = 2 + unsigned(r.below(3));
	uint64_t at = base + r.below(4) * bs;
	for (unsigned k = 0; k < n; ++k) {
		const uint64_t len = uint64_t(bs) << r.below(3);
		at = (at + len - 1) / len * len; // naturally aligned
		if (at + len > base + span)
			break;
		p.atomic.push_back({at, len});
		at += len;
	}
	if (p.atomic.size() >= 2 && r.chance(15)) { // same range: allowed to interleave
		p.atomic[1] = p.atomic[0];
		p.overlapping = true;
	}
	if (r.chance(40) && at + 2 * uint64_t(bs) <= s.file_size)
		p.buffered = {at, uint64_t(bs) * (1 + r.below(2))};
	if (r.chance(30))
		p.clone = {base + span + uint64_t(bs) * r.below(8),
		           uint64_t(bs) * (1 + r.below(4))};
	p.fsync_thread = r.chance(40);
	p.crash = r.chance(30);
	p.flag = r.chance(50) ? GOING_NOLOGFLUSH : GOING_LOGFLUSH;
	p.delay_us = uint32_t(r.below(1500));
	s.writes = p.atomic; // (not issued by build)
	// the actors beside the drop points, drawn last so that the draws
	// above stay what they were
	const uint64_t page = std::max<uint64_t>(bs, 4096);
	auto clear_of_writers = [&](uint64_t off, uint64_t len) {
		for (const WriteReq &w : p.atomic)
			if (off < w.offset + w.length && w.offset < off + len)
				return false;
		return !(p.buffered.length && off < p.buffered.offset + p.buffered.length &&
		         p.buffered.offset < off + len);
	};
	if (!p.crash && r.chance(50))
		for (unsigned tries = 0; tries < 8 && !p.fault.length; ++tries) {
			const uint64_t off = base + r.below(span / page) * page;
			if (clear_of_writers(off, page))
				p.fault = {off, page};
		}
	const bool shared = kind == 1 || (s.ops.size() > 1 && s.ops[1].kind == ks::OpKind::reflink);
	if (shared && r.chance(50))
		p.donor_write = {base + r.below(32) * bs, uint64_t(bs) * (1 + r.below(2))};
	return p;
}

// How the model explains what one racing writer did (its result and its
// software-path ->iomap_begin calls): as if it ran alone after the others
// finished or before they began; only with another writer in flight (some
// of its transactions committed); only with the allocator giving fewer
// blocks than asked (the model's default allocator sees only this file, the
// kernel's a filesystem other writers are filling at the same time); only
// with another actor at one of the write's ILOCK drop points (x_interleave);
// or not at all.
enum class Explained { sequential, in_flight, short_allocation, interleaved, none, not_compared };
const char *explained_name(Explained e)
{
	return e == Explained::sequential         ? "as if alone"
	       : e == Explained::in_flight        ? "with another writer in flight"
	       : e == Explained::short_allocation ? "with a short allocation"
	       : e == Explained::interleaved      ? "with another actor at an ILOCK drop point"
	       : e == Explained::none        ? "by nothing the model can do"
	                                     : "not compared";
}

struct RaceReport {
	std::string name;
	bool crashed = false, overlapping = false, interleaved = false;
	std::vector<Issued> writes;
	std::vector<std::vector<std::pair<uint64_t, uint64_t>>> calls; // per writer, as traced
	std::vector<Explained> explained;                              // per writer
	std::vector<std::string> interleavings; // per writer: the x_interleave that explained it
	std::vector<size_t> allowed; // per writer compared: how many outcomes the model allows
	std::vector<std::vector<std::string>> allowed_outcomes; // and which, each explained
	std::vector<Finding> findings;
};

// ------------------------------------------------- the model beside a race

using kc::Outcome;
using kc::outcome_of;

// A layout the writer may start from: the other actors each not begun,
// part way (some of their transactions committed) or done.
struct StartState {
	FileState st;
	bool in_flight = false; // some other writer only part way
};

FileState after_txn(const FileState &from, const Transaction &x)
{
	FileState s = from;
	s.data_fork = x.data_fork;
	s.cow_fork = x.cow_fork;
	s.refcount = x.refcount;
	return s;
}

// A writer beside the atomic ones as the model's other actors: the states
// it may have brought the layout to before an atomic write began, and what
// it may do at the write's ILOCK drop points.
struct Actor {
	std::vector<std::vector<InterleaveAction>> before; // each a sequence of actions
	std::vector<InterleaveAction> at_drop_points;
};

// A page-cache writer (write() or a write fault) over [off, +len) bytes: a
// CoW reservation over its range, or over its CoW extent-size granule (the
// kernel's rounding, which the action leaves to its caller), then writeback
// converting it.  write() holds the IOLOCK exclusively, so it never runs at
// a drop point; a fault and writeback do.
Actor page_cache_writer(const WriteReq &w, uint32_t bs, uint32_t cowext, bool faults)
{
	Actor a;
	if (!w.length)
		return a;
	const uint64_t off = w.offset / bs, cnt = (w.length + bs - 1) / bs;
	std::vector<InterleaveAction> reserve{
	    {0, InterleaveKind::buffered_cow_reservation, off, cnt}};
	if (cowext > 1) {
		const uint64_t lo = off / cowext * cowext,
		               hi = (off + cnt + cowext - 1) / cowext * cowext;
		reserve.push_back({0, InterleaveKind::buffered_cow_reservation, lo, hi - lo});
	}
	const InterleaveAction convert{0, InterleaveKind::writeback_convert, off, 1};
	for (const InterleaveAction &r : reserve) {
		a.before.push_back({r});
		a.before.push_back({r, convert});
		if (faults)
			a.at_drop_points.push_back(r);
	}
	a.at_drop_points.push_back(convert);
	return a;
}

// A direct write to the donor's copy of blocks the target shares: its
// completion drops their refcount.
Actor donor_writer(const WriteReq &w, uint32_t bs)
{
	Actor a;
	if (!w.length)
		return a;
	const InterleaveAction drop{0, InterleaveKind::refcount_drop, w.offset / bs, w.length / bs};
	a.before.push_back({drop});
	a.at_drop_points.push_back(drop);
	return a;
}

std::string layout_key(const FileState &s)
{
	std::string k;
	for (const auto &e : s.data_fork)
		k += format_extent(e) + " ";
	k += "| ";
	for (const auto &e : s.cow_fork)
		k += format_extent(e) + " ";
	k += "| ";
	for (const auto &e : s.refcount)
		k += std::to_string(e.rc_startblock) + "+" + std::to_string(e.rc_blockcount) + "x" +
		     std::to_string(e.rc_refcount) + " ";
	return k;
}

// Keeps the first of each layout, preferring one with no writer in flight.
void dedupe(std::vector<StartState> &v)
{
	std::map<std::string, size_t> seen;
	std::vector<StartState> out;
	for (StartState &s : v) {
		const auto [it, fresh] = seen.try_emplace(layout_key(s.st), out.size());
		if (fresh)
			out.push_back(std::move(s));
		else if (!s.in_flight)
			out[it->second].in_flight = false;
	}
	v = std::move(out);
}

std::vector<StartState> start_states(const FileState &initial, const std::vector<WriteReq> &others,
                                     const std::vector<Actor> &actors, Variant v)
{
	std::vector<StartState> out{{initial, false}};
	for (const Actor &a : actors) {
		std::vector<StartState> next = out;
		for (const StartState &c : out)
			for (const auto &seq : a.before) {
				FileState st = c.st;
				for (const InterleaveAction &x : seq)
					st = run_other_actor(st, x);
				next.push_back({st, c.in_flight});
			}
		out = std::move(next);
		dedupe(out);
	}
	for (const WriteReq &o : others) {
		std::vector<StartState> next;
		for (const StartState &c : out) {
			next.push_back(c); // o not begun
			const Trace t = run_atomic_write(c.st, o, v);
			for (size_t j = 0; j + 1 < t.txns.size(); ++j)
				next.push_back({after_txn(c.st, t.txns[j]), true});
			next.push_back({t.final_state, c.in_flight});
		}
		out = std::move(next);
		dedupe(out);
	}
	return out;
}

// The first extent the write's transactions added to the CoW fork (its
// allocation), if any.
std::optional<xfs_bmbt_irec> first_cow_allocation(const FileState &from, const Trace &t)
{
	for (const Transaction &x : t.txns)
		for (const xfs_bmbt_irec &e : x.cow_fork)
			if (e.br_startblock != DELAYSTARTBLOCK &&
			    std::find(from.cow_fork.begin(), from.cow_fork.end(), e) == from.cow_fork.end())
				return e;
	return std::nullopt;
}

// Every outcome the model allows the writer, each with its simplest
// explanation: from every start state, alone and with each action of the
// other actors at each drop point it reaches.
struct Explanation {
	Explained how = Explained::none;
	std::string interleaving; // x_interleave, for Explained::interleaved
};
std::map<std::string, Explanation> model_outcomes(const std::vector<StartState> &starts,
                                                  const WriteReq &w,
                                                  const std::vector<InterleaveAction> &menu,
                                                  Variant v)
{
	std::map<std::string, Explanation> out;
	auto note = [&](const Trace &t, Explanation e) {
		const Outcome o = outcome_of(t);
		const std::string key = kc::result_name(o.ret) + " " + kc::calls_str(o.calls);
		auto [it, fresh] = out.try_emplace(key, e);
		if (!fresh && e.how < it->second.how)
			it->second = e;
	};
	for (const StartState &s : starts) {
		FileState st = s.st;
		// the drop points the write reaches (an action that never runs makes
		// the write record them)
		st.interleave = {{~0u, InterleaveKind::refcount_drop, 0, 1}};
		const Trace alone = run_atomic_write(st, w, v);
		note(alone, {s.in_flight ? Explained::in_flight : Explained::sequential, ""});
		// the same, with the write's first CoW allocation cut short: the
		// allocator's answer at the same place, 1 to n-1 of its n blocks
		if (const auto got = first_cow_allocation(s.st, alone))
			for (xfs_filblks_t n = 1; n < got->br_blockcount; ++n) {
				FileState cut = s.st;
				cut.interleave.clear();
				cut.alloc = {AllocAnswer{got->br_startblock, n}};
				if (validate_state(cut, w).empty())
					note(run_atomic_write(cut, w, v),
					     {Explained::short_allocation,
					      std::to_string(n) + " of " +
					          std::to_string(got->br_blockcount) + " blocks"});
			}
		for (unsigned at = 0; at < alone.drop_points.size(); ++at)
			for (InterleaveAction a : menu) {
				a.at = at;
				st.interleave = {a};
				if (!validate_state(st, w).empty())
					continue;
				note(run_atomic_write(st, w, v),
				     {Explained::interleaved,
				      std::string(interleave_kind_name(a.action)) + " [" +
				          std::to_string(a.offset) + ", +" +
				          std::to_string(a.count) + ") at drop point " +
				          std::to_string(at)});
			}
	}
	return out;
}

// Each atomic writer of a race without a crash, beside the model: what the
// kernel did must be something the model's interleavings allow.
void compare_race_with_model(RaceReport &r, const RacePlan &p, const FileState &initial, Variant v)
{
	const uint32_t bs = initial.geo.block_size;
	const std::vector<Actor> actors = {
	    page_cache_writer(p.buffered, bs, p.script.cowextsize, false),
	    page_cache_writer(p.fault, bs, p.script.cowextsize, true),
	    donor_writer(p.donor_write, bs)};
	for (size_t k = 0; k < r.writes.size(); ++k) {
		if (p.crash || (p.overlapping && k < 2)) {
			r.explained.push_back(Explained::not_compared);
			r.interleavings.emplace_back();
			r.allowed.push_back(0);
			r.allowed_outcomes.emplace_back();
			continue;
		}
		std::vector<WriteReq> others;
		std::vector<InterleaveAction> menu;
		for (const Actor &a : actors)
			menu.insert(menu.end(), a.at_drop_points.begin(), a.at_drop_points.end());
		for (size_t j = 0; j < r.writes.size(); ++j)
			if (j != k) {
				others.push_back(r.writes[j].w);
				menu.push_back({0, InterleaveKind::end_cow_other,
				                r.writes[j].w.offset / bs,
				                r.writes[j].w.length / bs});
			}
		const std::map<std::string, Explanation> allowed = model_outcomes(
		    start_states(initial, others, actors, v), r.writes[k].w, menu, v);
		const Outcome kernel{r.writes[k].ret, r.calls[k]};
		const auto it =
		    allowed.find(kc::result_name(kernel.ret) + " " + kc::calls_str(kernel.calls));
		const Explained e = it == allowed.end() ? Explained::none : it->second.how;
		r.explained.push_back(e);
		r.interleavings.push_back(it == allowed.end() ? "" : it->second.interleaving);
		// (outcomes a short allocation alone explains are not the race's doing)
		r.allowed.push_back(
		    size_t(std::count_if(allowed.begin(), allowed.end(), [](const auto &o) {
			    return o.second.how != Explained::short_allocation;
		    })));
		std::vector<std::string> listed;
		for (const auto &[key, ex] : allowed)
			listed.push_back(
			    key + ": " + explained_name(ex.how) +
			    (ex.interleaving.empty() ? "" : " (" + ex.interleaving + ")"));
		r.allowed_outcomes.push_back(listed);
		if (e == Explained::none) {
			const Outcome alone =
			    outcome_of(run_atomic_write(initial, r.writes[k].w, v));
			r.findings.push_back(
			    {"model", "atomic write [" + std::to_string(r.writes[k].w.offset) +
			                  ", +" + std::to_string(r.writes[k].w.length) +
			                  "): kernel " + kc::result_name(kernel.ret) +
			                  " with sw calls " + kc::calls_str(kernel.calls) +
			                  "; no interleaving the model has gives that (alone: " +
			                  kc::result_name(alone.ret) + ", calls " +
			                  kc::calls_str(alone.calls) + ")"});
		}
	}
}

RaceReport run_race_trial(kernel::ScratchFs &sfs, const RacePlan &p, Variant variant,
                          const std::string &tag)
{
	RaceReport r;
	r.name = p.script.name;
	r.crashed = p.crash;
	r.overlapping = p.overlapping;
	ks::Script layout = p.script;
	layout.writes.clear();
	const uint32_t bs = layout.geometry.block_size;
	ks::Built b = ks::build(sfs, layout, tag);
	const FileState initial = ks::read_back(sfs, b);
	const std::vector<uint8_t> before = b.target->read_all(layout.file_size);
	const uint64_t ino = b.target->ino();
	sfs.take_events(); // the layout's own
	for (size_t k = 0; k < p.atomic.size(); ++k)
		r.writes.push_back(
		    {p.atomic[k], false,
		     ks::pattern(uint32_t(3000 + k), p.atomic[k].offset, p.atomic[k].length)});
	const std::vector<uint8_t> buffered_data =
	    ks::pattern(3900, p.buffered.offset, p.buffered.length);
	// the donor's range for the clone: written fresh, so it reads distinctly
	const uint64_t clone_src = layout.file_size - 64 * uint64_t(bs);
	if (p.clone.length)
		b.donor->pwrite(clone_src, ks::pattern(3950, clone_src, p.clone.length));
	const std::vector<uint8_t> fault_data = ks::pattern(3920, p.fault.offset, p.fault.length);
	std::vector<std::thread> threads;
	const size_t nthreads = r.writes.size() + (p.buffered.length > 0) + (p.clone.length > 0) +
	                        p.fsync_thread + p.crash + (p.fault.length > 0) +
	                        (p.donor_write.length > 0);
	std::latch go{std::ptrdiff_t(nthreads)};
	std::atomic<bool> shutdown_failed{false};
	for (Issued &w : r.writes)
		threads.emplace_back([&, &w = w] {
			go.arrive_and_wait();
			w.t0 = now_ns();
			w.ret = b.target->atomic_write(w.w.offset, w.data, false);
			w.t1 = now_ns();
		});
	std::atomic<bool> buffered_ok{false}, clone_ok{false};
	if (p.buffered.length)
		threads.emplace_back([&] {
			go.arrive_and_wait();
			buffered_ok = b.target->buffered_write(p.buffered.offset, buffered_data);
		});
	if (p.clone.length)
		threads.emplace_back([&] {
			go.arrive_and_wait();
			clone_ok = b.target->try_clone_from(*b.donor, clone_src, p.clone.offset,
			                                    p.clone.length);
		});
	std::atomic<bool> fault_ok{false};
	if (p.fault.length)
		threads.emplace_back([&] {
			go.arrive_and_wait();
			fault_ok = b.target->mmap_write(p.fault.offset, fault_data);
		});
	if (p.donor_write.length)
		threads.emplace_back([&] {
			go.arrive_and_wait();
			b.donor->plain_write(
			    p.donor_write.offset,
			    ks::pattern(3970, p.donor_write.offset, p.donor_write.length), false);
		});
	if (p.fsync_thread)
		threads.emplace_back([&] {
			go.arrive_and_wait();
			b.target->try_fsync();
		});
	if (p.crash)
		threads.emplace_back([&] {
			go.arrive_and_wait();
			std::this_thread::sleep_for(std::chrono::microseconds(p.delay_us));
			shutdown_failed = !sfs.shutdown(p.flag);
		});
	for (auto &t : threads)
		t.join();
	if (shutdown_failed)
		throw std::runtime_error("XFS_IOC_GOINGDOWN failed");
	// each writer's sw ->iomap_begin calls: those inside its range (the
	// ranges of writers compared with the model do not overlap)
	r.calls.resize(r.writes.size());
	for (const auto &e : sfs.take_events())
		if (e.ino == ino && e.name == "xfs_iomap_atomic_write_cow")
			for (size_t k = 0; k < r.writes.size(); ++k)
				if (e.a >= r.writes[k].w.offset &&
				    e.a < r.writes[k].w.offset + r.writes[k].w.length)
					r.calls[k].push_back({e.a, e.b});
	compare_race_with_model(r, p, initial, variant);
	b.target->close();
	b.donor->close();
	sfs.remount(); // unmount and mount: log recovery after a shutdown
	b.target->reopen();
	b.donor->reopen();
	const std::vector<uint8_t> after = b.target->read_all(layout.file_size);
	// each atomic range: all old or all new (any one writer's data, when
	// two wrote the same range); after a write returned with no crash, new.
	// After a crash, a block may read the donor's write instead: the known
	// kernel bug of docs/design/unshared-overwrite-after-shutdown.md (the
	// donor overwrote in place a block our write had unshared in memory;
	// recovery lost the unsharing), counted apart.
	const std::vector<uint8_t> donor_data =
	    ks::pattern(3970, p.donor_write.offset, p.donor_write.length);
	auto reads_donor = [&](uint64_t off) {
		return p.crash && off >= p.donor_write.offset &&
		       off < p.donor_write.offset + p.donor_write.length &&
		       memcmp(after.data() + off, donor_data.data() + (off - p.donor_write.offset),
		              bs) == 0;
	};
	for (size_t k = 0; k < r.writes.size(); ++k) {
		const Issued &w = r.writes[k];
		if (p.overlapping && k == 1)
			continue;             // judged with writer 0 below
		std::map<int, unsigned> seen; // 0 old, 1+j writer j's data, -1 neither
		std::string sources;          // block by block: "old", "new" (writer j), "neither"
		for (uint64_t off = w.w.offset; off < w.w.offset + w.w.length; off += bs) {
			int who = -1;
			if (memcmp(after.data() + off, before.data() + off, bs) == 0)
				who = 0;
			for (size_t j = 0; j < r.writes.size(); ++j)
				if (r.writes[j].w.offset == w.w.offset &&
				    block_reads(before, after, r.writes[j], off, bs) ==
				        Reads::new_data)
					who = int(j + 1);
			if (who == -1 && reads_donor(off))
				who = -2;
			++seen[who];
			sources += std::string(sources.empty() ? "" : " ") +
			           (who == 0    ? "old"
			            : who == -1 ? "neither"
			            : who == -2 ? "donor"
			                        : "new(writer " + std::to_string(who - 1) + ")");
		}
		const std::string what = "atomic write [" + std::to_string(w.w.offset) + ", +" +
		                         std::to_string(w.w.length) + ") returned " +
		                         kc::result_name(w.ret);
		if (seen.erase(-2))
			r.findings.push_back(
			    {"other_file_data_after_shutdown",
			     what +
			         ": after recovery it reads the donor's write, which overwrote "
			         "in place a block this write had unshared: " +
			         sources,
			     true});
		if (seen.size() > 1) {
			if (p.overlapping && !seen.count(-1) && !seen.count(0))
				r.interleaved =
				    true; // two writers' data in one range: allowed (upstream)
			else
				r.findings.push_back(
				    {"torn", what + ": its blocks read from " +
				                 std::to_string(seen.size()) +
				                 " different sources: " + sources});
		} else if (seen.count(-1)) {
			r.findings.push_back({"torn", what + ": reads neither old nor new"});
		} else if (!p.crash && w.ret >= 0 && seen.count(0) && !p.overlapping) {
			r.findings.push_back({"lost", what + " with no crash, and reads old"});
		}
	}
	// nothing else changed, except the buffered write and the clone, which
	// read their own data (or old, after a crash)
	kc::RunList outside;
	for (uint64_t off = 0; off < before.size(); off += bs) {
		bool mine = false;
		for (const Issued &w : r.writes)
			mine |= off >= w.w.offset && off < w.w.offset + w.w.length;
		if (mine)
			continue;
		const bool same = memcmp(before.data() + off, after.data() + off, bs) == 0;
		if (p.buffered.length && off >= p.buffered.offset &&
		    off < p.buffered.offset + p.buffered.length) {
			const bool theirs =
			    memcmp(after.data() + off,
			           buffered_data.data() + (off - p.buffered.offset), bs) == 0;
			if (!theirs && !(same && (p.crash || !buffered_ok)))
				outside.add(off / bs, "the buffered write's block reads neither "
				                      "its data nor (after a crash) old");
			continue;
		}
		if (p.fault.length && off >= p.fault.offset &&
		    off < p.fault.offset + p.fault.length) {
			if (memcmp(after.data() + off, fault_data.data() + (off - p.fault.offset),
			           bs) != 0 &&
			    !(same && !fault_ok))
				outside.add(off / bs,
				            "the mapped write's block reads neither its data "
				            "nor (when it failed) old");
			continue;
		}
		if (p.clone.length && off >= p.clone.offset &&
		    off < p.clone.offset + p.clone.length) {
			const std::vector<uint8_t> src =
			    ks::pattern(3950, clone_src + (off - p.clone.offset), bs);
			const bool theirs = memcmp(after.data() + off, src.data(), bs) == 0;
			if (!theirs && !(same && (p.crash || !clone_ok)))
				outside.add(off / bs, "the cloned block reads neither the donor's "
				                      "data nor (after a crash) old");
			continue;
		}
		if (!same)
			outside.add(off / bs, "changed, outside every write");
	}
	if (!outside.empty())
		r.findings.push_back({"outside", outside.str()});
	unlink(b.target->path().c_str());
	unlink(b.donor->path().c_str());
	return r;
}

void save_finding(const std::string &dir, const std::string &name, const json &j)
{
	fs::create_directories(dir);
	write_file_atomically(dir + "/" + name + ".json", j.dump(2) + "\n");
}

json issued_json(const std::vector<Issued> &ws)
{
	json a = json::array();
	for (const Issued &w : ws)
		a.push_back({{"offset", w.w.offset},
		             {"length", w.w.length},
		             {"dsync", w.dsync},
		             {"result", kc::result_name(w.ret)}});
	return a;
}

json findings_json(const std::vector<Finding> &fs_)
{
	json a = json::array();
	for (const Finding &f : fs_)
		a.push_back(
		    {{"kind", f.kind}, {"detail", f.detail}, {"known_kernel_bug", f.known}});
	return a;
}

// The shared frame of crash and race runs: capability checks, graceful
// Ctrl-C, one scratch filesystem, progress, the summary and exit status.
template <class Trial> int run_trials(const char *what, const KernelTrialOptions &o, Trial &&trial)
{
	return ks::guarded([&]() -> int {
		const kernel::MkfsGeometry geo = ks::parse_geometry(o.geometry);
		kernel::check_capabilities();
		ks::report_leftovers();
		kernel::set_graceful_stop(true);
		kernel::ScratchFs sfs(geo);
		const bool tty = isatty(2);
		const auto t0 = std::chrono::steady_clock::now();
		json report = {{"kernel", kernel::kernel_release()},
		               {"geometry", geo.describe()},
		               {"seed", o.seed}};
		std::map<std::string, uint64_t> findings_by_kind, known_by_kind, tallies;
		uint64_t trials = 0, with_findings = 0, with_known = 0;
		json saved = json::array();
		for (uint64_t i = o.start; i < o.start + o.count && !kernel::stop_requested();
		     ++i) {
			json detail;
			std::vector<Finding> f = trial(sfs, geo, i, tallies, detail);
			++trials;
			if (!f.empty()) {
				const bool all_known = std::all_of(
				    f.begin(), f.end(), [](const Finding &x) { return x.known; });
				++(all_known ? with_known : with_findings);
				for (const Finding &x : f)
					++(x.known ? known_by_kind : findings_by_kind)[x.kind];
				if (!o.out.empty()) {
					detail["findings"] = findings_json(f);
					const std::string name =
					    detail.value("name", std::string(what));
					save_finding(o.out, name, detail);
					saved.push_back(o.out + "/" + name + ".json");
				}
			}
			if (tty && (i % 20 == 0 || i + 1 == o.count)) {
				const double el = std::chrono::duration<double>(
				                      std::chrono::steady_clock::now() - t0)
				                      .count();
				std::cerr << "\r" << trials << "/" << o.count << " " << what
				          << " trials, " << with_findings << " with findings, "
				          << uint64_t(trials / std::max(el, 1e-9)) << " trials/s   "
				          << std::flush;
			}
		}
		if (tty)
			std::cerr << "\n";
		const double secs =
		    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
		report["trials"] = trials;
		report["trials_with_findings"] = with_findings;
		report["findings_by_kind"] = findings_by_kind;
		report["trials_with_known_kernel_findings_only"] = with_known;
		report["known_kernel_findings_by_kind"] = known_by_kind;
		report["tallies"] = tallies;
		report["saved"] = saved;
		report["seconds"] = secs;
		report["trials_per_second"] = trials / std::max(secs, 1e-9);
		report["interrupted"] = kernel::stop_requested();
		if (!o.out.empty()) {
			fs::create_directories(o.out);
			write_file_atomically(o.out + "/report.json", report.dump(2) + "\n");
		}
		if (o.json) {
			std::cout << report.dump() << "\n";
		} else {
			std::cout << "kernel " << kernel::kernel_release() << ", " << geo.describe()
			          << ", seed " << o.seed << ": " << trials << " " << what
			          << " trials, " << with_findings << " with findings, "
			          << with_known << " with known kernel findings only\n";
			for (const auto &[k, n] : findings_by_kind)
				std::cout << "  finding " << k << ": " << n << "\n";
			for (const auto &[k, n] : known_by_kind)
				std::cout << "  known kernel finding " << k << ": " << n << " ("
				          << known_finding_page(k) << ")\n";
			for (const auto &[k, n] : tallies)
				std::cout << "  " << k << ": " << n << "\n";
			std::cout.precision(1);
			std::cout << std::fixed << secs << " s, " << trials / std::max(secs, 1e-9)
			          << " trials/s\n";
		}
		if (kernel::stop_requested())
			return EXIT_INTERRUPTED;
		return with_findings ? EXIT_FOUND : EXIT_CLEAN;
	});
}

} // namespace

int cmd_kernel_crash(const KernelTrialOptions &o)
{
	const Variant variant = variant_from_name(o.variant).value_or(Variant::v6_18);
	std::map<std::string, std::string> layouts_seen;
	return run_trials("crash", o,
	                  [&](kernel::ScratchFs &sfs, const kernel::MkfsGeometry &geo, uint64_t i,
	                      std::map<std::string, uint64_t> &tally, json &detail) {
		                  const CrashPlan p = plan_crash(o.seed, i, geo);
		                  const CrashReport r =
		                      run_crash_trial(sfs, p, variant, "c", o.plain);
		                  ++tally[std::string("moment ") + moment_name(r.moment) + ", " +
		                          going_name(r.flag)];
		                  for (const Issued &w : r.writes)
			                  ++tally[std::string("writes ") +
			                          (w.ret >= 0 ? "acknowledged" : "failed") +
			                          (w.dsync ? " (dsync)" : "")];
		                  tally["writes reading new after recovery"] += r.read_new;
		                  tally["writes reading old after recovery"] += r.read_old;
		                  const std::string state =
		                      r.matched.empty() ? "outside the model"
		                                        : r.matched.substr(0, r.matched.find(" ("));
		                  ++tally["recovered layout: " + state];
		                  detail = {{"name", r.name},
		                            {"script", json::parse(ks::script_to_json(p.script))},
		                            {"moment", moment_name(r.moment)},
		                            {"flag", going_name(r.flag)},
		                            {"delay_us", p.delay_us},
		                            {"writes", issued_json(r.writes)},
		                            {"model_state", r.matched}};
		                  return r.findings;
	                  });
}

int cmd_kernel_race(const KernelTrialOptions &o)
{
	const Variant variant = variant_from_name(o.variant).value_or(Variant::v6_18);
	return run_trials(
	    "race", o,
	    [&](kernel::ScratchFs &sfs, const kernel::MkfsGeometry &geo, uint64_t i,
	        std::map<std::string, uint64_t> &tally, json &detail) {
		    const RacePlan p = plan_race(o.seed, i, geo);
		    const RaceReport r = run_race_trial(sfs, p, variant, "r");
		    ++tally[std::string(p.crash ? "with a crash" : "without a crash")];
		    tally["atomic writers"] += r.writes.size();
		    for (const Issued &w : r.writes)
			    tally[w.ret >= 0 ? "atomic writes acknowledged"
			                     : "atomic writes failed"]++;
		    if (p.overlapping)
			    ++tally["overlapping pairs"];
		    if (r.interleaved)
			    ++tally["overlapping pairs that interleaved (allowed)"];
		    json model = json::array();
		    for (size_t k = 0; k < r.explained.size(); ++k) {
			    if (r.explained[k] != Explained::not_compared)
				    ++tally[std::string("writers the model explains ") +
				            explained_name(r.explained[k])];
			    if (r.allowed[k] > 1)
				    ++tally["writers whose outcome the model says the race could "
				            "change"];
			    if (r.explained[k] == Explained::interleaved)
				    ++tally["writers only an interleaving explains: " +
				            r.interleavings[k].substr(
				                0, r.interleavings[k].find(' '))];
			    model.push_back({{"explained", explained_name(r.explained[k])},
			                     {"outcomes_the_model_allows", r.allowed_outcomes[k]},
			                     {"interleaving", r.interleavings[k]},
			                     {"kernel_calls", r.calls[k]}});
		    }
		    detail = {{"name", r.name},
		              {"script", json::parse(ks::script_to_json(p.script))},
		              {"crash", p.crash},
		              {"flag", going_name(p.flag)},
		              {"delay_us", p.delay_us},
		              {"buffered", {p.buffered.offset, p.buffered.length}},
		              {"clone", {p.clone.offset, p.clone.length}},
		              {"fsync_thread", p.fsync_thread},
		              {"fault", {p.fault.offset, p.fault.length}},
		              {"donor_write", {p.donor_write.offset, p.donor_write.length}},
		              {"writes", issued_json(r.writes)},
		              {"model", model}};
		    return r.findings;
	    });
}

} // namespace untorn
