// Tests of `untorn explain` (checker/src/explain.cpp): the picture's
// characters sit at the expected columns, the SVG is well-formed and draws
// one rectangle per cell, every branch points at a real BRANCH() line of the
// kernel model, the judgement names the invariant and its kernel origin, the
// crash illustration says which blocks read old and which new, and a bad
// case exits 2.
#include "commands.h"
#include "explain.h"

#include <catch2/catch.hpp>
#include <set>
#include <map>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace untorn;
using namespace untorn::explain;
namespace fs = std::filesystem;

namespace {

const std::string kSource = UNTORN_SOURCE_DIR;
const std::string kWrittenFinding = kSource + "/corpus/findings/v6.16/v6.16-hole-runs-to-next-cow-extent-written.json";
const std::string kSharedCase = kSource + "/corpus/fstests/v6.16-shared-unshared-shared-sw.json";

struct Ran {
	Case c;
	Trace t;
	Layout l;
};

Ran run_case(const std::string &file)
{
	Ran r;
	r.c = load_case_file(file);
	r.t = run_atomic_write(r.c.state, r.c.write, r.c.variant);
	r.l = build_layout(r.t, case_title(r.c, r.t));
	return r;
}

std::vector<std::string> lines_of(const std::string &s)
{
	std::vector<std::string> v;
	std::istringstream in(s);
	for (std::string line; std::getline(in, line);)
		v.push_back(line);
	return v;
}

// The n-th (0-based) text line whose label is `label` (the before section
// comes first, then after).
std::string text_row(const std::string &text, const std::string &label, int n = 0)
{
	for (const auto &line : lines_of(text))
		if (line.rfind("    " + label + " ", 0) == 0 && line.size() > kCellsColumn && n-- == 0)
			return line;
	return "";
}

char at_col(const std::string &line, uint64_t col)
{
	return kCellsColumn + col < line.size() ? line[kCellsColumn + col] : '\0';
}

// A minimal XML well-formedness check: tags balance, attribute values are
// quoted, text holds no raw '<' and every '&' starts an entity.
bool well_formed(const std::string &x, std::string *why)
{
	std::vector<std::string> open;
	size_t i = 0;
	while (i < x.size()) {
		if (x[i] == '&') {
			size_t semi = x.find(';', i);
			if (semi == std::string::npos || semi - i > 6)
				return *why = "bare & at " + std::to_string(i), false;
			i = semi + 1;
			continue;
		}
		if (x[i] != '<') {
			i++;
			continue;
		}
		size_t j = i + 1;
		char quote = 0;
		while (j < x.size() && (quote || x[j] != '>')) {
			if (quote && x[j] == quote)
				quote = 0;
			else if (!quote && (x[j] == '"' || x[j] == '\''))
				quote = x[j];
			else if (!quote && x[j] == '<')
				return *why = "'<' inside a tag at " + std::to_string(j), false;
			j++;
		}
		if (j == x.size())
			return *why = "unterminated tag at " + std::to_string(i), false;
		std::string tag = x.substr(i + 1, j - i - 1);
		i = j + 1;
		if (tag.empty())
			return *why = "empty tag", false;
		if (tag[0] == '?' || tag[0] == '!')
			continue;
		if (tag[0] == '/') {
			std::string name = tag.substr(1);
			if (open.empty() || open.back() != name)
				return *why = "</" + name + "> closes <" + (open.empty() ? "" : open.back()) + ">", false;
			open.pop_back();
			continue;
		}
		if (tag.back() == '/')
			continue;
		open.push_back(tag.substr(0, tag.find_first_of(" \t\n")));
	}
	if (!open.empty())
		return *why = "<" + open.back() + "> never closed", false;
	return true;
}

size_t count(const std::string &s, const std::string &what)
{
	size_t n = 0;
	for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1))
		n++;
	return n;
}

std::string trimmed(std::string s)
{
	while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
		s.pop_back();
	return s;
}

