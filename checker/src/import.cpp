// `untorn import`: the output of `xfs_bmap -v`, `xfs_io -c 'fiemap -v'` or
// `filefrag -v` for one file, turned into an untorn-case/1 skeleton.  Every
// format is parsed strictly: a line that is not what the tool prints is an
// error naming the file and line.
#include "commands.h"
#include "text.h"
#include "untorn/checker.h"
#include "untorn/model.h"
#include "xfsio.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace untorn
{

namespace fs = std::filesystem;
using xfsio::kBB;
using xfsio::safe_name;

namespace
{

struct ImportError {
	std::string msg;
};

struct RawExtent {
	size_t line = 0;
	uint64_t off = 0, len = 0; // bytes
	bool hole = false;
	uint64_t phys = 0;            // bytes (disk address)
	bool have_ag = false;         // xfs_bmap -v: AG and AG-OFFSET
	uint64_t agno = 0, agoff = 0; // agoff in bytes
	bool unwritten = false, shared = false;
};

struct Parsed {
	std::string format;
	std::vector<RawExtent> ext;
	uint64_t unit_bytes = 0; // filefrag: the block size it counted in (0 = not stated)
	std::vector<std::string> warnings;
};

std::string trim(std::string_view s)
{
	size_t b = 0, e = s.size();
	while (b < e && std::isspace(static_cast<unsigned char>(s[b])))
		b++;
	while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])))
		e--;
	return std::string(s.substr(b, e - b));
}

std::vector<std::string> words(std::string_view s)
{
	std::vector<std::string> w;
	std::istringstream in{std::string(s)};
	std::string x;
	while (in >> x)
		w.push_back(x);
	return w;
}

