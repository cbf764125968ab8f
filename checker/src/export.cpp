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

struct ExportPlan {
	const Case &c;
	const Trace &t;
	const Judgement &j;
	uint64_t bs, scale, rbs;
	std::ostringstream s;

	uint64_t B(uint64_t blocks) const { return blocks * rbs; }
	void line(const std::string &x = "") { s << x << "\n"; }
	void comment(std::string_view x, std::string_view indent = "")
	{
		s << comment_block(x, 78, indent);
	}
};

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

// What the script does when it cannot build its case: "SEQ: NOT REPRODUCED: why", exit 4.
constexpr const char *kRefusalMarker = "@@UNTORN-REFUSAL@@\n";

std::string export_script(const Case &c, const Trace &t, const Judgement &j, uint64_t *device_bytes)
{
	const Geometry &g = c.state.geo;
	const uint64_t bs = g.block_size;
	const uint64_t scale =
	    bs < 1024 ? 1024 / bs : 1; // v5 (reflink) filesystems need bs >= 1024
	const uint64_t rbs = bs * scale;
	ExportPlan P{c, t, j, bs, scale, rbs, {}};
	auto &S = P.s;
	const std::string seq = "untorn-" + safe_name(c.name);
	const uint64_t woff = c.write.offset * scale, wlen = c.write.length * scale;
	const int expected = c.expect.result ? *c.expect.result : t.result;
	const std::vector<Piece> pieces = pieces_of(c.state);
	auto B = [&](uint64_t blocks) { return blocks * rbs; };

	// ---------------------------------------------------------------- header
	P.line("#!/bin/bash");
	P.line("# SPDX-License-Identifier: GPL-2.0");
	P.line("#");
	P.line("# " + comment_safe(seq) +
	       ": a reproducer written by `untorn export --xfs-io`, in the style of an");
	P.line("# fstests test (tests/generic/7xx).");
	P.line("#");
	P.comment("Case: " + c.name + (c.file.empty() ? std::string() : " (" + c.file + ")"));
	P.comment("Variant: " + std::string(variant_name(c.variant)) +
	          ". What untorn's model of that kernel predicts for this layout: result " +
	          result_name(t.result) + ", path " + std::string(path_name(t.path)) +
	          ", verdict " + std::string(verdict_name(j.verdict)) +
	          (j.findings.empty() ? std::string() : " [" + join(j.broken_names()) + "]") + ".");
	if (c.expect.result && *c.expect.result != t.result)
		P.comment(
		    "The case's expect.result (" + result_name(*c.expect.result) +
		    ") differs from the model's prediction; this script checks expect.result.");
	for (const auto &f : j.findings)
		for (const auto &inv : invariant_catalogue())
			if (f.invariant == inv.name)
				P.comment(f.invariant + " forbids " + inv.forbids + " [" +
				              inv.origin + "]",
				          "  ");
	if (!c.note.empty()) {
		P.line("#");
		P.comment("Note: " + c.note);
	}
	P.line("#");
	P.comment(
	    "What it does: makes an XFS on $SCRATCH_DEV (DESTROYING what is there) with the "
	    "case's block size "
	    "and reflink setting, builds the case's data fork in $SCRATCH_MNT/untorn.file "
	    "with xfs_io, then "
	    "issues the case's RWF_ATOMIC direct write: pwrite -A -D -V1 -b " +
	    std::to_string(wlen) + " " + std::to_string(woff) + " " + std::to_string(wlen) +
	    " (pwritev2 with one iovec, RWF_ATOMIC|RWF_DSYNC, O_DIRECT), or, where xfs_io has "
	    "no pwrite -A, the same pwritev2 through `$UNTORN_PROG kernel awrite FILE " +
	    std::to_string(woff) + " " + std::to_string(wlen) + " --dsync`.");
	P.comment("What it checks: (1) the write's result is the expected one: " +
	          std::string(
	              expected ? "it fails with " + result_name(expected) +
	                             " (xfs_io prints \"pwrite: " + std::strerror(expected) + "\")"
	                       : "it succeeds (xfs_io prints \"wrote " + std::to_string(wlen) +
	                             "/" + std::to_string(wlen) + " bytes at offset " +
	                             std::to_string(woff) + "\")") +
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
	          std::string(path_name(t.path)) +
	          ". Tracing the xfs:xfs_reflink_* and iomap:* trace events (trace-cmd record -e "
	          "xfs -e iomap) shows "
	          "the path.");
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
	P.line("# \"" + comment_safe(seq) +
	       ": NOT REPRODUCED: <why>\" says which), so the write says nothing about it.");
	P.line("#");
	P.line("# Usage: SCRATCH_DEV=/dev/sdX SCRATCH_MNT=/mnt/scratch bash " + comment_safe(seq) +
	       ".sh");
	P.line(
	    "#   optional: XFS_IO_PROG, MKFS_XFS_PROG, UNTORN_PROG (the atomic write where xfs_io "
	    "has no");
	P.line(
	    "#   pwrite -A; default: untorn in PATH), UNTORN_SHUTDOWN=1, UNTORN_APPROXIMATE_COW=1 "
	    "(see below)");
	P.line("#");

	// ------------------------------------------------- what cannot be forced
	P.line("# ---- What a real filesystem cannot be made to hold, and how this script "
	       "approximates it ----");
	P.line("#");
	P.line("# The case's layout (fsbno = agno << agblklog | agbno; agblklog " +
	       std::to_string(g.agblklog()) + "):");
	for (const auto &e : c.state.data_fork)
		P.comment("data fork: " + extent_words(g, e), "  ");
	for (const auto &e : c.state.cow_fork)
		P.comment("CoW fork: " + extent_words(g, e), "  ");
	for (const auto &r : c.state.refcount)
		P.comment("shared: fsbno [" + std::to_string(r.rc_startblock) + ", " +
		              std::to_string(r.rc_startblock + r.rc_blockcount) + ") refcount " +
		              std::to_string(r.rc_refcount),
		          "  ");
	if (c.state.data_fork.empty() && c.state.cow_fork.empty())
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
	if (!c.state.alloc.empty()) {
		std::string a;
		for (const auto &x : c.state.alloc)
			a += (a.empty() ? "" : ", ") + std::to_string(x.startblock) + "+" +
			     std::to_string(x.blockcount);
		P.comment("- The allocator's answers (case alloc: " + a +
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
	P.comment("- Shared ranges: made with a donor file: the donor gets the old data and "
	          "`xfs_io -c \"reflink "
	          "DONOR OFF OFF LEN\"` maps its blocks into the file, so the file's blocks there "
	          "have refcount 2 "
	          "(refcount N > 2: N-2 more clones of the donor's range). The case's refcount "
	          "records outside the "
	          "file's data fork belong to other files and need nothing here.");
	if (!c.state.cow_fork.empty())
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
	P.comment("- Device atomic write limits: the real device's "
	          "(/sys/block/DEV/queue/atomic_write_unit_"
	          "{min,max}_bytes); the case says awu_min " +
	          std::to_string(uint64_t(c.state.dev.awu_min) * scale) + ", awu_max " +
	          std::to_string(uint64_t(c.state.dev.awu_max) * scale) +
	          " bytes (0 = no hardware atomics). The script prints both; when they differ the "
	          "admission limits and "
	          "the path can differ (exit 3).");
	P.comment("- What one atomic completion transaction can remap (case "
	          "geometry.x_max_atomic_ioend = " +
	          std::to_string(g.max_atomic_ioend) +
	          " blocks) follows from the real log size (tr_atomic_ioend); it is not set here.");
	if (scale > 1)
		P.comment("- Block size: the case has " + std::to_string(bs) +
		          "-byte blocks, but a reflink (v5) XFS needs at least 1024; every byte "
		          "quantity is scaled by " +
		          std::to_string(scale) + " (blocks of " + std::to_string(rbs) +
		          " bytes), which keeps every block count, offset in blocks and alignment "
		          "of the case.");
	if (rbs > 4096)
		P.comment("- Block size " + std::to_string(rbs) +
		          " is larger than a 4 KiB page: mounting needs a kernel with large block "
		          "size support "
		          "(Linux >= 6.12); mount failures are reported as not run.");

	// AG geometry: the case's AG size, times the smallest odd factor that
	// reaches mkfs's minimum (an odd factor keeps the largest power of two
	// dividing agblocks, which is what bounds hardware atomic writes).
	uint64_t k = 1;
	while (uint64_t(g.ag_blocks) * k * rbs < kMinAgBytes)
		k += 2;
	const uint64_t agbytes = uint64_t(g.ag_blocks) * k * rbs;
	const bool agsize_ok = agbytes <= kMaxAgBytes;
	uint64_t agcount = std::max<uint64_t>(g.ag_count, 2);
	if (agsize_ok)
		while (agcount * agbytes < kMinFsBytes)
			agcount++;
	const uint64_t fsbytes = agsize_ok ? agcount * agbytes : 0;
	std::string agtext = "- AG geometry: the case has " + std::to_string(g.ag_count) +
	                     " AG(s) of " + std::to_string(g.ag_blocks) + " blocks. ";
	if (!agsize_ok)
		agtext +=
		    "That AG size is beyond mkfs.xfs's maximum (1 TiB); mkfs chooses the AG size.";
	else {
		if (k > 1)
			agtext +=
			    "An AG must hold mkfs.xfs's smallest log (64 MiB), so each AG has at "
			    "least 72 MiB: " +
			    std::to_string(g.ag_blocks * k) + " blocks (" + std::to_string(k) +
			    " x the case's, an odd factor: the largest power of two dividing "
			    "agblocks stays " +
			    std::to_string(uint64_t(g.ag_blocks) & -uint64_t(g.ag_blocks)) + "). ";
		else
			agtext += "mkfs.xfs makes AGs of exactly that size. ";
		if (agcount != g.ag_count)
			agtext += "There are " + std::to_string(agcount) +
			          " AGs (mkfs.xfs wants at least 2 and a filesystem of at least "
			          "300 MiB). ";
		agtext += "Only what the file's extents use matters to the write.";
	}
	P.comment(agtext);
	if (!g.reflink)
		P.comment("- No reflink: no CoW fork, no shared blocks, no software path; the CoW "
		          "extent size hint "
		          "does not apply.");
	else if (g.cowextsize)
		P.comment("- CoW extent size hint: set to the case's " +
		          std::to_string(g.cowextsize) + " blocks (" +
		          std::to_string(B(g.cowextsize)) + " bytes) with xfs_io's cowextsize.");
	else
		P.comment(
		    "- CoW extent size hint: the case has none, so the kernel's default of 32 "
		    "blocks "
		    "(XFS_DEFAULT_COWEXTSZ_HINT) applies, as on a real inode without a hint.");
	P.line("");

	// ---------------------------------------------------------------- prologue
	P.line("seq=" + seq);
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
	S << kRefusalMarker;
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
	if (agsize_ok) {
		P.line("devbytes=$(blockdev --getsize64 \"$SCRATCH_DEV\") || _notrun \"cannot size "
		       "$SCRATCH_DEV\"");
		P.line("[ \"$devbytes\" -ge " + std::to_string(fsbytes) +
		       " ] || _notrun \"$SCRATCH_DEV is smaller than " + std::to_string(fsbytes) +
		       " bytes\"");
	}
	P.line("");

	// ---------------------------------------------------------------- mkfs, mount
	std::string mkfs = "\"$MKFS_XFS_PROG\" -f -b size=" + std::to_string(rbs) +
	                   " -m reflink=" + (g.reflink ? "1" : "0");
	if (agsize_ok)
		mkfs +=
		    " -d agsize=" + std::to_string(agbytes) + ",size=" + std::to_string(fsbytes);
	P.line("# ---- _scratch_mkfs_xfs, _scratch_mount ----");
	P.line(mkfs + " \"$SCRATCH_DEV\" > \"$tmp/mkfs.out\" 2>&1 ||");
	P.line("\t_notrun \"mkfs.xfs failed: $(tail -n 3 \"$tmp/mkfs.out\")\"");
	P.line("_scratch_mount() { mount -t xfs \"$SCRATCH_DEV\" \"$SCRATCH_MNT\" && mounted=1; }");
	P.line("_scratch_unmount() { umount \"$SCRATCH_MNT\" && mounted=0; }");
	P.line("_scratch_mount || _notrun \"cannot mount the new XFS (block size " +
	       std::to_string(rbs) + ": see dmesg)\"");
	P.line("file=$SCRATCH_MNT/untorn.file");
	P.line("donor=$SCRATCH_MNT/untorn.donor");
	P.line("");

	// ---------------------------------------------------------------- build
	P.line("# ---- build the layout (old data: pattern 0x5a; unwritten blocks and holes read "
	       "zeros) ----");
	P.line("_run() { \"$@\" || _notrepro \"a layout step failed: $*\"; }");
	P.line("_run \"$XFS_IO_PROG\" -f -c \"truncate 0\" \"$file\"");
	if (g.cowextsize && g.reflink)
		P.line("_run \"$XFS_IO_PROG\" -c \"cowextsize " + std::to_string(B(g.cowextsize)) +
		       "\" \"$file\"");
	bool need_donor = false;
	for (const auto &p : pieces)
		need_donor |= p.kind == Kind::shared;
	// CoW fork approximations (done after the layout check): per
	// cowextsize-aligned window holding CoW extents, one sacrificial block B
	// outside the write.  Unwritten CoW extents: B is shared from the donor
	// and overwritten with O_DIRECT, so XFS allocates the window in the CoW
	// fork as unwritten preallocation.  Delalloc CoW extents: B is shared and
	// written through the page cache and left dirty, so XFS reserves the
	// window as delalloc in the CoW fork, and the atomic write's flush of its
	// own range leaves that reservation alone.
	const uint64_t hint = g.cowextsize ? g.cowextsize : 32;
	const xfs_fileoff_t wo = c.write.offset / bs,
	                    we = (c.write.offset + c.write.length + bs - 1) / bs;
	struct CowStep {
		xfs_fileoff_t b;
		bool buffered;    // delalloc: a dirty buffered write; else an O_DIRECT overwrite
		bool make_shared; // reflink B from the donor first
		bool was_hole;    // B is a hole in the case: the file gains a written block there
		std::string why;
	};
	std::vector<CowStep> cow_steps;
	std::vector<std::string> cow_unreproduced;
	{
		auto kind_at = [&](xfs_fileoff_t b) -> std::optional<Kind> {
			for (const auto &p : pieces)
				if (b >= p.off && b < p.off + p.len)
					return p.kind;
			return std::nullopt;
		};
		auto in_cow = [&](xfs_fileoff_t b) {
			for (const auto &e : c.state.cow_fork)
				if (b >= e.br_startoff && b < e.end())
					return true;
			return false;
		};
		std::set<xfs_fileoff_t> unwritten_windows, delalloc_windows;
		for (const auto &e : c.state.cow_fork) {
			if (e.br_startblock != DELAYSTARTBLOCK && e.br_state == XFS_EXT_NORM) {
				cow_unreproduced.push_back("a written CoW extent (" +
				                           extent_words(g, e) +
				                           "): user space cannot make one (it "
				                           "exists only while a write is in "
				                           "flight)");
				continue;
			}
			auto &ws = e.br_startblock == DELAYSTARTBLOCK ? delalloc_windows
			                                              : unwritten_windows;
			for (xfs_fileoff_t w = e.br_startoff / hint * hint; w < e.end(); w += hint)
				ws.insert(w);
		}
		// the first block of the window, outside the write and not used by
		// another step, that passes `ok`
		std::set<xfs_fileoff_t> used;
		auto find = [&](xfs_fileoff_t w, auto ok) -> std::optional<xfs_fileoff_t> {
			for (xfs_fileoff_t b = w; b < w + hint; b++)
				if ((b < wo || b >= we) && !used.count(b) && ok(b)) {
					used.insert(b);
					return b;
				}
			return std::nullopt;
		};
		for (xfs_fileoff_t w : unwritten_windows) {
			std::string win =
			    "[" + std::to_string(w) + ", " + std::to_string(w + hint) + ")";
			auto norm = [&](xfs_fileoff_t b) { return kind_at(b) == Kind::norm; };
			auto hole = [&](xfs_fileoff_t b) { return !kind_at(b); };
			std::optional<xfs_fileoff_t> b;
			std::string how;
			if ((b = find(w, [&](xfs_fileoff_t x) { return norm(x) && !in_cow(x); })))
				how = "";
			else if ((b = find(w, norm)))
				how = " (inside the case's CoW extent: the CoW fork will lack that "
				      "block)";
			else if ((b = find(w,
			                   [&](xfs_fileoff_t x) { return hole(x) && !in_cow(x); })))
				how = " (a hole in the case: the file gains a written block there)";
			else if ((b = find(w, hole)))
				how = " (a hole in the case, inside its CoW extent: the file gains "
				      "a written block there and "
				      "the CoW fork lacks it)";
			if (!b) {
				cow_unreproduced.push_back(
				    "unwritten CoW extent(s) in window " + win +
				    ": the approximation needs a written, unshared block or a hole "
				    "of "
				    "the window outside the write to CoW, and there is none");
				continue;
			}
			cow_steps.push_back({*b, false, true, !kind_at(*b),
			                     "unwritten CoW extent(s) in window " + win +
			                         ": share file block " + std::to_string(*b) + how +
			                         " and overwrite it with the same old data "
			                         "(O_DIRECT): XFS allocates the "
			                         "window in the CoW fork and leaves the rest of it "
			                         "there as unwritten "
			                         "preallocation"});
		}
		for (xfs_fileoff_t w : delalloc_windows) {
			std::string win =
			    "[" + std::to_string(w) + ", " + std::to_string(w + hint) + ")";
			std::optional<xfs_fileoff_t> b;
			std::string how;
			bool share = true;
			if ((b = find(w,
			              [&](xfs_fileoff_t x) { return kind_at(x) == Kind::shared; })))
				how = "", share = false;
			else if ((b = find(w, [&](xfs_fileoff_t x) {
				          return kind_at(x) == Kind::norm;
			          })))
				how = " (unshared in the case: shared here)";
			else if ((b = find(w, [&](xfs_fileoff_t x) { return !kind_at(x); })))
				how = " (a hole in the case: the file gains a written, shared "
				      "block there)";
			if (!b) {
				cow_unreproduced.push_back(
				    "delalloc CoW extent(s) in window " + win +
				    ": the approximation needs a block of the window outside the "
				    "write to CoW through the page cache, and there is none");
				continue;
			}
			cow_steps.push_back(
			    {*b, true, share, !kind_at(*b),
			     "delalloc CoW extent(s) in window " + win +
			         ": write shared file block " + std::to_string(*b) + how +
			         " through the page cache and leave it dirty: XFS reserves the "
			         "window as "
			         "delalloc in the CoW fork (xfs_bmapi_reserve_delalloc aligns CoW "
			         "reservations to the hint); the atomic write flushes only its own "
			         "range"});
		}
		for (const auto &st : cow_steps)
			need_donor |= st.make_shared;
	}
	if (need_donor)
		P.line("_run \"$XFS_IO_PROG\" -f -c \"truncate 0\" \"$donor\"");
	auto pwrite_cmd = [&](uint64_t off, uint64_t len, const char *target) {
		uint64_t buf = std::min(len, kMaxBuf);
		return "_run \"$XFS_IO_PROG\" -d -c \"pwrite -q -S 0x5a5a5a5a -b " +
		       std::to_string(buf) + " " + std::to_string(off) + " " + std::to_string(len) +
		       "\" \"" + target + "\"";
	};
	std::vector<std::pair<uint64_t, uint64_t>> donor_ranges; // bytes the donor holds (old data)
	unsigned clones = 0;
	for (const auto &p : pieces) {
		const uint64_t off = B(p.off), len = B(p.len);
		switch (p.kind) {
		case Kind::norm:
			P.line("# file blocks [" + std::to_string(p.off) + ", " +
			       std::to_string(p.off + p.len) + "): written, unshared (case fsbno " +
			       std::to_string(p.fsbno) + ")");
			P.line(pwrite_cmd(off, len, "$file"));
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
			       std::to_string(p.refcount) + " (case fsbno " +
			       std::to_string(p.fsbno) + ")");
			P.line(pwrite_cmd(off, len, "$donor"));
			P.line("_run \"$XFS_IO_PROG\" -c \"reflink $donor " + std::to_string(off) +
			       " " + std::to_string(off) + " " + std::to_string(len) +
			       "\" \"$file\"");
			for (uint32_t n = 2; n < p.refcount && n < 64; n++) {
				std::string clone =
				    "$SCRATCH_MNT/untorn.clone" + std::to_string(++clones);
				P.line("_run \"$XFS_IO_PROG\" -f -c \"reflink $donor " +
				       std::to_string(off) + " " + std::to_string(off) + " " +
				       std::to_string(len) + "\" \"" + clone + "\"");
			}
			donor_ranges.push_back({off, len});
			break;
		}
	}
	if (pieces.empty())
		P.line("# (no data-fork extents: the file stays one hole)");
	for (const auto &st : cow_steps)
		if (st.make_shared)
			donor_ranges.push_back({B(st.b), rbs});
	P.line("sync");
	P.line("");

	// ------------------------------------------------ expected content files
	uint64_t size0 = 0;
	for (const auto &p : pieces)
		size0 = std::max<uint64_t>(size0, B(p.off + p.len));
	for (const auto &st : cow_steps)
		size0 = std::max<uint64_t>(size0, B(st.b + 1));
	const uint64_t size_ok = std::max(size0, woff + wlen);
	uint64_t donor_size = 0;
	for (const auto &[o, l] : donor_ranges)
		donor_size = std::max(donor_size, o + l);
	P.line("# ---- what the files must read: old data (0x5a) where the case has written blocks "
	       "----");
	P.line("_fill() { head -c \"$3\" /dev/zero | tr '\\000' \"\\\\$4\" |");
	P.line("\tdd of=\"$1\" bs=512 seek=$(( $2 / 512 )) conv=notrunc status=none; }");
	P.line("truncate -s " + std::to_string(size0) + " \"$tmp/old\"");
	for (const auto &p : pieces)
		if (p.kind != Kind::unwritten)
			P.line("_fill \"$tmp/old\" " + std::to_string(B(p.off)) + " " +
			       std::to_string(B(p.len)) + " 132");
	for (const auto &st : cow_steps)
		if (st.was_hole)
			P.line("_fill \"$tmp/old\" " + std::to_string(B(st.b)) + " " +
			       std::to_string(rbs) + " 132 # the CoW fork's sacrificial block");
	P.line("cp \"$tmp/old\" \"$tmp/new\"");
	P.line("truncate -s " + std::to_string(size_ok) + " \"$tmp/new\"");
	if (woff % kBB == 0 && wlen % kBB == 0)
		P.line("_fill \"$tmp/new\" " + std::to_string(woff) + " " + std::to_string(wlen) +
		       " 245");
	P.line("truncate -s " + std::to_string(donor_size) + " \"$tmp/donor\"");
	for (const auto &[o, l] : donor_ranges)
		P.line("_fill \"$tmp/donor\" " + std::to_string(o) + " " + std::to_string(l) +
		       " 132");
	P.line("");

	// ---------------------------------------------------------- layout check
	P.line("# ---- the layout XFS made, next to the case's ----");
	P.line("cat > \"$tmp/layout.expected\" <<'EOF'");
	S << kind_map(pieces, rbs);
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

	// ---------------------------------------------------------------- limits
	P.line("# ---- atomic write limits: the device's and the file's (statx STATX_WRITE_ATOMIC) "
	       "----");
	P.line("dev=$(basename \"$(readlink -f \"$SCRATCH_DEV\")\")");
	P.line("q=/sys/class/block/$dev/queue; [ -d \"$q\" ] || q=/sys/class/block/$dev/../queue");
	P.line("awu_min=$(cat \"$q/atomic_write_unit_min_bytes\" 2>/dev/null || echo 0)");
	P.line("awu_max=$(cat \"$q/atomic_write_unit_max_bytes\" 2>/dev/null || echo 0)");
	P.line("echo \"device atomic write units: min $awu_min max $awu_max (the case: min " +
	       std::to_string(uint64_t(c.state.dev.awu_min) * scale) + " max " +
	       std::to_string(uint64_t(c.state.dev.awu_max) * scale) + ")\"");
	P.line("if [ \"$awu_min\" != " + std::to_string(uint64_t(c.state.dev.awu_min) * scale) +
	       " ] || [ \"$awu_max\" != " + std::to_string(uint64_t(c.state.dev.awu_max) * scale) +
	       " ]; then");
	P.line("\techo \"note: the device's limits differ from the case's: admission and path may "
	       "differ\"");
	P.line("fi");
	P.line("\"$XFS_IO_PROG\" -c \"statx -r -m 0x10000\" \"$file\" 2>/dev/null | grep "
	       "atomic_write");
	P.line("");

	// ---------------------------------------------------- the CoW fork, last
	if (!cow_steps.empty() || !cow_unreproduced.empty()) {
		P.line("# ---- the CoW fork (approximated; see the header): after the layout "
		       "check, right before the write ----");
		std::stable_sort(
		    cow_steps.begin(), cow_steps.end(),
		    [](const CowStep &x, const CowStep &y) { return !x.buffered && y.buffered; });
		for (const auto &st : cow_steps) {
			P.comment(st.why);
			if (st.make_shared) {
				P.line(pwrite_cmd(B(st.b), rbs, "$donor"));
				P.line("_run \"$XFS_IO_PROG\" -c \"reflink $donor " +
				       std::to_string(B(st.b)) + " " + std::to_string(B(st.b)) +
				       " " + std::to_string(rbs) + "\" \"$file\"");
			}
			if (st.buffered)
				P.line("_run \"$XFS_IO_PROG\" -c \"pwrite -q -S 0x5a5a5a5a -b " +
				       std::to_string(rbs) + " " + std::to_string(B(st.b)) + " " +
				       std::to_string(rbs) +
				       "\" \"$file\"  # no sync: stays dirty");
			else
				P.line(pwrite_cmd(B(st.b), rbs, "$file"));
		}
		for (const auto &u : cow_unreproduced)
			P.comment("CoW fork: " + u);
		P.line("\"$XFS_IO_PROG\" -r -c \"bmap -cv\" \"$file\" 2>/dev/null &&");
		P.line("\techo \"(the CoW fork now, as a CONFIG_XFS_DEBUG kernel shows it)\"");
		P.line("");
	}

	// ---------------------------------------------------------------- the write
	std::string expect_line = expected ? "pwrite: " + std::string(std::strerror(expected))
	                                   : "wrote " + std::to_string(wlen) + "/" +
	                                         std::to_string(wlen) + " bytes at offset " +
	                                         std::to_string(woff);
	P.line("# ---- the atomic write: RWF_ATOMIC|RWF_DSYNC, one iovec, O_DIRECT; new data: "
	       "pattern 0xa5 ----");
	P.line("if [ \"$awrite\" = xfs_io ]; then");
	P.line("\t\"$XFS_IO_PROG\" -d -c \"pwrite -A -D -V1 -b " + std::to_string(wlen) +
	       " -S 0xa5a5a5a5 " + std::to_string(woff) + " " + std::to_string(wlen) +
	       "\" \"$file\" > \"$tmp/write.out\" 2>&1");
	P.line("else");
	P.line("\t# the same pwritev2: O_DIRECT, one iovec, RWF_ATOMIC|RWF_DSYNC, bytes 0xa5");
	P.line("\t\"$UNTORN_PROG\" kernel awrite \"$file\" " + std::to_string(woff) + " " +
	       std::to_string(wlen) + " --dsync --byte 0xa5 > \"$tmp/write.out\" 2>&1");
	P.line("fi");
	P.line("cat \"$tmp/write.out\"");
	P.line("if grep -q \"^wrote " + std::to_string(wlen) + "/" + std::to_string(wlen) +
	       " bytes\" \"$tmp/write.out\"; then");
	P.line("\tgot=\"wrote " + std::to_string(wlen) + "/" + std::to_string(wlen) +
	       " bytes at offset " + std::to_string(woff) + "\"; reads=\"$tmp/new\"");
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

	// ---------------------------------------------------------------- the data
	P.line("data_ok=1");
	P.line("_check_data()");
	P.line("{");
	P.line("\tlocal when=$1");
	P.line("\tif ! cmp -s \"$file\" \"$reads\"; then");
	P.line("\t\techo \"DATA WRONG ($when): the file does not read what it must; differing " +
	       std::to_string(rbs) + "-byte blocks (first 20):\"");
	P.line("\t\tcmp -l \"$file\" \"$reads\" 2>&1 | awk -v bs=" + std::to_string(rbs) +
	       " '/EOF/ { print \"  \" $0; next } { b = int(($1 - 1) / bs); if (!(b in s)) { s[b] "
	       "= 1; print \"  block \" b \": reads \" $2 \" (octal), must read \" $3 } }' | head "
	       "-n 20");
	P.line("\t\tls -l \"$file\" \"$reads\"");
	P.line("\t\tdata_ok=0");
	P.line("\tfi");
	if (donor_size) {
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
	P.line("if [ \"$data_ok\" = 0 ]; then echo \"$seq: FAIL: data\"; exit 1; fi");
	P.line("if [ \"$result_ok\" = 0 ]; then echo \"$seq: result differs from the expected one "
	       "(data is right)\"; exit 3; fi");
	if (!cow_steps.empty())
		P.line("echo \"$seq: outcome as expected (with the CoW fork approximated: "
		       "UNTORN_APPROXIMATE_COW=1; see the header)\"");
	else
		P.line("echo \"$seq: outcome as expected\"");
	P.line("exit 0");

	// ---------------------------------------- what cannot be built, up front
	std::vector<std::string> refuse;
	for (const auto &u : cow_unreproduced)
		refuse.push_back("CoW fork: " + u);
	if (!c.state.alloc.empty()) {
		FileState plain = c.state;
		plain.alloc.clear();
		const Trace t0 = run_atomic_write(plain, c.write, c.variant);
		const Judgement j0 = Spec(Engine::compiled).judge(t0);
		auto verdict = [](const Judgement &x) {
			return std::string(verdict_name(x.verdict)) +
			       (x.findings.empty() ? "" : " [" + join(x.broken_names()) + "]");
		};
		if (t0.result != t.result || t0.path != t.path || verdict(j0) != verdict(j)) {
			std::string a;
			for (const auto &x : c.state.alloc)
				a += (a.empty() ? "" : ", ") + std::to_string(x.startblock) + "+" +
				     std::to_string(x.blockcount);
			refuse.push_back(
			    "the case's outcome rests on its allocator answers (alloc: " + a +
			    "; the model gives result " + result_name(t.result) + ", path " +
			    std::string(path_name(t.path)) + ", verdict " + verdict(j) +
			    " with them and result " + result_name(t0.result) + ", path " +
			    std::string(path_name(t0.path)) + ", verdict " + verdict(j0) +
			    " with the default policy), and XFS's allocator cannot be told "
			    "what to answer");
		}
	}
	std::string refusal;
	if (!refuse.empty() || !cow_steps.empty()) {
		refusal += "# ---- what this script cannot build: refused before anything is made "
		           "----\n";
		for (const auto &r : refuse) {
			refusal += comment_block(r);
			refusal += "_notrepro " + shell_quote(r) + "\n";
		}
		if (refuse.empty()) {
			std::string cow;
			for (const auto &e : c.state.cow_fork)
				cow += (cow.empty() ? "" : "; ") + extent_words(g, e);
			const std::string why = "the case has a CoW fork (" + cow +
			                        "), which user space cannot build and a kernel "
			                        "without CONFIG_XFS_DEBUG "
			                        "cannot show; UNTORN_APPROXIMATE_COW=1 runs the "
			                        "approximation the header "
			                        "describes, unverified";
			refusal += comment_block(why);
			refusal += "[ \"${UNTORN_APPROXIMATE_COW:-0}\" = 1 ] ||\n\t_notrepro " +
			           shell_quote(why) + "\n";
		}
		refusal += "\n";
	}
	std::string out = S.str();
	out.replace(out.find(kRefusalMarker), std::string(kRefusalMarker).size(), refusal);

	if (device_bytes)
		*device_bytes = fsbytes ? fsbytes : kMinFsBytes;
	return out;
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