// A hardware-path write of 4 blocks in place over [0+4 @8], one bio, no
// transaction: the simplest trace a crash can tear (a plain bio may persist
// any subset of its blocks).
Trace in_place_trace(bool req_atomic, xfs_fsblock_t fsbno)
{
	Trace t;
	t.variant = Variant::v6_16;
	t.initial.geo.block_size = 4096;
	t.initial.geo.ag_blocks = 1024;
	t.initial.geo.ag_count = 1;
	t.initial.geo.reflink = true;
	t.initial.dev = {4096, 65536};
	t.initial.data_fork = {{0, fsbno, 4, XFS_EXT_NORM}};
	t.write = {0, 16384};
	t.admitted = true;
	t.path = Path::hw;
	t.bytes_written = 16384;
	t.awu_min = 4096;
	t.awu_max = 65536;
	Bio b;
	b.file_off = 0;
	b.fsbno = fsbno;
	b.daddr = fsbno;
	b.nblocks = 4;
	b.req_atomic = req_atomic;
	t.bios = {b};
	t.timeline = {{TraceEvent::bio, 0}};
	t.final_state = t.initial;
	return t;
}

// Captures std::cout for the lifetime of the object.
struct CaptureStdout {
	std::ostringstream buf;
	std::streambuf *old;
	CaptureStdout() : old(std::cout.rdbuf(buf.rdbuf())) {}
	~CaptureStdout() { std::cout.rdbuf(old); }
};

fs::path temp_dir()
{
	fs::path d = fs::temp_directory_path() / ("untorn-explain-test-" + std::to_string(::getpid()));
	fs::create_directories(d);
	return d;
}

} // namespace

TEST_CASE("explain: the window covers the write with a margin, scaled when wide", "[explain]")
{
	Window w = choose_window(0, 1);
	CHECK(w.first == 0);
	CHECK(w.scale == 1);
	CHECK(w.cells == 5);
	CHECK(w.column(0) == 0u);
	CHECK(!w.column(5));

	Window m = choose_window(100, 116);
	CHECK(m.first == 96);
	CHECK(m.end() == 120);
	CHECK(m.column(100) == 4u);

	Window wide = choose_window(0, 1024);
	CHECK(wide.scale > 1);
	CHECK(wide.cells <= kMaxCells);
	CHECK(wide.end() >= 1024 + 4);
	CHECK(wide.column(1023).has_value());
}

TEST_CASE("explain: the v6.16 finding's layout, character by character", "[explain]")
{
	Ran r = run_case(kWrittenFinding);
	REQUIRE(r.l.win.first == 0);
	REQUIRE(r.l.win.scale == 1);
	const std::string text = render_text(r.l);

	// before: no data, a written CoW extent at block 2; the write is block 0
	std::string data = text_row(text, "data fork"), cow = text_row(text, "cow fork"), wr = text_row(text, "write");
	REQUIRE(!cow.empty());
	CHECK(data.substr(kCellsColumn, 5) == ".....");
	CHECK(at_col(cow, 0) == '.');
	CHECK(at_col(cow, 1) == '.');
	CHECK(at_col(cow, 2) == 'W');
	CHECK(at_col(wr, 0) == '=');
	CHECK(at_col(wr, 1) == ' ');
	CHECK(at_col(text_row(text, "grid len"), 0) == '|');

	// after: block 0 written in the data fork; the stale block 1 left written
	// in the CoW fork beside the untouched block 2 -- the bug, visible.
	std::string data_after = text_row(text, "data fork", 1), cow_after = text_row(text, "cow fork", 1);
	CHECK(at_col(data_after, 0) == 'N');
	CHECK(at_col(data_after, 1) == '.');
	CHECK(at_col(cow_after, 0) == '.');
	CHECK(at_col(cow_after, 1) == 'W');
	CHECK(at_col(cow_after, 2) == 'W');

	// the rows themselves, as the SVG sees them
	REQUIRE(r.l.find(RowKind::cow, Section::after));
	CHECK(r.l.find(RowKind::cow, Section::after)->cells == ".WW..");
}

TEST_CASE("explain: shared blocks, AGs and disk alignment of an fstests case", "[explain]")
{
	// data [0+1 @1040 shared][1+1 @3077][2+30 @1042 shared], ag_blocks 1024,
	// a 16-block write at 0.
	Ran r = run_case(kSharedCase);
	const std::string text = render_text(r.l);
	std::string shared = text_row(text, "shared");
	CHECK(at_col(shared, 0) == 'S');
	CHECK(at_col(shared, 1) == '.');
	CHECK(at_col(shared, 2) == 'S');
	CHECK(at_col(shared, 15) == 'S');

	std::string ag = text_row(text, "disk: AG");
	CHECK(at_col(ag, 0) == '1');
	CHECK(at_col(ag, 1) == '3'); // fsbno 3077 = AG 3 agbno 5
	CHECK(at_col(ag, 2) == '1');

	std::string aligned = text_row(text, "disk: aligned");
	CHECK(at_col(aligned, 0) == '|');  // disk 1040 = 65 * 16
	CHECK(at_col(aligned, 1) == '-');  // disk 3077
	CHECK(at_col(aligned, 16) == '|'); // disk 1056

	std::string grid = text_row(text, "grid len");
	CHECK(at_col(grid, 0) == '|');
	CHECK(at_col(grid, 1) == '-');
	CHECK(at_col(grid, 16) == '|');

	CHECK(text.find("[1+1 @3077]: file [1, 2) -> disk [3077, 3078), AG 3") != std::string::npos);
	CHECK(text.find("disk start NOT aligned to the 16 blocks of the write") != std::string::npos);
}