bool parse_u64(std::string_view s, uint64_t *v, int base = 10)
{
	if (s.empty())
		return false;
	uint64_t r = 0;
	for (char ch : s) {
		int d;
		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (base == 16 && ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else if (base == 16 && ch >= 'A' && ch <= 'F')
			d = ch - 'A' + 10;
		else
			return false;
		if (d >= base || r > (UINT64_MAX - uint64_t(d)) / uint64_t(base))
			return false;
		r = r * uint64_t(base) + uint64_t(d);
	}
	*v = r;
	return true;
}

// "A..B" with A <= B, whitespace allowed around the numbers.
bool parse_range(std::string_view s, uint64_t *a, uint64_t *b)
{
	std::string t;
	for (char ch : s)
		if (!std::isspace(static_cast<unsigned char>(ch)))
			t.push_back(ch);
	size_t dots = t.find("..");
	if (dots == std::string::npos)
		return false;
	return parse_u64(std::string_view(t).substr(0, dots), a) &&
	       parse_u64(std::string_view(t).substr(dots + 2), b) && *a <= *b;
}

// "N:" -- the extent number column.
bool is_index(std::string_view w)
{
	if (w.size() < 2 || w.back() != ':')
		return false;
	uint64_t v;
	return parse_u64(w.substr(0, w.size() - 1), &v);
}

struct LineReader {
	const std::string &name;
	[[noreturn]] void fail(size_t line, const std::string &what) const
	{
		throw ImportError{name + ":" + std::to_string(line) + ": " + what};
	}
};

uint64_t bb_bytes(const LineReader &r, size_t ln, uint64_t a, uint64_t b)
{
	if (b - a + 1 > (UINT64_MAX / kBB) || a > UINT64_MAX / kBB)
		r.fail(ln, "number out of range");
	return (b - a + 1) * kBB;
}

// xfs_bmap -v prints "FILE: no extents" for a file with no blocks at all.
static bool is_no_extents_line(const std::string &l)
{
	return l.size() > 12 && l.compare(l.size() - 12, 12, ": no extents") == 0;
}

// The extent line's file offset column "[START..END]:" (xfs_bmap -v, fiemap
// -v), already checked to be bracketed: START and the length, in bytes.
RawExtent file_range(const LineReader &r, size_t ln, const std::string &col)
{
	RawExtent e;
	e.line = ln;
	uint64_t a, b;
	if (!parse_range(std::string_view(col).substr(1, col.size() - 3), &a, &b))
		r.fail(ln, "expected a file offset range [START..END] in 512-byte units, got \"" +
		               col + "\"");
	e.off = a * kBB;
	e.len = bb_bytes(r, ln, a, b);
	return e;
}

// "N: [START..END]: ..." of xfs_bmap -v and fiemap -v, of four words or more.
bool is_extent_line(const std::vector<std::string> &w)
{
	return w.size() >= 4 && is_index(w[0]) && w[1].size() >= 3 && w[1].front() == '[' &&
	       w[1].substr(w[1].size() - 2) == "]:";
}

// The start of an extent line of xfs_bmap -v or fiemap -v, whose shape the
// tool's `form` says: the file range.
RawExtent extent_line_start(const LineReader &r, size_t ln, const std::string &l,
                            const std::vector<std::string> &w, const std::string &form)
{
	if (!is_extent_line(w))
		r.fail(ln, "expected an extent line " + form + ", got \"" + l + "\"");
	return file_range(r, ln, w[1]);
}

// "N: [START..END]: hole TOTAL" (xfs_bmap -v: or delalloc), with TOTAL the
// range's length.
void check_hole_line(const LineReader &r, size_t ln, const std::string &l,
                     const std::vector<std::string> &w, const RawExtent &e)
{
	uint64_t total;
	if (w.size() != 4 || !parse_u64(w[3], &total) || total * kBB != e.len)
		r.fail(ln, "expected \"N: [START..END]: " + w[2] +
		               " TOTAL\" with TOTAL = END-START+1, got \"" + l + "\"");
}

// A line "FILE:" that names the file the map is of.
bool is_file_name_line(const std::string &l, const std::vector<std::string> &w)
{
	return l.back() == ':' && !is_index(w[0]);
}

// A "FILE:" line after the header: the file's name before its extent lines
// (skipped), a second file's map after them (an error).
bool skip_file_name_line(const LineReader &r, size_t ln, const std::string &l,
                         const std::vector<std::string> &w, bool rows)
{
	if (!is_file_name_line(l, w))
		return false;
	if (rows)
		r.fail(ln, "a second file's map (\"" + l + "\"): import one file at a time");
	return true;
}

// xfs_bmap -v's header line, "EXT: FILE-OFFSET ..." (checked by the caller).
void check_xfs_bmap_header(const LineReader &r, size_t ln, const std::vector<std::string> &w)
{
	if (w.size() >= 3 && w[2] == "RT-BLOCK-RANGE")
		r.fail(ln, "a realtime file: untorn models the data device only");
	if (w.size() < 6 || w.size() > 7 || w[2] != "BLOCK-RANGE" || w[3] != "AG" ||
	    w[4] != "AG-OFFSET" || w[5] != "TOTAL" || (w.size() == 7 && w[6] != "FLAGS"))
		r.fail(ln, "expected the header \"EXT: FILE-OFFSET "
		           "BLOCK-RANGE AG AG-OFFSET TOTAL [FLAGS]\" "
		           "of xfs_bmap -v");
}

// An extent line of xfs_bmap -v: a hole, or blocks with their AG and flags.
RawExtent parse_xfs_bmap_extent(const LineReader &r, size_t ln, const std::string &l,
                                const std::vector<std::string> &w)
{
	RawExtent e = extent_line_start(r, ln, l, w,
	                                "\"N: [START..END]: BLOCK-RANGE AG (AG-OFFSET) TOTAL "
	                                "[FLAGS]\" or \"N: [START..END]: hole TOTAL\"");
	const uint64_t len = e.len / kBB;
	uint64_t total;
	if (w[2] == "hole" || w[2] == "delalloc") {
		check_hole_line(r, ln, l, w, e);
		if (w[2] == "delalloc")
			r.fail(ln, "a delalloc extent: the case format has no delalloc "
			           "data-fork extents; "
			           "sync the file and run xfs_bmap again");
		e.hole = true;
		return e;
	}
	uint64_t c, d, agno, ea, eb;
	if (w.size() < 6 || w.size() > 7 || !parse_range(w[2], &c, &d) || !parse_u64(w[3], &agno) ||
	    w[4].size() < 5 || w[4].front() != '(' || w[4].back() != ')' ||
	    !parse_range(std::string_view(w[4]).substr(1, w[4].size() - 2), &ea, &eb) ||
	    !parse_u64(w[5], &total))
		r.fail(ln, "expected \"N: [START..END]: BLOCK..BLOCK AG (AGOFF..AGOFF) "
		           "TOTAL [FLAGS]\", got \"" +
		               l + "\"");
	if (d - c + 1 != len || eb - ea + 1 != len || total != len)
		r.fail(ln, "the ranges and TOTAL disagree on the extent's length");
	e.phys = c * kBB;
	e.have_ag = true;
	e.agno = agno;
	e.agoff = ea * kBB;
	if (w.size() == 7) {
		uint64_t fl;
		if (!parse_u64(w[6], &fl, 8))
			r.fail(ln, "expected octal FLAGS (e.g. 010000), got \"" + w[6] + "\"");
		e.shared = fl & 0100000;
		e.unwritten = fl & 0010000;
	}
	return e;
}

// `xfs_bmap -v FILE` / `xfs_io -c "bmap -v[p]"` (xfsprogs io/bmap.c):
//   FILE:
//    EXT: FILE-OFFSET      BLOCK-RANGE      AG AG-OFFSET        TOTAL[ FLAGS]
//      0: [0..7]:          96..103           0 (96..103)            8[ 000000]
//      1: [8..15]:         hole                                     8
// 512-byte units; FLAGS octal: 0100000 shared, 0010000 unwritten (the
// others are stripe alignment hints); a " FLAG Values:" legend with -vv.
Parsed parse_xfs_bmap(const std::vector<std::string> &lines, const LineReader &r)
{
	Parsed p;
	p.format = "xfs_bmap";
	bool header = false, legend = false, rows = false, no_extents = false;
	for (size_t i = 0; i < lines.size(); i++) {
		const size_t ln = i + 1;
		std::string l = trim(lines[i]);
		if (l.empty())
			continue;
		auto w = words(l);
		if (legend) {
			uint64_t v;
			if (w.size() >= 2 && parse_u64(w[0], &v, 8))
				continue;
			r.fail(ln, "expected a line of the FLAG Values legend (\"0100000 Shared "
			           "extent\"), got \"" +
			               l + "\"");
		}
		if (!header) {
			if (w.size() >= 2 && w[0] == "EXT:" && w[1] == "FILE-OFFSET") {
				check_xfs_bmap_header(r, ln, w);
				header = true;
				continue;
			}
			if (is_no_extents_line(l)) {
				no_extents = true;
				continue;
			}
			if (is_file_name_line(l, w))
				continue; // the file name line
			r.fail(ln, "expected the header line of `xfs_bmap -v` (\"EXT: FILE-OFFSET "
			           "BLOCK-RANGE AG AG-OFFSET "
			           "TOTAL\"), got \"" +
			               l + "\"");
		}
		if (l == "FLAG Values:") {
			legend = true;
			continue;
		}
		if (skip_file_name_line(r, ln, l, w, rows))
			continue;
		p.ext.push_back(parse_xfs_bmap_extent(r, ln, l, w));
		rows = true;
	}
	if (!header && !no_extents)
		r.fail(lines.size() ? lines.size() : 1,
		       "no `xfs_bmap -v` header line (\"EXT: FILE-OFFSET BLOCK-RANGE AG "
		       "AG-OFFSET TOTAL\") found");
	return p;
}

// An extent line of xfs_io's fiemap -v: a hole, or blocks with their flags.
RawExtent parse_fiemap_extent(const LineReader &r, size_t ln, const std::string &l,
                              const std::vector<std::string> &w)
{
	RawExtent e = extent_line_start(
	    r, ln, l, w,
	    "\"N: [START..END]: BLOCK..BLOCK TOTAL FLAGS\" or \"N: [START..END]: hole TOTAL\"");
	const uint64_t len = e.len / kBB;
	uint64_t total;
	if (w[2] == "hole") {
		check_hole_line(r, ln, l, w, e);
		e.hole = true;
		return e;
	}
	uint64_t c, d, fl;
	if (w.size() != 5 || !parse_range(w[2], &c, &d) || !parse_u64(w[3], &total) ||
	    w[4].size() < 3 || w[4].compare(0, 2, "0x") != 0 ||
	    !parse_u64(std::string_view(w[4]).substr(2), &fl, 16))
		r.fail(ln, "expected \"N: [START..END]: BLOCK..BLOCK TOTAL 0xFLAGS\", got \"" + l +
		               "\"");
	if (d - c + 1 != len || total != len)
		r.fail(ln, "the ranges and TOTAL disagree on the extent's length");
	// FIEMAP_EXTENT_UNKNOWN 0x2, _DELALLOC 0x4, _DATA_INLINE 0x200
	if (fl & (0x2 | 0x4))
		r.fail(ln, "an extent with no disk address yet "
		           "(FIEMAP_EXTENT_UNKNOWN/DELALLOC): sync the file and "
		           "run fiemap again");
	if (fl & 0x200)
		r.fail(ln, "inline data (FIEMAP_EXTENT_DATA_INLINE): not an XFS data extent");
	e.phys = c * kBB;
	e.unwritten = fl & 0x800; // FIEMAP_EXTENT_UNWRITTEN
	e.shared = fl & 0x2000;   // FIEMAP_EXTENT_SHARED
	return e;
}

// `xfs_io -c "fiemap -v" FILE` (xfsprogs io/fiemap.c):
//   FILE:
//    EXT: FILE-OFFSET      BLOCK-RANGE      TOTAL FLAGS
//      0: [0..7]:          96..103              8 0x1
//      1: [8..15]:         hole                 8
// 512-byte units; FLAGS are the FIEMAP_EXTENT_* bits in hex.
Parsed parse_fiemap(const std::vector<std::string> &lines, const LineReader &r)
{
	Parsed p;
	p.format = "fiemap";
	bool header = false, rows = false;
	for (size_t i = 0; i < lines.size(); i++) {
		const size_t ln = i + 1;
		std::string l = trim(lines[i]);
		if (l.empty())
			continue;
		auto w = words(l);
		if (!header) {
			if (w.size() >= 2 && w[0] == "EXT:" && w[1] == "FILE-OFFSET") {
				if (w.size() != 5 || w[2] != "BLOCK-RANGE" || w[3] != "TOTAL" ||
				    w[4] != "FLAGS")
					r.fail(ln, "expected the header \"EXT: FILE-OFFSET "
					           "BLOCK-RANGE TOTAL FLAGS\" of "
					           "xfs_io's fiemap -v");
				header = true;
				continue;
			}
			if (is_file_name_line(l, w))
				continue;
			r.fail(ln, "expected the header line of `xfs_io -c \"fiemap -v\"` (\"EXT: "
			           "FILE-OFFSET BLOCK-RANGE "
			           "TOTAL FLAGS\"), got \"" +
			               l + "\"");
		}
		if (skip_file_name_line(r, ln, l, w, rows))
			continue;
		p.ext.push_back(parse_fiemap_extent(r, ln, l, w));
		rows = true;
	}
	if (!header)
		r.fail(lines.size() ? lines.size() : 1,
		       "no `fiemap -v` header line (\"EXT: FILE-OFFSET BLOCK-RANGE TOTAL "
		       "FLAGS\") found");
	return p;
}

// filefrag -v's "File size of FILE is N (K blocks of B bytes)" line: B, the
// block size it counts in.
uint64_t filefrag_block_size(const LineReader &r, size_t ln, const std::string &l)
{
	// "(K blocks of B bytes)" (e2fsprogs >= 1.42.9) or "(K blocks, blocksize B)"
	size_t lp = l.rfind('(');
	std::string in = lp == std::string::npos ? "" : l.substr(lp + 1);
	auto w = words(in);
	uint64_t v = 0;
	if (!(w.size() == 5 && w[1] == "blocks" && w[2] == "of" && w[4] == "bytes)" &&
	      parse_u64(w[3], &v)) &&
	    !(w.size() == 4 && (w[1] == "blocks," || w[1] == "block,") && w[2] == "blocksize" &&
	      !w[3].empty() && w[3].back() == ')' &&
	      parse_u64(std::string_view(w[3]).substr(0, w[3].size() - 1), &v)))
		r.fail(ln, "expected \"File size of FILE is N (K blocks of B "
		           "bytes)\", got \"" +
		               l + "\"");
	if (v < 512 || (v & (v - 1)))
		r.fail(ln, "block size " + std::to_string(v) +
		               " is not a power of two of at least 512");
	return v;
}

void check_filefrag_header(const LineReader &r, size_t ln, const std::string &l)
{
	auto w = words(l);
	if (w.size() != 6 || w[1] != "logical_offset:" || w[2] != "physical_offset:" ||
	    w[3] != "length:" || w[4] != "expected:" || w[5] != "flags:")
		r.fail(ln, "expected the header \"ext: logical_offset: "
		           "physical_offset: length: expected: flags:\" "
		           "of filefrag -v");
}

// filefrag -v's flags column: unwritten and shared; the rest either say
// nothing of the layout or are not a data extent XFS can have.
void read_filefrag_flags(const LineReader &r, size_t ln, const std::string &flags, RawExtent &e)
{
	std::istringstream fl{flags};
	std::string x;
	while (std::getline(fl, x, ',')) {
		x = trim(x);
		if (x.empty() || x == "last" || x == "eof" || x == "merged" || x == "not_aligned" ||
		    x == "encoded")
			continue;
		if (x == "unwritten")
			e.unwritten = true;
		else if (x == "shared")
			e.shared = true;
		else if (x == "delalloc" || x == "unknown_loc" || x == "unknown")
			r.fail(ln, "an extent with no disk address yet (" + x +
			               "): sync the file and run filefrag again");
		else if (x == "inline" || x == "tail_packed")
			r.fail(ln,
			       "inline or tail-packed data (" + x + "): not an XFS data extent");
		else
			r.fail(ln, "unknown filefrag flag \"" + x + "\"");
	}
}

// An extent line of filefrag -v, in filefrag's blocks.
RawExtent parse_filefrag_extent(const LineReader &r, size_t ln, const std::string &l)
{
	// split at ':'
	std::vector<std::string> f;
	size_t s = 0;
	for (size_t q; (q = l.find(':', s)) != std::string::npos; s = q + 1)
		f.push_back(l.substr(s, q - s));
	f.push_back(l.substr(s));
	uint64_t idx, a, b, c, d, len;
	if (f.size() < 5 || f.size() > 6 || !parse_u64(trim(f[0]), &idx) ||
	    !parse_range(f[1], &a, &b) || !parse_range(f[2], &c, &d) ||
	    !parse_u64(trim(f[3]), &len))
		r.fail(ln, "expected an extent line \"N: START.. END: PSTART.. PEND: "
		           "LENGTH: [EXPECTED:] [FLAGS]\", got \"" +
		               l + "\"");
	if (b - a + 1 != len || d - c + 1 != len)
		r.fail(ln, "the ranges and the length disagree");
	std::string flags = trim(f.back());
	if (f.size() == 6) {
		uint64_t ex;
		if (!parse_u64(trim(f[4]), &ex))
			r.fail(ln, "expected a number in the expected: column, got \"" +
			               trim(f[4]) + "\"");
	}
	RawExtent e;
	e.line = ln;
	e.off = a, e.len = len, e.phys = c; // in filefrag blocks until the unit is known
	read_filefrag_flags(r, ln, flags, e);
	return e;
}

// `filefrag -v FILE` (e2fsprogs misc/filefrag.c):
//   Filesystem type is: 58465342
//   File size of FILE is 65536 (16 blocks of 4096 bytes)
//    ext:     logical_offset:        physical_offset: length:   expected: flags:
//      0:        0..       3:         24..        27:      4:
//      1:        4..       7:        100..       103:      4:         28: unwritten,last,eof
//   FILE: 2 extents found
// In filesystem blocks (the size in the "File size" line); holes are gaps.
Parsed parse_filefrag(const std::vector<std::string> &lines, const LineReader &r)
{
	Parsed p;
	p.format = "filefrag";
	bool header = false;
	for (size_t i = 0; i < lines.size(); i++) {
		const size_t ln = i + 1;
		std::string l = trim(lines[i]);
		if (l.empty())
			continue;
		if (l.rfind("Filesystem type is:", 0) == 0) {
			std::string t = trim(l.substr(19));
			if (t != "58465342")
				p.warnings.push_back(r.name + ":" + std::to_string(ln) +
				                     ": filesystem type " + t +
				                     " is not XFS (58465342)");
			continue;
		}
		if (l.rfind("File size of ", 0) == 0) {
			p.unit_bytes = filefrag_block_size(r, ln, l);
			continue;
		}
		if (l.rfind("ext:", 0) == 0) {
			check_filefrag_header(r, ln, l);
			header = true;
			continue;
		}
		if ((l.size() > 14 && l.compare(l.size() - 14, 14, " extents found") == 0) ||
		    (l.size() > 13 && l.compare(l.size() - 13, 13, " extent found") == 0))
			continue; // the summary line
		if (!header)
			r.fail(ln, "expected the header line of `filefrag -v` (\"ext: "
			           "logical_offset: physical_offset: "
			           "length: expected: flags:\"), got \"" +
			               l + "\"");
		p.ext.push_back(parse_filefrag_extent(r, ln, l));
	}
	if (!header && !p.ext.empty())
		r.fail(1, "no `filefrag -v` header line found");
	if (!header && p.unit_bytes == 0)
		r.fail(lines.size() ? lines.size() : 1,
		       "no `filefrag -v` header line (\"ext: logical_offset: physical_offset: "
		       "length: expected: flags:\") found");
	return p;
}

std::string detect_format(const std::vector<std::string> &lines, const std::string &name)
{
	for (const auto &raw : lines) {
		std::string l = trim(raw);
		if (is_no_extents_line(l)) // xfs_bmap -v of a file with no blocks
			return "xfs_bmap";
		if (l.find("logical_offset:") != std::string::npos ||
		    l.rfind("Filesystem type is:", 0) == 0 || l.rfind("File size of ", 0) == 0)
			return "filefrag";
		auto w = words(l);
		if (w.size() >= 3 && w[0] == "EXT:" && w[1] == "FILE-OFFSET") {
			if (std::find(w.begin(), w.end(), "AG-OFFSET") != w.end() ||
			    w[2] == "RT-BLOCK-RANGE")
				return "xfs_bmap";
			return "fiemap";
		}
	}
	for (size_t i = 0; i < lines.size(); i++)
		if (!trim(lines[i]).empty())
			throw ImportError{name + ":" + std::to_string(i + 1) +
			                  ": cannot tell which tool printed this: no header of "
			                  "`xfs_bmap -v` (EXT: FILE-OFFSET "
			                  "BLOCK-RANGE AG AG-OFFSET TOTAL), `xfs_io -c \"fiemap "
			                  "-v\"` (EXT: FILE-OFFSET "
			                  "BLOCK-RANGE TOTAL FLAGS) or `filefrag -v` (ext: "
			                  "logical_offset: ...); use --format"};
	throw ImportError{name + ":1: empty input: expected the output of xfs_bmap -v, xfs_io -c "
	                         "\"fiemap -v\" or filefrag -v"};
}

// An extent of the skeleton, in filesystem blocks.
struct BlockExtent {
	size_t line;
	uint64_t off, len; // blocks
	uint64_t db;       // disk block (fiemap, filefrag)
	uint64_t agno, agbno;
	bool have_ag, unwritten, shared;
};

// What the steps of build_skeleton share: the input, the block size, the
// case so far, and what its note will call exact and what guessed.
struct Skeleton {
	const Parsed &p;
	const ImportOptions &o;
	const std::string &name;
	const LineReader r;
	// The block size: --block-size; else filefrag's own unit (its blocks are
	// the filesystem's); else a guess, listed with the others.
	const bool bs_read, bs_guessed;
	const uint64_t bs;
	Case c;
	std::vector<std::string> notes, guesses;
	std::optional<uint64_t> agblocks; // from xfs_bmap -v's AG columns
	uint64_t max_agno = 0;
	uint64_t max_end = 0; // disk blocks (fiemap, filefrag) or agbno (xfs_bmap)
	std::string disk;     // the extents' disk blocks, as the note lists them

	Skeleton(const Parsed &p_, const ImportOptions &o_, const std::string &name_)
	    : p(p_), o(o_), name(name_), r{name_},
	      bs_read(!o.block_size && p.format == "filefrag" && p.unit_bytes),
	      bs_guessed(!o.block_size && !bs_read), bs(o.block_size ? o.block_size
	                                                : bs_read    ? p.unit_bytes
	                                                             : 4096)
	{
	}
};

// The case's name, variant, block size and reflink setting.
void start_case(Skeleton &S)
{
	Case &c = S.c;
	c.variant = *variant_from_name(S.o.variant);
	c.file = "";
	std::string base = S.name == "<stdin>" ? "stdin" : fs::path(S.name).stem().string();
	c.name = "imported-" + safe_name(base);
	Geometry &g = c.state.geo;
	g.block_size = uint32_t(S.bs);
	// reflink needs a v5 XFS, whose blocks are 1024 bytes or more: a file on
	// 512-byte blocks is on a v4 XFS, without reflink
	g.reflink = S.bs >= XFS_MIN_CRC_BLOCKSIZE;
	g.cowextsize = 0;
}

// The extents in bytes: filefrag counts in its own blocks.
std::vector<RawExtent> extents_in_bytes(Skeleton &S)
{
	std::vector<RawExtent> ext = S.p.ext;
	if (S.p.format != "filefrag")
		return ext;
	uint64_t unit = S.p.unit_bytes ? S.p.unit_bytes : S.bs;
	for (auto &e : ext) {
		if (e.off > UINT64_MAX / unit || e.len > UINT64_MAX / unit ||
		    e.phys > UINT64_MAX / unit)
			S.r.fail(e.line, "number out of range");
		e.off *= unit, e.len *= unit, e.phys *= unit;
	}
	if (S.p.unit_bytes && S.p.unit_bytes != S.bs)
		S.notes.push_back("filefrag counted in " + std::to_string(S.p.unit_bytes) +
		                  "-byte blocks; the case uses --block-size " +
		                  std::to_string(S.bs) + ".");
	return ext;
}

// AG size, exactly, from xfs_bmap -v's AG columns when an extent lies
// beyond AG 0: BLOCK-RANGE = agno * agblocks + AG-OFFSET (in 512-byte units).
void read_ag_size(Skeleton &S, const std::vector<RawExtent> &ext)
{
	for (const auto &e : ext) {
		if (e.hole || !e.have_ag)
			continue;
		S.max_agno = std::max(S.max_agno, e.agno);
		if (e.agno == 0) {
			if (e.phys != e.agoff)
				S.r.fail(e.line,
				         "in AG 0 the block range and the AG offset must be equal");
			continue;
		}
		if (e.phys < e.agoff || (e.phys - e.agoff) % e.agno)
			S.r.fail(e.line,
			         "the block range, AG and AG offset do not fit one AG size");
		uint64_t per_ag = (e.phys - e.agoff) / e.agno;
		if (per_ag % S.bs)
			S.r.fail(e.line, "the AG size this line implies (" +
			                     std::to_string(per_ag) +
			                     " bytes) is not a multiple of the block size " +
			                     std::to_string(S.bs) + " (--block-size?)");
		if (S.agblocks && *S.agblocks != per_ag / S.bs)
			S.r.fail(e.line, "this line implies an AG size of " +
			                     std::to_string(per_ag / S.bs) +
			                     " blocks, an earlier one " +
			                     std::to_string(*S.agblocks));
		S.agblocks = per_ag / S.bs;
	}
}

// The extents (holes left out) in blocks, and how far they reach.
std::vector<BlockExtent> extents_in_blocks(Skeleton &S, const std::vector<RawExtent> &ext)
{
	const uint64_t bs = S.bs;
	std::vector<BlockExtent> xs;
	for (const auto &e : ext) {
		if (e.hole)
			continue;
		if (e.off % bs || e.len % bs || e.phys % bs || e.agoff % bs)
			S.r.fail(e.line,
			         "offsets and lengths are not multiples of the block size " +
			             std::to_string(bs) + " bytes (--block-size?)");
		BlockExtent x{e.line,       e.off / bs, e.len / bs,  e.phys / bs, e.agno,
		              e.agoff / bs, e.have_ag,  e.unwritten, e.shared};
		if (x.len > (1u << 21))
			S.r.fail(e.line, "an extent of " + std::to_string(x.len) +
			                     " blocks: the case format allows at most 2^21");
		S.max_end = std::max(S.max_end, (x.have_ag ? x.agbno : x.db) + x.len);
		xs.push_back(x);
	}
	return xs;
}

// xfs_bmap -v: the AG size when an extent lies beyond AG 0, else a guess;
// the AG count a guess.
void set_ag_geometry_from_ag_columns(Skeleton &S)
{
	Geometry &g = S.c.state.geo;
	if (S.agblocks) {
		g.ag_blocks = uint32_t(*S.agblocks);
		S.notes.push_back("geometry.ag_blocks " + std::to_string(g.ag_blocks) +
		                  " is exact (from the AG columns of xfs_bmap -v).");
	} else {
		g.ag_blocks = uint32_t(std::min<uint64_t>(
		    std::bit_ceil(std::max<uint64_t>(S.max_end + 1, 1024)), 1ULL << 31));
		S.guesses.push_back("geometry.ag_blocks (" + std::to_string(g.ag_blocks) +
		                    ": every extent is in AG 0, so the AG size is unknown; "
		                    "startblock = agbno is exact "
		                    "anyway; take agsize from xfs_info)");
	}
	g.ag_count = uint32_t(std::max<uint64_t>(S.max_agno + 1, 1));
	S.guesses.push_back(
	    "geometry.ag_count (" + std::to_string(g.ag_count) +
	    ": the highest AG an extent uses, plus one; take agcount from xfs_info)");
}

// fiemap, filefrag: disk addresses only.  One AG big enough for every
// extent, so that startblock = disk block.
void set_ag_geometry_from_disk_blocks(Skeleton &S)
{
	Geometry &g = S.c.state.geo;
	uint64_t ag =
	    std::min<uint64_t>(std::bit_ceil(std::max<uint64_t>(S.max_end + 1, 1024)), 1ULL << 31);
	g.ag_blocks = uint32_t(ag);
	g.ag_count = uint32_t(std::max<uint64_t>(1, (S.max_end + ag - 1) / ag));
	S.guesses.push_back(
	    "geometry.ag_blocks (" + std::to_string(g.ag_blocks) + ") and ag_count (" +
	    std::to_string(g.ag_count) + "): " + S.p.format +
	    " gives disk addresses, not AG numbers; the skeleton assumes AGs of 2^k blocks "
	    "holding every extent, so startblock is the disk block. With the real agsize "
	    "from "
	    "xfs_info, startblock = (db / agsize) << ceil(log2(agsize)) | (db % agsize)");
}

// Geometry: what is known, and the guesses.
void set_geometry(Skeleton &S)
{
	if (S.bs_guessed)
		S.guesses.push_back(
		    "geometry.block_size (4096: " + S.p.format +
		    " does not print it; `xfs_info` does, give it as --block-size)");
	else if (S.bs_read)
		S.notes.push_back("geometry.block_size " + std::to_string(S.bs) +
		                  " is filefrag's block size.");
	if (S.p.format == "xfs_bmap")
		set_ag_geometry_from_ag_columns(S);
	else
		set_ag_geometry_from_disk_blocks(S);
}

// What no tool prints: the skeleton's defaults, listed as guesses.
void list_what_no_tool_prints(Skeleton &S)
{
	S.guesses.push_back(S.c.state.geo.reflink
	                        ? "geometry.reflink (true)"
	                        : "geometry.reflink (false: 512-byte blocks are a v4 XFS, which "
	                          "has no reflink)");
	S.guesses.push_back("geometry.cowextsize (0 = the kernel's default of 32 blocks; `xfs_io "
	                    "-c cowextsize FILE` "
	                    "prints the file's hint in bytes)");
	S.guesses.push_back("device.awu_min/awu_max (0 = no hardware atomics; take them from "
	                    "/sys/block/DEV/queue/atomic_write_unit_{min,max}_bytes)");
	S.guesses.push_back(
	    "cow_fork (empty: `xfs_io -c \"bmap -cv\"` shows it on CONFIG_XFS_DEBUG kernels)");
	S.guesses.push_back("refcount counts (2: the tools say shared, not how many owners)");
	S.guesses.push_back("alloc (empty: the default allocator policy)");
	S.c.state.dev.awu_min = 0;
	S.c.state.dev.awu_max = 0;
}

// The data fork, and a refcount record of 2 for each shared extent.
void fill_data_fork(Skeleton &S, const std::vector<BlockExtent> &xs)
{
	const Geometry &g = S.c.state.geo;
	for (const auto &x : xs) {
		xfs_bmbt_irec e;
		e.br_startoff = x.off;
		e.br_blockcount = x.len;
		e.br_state = x.unwritten ? XFS_EXT_UNWRITTEN : XFS_EXT_NORM;
		if (x.have_ag) {
			if (x.agno > 0 && !S.agblocks)
				S.r.fail(x.line, "internal: AG size unknown");
			e.br_startblock = xfs_agb_to_fsb(g, uint32_t(x.agno), uint32_t(x.agbno));
		} else {
			e.br_startblock = xfs_agb_to_fsb(g, uint32_t(x.db / g.ag_blocks),
			                                 uint32_t(x.db % g.ag_blocks));
			if (S.disk.size() < 600)
				S.disk += (S.disk.empty() ? "" : ", ") + std::to_string(x.off) +
				          "+" + std::to_string(x.len) + " @db " +
				          std::to_string(x.db);
		}
		S.c.state.data_fork.push_back(e);
		if (x.shared) {
			if (x.unwritten)
				S.r.fail(x.line, "an extent both shared and unwritten: XFS never "
				                 "shares unwritten extents");
			S.c.state.refcount.push_back({e.br_startblock, e.br_blockcount, 2});
		}
	}
}

// Refcount records sorted, merged where they touch inside one AG.
std::vector<xfs_refcount_irec> merged_refcount(const Geometry &g,
                                               std::vector<xfs_refcount_irec> refcount)
{
	std::sort(refcount.begin(), refcount.end(),
	          [](const auto &a, const auto &b) { return a.rc_startblock < b.rc_startblock; });
	std::vector<xfs_refcount_irec> merged;
	for (const auto &rc : refcount) {
		if (!merged.empty()) {
			auto &m = merged.back();
			uint64_t mend = m.rc_startblock + m.rc_blockcount;
			if (rc.rc_startblock <= mend &&
			    xfs_fsb_to_agno(g, m.rc_startblock) ==
			        xfs_fsb_to_agno(g, rc.rc_startblock + rc.rc_blockcount - 1)) {
				m.rc_blockcount =
				    std::max(mend, rc.rc_startblock + rc.rc_blockcount) -
				    m.rc_startblock;
				continue;
			}
		}
		merged.push_back(rc);
	}
	return merged;
}

// The atomic write: --offset and --length, else one block.
void set_write(Skeleton &S)
{
	S.c.write.offset = S.o.offset;
	S.c.write.length = S.o.length ? S.o.length : S.bs;
	if (!S.o.length)
		S.guesses.push_back("write (one block at offset " + std::to_string(S.o.offset) +
		                    ": no --length given)");
}

// The case's note: where it comes from, what is exact, the notes, the guesses.
std::string skeleton_note(const Skeleton &S)
{
	std::string note = "Imported by `untorn import` from " + S.name + " (" + S.p.format +
	                   "). Exact: each data-fork extent's startoff, blockcount and state "
	                   "(written/unwritten), and "
	                   "which are shared.";
	if (S.p.format == "xfs_bmap")
		note +=
		    " startblock is exact too: xfs_bmap -v gives each extent's AG and AG offset.";
	else
		note += " Disk blocks as the tool gave them (startoff+blockcount @disk block): " +
		        S.disk + (S.disk.size() >= 600 ? ", ..." : "") + ".";
	for (const auto &n : S.notes)
		note += " " + n;
	note += " GUESSES, to fill in by hand: " + join(S.guesses, "; ") + ".";
	return note;
}

Case build_skeleton(const Parsed &p, const ImportOptions &o, const std::string &name)
{
	Skeleton S(p, o, name);
	start_case(S);
	const std::vector<RawExtent> ext = extents_in_bytes(S);
	read_ag_size(S, ext);
	const std::vector<BlockExtent> xs = extents_in_blocks(S, ext);
	set_geometry(S);
	list_what_no_tool_prints(S);
	fill_data_fork(S, xs);
	S.c.state.refcount = merged_refcount(S.c.state.geo, S.c.state.refcount);
	set_write(S);
	S.c.note = skeleton_note(S);
	return std::move(S.c);
}

std::string read_input(const ImportOptions &o, const std::string &name)
{
	std::ostringstream ss;
	if (o.input == "-") {
		ss << std::cin.rdbuf();
	} else {
		std::error_code ec;
		if (fs::is_directory(o.input, ec))
			throw ImportError{
			    name + ": is a directory; expected a file with the tool's output"};
		std::ifstream in(o.input, std::ios::binary);
		if (!in)
			throw ImportError{name + ": cannot open for reading"};
		ss << in.rdbuf();
	}
	std::string s = ss.str();
	if (s.size() > (16u << 20))
		throw ImportError{name + ": larger than 16 MiB; expected one file's extent map"};
	if (s.find('\0') != std::string::npos)
		throw ImportError{name + ": binary data; expected the text output of xfs_bmap -v, "
		                         "fiemap -v or filefrag -v"};
	return s;
}

} // namespace

