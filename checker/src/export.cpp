// `untorn export CASE.json --xfs-io`: an fstests-style bash script that
// builds the case's layout on a scratch XFS with xfs_io (pwrite, falloc,
// reflink from a donor file, cowextsize), issues the atomic write exactly as fstests does
// (`xfs_io -d -c "pwrite -A -D -V1 -b LEN OFF LEN"`: O_DIRECT, pwritev2 with
// one iovec and RWF_ATOMIC|RWF_DSYNC -- xfsprogs io/pwrite.c: -A sets
// RWF_ATOMIC, -D RWF_DSYNC, and the pwritev2 flags only reach the kernel
// through the vectored path, -V), and checks the result and the data read
// back.  The script says what of the case a real filesystem cannot be made to
// hold (the allocator's choices, the CoW fork, the device's limits) and how
// it approximates each.
#include "commands.h"
#include "text.h"
#include "untorn/checker.h"
#include "untorn/model.h"
#include "xfsio.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace untorn
{

namespace fs = std::filesystem;
using xfsio::kBB;
using xfsio::safe_name;

namespace
{

std::string result_name(int r)
{
	return r ? std::string(errno_name(r)) : std::string("ok");
}

// Text that goes into a shell comment: one line, printable ASCII only.
std::string comment_safe(std::string_view s)
{
	std::string o;
	for (unsigned char ch : s)
		o.push_back(ch == '\t' ? ' ' : (ch < 0x20 || ch >= 0x7f) ? '?' : char(ch));
	return o;
}

// Wraps text into comment lines of at most `width` columns, each "# "-prefixed.
std::string comment_block(std::string_view text, size_t width = 78, std::string_view indent = "")
{
	return word_wrap(comment_safe(text), width, "# " + std::string(indent));
}

// One shell word, single-quoted, of printable ASCII.
std::string shell_quote(std::string_view s)
{
	std::string o = "'";
	for (char ch : comment_safe(s))
		o += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
	return o + "'";
}

// XFS_AG_MIN_BYTES is 16 MiB, but the internal log lives in one AG and
// mkfs.xfs (xfsprogs >= 5.15) makes it at least 64 MiB on a filesystem of
// 300 MiB or more ("Log size must be at least 64MB"): 65 MiB is the least
// that works; 72 MiB leaves room for other versions' AG headers.
constexpr uint64_t kMinAgBytes = 72ULL << 20;
constexpr uint64_t kMaxAgBytes = 1ULL << 40; // XFS_AG_MAX_BYTES
constexpr uint64_t kMinFsBytes = 300ULL
                                 << 20;  // mkfs.xfs refuses smaller filesystems (xfsprogs >= 5.19)
constexpr uint64_t kMaxBuf = 1ULL << 20; // xfs_io pwrite buffer for layout writes

// What a run of file blocks holds before the write.
enum class Kind { norm, unwritten, shared };
const char *kind_name(Kind k)
{
	return k == Kind::norm ? "norm" : k == Kind::unwritten ? "unwritten" : "shared";
}

struct Piece {
	xfs_fileoff_t off = 0; // file block
	xfs_filblks_t len = 0;
	xfs_fsblock_t fsbno = 0;
	Kind kind = Kind::norm;
	uint32_t refcount = 1;
};

// Splits the data fork into runs of one kind: a norm extent splits where
// refcount records start and end.
std::vector<Piece> pieces_of(const FileState &st)
{
	std::vector<xfs_refcount_irec> rc = st.refcount;
	std::sort(rc.begin(), rc.end(),
	          [](const auto &a, const auto &b) { return a.rc_startblock < b.rc_startblock; });
	std::vector<Piece> out;
	for (const auto &e : st.data_fork) {
		if (e.br_state == XFS_EXT_UNWRITTEN) {
			out.push_back(
			    {e.br_startoff, e.br_blockcount, e.br_startblock, Kind::unwritten, 1});
			continue;
		}
		xfs_fsblock_t p = e.br_startblock, end = e.br_startblock + e.br_blockcount;
		while (p < end) {
			// the first refcount record that ends after p
			const xfs_refcount_irec *hit = nullptr;
			for (const auto &r : rc)
				if (r.rc_startblock + r.rc_blockcount > p &&
				    r.rc_startblock < end) {
					hit = &r;
					break;
				}
			xfs_fsblock_t stop = end;
			Piece pc;
			pc.off = e.br_startoff + (p - e.br_startblock);
			pc.fsbno = p;
			if (hit && hit->rc_startblock <= p) {
				stop = std::min<xfs_fsblock_t>(end, hit->rc_startblock +
				                                        hit->rc_blockcount);
				pc.kind = Kind::shared;
				pc.refcount = hit->rc_refcount;
			} else if (hit) {
				stop = hit->rc_startblock;
			}
			pc.len = stop - p;
			out.push_back(pc);
			p = stop;
		}
	}
	return out;
}

// The layout as `xfs_io -c "bmap -vp"` should show it, in 512-byte units,
// holes left out, neighbours of one kind merged: "START END KIND" lines.
std::string kind_map(const std::vector<Piece> &ps, uint64_t rbs)
{
	std::string o;
	uint64_t cs = 0, ce = 0;
	const char *ck = nullptr;
	for (const auto &p : ps) {
		uint64_t s = p.off * rbs / kBB, e = (p.off + p.len) * rbs / kBB - 1;
		const char *k = kind_name(p.kind);
		if (ck && std::strcmp(ck, k) == 0 && s == ce + 1) {
			ce = e;
			continue;
		}
		if (ck)
			o += std::to_string(cs) + " " + std::to_string(ce) + " " + ck + "\n";
		cs = s, ce = e, ck = k;
	}
	if (ck)
		o += std::to_string(cs) + " " + std::to_string(ce) + " " + ck + "\n";
	return o;
}

std::string extent_words(const Geometry &g, const xfs_bmbt_irec &e)
{
	std::string w =
	    "file blocks [" + std::to_string(e.br_startoff) + ", " + std::to_string(e.end()) + ")";
	if (e.br_startblock == DELAYSTARTBLOCK)
		return w + " delalloc (no blocks yet)";
	w += " -> fsbno " + std::to_string(e.br_startblock) + " (AG " +
	     std::to_string(xfs_fsb_to_agno(g, e.br_startblock)) + ", agbno " +
	     std::to_string(xfs_fsb_to_agbno(g, e.br_startblock)) + "; disk block " +
	     std::to_string(xfs_fsb_to_db(g, e.br_startblock)) + ")";
	return w + (e.br_state == XFS_EXT_UNWRITTEN ? " unwritten" : " written");
}

// The case's allocator answers: "START+LEN, START+LEN".
std::string alloc_words(const FileState &st)
{
	std::string a;
	for (const auto &x : st.alloc)
		a += (a.empty() ? "" : ", ") + std::to_string(x.startblock) + "+" +
		     std::to_string(x.blockcount);
	return a;
}

// "VERDICT" or "VERDICT [broken invariants]".
std::string verdict_words(const Judgement &x)
{
	return std::string(verdict_name(x.verdict)) +
	       (x.findings.empty() ? "" : " [" + join(x.broken_names()) + "]");
}

// ----------------------------------------------------------------------
// The scratch filesystem's AGs: the case's AG size, times the smallest odd
// factor that reaches mkfs's minimum (an odd factor keeps the largest power
// of two dividing agblocks, which is what bounds hardware atomic writes).
struct AgFit {
	uint64_t k = 1;       // the factor
	uint64_t agbytes = 0; // the AG size, bytes
	bool ok = false;      // agbytes is within mkfs.xfs's maximum (else mkfs chooses)
	uint64_t agcount = 0;
	uint64_t fsbytes = 0; // 0 when !ok
};

AgFit fit_ag_geometry(const Geometry &g, uint64_t rbs)
{
	AgFit a;
	while (uint64_t(g.ag_blocks) * a.k * rbs < kMinAgBytes)
		a.k += 2;
	a.agbytes = uint64_t(g.ag_blocks) * a.k * rbs;
	a.ok = a.agbytes <= kMaxAgBytes;
	a.agcount = std::max<uint64_t>(g.ag_count, 2);
	if (a.ok)
		while (a.agcount * a.agbytes < kMinFsBytes)
			a.agcount++;
	a.fsbytes = a.ok ? a.agcount * a.agbytes : 0;
	return a;
}

// ----------------------------------------------------------------------
// CoW fork approximations (done after the layout check): per
// cowextsize-aligned window holding CoW extents, one sacrificial block B
// outside the write.  Unwritten CoW extents: B is shared from the donor
// and overwritten with O_DIRECT, so XFS allocates the window in the CoW
// fork as unwritten preallocation.  Delalloc CoW extents: B is shared and
// written through the page cache and left dirty, so XFS reserves the
// window as delalloc in the CoW fork, and the atomic write's flush of its
// own range leaves that reservation alone.
struct CowStep {
	xfs_fileoff_t b;
	bool buffered;    // delalloc: a dirty buffered write; else an O_DIRECT overwrite
	bool make_shared; // reflink B from the donor first
	bool was_hole;    // B is a hole in the case: the file gains a written block there
	std::string why;
};

struct CowPlan {
	std::vector<CowStep> steps;
	std::vector<std::string> unreproduced; // what of the CoW fork cannot be made
};

// Chooses the sacrificial blocks: in a window, the first block outside the
// write, not chosen before, that passes a test.
struct CowBlockPicker {
	const Case &c;
	const std::vector<Piece> &pieces;
	uint64_t hint;        // the window size, blocks
	xfs_fileoff_t wo, we; // the write's blocks
	std::set<xfs_fileoff_t> used;

	std::optional<Kind> kind_at(xfs_fileoff_t b) const
	{
		for (const auto &p : pieces)
			if (b >= p.off && b < p.off + p.len)
				return p.kind;
		return std::nullopt;
	}
	bool in_cow(xfs_fileoff_t b) const
	{
		for (const auto &e : c.state.cow_fork)
			if (b >= e.br_startoff && b < e.end())
				return true;
		return false;
	}
	template <class Ok> std::optional<xfs_fileoff_t> find(xfs_fileoff_t w, Ok ok)
	{
		for (xfs_fileoff_t b = w; b < w + hint; b++)
			if ((b < wo || b >= we) && !used.count(b) && ok(b)) {
				used.insert(b);
				return b;
			}
		return std::nullopt;
	}
	std::string window_words(xfs_fileoff_t w) const
	{
		return "[" + std::to_string(w) + ", " + std::to_string(w + hint) + ")";
	}
};

// One block of an unwritten CoW window to share and overwrite with O_DIRECT:
// a written, unshared block of the case if there is one, else a hole.
void plan_unwritten_window(CowBlockPicker &pick, xfs_fileoff_t w, CowPlan &plan)
{
	const std::string win = pick.window_words(w);
	auto norm = [&](xfs_fileoff_t b) { return pick.kind_at(b) == Kind::norm; };
	auto hole = [&](xfs_fileoff_t b) { return !pick.kind_at(b); };
	std::optional<xfs_fileoff_t> b;
	std::string how;
	if ((b = pick.find(w, [&](xfs_fileoff_t x) { return norm(x) && !pick.in_cow(x); })))
		how = "";
	else if ((b = pick.find(w, norm)))
		how = " (inside the case's CoW extent: the CoW fork will lack that "
		      "block)";
	else if ((b = pick.find(w, [&](xfs_fileoff_t x) { return hole(x) && !pick.in_cow(x); })))
		how = " (a hole in the case: the file gains a written block there)";
	else if ((b = pick.find(w, hole)))
		how = " (a hole in the case, inside its CoW extent: the file gains "
		      "a written block there and "
		      "the CoW fork lacks it)";
	if (!b) {
		plan.unreproduced.push_back(
		    "unwritten CoW extent(s) in window " + win +
		    ": the approximation needs a written, unshared block or a hole "
		    "of "
		    "the window outside the write to CoW, and there is none");
		return;
	}
	plan.steps.push_back({*b, false, true, !pick.kind_at(*b),
	                      "unwritten CoW extent(s) in window " + win + ": share file block " +
	                          std::to_string(*b) + how +
	                          " and overwrite it with the same old data "
	                          "(O_DIRECT): XFS allocates the "
	                          "window in the CoW fork and leaves the rest of it "
	                          "there as unwritten "
	                          "preallocation"});
}

// One block of a delalloc CoW window to write, shared, through the page
// cache: a shared block of the case if there is one, else an unshared
// written block, else a hole.
void plan_delalloc_window(CowBlockPicker &pick, xfs_fileoff_t w, CowPlan &plan)
{
	const std::string win = pick.window_words(w);
	std::optional<xfs_fileoff_t> b;
	std::string how;
	bool share = true;
	if ((b = pick.find(w, [&](xfs_fileoff_t x) { return pick.kind_at(x) == Kind::shared; })))
		how = "", share = false;
	else if ((b = pick.find(w, [&](xfs_fileoff_t x) { return pick.kind_at(x) == Kind::norm; })))
		how = " (unshared in the case: shared here)";
	else if ((b = pick.find(w, [&](xfs_fileoff_t x) { return !pick.kind_at(x); })))
		how = " (a hole in the case: the file gains a written, shared "
		      "block there)";
	if (!b) {
		plan.unreproduced.push_back(
		    "delalloc CoW extent(s) in window " + win +
		    ": the approximation needs a block of the window outside the "
		    "write to CoW through the page cache, and there is none");
		return;
	}
	plan.steps.push_back(
	    {*b, true, share, !pick.kind_at(*b),
	     "delalloc CoW extent(s) in window " + win + ": write shared file block " +
	         std::to_string(*b) + how +
	         " through the page cache and leave it dirty: XFS reserves the "
	         "window as "
	         "delalloc in the CoW fork (xfs_bmapi_reserve_delalloc aligns CoW "
	         "reservations to the hint); the atomic write flushes only its own "
	         "range"});
}

CowPlan plan_cow_fork(const Case &c, const std::vector<Piece> &pieces)
{
	const Geometry &g = c.state.geo;
	const uint64_t bs = g.block_size;
	CowBlockPicker pick{c,
	                    pieces,
	                    g.cowextsize ? g.cowextsize : 32,
	                    c.write.offset / bs,
	                    (c.write.offset + c.write.length + bs - 1) / bs,
	                    {}};
	CowPlan plan;
	std::set<xfs_fileoff_t> unwritten_windows, delalloc_windows;
	for (const auto &e : c.state.cow_fork) {
		if (e.br_startblock != DELAYSTARTBLOCK && e.br_state == XFS_EXT_NORM) {
			plan.unreproduced.push_back("a written CoW extent (" + extent_words(g, e) +
			                            "): user space cannot make one (it "
			                            "exists only while a write is in "
			                            "flight)");
			continue;
		}
		auto &ws =
		    e.br_startblock == DELAYSTARTBLOCK ? delalloc_windows : unwritten_windows;
		for (xfs_fileoff_t w = e.br_startoff / pick.hint * pick.hint; w < e.end();
		     w += pick.hint)
			ws.insert(w);
	}
	for (xfs_fileoff_t w : unwritten_windows)
		plan_unwritten_window(pick, w, plan);
	for (xfs_fileoff_t w : delalloc_windows)
		plan_delalloc_window(pick, w, plan);
	return plan;
}

// ----------------------------------------------------------------------
// What the steps of the script share: the case, what the model says of it,
// the byte quantities as the script uses them, and the text so far.
struct ExportPlan {
	const Case &c;
	const Trace &t;
	const Judgement &j;
	const Geometry &g;
	const uint64_t bs;         // the case's block size
	const uint64_t scale;      // v5 (reflink) filesystems need bs >= 1024
	const uint64_t rbs;        // the scratch filesystem's block size: bs * scale
	const std::string seq;     // the test's name, as fstests has it: untorn-CASE
	const uint64_t woff, wlen; // the atomic write, in the scratch filesystem's bytes
	const int expected;        // the result checked: expect.result, else the model's
	const std::vector<Piece> pieces;
	const AgFit ag;
	// planned up front: what of it cannot be built is refused before anything
	// is made
	const CowPlan cow;
	// bytes the donor holds (old data): the file's shared ranges, then the
	// CoW approximation's blocks
	const std::vector<std::pair<uint64_t, uint64_t>> donor_ranges;
	std::ostringstream s;

	ExportPlan(const Case &c_, const Trace &t_, const Judgement &j_)
	    : c(c_), t(t_), j(j_), g(c.state.geo), bs(g.block_size),
	      scale(bs < 1024 ? 1024 / bs : 1), rbs(bs * scale), seq("untorn-" + safe_name(c.name)),
	      woff(c.write.offset * scale), wlen(c.write.length * scale),
	      expected(c.expect.result ? *c.expect.result : t.result), pieces(pieces_of(c.state)),
	      ag(fit_ag_geometry(g, rbs)), cow(plan_cow_fork(c, pieces)),
	      donor_ranges(donor_ranges_of())
	{
	}

	uint64_t B(uint64_t blocks) const { return blocks * rbs; }
	void line(const std::string &x = "") { s << x << "\n"; }
	void comment(std::string_view x, std::string_view indent = "")
	{
		s << comment_block(x, 78, indent);
	}
	uint64_t donor_size() const
	{
		uint64_t n = 0;
		for (const auto &[o, l] : donor_ranges)
			n = std::max(n, o + l);
		return n;
	}

private:
	std::vector<std::pair<uint64_t, uint64_t>> donor_ranges_of() const
	{
		std::vector<std::pair<uint64_t, uint64_t>> r;
		for (const auto &p : pieces)
			if (p.kind == Kind::shared)
				r.push_back({B(p.off), B(p.len)});
		for (const auto &st : cow.steps)
			if (st.make_shared)
				r.push_back({B(st.b), rbs});
		return r;
	}
};

// An O_DIRECT write of old data (0x5a) that makes blocks of the layout.
std::string layout_pwrite(uint64_t off, uint64_t len, const char *target)
{
	uint64_t buf = std::min(len, kMaxBuf);
	return "_run \"$XFS_IO_PROG\" -d -c \"pwrite -q -S 0x5a5a5a5a -b " + std::to_string(buf) +
	       " " + std::to_string(off) + " " + std::to_string(len) + "\" \"" + target + "\"";
}

// The shebang, the case and what the model predicts of it.
void write_header_case(ExportPlan &P)
{
	P.line("#!/bin/bash");
	P.line("# SPDX-License-Identifier: GPL-2.0");
	P.line("#");
	P.line("# " + comment_safe(P.seq) +
	       ": a reproducer written by `untorn export --xfs-io`, in the style of an");
	P.line("# fstests test (tests/generic/7xx).");
	P.line("#");
	P.comment("Case: " + P.c.name + (P.c.file.empty() ? std::string() : " (" + P.c.file + ")"));
	P.comment("Variant: " + std::string(variant_name(P.c.variant)) +
	          ". What untorn's model of that kernel predicts for this layout: result " +
	          result_name(P.t.result) + ", path " + std::string(path_name(P.t.path)) +
	          ", verdict " + std::string(verdict_name(P.j.verdict)) +
	          (P.j.findings.empty() ? std::string() : " [" + join(P.j.broken_names()) + "]") +
	          ".");
	if (P.c.expect.result && *P.c.expect.result != P.t.result)
		P.comment(
		    "The case's expect.result (" + result_name(*P.c.expect.result) +
		    ") differs from the model's prediction; this script checks expect.result.");
	for (const auto &f : P.j.findings)
		for (const auto &inv : invariant_catalogue())
			if (f.invariant == inv.name)
				P.comment(f.invariant + " forbids " + inv.forbids + " [" +
				              inv.origin + "]",
				          "  ");
	if (!P.c.note.empty()) {
		P.line("#");
		P.comment("Note: " + P.c.note);
	}
}

// What the script does and checks, and what it cannot see.
void write_header_what_it_does(ExportPlan &P)
{
	P.line("#");
	P.comment(
	    "What it does: makes an XFS on $SCRATCH_DEV (DESTROYING what is there) with the "
	    "case's block size "
	    "and reflink setting, builds the case's data fork in $SCRATCH_MNT/untorn.file "
	    "with xfs_io, then "
	    "issues the case's RWF_ATOMIC direct write: pwrite -A -D -V1 -b " +
	    std::to_string(P.wlen) + " " + std::to_string(P.woff) + " " + std::to_string(P.wlen) +
	    " (pwritev2 with one iovec, RWF_ATOMIC|RWF_DSYNC, O_DIRECT), or, where xfs_io has "
	    "no pwrite -A, the same pwritev2 through `$UNTORN_PROG kernel awrite FILE " +
	    std::to_string(P.woff) + " " + std::to_string(P.wlen) + " --dsync`.");
	P.comment("What it checks: (1) the write's result is the expected one: " +
	          std::string(P.expected
	                          ? "it fails with " + result_name(P.expected) +
	                                " (xfs_io prints \"pwrite: " + std::strerror(P.expected) +
	                                "\")"
	                          : "it succeeds (xfs_io prints \"wrote " + std::to_string(P.wlen) +
	                                "/" + std::to_string(P.wlen) + " bytes at offset " +
	                                std::to_string(P.woff) + "\")") +
	          "; (2) the data read back, through the page cache and again after a remount: the "
	          "write's range "
	          "reads all new (pattern 0xa5) if it succeeded and all old if it failed, every "
	          "other byte of the file "
	          "reads old (0x5a where the case has written blocks, zeros for unwritten blocks "
	          "and holes), and the "
	          "donor file that shares blocks with the file is unchanged. (3) with "
	          "UNTORN_SHUTDOWN=1 it also shuts "
	          "the filesystem down right after the write (xfs_io -x -c shutdown, log not "
	          "flushed), remounts "
	          "(log recovery) and checks (2) again.");
	P.comment("What a user-space test cannot see: which path (hardware REQ_ATOMIC bio or "
	          "software CoW) served "
	          "the write, and states a crash in the middle of the write would expose; the "
	          "model predicts path " +
	          std::string(path_name(P.t.path)) +
	          ". Tracing the xfs:xfs_reflink_* and iomap:* trace events (trace-cmd record -e "
	          "xfs -e iomap) shows "
	          "the path.");
}

// What each exit status means, and how to run the script.
void write_header_exit_status_and_usage(ExportPlan &P)
{
	P.line("#");
	P.line("# Exit status: 0 the outcome is as expected; 1 the data read back is wrong (a torn "
	       "or misplaced");
	P.line("# write, or a shared block overwritten); 3 the data is right but the write's "
	       "result differs");
	P.line("# from the expected one (another kernel version, or one of the approximations "
	       "below changed the");
	P.line("# path); 2 not run (a requirement is missing); 4 NOT REPRODUCED: the case cannot "
	       "be built here");
	P.line("# (a part of it user space cannot make, or the layout XFS made is not the case's; "
	       "the line");
	P.line("# \"" + comment_safe(P.seq) +
	       ": NOT REPRODUCED: <why>\" says which), so the write says nothing about it.");
	P.line("#");
	P.line("# Usage: SCRATCH_DEV=/dev/sdX SCRATCH_MNT=/mnt/scratch bash " +
	       comment_safe(P.seq) + ".sh");
	P.line(
	    "#   optional: XFS_IO_PROG, MKFS_XFS_PROG, UNTORN_PROG (the atomic write where xfs_io "
	    "has no");
	P.line(
	    "#   pwrite -A; default: untorn in PATH), UNTORN_SHUTDOWN=1, UNTORN_APPROXIMATE_COW=1 "
	    "(see below)");
	P.line("#");
}

// The case's layout, extent by extent, and how the script makes the
// allocator's part of it.
void describe_layout_and_allocator(ExportPlan &P)
{
	P.line("# ---- What a real filesystem cannot be made to hold, and how this script "
	       "approximates it ----");
	P.line("#");
	P.line("# The case's layout (fsbno = agno << agblklog | agbno; agblklog " +
	       std::to_string(P.g.agblklog()) + "):");
	for (const auto &e : P.c.state.data_fork)
		P.comment("data fork: " + extent_words(P.g, e), "  ");
	for (const auto &e : P.c.state.cow_fork)
		P.comment("CoW fork: " + extent_words(P.g, e), "  ");
	for (const auto &r : P.c.state.refcount)
		P.comment("shared: fsbno [" + std::to_string(r.rc_startblock) + ", " +
		              std::to_string(r.rc_startblock + r.rc_blockcount) + ") refcount " +
		              std::to_string(r.rc_refcount),
		          "  ");
	if (P.c.state.data_fork.empty() && P.c.state.cow_fork.empty())
		P.line("#   (no extents: the file is one hole)");
	P.line("#");
	P.comment("- Physical start blocks: XFS's allocator picks them; a script can only ask for "
	          "written, unwritten "
	          "and shared ranges at the right file offsets, in file order, with O_DIRECT "
	          "writes (allocated at once, no "
	          "delayed allocation) so that neighbouring ranges tend to be contiguous. Whether "
	          "an extent is aligned "
	          "on disk (what decides the hardware path: xfs_bmap_hw_atomic_write_possible) is "
	          "whatever XFS chose. "
	          "The script prints `xfs_io -c \"bmap -vp\"` of the file next to the case's "
	          "layout above, and stops "
	          "(not run) if the kinds of ranges (written, unwritten, shared, hole) differ.");
	if (!P.c.state.alloc.empty()) {
		P.comment("- The allocator's answers (case alloc: " + alloc_words(P.c.state) +
		          "): cannot be scripted; the real allocator answers what it answers. When "
		          "the model's result, path or verdict with them differs from the one with "
		          "untorn's default policy (e.g. a short or misaligned CoW allocation "
		          "decides the path), the script refuses the case up front (NOT "
		          "REPRODUCED); otherwise it is built, and a different answer can still "
		          "change the result (exit 3).");
	} else {
		P.comment(
		    "- The allocator: the case leaves it to untorn's default policy (first aligned "
		    "free run in AG "
		    "order); XFS's real allocator is not scripted and may answer differently.");
	}
}

// How the script makes shared ranges and (approximately) the CoW fork.
void describe_shared_and_cow_fork(ExportPlan &P)
{
	P.comment("- Shared ranges: made with a donor file: the donor gets the old data and "
	          "`xfs_io -c \"reflink "
	          "DONOR OFF OFF LEN\"` maps its blocks into the file, so the file's blocks there "
	          "have refcount 2 "
	          "(refcount N > 2: N-2 more clones of the donor's range). The case's refcount "
	          "records outside the "
	          "file's data fork belong to other files and need nothing here.");
	if (!P.c.state.cow_fork.empty())
		P.comment(
		    "- The CoW fork: cannot be written directly, nor read back on a kernel "
		    "without CONFIG_XFS_DEBUG, so by default the script refuses the case (NOT "
		    "REPRODUCED, exit 4) before it makes anything. With UNTORN_APPROXIMATE_COW=1 "
		    "it is approximated after the layout check, right "
		    "before the atomic write, with one sacrificial block per "
		    "cowextsize-aligned window, outside the "
		    "write (a written block of the case if there is one, else a hole of the "
		    "case, which then becomes "
		    "a written block). Unwritten CoW extents: the block is reflinked from "
		    "the donor and overwritten "
		    "with the same old data by an O_DIRECT write; xfs_reflink_fill_cow_hole "
		    "allocates the whole "
		    "aligned window in the CoW fork, the block is written out of place and "
		    "remapped, and the rest of "
		    "the window stays in the CoW fork as unwritten preallocation (until the "
		    "CoW block GC reclaims it: "
		    "fs.xfs.speculative_cow_prealloc_lifetime). Delalloc CoW extents: the "
		    "block is shared and written "
		    "through the page cache and left dirty; xfs_bmapi_reserve_delalloc "
		    "reserves the window in the CoW "
		    "fork, and the atomic write flushes only its own range, so the "
		    "reservation is still delalloc when "
		    "the write maps it. Either way XFS decides where the CoW extents start "
		    "and end, and the "
		    "sacrificial block itself is not in the CoW fork. Written (\"write in "
		    "progress\") CoW extents are "
		    "not reproduced: they exist only while a write is in flight. `xfs_io -c "
		    "\"bmap -cv\"` shows the "
		    "CoW fork on kernels built with CONFIG_XFS_DEBUG.");
}

// What of the case the device, the log and the block size decide.
void describe_device_and_block_size(ExportPlan &P)
{
	P.comment("- Device atomic write limits: the real device's "
	          "(/sys/block/DEV/queue/atomic_write_unit_"
	          "{min,max}_bytes); the case says awu_min " +
	          std::to_string(uint64_t(P.c.state.dev.awu_min) * P.scale) + ", awu_max " +
	          std::to_string(uint64_t(P.c.state.dev.awu_max) * P.scale) +
	          " bytes (0 = no hardware atomics). The script prints both; when they differ the "
	          "admission limits and "
	          "the path can differ (exit 3).");
	P.comment("- What one atomic completion transaction can remap (case "
	          "geometry.x_max_atomic_ioend = " +
	          std::to_string(P.g.max_atomic_ioend) +
	          " blocks) follows from the real log size (tr_atomic_ioend); it is not set here.");
	if (P.scale > 1)
		P.comment("- Block size: the case has " + std::to_string(P.bs) +
		          "-byte blocks, but a reflink (v5) XFS needs at least 1024; every byte "
		          "quantity is scaled by " +
		          std::to_string(P.scale) + " (blocks of " + std::to_string(P.rbs) +
		          " bytes), which keeps every block count, offset in blocks and alignment "
		          "of the case.");
	if (P.rbs > 4096)
		P.comment("- Block size " + std::to_string(P.rbs) +
		          " is larger than a 4 KiB page: mounting needs a kernel with large block "
		          "size support "
		          "(Linux >= 6.12); mount failures are reported as not run.");
}

// The AGs mkfs.xfs is asked for, and why they can differ from the case's.
void describe_ag_geometry(ExportPlan &P)
{
	std::string agtext = "- AG geometry: the case has " + std::to_string(P.g.ag_count) +
	                     " AG(s) of " + std::to_string(P.g.ag_blocks) + " blocks. ";
	if (!P.ag.ok)
		agtext +=
		    "That AG size is beyond mkfs.xfs's maximum (1 TiB); mkfs chooses the AG size.";
	else {
		if (P.ag.k > 1)
			agtext +=
			    "An AG must hold mkfs.xfs's smallest log (64 MiB), so each AG has at "
			    "least 72 MiB: " +
			    std::to_string(P.g.ag_blocks * P.ag.k) + " blocks (" +
			    std::to_string(P.ag.k) +
			    " x the case's, an odd factor: the largest power of two dividing "
			    "agblocks stays " +
			    std::to_string(uint64_t(P.g.ag_blocks) & -uint64_t(P.g.ag_blocks)) +
			    "). ";
		else
			agtext += "mkfs.xfs makes AGs of exactly that size. ";
		if (P.ag.agcount != P.g.ag_count)
			agtext += "There are " + std::to_string(P.ag.agcount) +
			          " AGs (mkfs.xfs wants at least 2 and a filesystem of at least "
			          "300 MiB). ";
		agtext += "Only what the file's extents use matters to the write.";
	}
	P.comment(agtext);
}

// The CoW extent size hint the file gets (none without reflink).
void describe_cow_hint(ExportPlan &P)
{
	if (!P.g.reflink)
		P.comment("- No reflink: no CoW fork, no shared blocks, no software path; the CoW "
		          "extent size hint "
		          "does not apply.");
	else if (P.g.cowextsize)
		P.comment("- CoW extent size hint: set to the case's " +
		          std::to_string(P.g.cowextsize) + " blocks (" +
		          std::to_string(P.B(P.g.cowextsize)) +
		          " bytes) with xfs_io's cowextsize.");
	else
		P.comment(
		    "- CoW extent size hint: the case has none, so the kernel's default of 32 "
		    "blocks "
		    "(XFS_DEFAULT_COWEXTSZ_HINT) applies, as on a real inode without a hint.");
	P.line("");
}

// seq, the programs, the cleanup and the helpers every test has.
void write_prologue(ExportPlan &P)
{
	P.line("seq=" + P.seq);
	P.line("here=$(pwd)");
	P.line("tmp=$(mktemp -d \"${TMPDIR:-/tmp}/$seq.XXXXXX\") || exit 2");
	P.line("XFS_IO_PROG=${XFS_IO_PROG:-xfs_io}");
	P.line("MKFS_XFS_PROG=${MKFS_XFS_PROG:-mkfs.xfs}");
	P.line("UNTORN_PROG=${UNTORN_PROG:-untorn}");
	P.line("mounted=0");
	P.line("");
	P.line("_cleanup()");
	P.line("{");
	P.line("\tcd \"$here\" || true");
	P.line("\t[ \"$mounted\" = 1 ] && umount \"$SCRATCH_MNT\" 2>/dev/null");
	P.line("\trm -rf \"$tmp\"");
	P.line("}");
	P.line("trap _cleanup EXIT");
	P.line("");
	P.line("_notrun() { echo \"$seq: not run: $*\" >&2; exit 2; }");
	P.line("_notrepro() { echo \"$seq: NOT REPRODUCED: $*\"; exit 4; }");
	P.line("_require_command() { command -v \"$1\" >/dev/null 2>&1 || _notrun \"$1 is not "
	       "installed\"; }");
	P.line("");
}

// The allocator answers, when the case's outcome rests on them: the model's
// result, path or verdict with them differs from those with untorn's default
// policy, and XFS's allocator cannot be told what to answer.
std::optional<std::string> alloc_refusal(const ExportPlan &P)
{
	if (P.c.state.alloc.empty())
		return std::nullopt;
	FileState plain = P.c.state;
	plain.alloc.clear();
	const Trace t0 = run_atomic_write(plain, P.c.write, P.c.variant);
	const Judgement j0 = Spec(Engine::compiled).judge(t0);
	if (t0.result == P.t.result && t0.path == P.t.path &&
	    verdict_words(j0) == verdict_words(P.j))
		return std::nullopt;
	return "the case's outcome rests on its allocator answers (alloc: " +
	       alloc_words(P.c.state) + "; the model gives result " + result_name(P.t.result) +
	       ", path " + std::string(path_name(P.t.path)) + ", verdict " + verdict_words(P.j) +
	       " with them and result " + result_name(t0.result) + ", path " +
	       std::string(path_name(t0.path)) + ", verdict " + verdict_words(j0) +
	       " with the default policy), and XFS's allocator cannot be told "
	       "what to answer";
}

// What cannot be built, refused up front (NOT REPRODUCED) before anything is
// made; a CoW fork that can be approximated only with UNTORN_APPROXIMATE_COW=1.
void write_refusals(ExportPlan &P)
{
	std::vector<std::string> refuse;
	for (const auto &u : P.cow.unreproduced)
		refuse.push_back("CoW fork: " + u);
	if (auto a = alloc_refusal(P))
		refuse.push_back(*a);
	if (refuse.empty() && P.cow.steps.empty())
		return;
	P.line("# ---- what this script cannot build: refused before anything is made ----");
	for (const auto &r : refuse) {
		P.comment(r);
		P.line("_notrepro " + shell_quote(r));
	}
	if (refuse.empty()) {
		std::string cow;
		for (const auto &e : P.c.state.cow_fork)
			cow += (cow.empty() ? "" : "; ") + extent_words(P.g, e);
		const std::string why = "the case has a CoW fork (" + cow +
		                        "), which user space cannot build and a kernel "
		                        "without CONFIG_XFS_DEBUG "
		                        "cannot show; UNTORN_APPROXIMATE_COW=1 runs the "
		                        "approximation the header "
		                        "describes, unverified";
		P.comment(why);
		P.line("[ \"${UNTORN_APPROXIMATE_COW:-0}\" = 1 ] ||\n\t_notrepro " +
		       shell_quote(why));
	}
	P.line();
}

// What the test needs: a scratch device and mount point, root, the programs,
// a way to issue the atomic write, and a device large enough.
void write_requirements(ExportPlan &P)
{
	P.line("# ---- _require_scratch, _require_xfs_io_command \"pwrite\" \"-A\" ----");
	P.line("[ -n \"${SCRATCH_DEV:-}\" ] || _notrun \"set SCRATCH_DEV to a scratch block device "
	       "(its contents are destroyed)\"");
	P.line("[ -n \"${SCRATCH_MNT:-}\" ] || _notrun \"set SCRATCH_MNT to the scratch mount "
	       "point\"");
	P.line("[ -b \"$SCRATCH_DEV\" ] || _notrun \"SCRATCH_DEV=$SCRATCH_DEV is not a block "
	       "device\"");
	P.line(
	    "[ -d \"$SCRATCH_MNT\" ] || _notrun \"SCRATCH_MNT=$SCRATCH_MNT is not a directory\"");
	P.line("[ \"$(id -u)\" = 0 ] || _notrun \"must run as root (mkfs, mount)\"");
	P.line("for c in \"$XFS_IO_PROG\" \"$MKFS_XFS_PROG\" mount umount blockdev cmp od head tr "
	       "dd truncate awk diff; do");
	P.line("\t_require_command \"$c\"");
	P.line("done");
	P.line("# the atomic write: xfs_io's pwrite -A (xfsprogs 6.10 or later), else untorn's "
	       "runner");
	P.line(
	    "if \"$XFS_IO_PROG\" -c \"help pwrite\" 2>/dev/null | grep -q -- \"-A.*RWF_ATOMIC\"; "
	    "then");
	P.line("\tawrite=xfs_io");
	P.line("elif \"$UNTORN_PROG\" kernel awrite --help >/dev/null 2>&1; then");
	P.line("\tawrite=untorn");
	P.line("else");
	P.line("\t_notrun \"$XFS_IO_PROG has no pwrite -A (RWF_ATOMIC; xfsprogs 6.10 or later) and "
	       "there is no $UNTORN_PROG with 'kernel awrite' (set UNTORN_PROG)\"");
	P.line("fi");
	P.line("if grep -q \" $SCRATCH_MNT \" /proc/mounts; then");
	P.line("\tumount \"$SCRATCH_MNT\" || _notrun \"cannot unmount $SCRATCH_MNT\"");
	P.line("fi");
	P.line("grep -q \"^$SCRATCH_DEV \" /proc/mounts && _notrun \"$SCRATCH_DEV is mounted "
	       "elsewhere\"");
	if (P.ag.ok) {
		P.line("devbytes=$(blockdev --getsize64 \"$SCRATCH_DEV\") || _notrun \"cannot size "
		       "$SCRATCH_DEV\"");
		P.line("[ \"$devbytes\" -ge " + std::to_string(P.ag.fsbytes) +
		       " ] || _notrun \"$SCRATCH_DEV is smaller than " +
		       std::to_string(P.ag.fsbytes) + " bytes\"");
	}
	P.line("");
}

// A new XFS with the case's block size, reflink setting and AG size, mounted.
void write_mkfs_and_mount(ExportPlan &P)
{
	std::string mkfs = "\"$MKFS_XFS_PROG\" -f -b size=" + std::to_string(P.rbs) +
	                   " -m reflink=" + (P.g.reflink ? "1" : "0");
	if (P.ag.ok)
		mkfs += " -d agsize=" + std::to_string(P.ag.agbytes) +
		        ",size=" + std::to_string(P.ag.fsbytes);
	P.line("# ---- _scratch_mkfs_xfs, _scratch_mount ----");
	P.line(mkfs + " \"$SCRATCH_DEV\" > \"$tmp/mkfs.out\" 2>&1 ||");
	P.line("\t_notrun \"mkfs.xfs failed: $(tail -n 3 \"$tmp/mkfs.out\")\"");
	P.line("_scratch_mount() { mount -t xfs \"$SCRATCH_DEV\" \"$SCRATCH_MNT\" && mounted=1; }");
	P.line("_scratch_unmount() { umount \"$SCRATCH_MNT\" && mounted=0; }");
	P.line("_scratch_mount || _notrun \"cannot mount the new XFS (block size " +
	       std::to_string(P.rbs) + ": see dmesg)\"");
	P.line("file=$SCRATCH_MNT/untorn.file");
	P.line("donor=$SCRATCH_MNT/untorn.donor");
	P.line("");
}

// An extent of the layout: written (O_DIRECT), unwritten (falloc), or written
// in the donor and reflinked (with more clones for a refcount above 2).
void write_piece(ExportPlan &P, const Piece &p, unsigned *clones)
{
	const uint64_t off = P.B(p.off), len = P.B(p.len);
	switch (p.kind) {
	case Kind::norm:
		P.line("# file blocks [" + std::to_string(p.off) + ", " +
		       std::to_string(p.off + p.len) + "): written, unshared (case fsbno " +
		       std::to_string(p.fsbno) + ")");
		P.line(layout_pwrite(off, len, "$file"));
		break;
	case Kind::unwritten:
		P.line("# file blocks [" + std::to_string(p.off) + ", " +
		       std::to_string(p.off + p.len) + "): unwritten (case fsbno " +
		       std::to_string(p.fsbno) + ")");
		P.line("_run \"$XFS_IO_PROG\" -c \"falloc " + std::to_string(off) + " " +
		       std::to_string(len) + "\" \"$file\"");
		break;
	case Kind::shared:
		P.line("# file blocks [" + std::to_string(p.off) + ", " +
		       std::to_string(p.off + p.len) + "): written and shared, refcount " +
		       std::to_string(p.refcount) + " (case fsbno " + std::to_string(p.fsbno) +
		       ")");
		P.line(layout_pwrite(off, len, "$donor"));
		P.line("_run \"$XFS_IO_PROG\" -c \"reflink $donor " + std::to_string(off) + " " +
		       std::to_string(off) + " " + std::to_string(len) + "\" \"$file\"");
		for (uint32_t n = 2; n < p.refcount && n < 64; n++) {
			std::string clone = "$SCRATCH_MNT/untorn.clone" + std::to_string(++*clones);
			P.line("_run \"$XFS_IO_PROG\" -f -c \"reflink $donor " +
			       std::to_string(off) + " " + std::to_string(off) + " " +
			       std::to_string(len) + "\" \"" + clone + "\"");
		}
		break;
	}
}

// Builds the layout: the CoW extent size hint, then the data fork in file
// order, each extent as the case has it.
void write_layout(ExportPlan &P)
{
	P.line("# ---- build the layout (old data: pattern 0x5a; unwritten blocks and holes read "
	       "zeros) ----");
	P.line("_run() { \"$@\" || _notrepro \"a layout step failed: $*\"; }");
	P.line("_run \"$XFS_IO_PROG\" -f -c \"truncate 0\" \"$file\"");
	if (P.g.cowextsize && P.g.reflink)
		P.line("_run \"$XFS_IO_PROG\" -c \"cowextsize " +
		       std::to_string(P.B(P.g.cowextsize)) + "\" \"$file\"");
	if (!P.donor_ranges.empty())
		P.line("_run \"$XFS_IO_PROG\" -f -c \"truncate 0\" \"$donor\"");
	unsigned clones = 0;
	for (const auto &p : P.pieces)
		write_piece(P, p, &clones);
	if (P.pieces.empty())
		P.line("# (no data-fork extents: the file stays one hole)");
	P.line("sync");
	P.line("");
}

// The files the data read back is compared with: the file before the write
// (old), after it (new), and the donor.
void write_expected_contents(ExportPlan &P)
{
	uint64_t size0 = 0;
	for (const auto &p : P.pieces)
		size0 = std::max<uint64_t>(size0, P.B(p.off + p.len));
	for (const auto &st : P.cow.steps)
		size0 = std::max<uint64_t>(size0, P.B(st.b + 1));
	const uint64_t size_ok = std::max(size0, P.woff + P.wlen);
	P.line("# ---- what the files must read: old data (0x5a) where the case has written blocks "
	       "----");
	P.line("_fill() { head -c \"$3\" /dev/zero | tr '\\000' \"\\\\$4\" |");
	P.line("\tdd of=\"$1\" bs=512 seek=$(( $2 / 512 )) conv=notrunc status=none; }");
	P.line("truncate -s " + std::to_string(size0) + " \"$tmp/old\"");
	for (const auto &p : P.pieces)
		if (p.kind != Kind::unwritten)
			P.line("_fill \"$tmp/old\" " + std::to_string(P.B(p.off)) + " " +
			       std::to_string(P.B(p.len)) + " 132");
	for (const auto &st : P.cow.steps)
		if (st.was_hole)
			P.line("_fill \"$tmp/old\" " + std::to_string(P.B(st.b)) + " " +
			       std::to_string(P.rbs) + " 132 # the CoW fork's sacrificial block");
	P.line("cp \"$tmp/old\" \"$tmp/new\"");
	P.line("truncate -s " + std::to_string(size_ok) + " \"$tmp/new\"");
	if (P.woff % kBB == 0 && P.wlen % kBB == 0)
		P.line("_fill \"$tmp/new\" " + std::to_string(P.woff) + " " +
		       std::to_string(P.wlen) + " 245");
	P.line("truncate -s " + std::to_string(P.donor_size()) + " \"$tmp/donor\"");
	for (const auto &[o, l] : P.donor_ranges)
		P.line("_fill \"$tmp/donor\" " + std::to_string(o) + " " + std::to_string(l) +
		       " 132");
	P.line("");
}

// The layout XFS made, as bmap -vp shows it, next to the case's: when the
// kinds of ranges differ the case is NOT REPRODUCED.
void write_layout_check(ExportPlan &P)
{
	P.line("# ---- the layout XFS made, next to the case's ----");
	P.line("cat > \"$tmp/layout.expected\" <<'EOF'");
	P.s << kind_map(P.pieces, P.rbs);
	P.line("EOF");
	P.line("\"$XFS_IO_PROG\" -r -c \"bmap -vp\" \"$file\" > \"$tmp/bmap\" 2>&1");
	P.line("echo \"xfs_io bmap -vp of the file (512-byte units):\"; cat \"$tmp/bmap\"");
	P.line("\"$XFS_IO_PROG\" -r -c \"bmap -cv\" \"$file\" > \"$tmp/bmap.cow\" 2>&1 &&");
	P.line(
	    "\t{ echo \"its CoW fork (CONFIG_XFS_DEBUG kernels only):\"; cat \"$tmp/bmap.cow\"; }");
	P.line("awk '$1 ~ /^[0-9]+:$/ && $3 != \"hole\" {");
	P.line("\tr = substr($2, 2, length($2) - 3); split(r, a, \"[.][.]\")");
	P.line("\tk = \"norm\"");
	P.line("\tif ($3 == \"delalloc\") k = \"delalloc\"");
	P.line("\telse if (NF >= 7 && substr($7, 1, 1) == \"1\") k = \"shared\"");
	P.line("\telse if (NF >= 7 && substr($7, 2, 1) == \"1\") k = \"unwritten\"");
	P.line("\tif (n && k == pk && a[1] == pe + 1) { pe = a[2]; next }");
	P.line("\tif (n) print ps, pe, pk");
	P.line("\tn = 1; ps = a[1]; pe = a[2]; pk = k");
	P.line("} END { if (n) print ps, pe, pk }' \"$tmp/bmap\" > \"$tmp/layout.real\"");
	P.line("if ! diff -u \"$tmp/layout.expected\" \"$tmp/layout.real\" > \"$tmp/layout.diff\"; "
	       "then");
	P.line("\techo \"the layout differs from the case's (START END KIND in 512-byte units):\"");
	P.line("\tcat \"$tmp/layout.diff\"");
	P.line("\t_notrepro \"XFS did not make the case's layout (the kinds of ranges differ; see "
	       "above)\"");
	P.line("fi");
	P.line("");
}

// The device's atomic write units next to the case's, and the file's statx.
void write_atomic_limits(ExportPlan &P)
{
	P.line("# ---- atomic write limits: the device's and the file's (statx STATX_WRITE_ATOMIC) "
	       "----");
	P.line("dev=$(basename \"$(readlink -f \"$SCRATCH_DEV\")\")");
	P.line("q=/sys/class/block/$dev/queue; [ -d \"$q\" ] || q=/sys/class/block/$dev/../queue");
	P.line("awu_min=$(cat \"$q/atomic_write_unit_min_bytes\" 2>/dev/null || echo 0)");
	P.line("awu_max=$(cat \"$q/atomic_write_unit_max_bytes\" 2>/dev/null || echo 0)");
	P.line("echo \"device atomic write units: min $awu_min max $awu_max (the case: min " +
	       std::to_string(uint64_t(P.c.state.dev.awu_min) * P.scale) + " max " +
	       std::to_string(uint64_t(P.c.state.dev.awu_max) * P.scale) + ")\"");
	P.line("if [ \"$awu_min\" != " + std::to_string(uint64_t(P.c.state.dev.awu_min) * P.scale) +
	       " ] || [ \"$awu_max\" != " +
	       std::to_string(uint64_t(P.c.state.dev.awu_max) * P.scale) + " ]; then");
	P.line("\techo \"note: the device's limits differ from the case's: admission and path may "
	       "differ\"");
	P.line("fi");
	P.line("\"$XFS_IO_PROG\" -c \"statx -r -m 0x10000\" \"$file\" 2>/dev/null | grep "
	       "atomic_write");
	P.line("");
}

// The CoW fork's approximation: the O_DIRECT steps first, then the buffered
// ones, whose dirty blocks nothing may flush before the write.
void write_cow_fork(ExportPlan &P)
{
	if (P.cow.steps.empty() && P.cow.unreproduced.empty())
		return;
	P.line("# ---- the CoW fork (approximated; see the header): after the layout "
	       "check, right before the write ----");
	std::vector<CowStep> steps = P.cow.steps;
	std::stable_sort(steps.begin(), steps.end(), [](const CowStep &x, const CowStep &y) {
		return !x.buffered && y.buffered;
	});
	for (const auto &st : steps) {
		P.comment(st.why);
		if (st.make_shared) {
			P.line(layout_pwrite(P.B(st.b), P.rbs, "$donor"));
			P.line("_run \"$XFS_IO_PROG\" -c \"reflink $donor " +
			       std::to_string(P.B(st.b)) + " " + std::to_string(P.B(st.b)) + " " +
			       std::to_string(P.rbs) + "\" \"$file\"");
		}
		if (st.buffered)
			P.line("_run \"$XFS_IO_PROG\" -c \"pwrite -q -S 0x5a5a5a5a -b " +
			       std::to_string(P.rbs) + " " + std::to_string(P.B(st.b)) + " " +
			       std::to_string(P.rbs) + "\" \"$file\"  # no sync: stays dirty");
		else
			P.line(layout_pwrite(P.B(st.b), P.rbs, "$file"));
	}
	for (const auto &u : P.cow.unreproduced)
		P.comment("CoW fork: " + u);
	P.line("\"$XFS_IO_PROG\" -r -c \"bmap -cv\" \"$file\" 2>/dev/null &&");
	P.line("\techo \"(the CoW fork now, as a CONFIG_XFS_DEBUG kernel shows it)\"");
	P.line("");
}

// The atomic write, and its result compared with the expected one.
void write_atomic_write(ExportPlan &P)
{
	std::string expect_line = P.expected ? "pwrite: " + std::string(std::strerror(P.expected))
	                                     : "wrote " + std::to_string(P.wlen) + "/" +
	                                           std::to_string(P.wlen) + " bytes at offset " +
	                                           std::to_string(P.woff);
	P.line("# ---- the atomic write: RWF_ATOMIC|RWF_DSYNC, one iovec, O_DIRECT; new data: "
	       "pattern 0xa5 ----");
	P.line("if [ \"$awrite\" = xfs_io ]; then");
	P.line("\t\"$XFS_IO_PROG\" -d -c \"pwrite -A -D -V1 -b " + std::to_string(P.wlen) +
	       " -S 0xa5a5a5a5 " + std::to_string(P.woff) + " " + std::to_string(P.wlen) +
	       "\" \"$file\" > \"$tmp/write.out\" 2>&1");
	P.line("else");
	P.line("\t# the same pwritev2: O_DIRECT, one iovec, RWF_ATOMIC|RWF_DSYNC, bytes 0xa5");
	P.line("\t\"$UNTORN_PROG\" kernel awrite \"$file\" " + std::to_string(P.woff) + " " +
	       std::to_string(P.wlen) + " --dsync --byte 0xa5 > \"$tmp/write.out\" 2>&1");
	P.line("fi");
	P.line("cat \"$tmp/write.out\"");
	P.line("if grep -q \"^wrote " + std::to_string(P.wlen) + "/" + std::to_string(P.wlen) +
	       " bytes\" \"$tmp/write.out\"; then");
	P.line("\tgot=\"wrote " + std::to_string(P.wlen) + "/" + std::to_string(P.wlen) +
	       " bytes at offset " + std::to_string(P.woff) + "\"; reads=\"$tmp/new\"");
	P.line("else");
	P.line("\tgot=$(grep -m1 \"^pwrite: \" \"$tmp/write.out\")");
	P.line("\t[ -n \"$got\" ] || got=\"(no result line: $(head -n 1 \"$tmp/write.out\"))\"");
	P.line("\treads=\"$tmp/old\"");
	P.line("fi");
	P.line("expected_result=\"" + expect_line + "\"");
	P.line("result_ok=1");
	P.line("if [ \"$got\" != \"$expected_result\" ]; then");
	P.line("\techo \"RESULT DIFFERS: got \\\"$got\\\", expected \\\"$expected_result\\\"\"");
	P.line("\tresult_ok=0");
	P.line("fi");
	P.line("");
}

// The data read back, through the page cache, after a remount and, with
// UNTORN_SHUTDOWN=1, after a shutdown and log recovery.
void write_data_checks(ExportPlan &P)
{
	P.line("data_ok=1");
	P.line("_check_data()");
	P.line("{");
	P.line("\tlocal when=$1");
	P.line("\tif ! cmp -s \"$file\" \"$reads\"; then");
	P.line("\t\techo \"DATA WRONG ($when): the file does not read what it must; differing " +
	       std::to_string(P.rbs) + "-byte blocks (first 20):\"");
	P.line("\t\tcmp -l \"$file\" \"$reads\" 2>&1 | awk -v bs=" + std::to_string(P.rbs) +
	       " '/EOF/ { print \"  \" $0; next } { b = int(($1 - 1) / bs); if (!(b in s)) { s[b] "
	       "= 1; print \"  block \" b \": reads \" $2 \" (octal), must read \" $3 } }' | head "
	       "-n 20");
	P.line("\t\tls -l \"$file\" \"$reads\"");
	P.line("\t\tdata_ok=0");
	P.line("\tfi");
	if (P.donor_size()) {
		P.line("\tif ! cmp -s \"$donor\" \"$tmp/donor\"; then");
		P.line("\t\techo \"DATA WRONG ($when): the donor file changed: a shared block was "
		       "overwritten in place\"");
		P.line("\t\tdata_ok=0");
		P.line("\tfi");
	}
	P.line("}");
	P.line("_check_data \"through the page cache\"");
	P.line("_scratch_unmount && _scratch_mount || { echo \"cannot remount\"; exit 1; }");
	P.line("_check_data \"after a remount\"");
	P.line("if [ \"${UNTORN_SHUTDOWN:-0}\" = 1 ]; then");
	P.line("\t# shut down without flushing the log, then let log recovery replay what was "
	       "committed");
	P.line(
	    "\t\"$XFS_IO_PROG\" -x -c \"shutdown\" \"$SCRATCH_MNT\" || echo \"shutdown failed\"");
	P.line("\t_scratch_unmount && _scratch_mount || { echo \"cannot mount after the "
	       "shutdown\"; exit 1; }");
	P.line("\t_check_data \"after a shutdown and log recovery\"");
	P.line("fi");
	P.line("");
}

// Data wrong first (exit 1), then a different result (exit 3), else 0.
void write_exit_status(ExportPlan &P)
{
	P.line("if [ \"$data_ok\" = 0 ]; then echo \"$seq: FAIL: data\"; exit 1; fi");
	P.line("if [ \"$result_ok\" = 0 ]; then echo \"$seq: result differs from the expected one "
	       "(data is right)\"; exit 3; fi");
	if (!P.cow.steps.empty())
		P.line("echo \"$seq: outcome as expected (with the CoW fork approximated: "
		       "UNTORN_APPROXIMATE_COW=1; see the header)\"");
	else
		P.line("echo \"$seq: outcome as expected\"");
	P.line("exit 0");
}

std::string export_script(const Case &c, const Trace &t, const Judgement &j, uint64_t *device_bytes)
{
	ExportPlan P(c, t, j);
	// the header: what the case is, what the script does and cannot do
	write_header_case(P);
	write_header_what_it_does(P);
	write_header_exit_status_and_usage(P);
	describe_layout_and_allocator(P);
	describe_shared_and_cow_fork(P);
	describe_device_and_block_size(P);
	describe_ag_geometry(P);
	describe_cow_hint(P);
	// the test
	write_prologue(P);
	write_refusals(P);
	write_requirements(P);
	write_mkfs_and_mount(P);
	write_layout(P);
	write_expected_contents(P);
	write_layout_check(P);
	write_atomic_limits(P);
	write_cow_fork(P);
	write_atomic_write(P);
	write_data_checks(P);
	write_exit_status(P);
	if (device_bytes)
		*device_bytes = P.ag.fsbytes ? P.ag.fsbytes : kMinFsBytes;
	return P.s.str();
}
} // namespace

XfsIoScript xfs_io_script(const Case &c)
{
	Trace t = run_atomic_write(c.state, c.write, c.variant);
	Spec spec(Engine::compiled);
	Judgement j = spec.judge(t);
	XfsIoScript x;
	x.text = export_script(c, t, j, &x.device_bytes);
	return x;
}

int cmd_export(const ExportOptions &o)
{
	if (!o.xfs_io) {
		std::cerr << "untorn: export: say which reproducer to write (--xfs-io)\n";
		return EXIT_BAD_INPUT;
	}
	auto loaded = load_case_or_report(o.input);
	if (!loaded)
		return EXIT_BAD_INPUT;
	Case c = std::move(*loaded);
	std::string script = xfs_io_script(c).text;
	if (o.output.empty()) {
		std::cout << script;
		return EXIT_CLEAN;
	}
	try {
		write_file_atomically(o.output, script);
		std::error_code ec;
		fs::permissions(o.output,
		                fs::perms::owner_exec | fs::perms::group_exec |
		                    fs::perms::others_exec,
		                fs::perm_options::add, ec);
	} catch (const std::exception &e) {
		std::cerr << "untorn: export: " << e.what() << "\n";
		return EXIT_BAD_INPUT;
	}
	return EXIT_CLEAN;
}

} // namespace untorn