TEST_CASE("explain: the SVG is well-formed, one rect per cell, the write range and AG boundaries", "[explain]")
{
	Ran r = run_case(kSharedCase);
	const std::string svg = render_svg(r.l);
	std::string why;
	CHECK(well_formed(svg, &why));
	INFO(why);
	CHECK(svg.rfind("<svg", 0) == 0);
	CHECK(trimmed(svg).ends_with("</svg>"));
	CHECK(count(svg, "<rect class=\"block\"") == r.l.rows.size() * r.l.win.cells);
	CHECK(count(svg, "id=\"write-range\"") == 1);
	// before: AG 1 | AG 3 | AG 1; after: AG 0 | AG 1 (the new extent at fsbno 1)
	CHECK(count(svg, "class=\"ag-boundary\"") == 3);
	CHECK(count(svg, "class=\"grid\"") >= 2);	  // blocks 0 and 16

	Ran f = run_case(kWrittenFinding);
	const std::string svg2 = render_svg(f.l);
	CHECK(well_formed(svg2, &why));
	CHECK(count(svg2, "<rect class=\"block\"") == f.l.rows.size() * f.l.win.cells);
}

TEST_CASE("explain: a wide write is scaled down and says so", "[explain]")
{
	Trace t = in_place_trace(false, 8);
	t.write = {0, 4096ull * 1024};
	t.initial.data_fork = {{0, 1024, 1024, XFS_EXT_NORM}};
	t.final_state = t.initial;
	Layout l = build_layout(t, "wide");
	CHECK(l.win.scale > 1);
	for (const auto &row : l.rows)
		CHECK(row.cells.size() == l.win.cells);
	CHECK(render_text(l).find("file blocks (the range is wide)") != std::string::npos);
	std::string why;
	const std::string svg = render_svg(l);
	CHECK(well_formed(svg, &why));
	CHECK(count(svg, "<rect class=\"block\"") == l.rows.size() * l.win.cells);
}

TEST_CASE("explain: every branch points at its BRANCH() in the kernel model's source", "[explain]")
{
	for (const auto &file : collect_case_files({kSource + "/corpus"})) {
		Case c = load_case_file(file);
		Trace t = run_atomic_write(c.state, c.write, c.variant);
		std::vector<Branch> all = t.file_branches;
		for (const auto &call : t.calls)
			all.insert(all.end(), call.branches.begin(), call.branches.end());
		for (const auto &b : all) {
			REQUIRE(b.file != nullptr);
			// sources generated into the build tree (the what-ifs) are named
			// relative to it, the others relative to the repository
			std::string src = kSource + "/" + std::string(b.file);
			if (!std::filesystem::exists(src))
				src = std::string(UNTORN_BINARY_DIR) + "/" + std::string(b.file);
			std::ifstream in(src);
			REQUIRE(in);
			std::vector<std::string> lines;
			for (std::string line; std::getline(in, line);)
				lines.push_back(line);
			REQUIRE(b.line >= 1);
			REQUIRE(size_t(b.line) <= lines.size());
			// every BRANCH(...) is on one line, so __LINE__ is that line for any compiler
			const std::string window = lines[size_t(b.line - 1)];
			const std::string head = std::string(b.cond).substr(0, 12);
			INFO(file.string() << ": " << b.func << " line " << b.line << " in " << src << ": " << b.cond);
			CHECK(window.find("BRANCH(") != std::string::npos);
			CHECK(window.find(head) != std::string::npos);
		}
	}
}