int cmd_import(const ImportOptions &o)
{
	const std::string name = o.input == "-" ? "<stdin>" : o.input;
	Case c;
	std::string json;
	try {
		if (!variant_from_name(o.variant))
			throw ImportError{"--variant: expected one of " +
			                  join(accepted_variant_names()) + "; got \"" + o.variant +
			                  "\""};
		if (o.block_size && (o.block_size < 512 || o.block_size > 65536 ||
		                     (o.block_size & (o.block_size - 1))))
			throw ImportError{
			    "--block-size: expected a power of two from 512 to 65536, got " +
			    std::to_string(o.block_size)};
		std::string text = read_input(o, name);
		std::vector<std::string> lines;
		{
			std::istringstream in(text);
			std::string l;
			while (std::getline(in, l))
				lines.push_back(l);
		}
		std::string format = o.format == "auto" ? detect_format(lines, name) : o.format;
		LineReader r{name};
		Parsed p;
		if (format == "xfs_bmap")
			p = parse_xfs_bmap(lines, r);
		else if (format == "fiemap")
			p = parse_fiemap(lines, r);
		else if (format == "filefrag")
			p = parse_filefrag(lines, r);
		else
			throw ImportError{
			    "--format: expected auto, xfs_bmap, fiemap or filefrag, got \"" +
			    o.format + "\""};
		for (const auto &w : p.warnings)
			std::cerr << "untorn: import: warning: " << w << "\n";
		c = build_skeleton(p, o, name);
		json = case_to_json(c);
		try {
			parse_case(json, o.output.empty() ? "<import>" : o.output);
		} catch (const CaseError &e) {
			throw ImportError{name + ": the imported layout is not a valid case: " +
			                  e.path + ": " + e.expected};
		}
	} catch (const ImportError &e) {
		std::cerr << "untorn: import: " << e.msg << "\n";
		return EXIT_BAD_INPUT;
	}
	if (o.output.empty()) {
		std::cout << json;
		return EXIT_CLEAN;
	}
	try {
		write_file_atomically(o.output, json);
	} catch (const std::exception &e) {
		std::cerr << "untorn: import: " << e.what() << "\n";
		return EXIT_BAD_INPUT;
	}
	return EXIT_CLEAN;
}

} // namespace untorn