TEST_CASE("explain: the trace section lists decisions with their source lines", "[explain]")
{
	Ran r = run_case(kWrittenFinding);
	const std::string d = format_decisions(r.t);
	CHECK(d.find("iomap_begin #1 via xfs_atomic_write_cow_iomap_ops") != std::string::npos);
	CHECK(d.find("xfs_atomic_write_cow_iomap_begin: if (cmap.br_state != XFS_EXT_NORM) -> taken   "
		     "[impl/variants/v6_16.cpp:") != std::string::npos);
	CHECK(d.find("generic_atomic_write_valid: if (!is_power_of_2(w.length)) -> not taken   [impl/src/xfs_kernel.cpp:") !=
	      std::string::npos);
	CHECK(d.find("returns IOMAP_MAPPED [0+2 @2]") != std::string::npos);
	CHECK(d.find("bio 0: file blocks [0, 1)") != std::string::npos);
	// xfs_reflink_convert_cow_locked changes the in-core CoW fork only: not a
	// transaction, and said so, so the remap is transaction 1 (0 is the CoW
	// allocation)
	CHECK(d.find("in-core change, no transaction: xfs_reflink_convert_cow_locked: in-core cow fork: convert "
		     "[0+2 @2] to written") != std::string::npos);
	CHECK(d.find("transaction 1 (xfs_reflink_end_atomic_cow)") != std::string::npos);
	CHECK(d.find("transaction 2") == std::string::npos);
}

TEST_CASE("explain: a file-level decision comes after the call that caused it", "[explain]")
{
	// the hardware ops refuse the shared layout (-ENOPROTOOPT); the retry's
	// decision is taken in xfs_file_dio_write_atomic after that call returned
	Ran r = run_case(kSharedCase);
	const std::string d = format_decisions(r.t);
	const size_t call1 = d.find("iomap_begin #1 via xfs_direct_write_iomap_ops");
	const size_t retry = d.find("if (ret == -ENOPROTOOPT && dops == &direct_ops) -> taken");
	const size_t call2 = d.find("iomap_begin #2 via xfs_atomic_write_cow_iomap_ops");
	const size_t admission = d.find("generic_atomic_write_valid: if (!is_power_of_2(w.length))");
	REQUIRE(call1 != std::string::npos);
	REQUIRE(retry != std::string::npos);
	REQUIRE(call2 != std::string::npos);
	CHECK(admission < call1);
	CHECK(call1 < retry);
	CHECK(retry < call2);
	CHECK(r.t.file_branch_at.size() == r.t.file_branches.size());
}

TEST_CASE("explain: v6.18 names the software path's test as the kernel does", "[explain]")
{
	Ran r = run_case(kSource + "/corpus/fstests/v6.18-beyond-eof-16blocks-sw.json");
	const std::string d = format_decisions(r.t);
	CHECK(d.find("xfs_atomic_write_cow_iomap_begin: if (!xfs_can_sw_atomic_write(ip))") != std::string::npos);
	CHECK(d.find("geo.reflink") == std::string::npos);
}

// The fill of the first block rect whose title contains `what`.
std::string fill_of(const std::string &svg, const std::string &what)
{
	const size_t t = svg.find(what);
	if (t == std::string::npos)
		return "";
	const size_t r = svg.rfind("<rect class=\"block\"", t);
	const size_t f = svg.find("fill=\"", r);
	return r == std::string::npos || f == std::string::npos ? "" : svg.substr(f + 6, 7);
}

TEST_CASE("explain: the picture shows the result, the verdict, mappings, bios and what makes the finding", "[explain]")
{
	Ran r = run_case(kWrittenFinding);
	const Judgement j = Spec(Engine::z3).judge(r.t);
	const Layout l = layout_with_crash(r.t, j, r.l);
	const std::string svg = render_svg(l);
	std::string why;
	CHECK(well_formed(svg, &why));
	INFO(why);
	CHECK(svg.find(">result: ok (1024 bytes), path sw") != std::string::npos);
	CHECK(svg.find(">verdict (Z3): violation -- outside_unchanged (violation), sw_mapping_contract (violation)") !=
	      std::string::npos);
	REQUIRE(l.find(RowKind::mapping, Section::io));
	CHECK(l.find(RowKind::mapping, Section::io)->cells == "MM   ");
	REQUIRE(l.find(RowKind::bio, Section::io));
	CHECK(l.find(RowKind::bio, Section::io)->cells == "P    ");
	CHECK(svg.find("IOMAP_MAPPED [0+2 @2] = bytes [0, 2048) IOMAP_F_SHARED") != std::string::npos);
	CHECK(svg.find("-&gt; fsbno 2 = disk 2 (AG 0 agbno 2), plain, new data") != std::string::npos);
	// the stale CoW block 1 after the write, and the mapping's block 1 past the write
	REQUIRE(l.marks.size() == 2);
	CHECK(l.marks[0].invariant == "outside_unchanged");
	CHECK(l.rows[l.marks[0].row].kind == RowKind::cow);
	CHECK(l.rows[l.marks[0].row].section == Section::after);
	CHECK(l.marks[0].c0 == 1);
	CHECK(l.marks[0].c1 == 2);
	CHECK(l.marks[1].invariant == "sw_mapping_contract");
	CHECK(l.rows[l.marks[1].row].kind == RowKind::mapping);
	CHECK(l.marks[1].c0 == 1);
	CHECK(count(svg, "class=\"mark\"") == 2);
	// the CoW fork's disk rows, after the write too
	CHECK(l.find(RowKind::disk_ag, Section::after));
	CHECK(l.find(RowKind::fsbno_aligned, Section::after));
	CHECK(text_row(render_text(l), "cow disk: AG", 1).find(".00..") != std::string::npos);
	// in-core changes are not transactions
	bool incore = false;
	for (const auto &s : l.steps)
		if (s.find("xfs_reflink_convert_cow_locked") != std::string::npos) {
			CHECK(s.rfind("in-core change, no transaction: ", 0) == 0);
			incore = true;
		}
	CHECK(incore);
	// a one-block write: its grid row is a row of ticks on light cells, not a black bar
	for (size_t p = svg.find("<title>grid len,"); p != std::string::npos; p = svg.find("<title>grid len,", p + 1)) {
		const size_t r0 = svg.rfind("<rect class=\"block\"", p);
		const std::string fill = svg.substr(svg.find("fill=\"", r0) + 6, 7);
		CHECK((fill == "#e2ecf7" || fill == "#f7f7f7"));
	}
}

TEST_CASE("explain: no AG shares a colour with a fork state", "[explain]")
{
	Ran shared = run_case(kSharedCase); // AGs 1 and 3
	Ran written = run_case(kWrittenFinding);
	const std::string a = render_svg(shared.l), w = render_svg(written.l);
	const std::string ag3 = fill_of(a, ": AG 3"), ag1 = fill_of(a, ": AG 1");
	REQUIRE(!ag3.empty());
	REQUIRE(!ag1.empty());
	CHECK(ag1 != ag3);
	for (const std::string &fork : {fill_of(w, ": written CoW staging"), fill_of(a, ": written<"),
				       fill_of(a, ": shared (refcount"), fill_of(a, ": in the write")}) {
		REQUIRE(!fork.empty());
		CHECK(fork != ag3);
		CHECK(fork != ag1);
	}
}

TEST_CASE("explain: fsbno alignment and disk alignment are both drawn, and differ where they do", "[explain]")
{
	// ag_blocks 1000 (agblklog 10): fsbno 1040 is AG 1 agbno 16, disk block
	// 1016; a 16-block write there has an aligned fsbno and a misaligned
	// disk block -- IS_ALIGNED(br_startblock, ...) passes, the disk is not
	Trace t = in_place_trace(true, 1040);
	t.initial.geo.ag_blocks = 1000;
	t.initial.geo.ag_count = 2;
	t.initial.data_fork = {{0, 1040, 16, XFS_EXT_NORM}};
	t.write = {0, 65536};
	t.bios[0].nblocks = 16;
	t.bios[0].daddr = 1016;
	t.final_state = t.initial;
	const Layout l = build_layout(t, "fsbno");
	const std::string text = render_text(l);
	CHECK(at_col(text_row(text, "fsbno: aligned"), 0) == '|');
	CHECK(at_col(text_row(text, "disk: aligned"), 0) == '-');
}

TEST_CASE("explain: solver-sized offsets break the ruler's axis", "[explain]")
{
	Trace t = in_place_trace(false, 8);
	const uint64_t base = 274877906944ull; // 2^38 file blocks: 2^50 bytes
	t.write = {base * 4096, 16384};
	t.initial.data_fork = {{base, 8, 4, XFS_EXT_NORM}};
	t.bios[0].file_off = base;
	t.final_state = t.initial;
	const Layout l = build_layout(t, "far");
	const std::string svg = render_svg(l);
	std::string why;
	CHECK(well_formed(svg, &why));
	CHECK(svg.find("class=\"axis-break\"") != std::string::npos);
	CHECK(svg.find(">file block " + std::to_string(l.win.first) + " +</text>") != std::string::npos);
	// every other ruler label is short
	for (size_t p = svg.find("class=\"ruler\">"); p != std::string::npos; p = svg.find("class=\"ruler\">", p + 1)) {
		const size_t b = p + 14, e = svg.find("</text>", b);
		CHECK(e - b <= 6);
	}
}

TEST_CASE("explain: a branch names the file that decided it", "[explain]")
{
	// v6.18 runs its own CoW ->iomap_begin and v6.16's hardware one.
	Ran r = run_case(kSource + "/corpus/regressions/v6.18-convert-cow-skips-delalloc.json");
	std::map<std::string, std::set<std::string>> files; // func -> files
	for (const auto &call : r.t.calls)
		for (const auto &b : call.branches)
			files[b.func].insert(b.file ? b.file : "");
	CHECK(files["xfs_atomic_write_cow_iomap_begin"] == std::set<std::string>{"impl/variants/v6_18.cpp"});
	CHECK(files["xfs_direct_write_iomap_begin"] == std::set<std::string>{"impl/variants/v6_16.cpp"});
	for (const auto &b : r.t.file_branches)
		if (std::string(b.func) == "generic_atomic_write_valid")
			CHECK(std::string(b.file) == "impl/src/xfs_kernel.cpp");
}

TEST_CASE("explain: a violating case's judgement names the invariant, what it forbids and its kernel origin", "[explain]")
{
	Ran r = run_case(kWrittenFinding);
	Spec spec(Engine::z3);
	Judgement j = spec.judge(r.t);
	REQUIRE(j.verdict == Verdict::violation);
	const std::string text = explain_case(r.c, r.t, j);
	for (const char *name : {"outside_unchanged", "sw_mapping_contract"}) {
		const InvariantInfo *info = nullptr;
		for (const auto &i : invariant_catalogue())
			if (std::string(i.name) == name)
				info = &i;
		REQUIRE(info);
		CHECK(text.find(std::string("  ") + name + " (violation)") != std::string::npos);
		CHECK(text.find(std::string("forbids: ") + info->forbids) != std::string::npos);
		CHECK(text.find(std::string("origin:  ") + info->origin) != std::string::npos);
	}
	CHECK(text.find("verdict (Z3, the reference engine): violation") != std::string::npos);
	CHECK(text.find("-- as happened") != std::string::npos);
}

TEST_CASE("explain: a witness is a crash state, rendered as one line", "[explain]")
{
	Witness w = Witness::of({2, {{0, true}, {2, false}}, 3});
	REQUIRE(w.crash_state());
	CHECK(w.crash_state()->committed == 2);
	CHECK(w.text() == "crash with 2 of 3 transactions committed; REQ_ATOMIC bio 0 persisted; "
	                  "REQ_ATOMIC bio 2 lost");
	CHECK(!Witness::any().crash_state());
	CHECK(Witness::any().text() == "holds for every crash state");
	CHECK(Witness{}.empty());
	CHECK(Witness{}.text().empty());
}

TEST_CASE("explain: which blocks read old and which new after the witness's crash", "[explain]")
{
	SECTION("a plain bio in flight: a split tears it")
	{
		Trace t = in_place_trace(false, 8);
		CrashIllustration ill = illustrate_crash(t, {0, {}});
		CHECK(ill.torn);
		CHECK(ill.reads == "NNOO");
		REQUIRE(ill.bios.size() == 1);
		CHECK(ill.bios[0].find("its first 2 blocks persisted, the other 2 lost") != std::string::npos);
	}
	SECTION("a valid REQ_ATOMIC bio: whole or nothing, as the witness says")
	{
		Trace t = in_place_trace(true, 8); // 16 KiB at disk block 8: aligned
		CrashIllustration in = illustrate_crash(t, {0, {{0, true}}});
		CHECK(in.reads == "NNNN");
		CHECK(!in.torn);
		CHECK(illustrate_crash(t, {0, {{0, false}}}).reads == "OOOO");
	}
	SECTION("a REQ_ATOMIC bio the device cannot write atomically (misaligned on disk) can tear")
	{
		Trace t = in_place_trace(true, 9);
		CrashIllustration ill = illustrate_crash(t, {0, {{0, true}}});
		CHECK(ill.torn);
		CHECK(ill.reads == "NNOO");
	}
	SECTION("a bio is durable once a later transaction committed")
	{
		Trace t = in_place_trace(false, 8);
		t.txns.push_back({"xfs_iomap_write_unwritten", "nothing", t.initial.data_fork, {}, {}});
		CHECK(illustrate_crash(t, {1, {}}).reads == "NNNN");
	}
}

TEST_CASE("explain: a torn write, judged by Z3, is explained block by block", "[explain]")
{
	Trace t = in_place_trace(false, 8);
	Spec spec(Engine::z3);
	Judgement j = spec.judge(t);
	auto names = j.broken_names();
	REQUIRE(std::find(names.begin(), names.end(), "torn_write") != names.end());
	Layout l = build_layout(t, "torn");
	const std::string text = format_judgement_explained(t, j, l);
	CHECK(text.find("torn_write (violation)") != std::string::npos);
	CHECK(text.find("origin:  RWF_ATOMIC") != std::string::npos);
	CHECK(text.find("ILLUSTRATION") != std::string::npos);
	CHECK(text.find("blocks [0, 2) read new; blocks [2, 4) read old") != std::string::npos);
	std::string reads = text_row(text, "reads");
	CHECK(reads.substr(kCellsColumn, 4) == "NNOO");

	Layout pic = layout_with_crash(t, j, l);
	REQUIRE(pic.find(RowKind::reads, Section::crash));
	const std::string svg = render_svg(pic);
	std::string why;
	CHECK(well_formed(svg, &why));
	CHECK(count(svg, "<rect class=\"block\"") == pic.rows.size() * pic.win.cells);
}

TEST_CASE("explain: the command -- output, picture, and bad input exits 2", "[explain]")
{
	fs::path dir = temp_dir();
	SECTION("a corpus case with --svg")
	{
		CaptureStdout cap;
		int rc = cmd_explain({{kWrittenFinding}, (dir / "x.svg").string()});
		CHECK(rc == EXIT_CLEAN);
		CHECK(cap.buf.str().find("1. layout") != std::string::npos);
		CHECK(cap.buf.str().find("outside_unchanged (violation)") != std::string::npos);
		std::ifstream in(dir / "x.svg");
		std::stringstream svg;
		svg << in.rdbuf();
		CHECK(svg.str().rfind("<svg", 0) == 0);
	}
	SECTION("a missing case file")
	{
		CaptureStdout cap;
		CHECK(cmd_explain({{(dir / "no-such-case.json").string()}, ""}) == EXIT_BAD_INPUT);
		CHECK(cap.buf.str().empty());
	}
	SECTION("a malformed case file")
	{
		std::ofstream(dir / "bad.json") << "{ \"format\": \"untorn-case/1\", ";
		CHECK(cmd_explain({{(dir / "bad.json").string()}, ""}) == EXIT_BAD_INPUT);
	}
	SECTION("a picture that cannot be written")
	{
		CaptureStdout cap;
		CHECK(cmd_explain({{kWrittenFinding}, (dir / "no-such-dir" / "x.svg").string()}) == EXIT_BAD_INPUT);
	}
	fs::remove_all(dir);
}

TEST_CASE("explain: an interleaved action shows at its drop point among the call's decisions",
          "[explain][interleave]")
{
	Ran r = run_case(std::string(UNTORN_SOURCE_DIR) +
	                 "/corpus/interleave/v6.16-fault-reserves-cow-during-unlock-eio.json");
	Spec spec(Engine::compiled);
	const std::string text = explain_case(r.c, r.t, spec.judge(r.t));
	// the header lists it; the decisions show it between the first lookup and the second
	CHECK(text.find("at drop point 0: buffered_cow_reservation over file blocks [0, 4)") != std::string::npos);
	const auto drop = text.find("-- xfs_atomic_write_cow_iomap_begin drops the ILOCK (drop point 0): another actor: "
	                            "buffered_cow_reservation file blocks [0, 4); ILOCK retaken --");
	REQUIRE(drop != std::string::npos);
	const auto first = text.find("if (cmap.br_startoff <= offset_fsb) -> not taken");
	const auto second = text.find("if (cmap.br_startoff <= offset_fsb) -> taken");
	CHECK(first < drop);
	CHECK(drop < second);
	CHECK(text.find("xfs_bmapi_reserve_delalloc: cow fork: reserve [0+4 delalloc]") != std::string::npos);
}
