// `untorn explain CASE.json [--svg FILE]`: one case, explained to a
// person.  (1) The layout, one character per file block: data fork, CoW fork,
// shared blocks, the write range, the atomic-unit grids, the disk (AG of each
// block, natural alignment) -- before and after the write -- and one line per
// extent with its disk range and AG.  (2) Every decision of every
// ->iomap_begin call with its kernel function, condition and the line of
// untorn's kernel model that took it, the mappings, bios and transactions.
// (3) The judgement of the reference engine (Z3): each broken invariant, what
// it forbids, where it comes from, the witness, and for a torn write which
// blocks read old and which read new in the witness's crash state.
#include "explain.h"
#include "compare.h"
#include "minimize.h"
#include "text.h"

#include "commands.h"

#include <algorithm>
#include <functional>
#include <iostream>
#include <sstream>
#include <tuple>

namespace untorn {

namespace explain {

namespace {

using Fork = std::vector<xfs_bmbt_irec>;
using BlockChar = std::function<char(xfs_fileoff_t)>;

constexpr uint64_t kSamplesPerCell = 4096; // beyond this, a cell's blocks are sampled
constexpr char kMixed = '*';
constexpr std::string_view kAgDigits = "0123456789abcdefghijklmnopqrstuvwxyz";

// ------------------------------------------------------------ one file block

const xfs_bmbt_irec *extent_at(const Fork &f, xfs_fileoff_t off)
{
	auto it = std::partition_point(f.begin(), f.end(), [off](const xfs_bmbt_irec &e) { return e.end() <= off; });
	if (it == f.end() || it->br_startoff > off)
		return nullptr;
	return &*it;
}

bool is_real(const xfs_bmbt_irec *e) { return e && !isnullstartblock(e->br_startblock); }
xfs_fsblock_t pblk_of(const xfs_bmbt_irec &e, xfs_fileoff_t f) { return e.br_startblock + (f - e.br_startoff); }

uint32_t refcount_of(const std::vector<xfs_refcount_irec> &rc, xfs_fsblock_t b)
{
	for (const auto &r : rc)
		if (b >= r.rc_startblock && b - r.rc_startblock < r.rc_blockcount)
			return r.rc_refcount;
	return 1;
}

char ag_char(uint32_t agno) { return agno < kAgDigits.size() ? kAgDigits[agno] : '+'; }

// N written, U unwritten, d delalloc, . hole
char data_char(const Fork &f, xfs_fileoff_t x)
{
	const xfs_bmbt_irec *e = extent_at(f, x);
	if (!e)
		return '.';
	if (e->br_startblock == DELAYSTARTBLOCK)
		return 'd';
	return e->br_state == XFS_EXT_UNWRITTEN ? 'U' : 'N';
}

// W written, u unwritten, d delalloc, . none
char cow_char(const Fork &f, xfs_fileoff_t x)
{
	const xfs_bmbt_irec *e = extent_at(f, x);
	if (!e)
		return '.';
	if (e->br_startblock == DELAYSTARTBLOCK)
		return 'd';
	return e->br_state == XFS_EXT_UNWRITTEN ? 'u' : 'W';
}

char shared_char(const FileState &st, xfs_fileoff_t x)
{
	const xfs_bmbt_irec *e = extent_at(st.data_fork, x);
	return is_real(e) && refcount_of(st.refcount, pblk_of(*e, x)) > 1 ? 'S' : '.';
}

char disk_ag_char(const Geometry &g, const Fork &f, xfs_fileoff_t x)
{
	const xfs_bmbt_irec *e = extent_at(f, x);
	if (!e)
		return '.';
	if (!is_real(e))
		return 'd';
	return ag_char(xfs_fsb_to_agno(g, pblk_of(*e, x)));
}

// | the block's disk address is a multiple of `unit` blocks, - it is not, . no block
char disk_aligned_char(const Geometry &g, const Fork &f, uint64_t unit, xfs_fileoff_t x)
{
	const xfs_bmbt_irec *e = extent_at(f, x);
	if (!is_real(e))
		return '.';
	return xfs_fsb_to_db(g, pblk_of(*e, x)) % unit == 0 ? '|' : '-';
}

// | the block's fsbno is a multiple of `unit` blocks -- what the kernel's
// IS_ALIGNED(br_startblock, ...) tests -- , - it is not, . no block.  With
// an AG size that is not a power of two the two alignments differ: ag_blocks
// 1000, fsbno 1040 (AG 1 agbno 16) is a multiple of 16, its disk block 1016
// is not.
char fsbno_aligned_char(const Fork &f, uint64_t unit, xfs_fileoff_t x)
{
	const xfs_bmbt_irec *e = extent_at(f, x);
	if (!is_real(e))
		return '.';
	return pblk_of(*e, x) % unit == 0 ? '|' : '-';
}

// ------------------------------------------------------------ cells and rows

// One cell's character: a marker row shows its marker if any of the cell's
// blocks has it; any other row shows the blocks' common character, or '*'.
char cell_char(const Window &w, uint64_t c, const BlockChar &at, char marker)
{
	const xfs_fileoff_t a = w.cell_start(c);
	const uint64_t step = std::max<uint64_t>(1, w.scale / kSamplesPerCell);
	const char first = at(a);
	for (uint64_t i = 0; i < w.scale; i += step) {
		char ch = at(a + i);
		if (marker && ch == marker)
			return marker;
		if (!marker && ch != first)
			return kMixed;
	}
	return first;
}

std::string cells_of(const Window &w, const BlockChar &at, char marker = 0)
{
	std::string s;
	for (uint64_t c = 0; c < w.cells; c++)
		s += cell_char(w, c, at, marker);
	return s;
}

std::string blocks_str(uint64_t n) { return std::to_string(n) + (n == 1 ? " block" : " blocks"); }

void add_fork_rows(Layout &l, const FileState &st, Section s)
{
	const Window &w = l.win;
	l.rows.push_back({RowKind::data, s, "data fork", cells_of(w, [&](xfs_fileoff_t x) { return data_char(st.data_fork, x); }),
			  "N written  U unwritten  . hole", 0, {}});
	l.rows.push_back({RowKind::cow, s, "cow fork", cells_of(w, [&](xfs_fileoff_t x) { return cow_char(st.cow_fork, x); }),
			  "W written  u unwritten  d delalloc  . none", 0, {}});
	l.rows.push_back({RowKind::shared, s, "shared", cells_of(w, [&](xfs_fileoff_t x) { return shared_char(st, x); }, 'S'),
			  "S data block with refcount > 1", 0, {}});
}

void add_grid_row(Layout &l, uint64_t unit, const std::string &name, const std::string &what)
{
	auto at = [unit](xfs_fileoff_t x) { return x % unit == 0 ? '|' : '-'; };
	l.rows.push_back({RowKind::grid, Section::before, "grid " + name, cells_of(l.win, at, '|'),
			  "| every " + blocks_str(unit) + " of the file (" + what + ")", unit, {}});
}

void add_write_rows(Layout &l, const Trace &t)
{
	const uint64_t bs = t.initial.geo.block_size;
	auto in_write = [&](xfs_fileoff_t x) { return x >= l.o && x < l.E ? '=' : ' '; };
	l.rows.push_back({RowKind::write, Section::before, "write", cells_of(l.win, in_write, '='),
			  "= file blocks [" + std::to_string(l.o) + ", " + std::to_string(l.E) + "): bytes [" +
				  std::to_string(t.write.offset) + ", " + std::to_string(t.write.offset + t.write.length) + ")",
			  0, {}});
	add_grid_row(l, l.write_unit, "len", "the write length: natural alignment");
	const uint64_t max_u = t.awu_max / bs, min_u = t.awu_min / bs;
	if (max_u >= 1 && max_u != l.write_unit)
		add_grid_row(l, max_u, "awu_max", "the inode's atomic write unit max");
	if (min_u > 1 && min_u != l.write_unit && min_u != max_u)
		add_grid_row(l, min_u, "awu_min", "the inode's atomic write unit min");
}

// "fsbno 1042 = disk block 1018 (AG 1 agbno 18)" for the first block of each cell.
std::vector<std::string> disk_titles(const Window &w, const Geometry &g, const Fork &f)
{
	std::vector<std::string> v;
	for (uint64_t c = 0; c < w.cells; c++) {
		const xfs_bmbt_irec *e = extent_at(f, w.cell_start(c));
		if (!is_real(e) || !g.ag_blocks) {
			v.emplace_back();
			continue;
		}
		const xfs_fsblock_t p = pblk_of(*e, w.cell_start(c));
		v.push_back("fsbno " + std::to_string(p) + " = disk block " + std::to_string(xfs_fsb_to_db(g, p)) +
			    " (AG " + std::to_string(xfs_fsb_to_agno(g, p)) + " agbno " +
			    std::to_string(xfs_fsb_to_agbno(g, p)) + ")");
	}
	return v;
}

bool has_real_block_in(const Window &w, const Fork &f)
{
	return std::any_of(f.begin(), f.end(), [&](const xfs_bmbt_irec &e) {
		return is_real(&e) && e.br_blockcount && e.br_startoff < w.end() && e.end() > w.first;
	});
}

// Where each block of a fork lies: its AG, whether its disk block and its
// fsbno are multiples of the write length.  The data fork's rows always; the
// CoW fork's when it has blocks in the window.
void add_disk_rows(Layout &l, const FileState &st, Section s, bool cow)
{
	const uint64_t unit = l.write_unit;
	const Fork &f = cow ? st.cow_fork : st.data_fork;
	if (cow && !has_real_block_in(l.win, f))
		return;
	const Geometry &g = st.geo;
	const std::string fork = cow ? "CoW-fork" : "data-fork";
	auto titles = disk_titles(l.win, g, f);
	l.rows.push_back({RowKind::disk_ag, s, cow ? "cow disk: AG" : "disk: AG",
			  cells_of(l.win, [&](xfs_fileoff_t x) { return disk_ag_char(g, f, x); }),
			  "AG number of each " + fork + " block (0-9, a-z)", 0, titles});
	l.rows.push_back({RowKind::disk_aligned, s, cow ? "cow disk align" : "disk: aligned",
			  cells_of(l.win, [&](xfs_fileoff_t x) { return disk_aligned_char(g, f, unit, x); }, '|'),
			  "| disk block a multiple of the write length, - not", unit, titles});
	l.rows.push_back({RowKind::fsbno_aligned, s, cow ? "cow fsbno align" : "fsbno: aligned",
			  cells_of(l.win, [&](xfs_fileoff_t x) { return fsbno_aligned_char(f, unit, x); }, '|'),
			  "| fsbno a multiple of the write length (the kernel's IS_ALIGNED test), - not", unit,
			  titles});
}

// ------------------------------------------------------------ the write: mappings and bios

constexpr size_t kMaxIoRows = 8; // calls and bios drawn; the rest are listed

// M written, U unwritten, d delalloc, h hole: the mapping's type, over the
// file blocks it covers
char mapping_char(const IomapBeginCall &c, uint64_t bs, xfs_fileoff_t x)
{
	if (c.error || !c.iomap.length)
		return ' ';
	const xfs_fileoff_t a = xfs_fileoff_t(c.iomap.offset) / bs;
	const xfs_fileoff_t b = (xfs_fileoff_t(c.iomap.offset + c.iomap.length) + bs - 1) / bs;
	if (x < a || x >= b)
		return ' ';
	switch (c.iomap.type) {
	case IomapType::MAPPED: return 'M';
	case IomapType::UNWRITTEN: return 'U';
	case IomapType::DELALLOC: return 'd';
	case IomapType::HOLE: return 'h';
	}
	return ' ';
}

std::string ops_short(const IomapBeginCall &c)
{
	return c.ops == Ops::atomic_write_cow ? "sw ops" : (c.flags & IOMAP_ATOMIC_COW) ? "CoW retry" : "hw ops";
}

std::string mapping_legend(const IomapBeginCall &c)
{
	std::ostringstream o;
	o << ops_name(c.ops) << ": ";
	if (c.error) {
		o << "-" << errno_name(c.error) << ", no mapping";
		return o.str();
	}
	o << iomap_type_name(c.iomap.type) << " " << format_extent(c.iomap.irec) << " = bytes [" << c.iomap.offset
	  << ", " << c.iomap.offset + c.iomap.length << ") "
	  << (c.iomap.flags ? iomap_fflags_str(c.iomap.flags) : std::string("(no IOMAP_F_ flags)"));
	return o.str();
}

// A REQ_ATOMIC bio, a plain one with new data, or a copy of old data (the
// RFC's unshare), over the file blocks it writes
char bio_char(const Bio &b, xfs_fileoff_t x)
{
	if (x < b.file_off || x - b.file_off >= b.nblocks)
		return ' ';
	if (b.payload == Payload::old_copy)
		return 'C';
	return b.req_atomic ? 'A' : 'P';
}

std::string bio_legend(const Trace &t, const Bio &b)
{
	const Geometry &g = t.initial.geo;
	std::ostringstream o;
	o << "-> fsbno " << b.fsbno << " = disk " << b.daddr;
	if (g.ag_blocks)
		o << " (AG " << xfs_fsb_to_agno(g, b.fsbno) << " agbno " << xfs_fsb_to_agbno(g, b.fsbno) << ")";
	o << ", " << (b.req_atomic ? "REQ_ATOMIC" : "plain") << ", "
	  << (b.payload == Payload::old_copy ? "a copy of old data" : "new data");
	if (b.status)
		o << ", ended with " << errno_name(b.status);
	return o.str();
}

void add_io_rows(Layout &l, const Trace &t)
{
	const uint64_t bs = t.initial.geo.block_size;
	for (size_t i = 0; i < t.calls.size() && i < kMaxIoRows; i++) {
		const IomapBeginCall &c = t.calls[i];
		l.rows.push_back({RowKind::mapping, Section::io, "iomap #" + std::to_string(i + 1) + " " + ops_short(c),
				  cells_of(l.win, [&](xfs_fileoff_t x) { return mapping_char(c, bs, x); }),
				  mapping_legend(c), 0, {}});
	}
	if (t.calls.size() > kMaxIoRows)
		l.rows.back().legend += "; " + std::to_string(t.calls.size() - kMaxIoRows) +
					" more calls are listed in the decisions";
	for (size_t i = 0; i < t.bios.size() && i < kMaxIoRows; i++) {
		const Bio &b = t.bios[i];
		l.rows.push_back({RowKind::bio, Section::io, "bio " + std::to_string(i),
				  cells_of(l.win, [&](xfs_fileoff_t x) { return bio_char(b, x); }), bio_legend(t, b), 0,
				  {}});
	}
	if (t.bios.size() > kMaxIoRows)
		l.rows.back().legend += "; " + std::to_string(t.bios.size() - kMaxIoRows) +
					" more bios are listed in the decisions";
}

// ------------------------------------------------------------ the disk, per extent

std::string extent_disk_line(const Geometry &g, const std::string &which, const xfs_bmbt_irec &e, const Layout &l)
{
	std::ostringstream o;
	const xfs_daddr_blk_t db = xfs_fsb_to_db(g, e.br_startblock);
	const uint32_t agno = xfs_fsb_to_agno(g, e.br_startblock), agbno = xfs_fsb_to_agbno(g, e.br_startblock);
	const uint64_t ag_start = uint64_t(agno) * g.ag_blocks, ag_end = ag_start + g.ag_blocks;
	o << which << " " << format_extent(e) << ": file [" << e.br_startoff << ", " << e.end() << ") -> disk ["
	  << db << ", " << db + e.br_blockcount << "), AG " << agno << " agbno " << agbno << ".."
	  << agbno + e.br_blockcount - 1 << " (AG " << agno << " is disk [" << ag_start << ", " << ag_end << "))";
	if (db + e.br_blockcount > ag_end)
		o << ", CROSSES the AG boundary at disk " << ag_end;
	o << "; disk start " << (db % l.write_unit == 0 ? "naturally aligned" : "NOT aligned") << " to the "
	  << blocks_str(l.write_unit) << " of the write";
	if (e.br_startoff < l.o && e.end() > l.o) {
		const xfs_daddr_blk_t at_o = xfs_fsb_to_db(g, pblk_of(e, l.o));
		o << "; file block " << l.o << " at disk " << at_o << (at_o % l.write_unit == 0 ? " (aligned)" : " (NOT aligned)");
	}
	return o.str();
}

void add_extent_lines(std::vector<std::string> &out, const Geometry &g, const std::string &which, const Fork &f,
		      const Layout &l)
{
	for (const auto &e : f)
		if (is_real(&e) && e.br_blockcount && e.br_startoff < l.win.end() && e.end() > l.win.first)
			out.push_back(extent_disk_line(g, which, e, l));
}

std::vector<std::string> physical_lines(const Trace &t, const Layout &l)
{
	std::vector<std::string> out;
	const Geometry &g = t.initial.geo;
	if (!g.ag_blocks)
		return out;
	add_extent_lines(out, g, "before, data fork", t.initial.data_fork, l);
	add_extent_lines(out, g, "before, cow fork ", t.initial.cow_fork, l);
	add_extent_lines(out, g, "after,  data fork", t.final_state.data_fork, l);
	add_extent_lines(out, g, "after,  cow fork ", t.final_state.cow_fork, l);
	return out;
}

// ------------------------------------------------------------ text

std::string padded(std::string s, size_t width)
{
	if (s.size() < width)
		s.resize(width, ' ');
	return s;
}

// Block numbers above the cells: a label every 10 cells, and the units digit
// of every block when one cell is one block.
std::string ruler(const Window &w, const std::string &caption)
{
	std::string labels(w.cells, ' ');
	for (uint64_t c = 0; c < w.cells; c++) {
		xfs_fileoff_t b = w.cell_start(c);
		if ((b / w.scale) % 10 != 0 && c != 0)
			continue;
		std::string n = std::to_string(b);
		if (c + n.size() > labels.size())
			labels.resize(c + n.size(), ' ');
		if (c == 0 || labels[c - 1] == ' ')
			labels.replace(c, n.size(), n);
	}
	while (!labels.empty() && labels.back() == ' ')
		labels.pop_back();
	std::string s = "  " + padded(caption, kCellsColumn - 2) + labels + "\n";
	if (w.scale == 1) {
		std::string units;
		for (uint64_t c = 0; c < w.cells; c++)
			units += char('0' + w.cell_start(c) % 10);
		s += std::string(kCellsColumn, ' ') + units + "\n";
	}
	return s;
}

std::string row_line(const Row &r)
{
	return "    " + padded(r.label, kCellsColumn - 4) + r.cells + "   " + r.legend + "\n";
}

std::string scale_caption(const Window &w)
{
	if (w.scale == 1)
		return "1 character = 1 file block; file blocks [" + std::to_string(w.first) + ", " + std::to_string(w.end()) + ")";
	return "1 character = " + std::to_string(w.scale) + " file blocks (the range is wide); file blocks [" +
	       std::to_string(w.first) + ", " + std::to_string(w.end()) + "); " + kMixed +
	       " = a cell whose blocks differ; a marker (S = | ) shows if any block of the cell has it" +
	       (w.scale > kSamplesPerCell ? "; cells are sampled" : "");
}

std::string section_title(Section s)
{
	switch (s) {
	case Section::before: return "before the write";
	case Section::io: return "the write: the mappings ->iomap_begin returned, the bios";
	case Section::after: return "after the write";
	case Section::crash: return "after the witness's crash (illustration)";
	}
	return "";
}

std::string rows_text(const Layout &l, Section s)
{
	std::string out = "  " + section_title(s) + "\n";
	for (const auto &r : l.rows)
		if (r.section == s)
			out += row_line(r);
	return out;
}

// ------------------------------------------------------------ SVG

// Colours: each kind of block its own hue, and the AGs hues of their own
// (none of them the data fork's blue, the CoW fork's orange, the shared red,
// the write's green or delalloc's yellow), so that an AG never reads as a
// fork state.
const char *ag_fill(char c)
{
	static const char *palette[] = {"#76a5af", "#c2b280", "#a64d79", "#5f6b7a", "#8f9a3c", "#a0785a"};
	size_t i = kAgDigits.find(c);
	return palette[(i == std::string_view::npos ? 0 : i) % 6];
}

constexpr const char *kMarkColour = "#e6007e";

bool tick_row(RowKind k)
{
	return k == RowKind::grid || k == RowKind::disk_aligned || k == RowKind::fsbno_aligned;
}

const char *cell_fill(RowKind k, char c)
{
	if (c == kMixed)
		return "#999999";
	if (c == ' ')
		return "#ffffff";
	if (c == '.')
		return "#eeeeee";
	if (c == 'd')
		return "#f0c94d";
	switch (k) {
	case RowKind::data: return c == 'N' ? "#3b6fc4" : "#9dbbeb";
	case RowKind::cow: return c == 'W' ? "#e07b24" : "#f5c593";
	case RowKind::shared: return "#c0392b";
	case RowKind::write: return "#2e9d5b";
	// alignment rows: light cells, a dark tick at the left edge of an
	// aligned block (a one-block unit is a row of ticks, never a black bar)
	case RowKind::grid:
	case RowKind::disk_aligned:
	case RowKind::fsbno_aligned: return c == '|' ? "#e2ecf7" : "#f7f7f7";
	case RowKind::disk_ag: return ag_fill(c);
	case RowKind::mapping: return c == 'M' ? "#0b5394" : c == 'U' ? "#6fa8dc" : "#cccccc";
	case RowKind::bio: return c == 'A' ? "#351c75" : c == 'P' ? "#b4a7d6" : "#d9d2e9";
	case RowKind::reads: return c == 'N' ? "#2e9d5b" : c == 'O' ? "#9aa5b1" : "#c0392b";
	}
	return "#ffffff";
}

bool dark_fill(RowKind k, char c)
{
	return (k == RowKind::data && c == 'N') || (k == RowKind::cow && c == 'W') || k == RowKind::shared ||
	       (k == RowKind::reads && c != 'O') || (k == RowKind::mapping && c == 'M') ||
	       (k == RowKind::bio && c == 'A') || (k == RowKind::disk_ag && (c == '2' || c == '3'));
}

std::string cell_meaning(RowKind k, char c)
{
	if (c == kMixed)
		return "mixed";
	switch (k) {
	case RowKind::data: return c == 'N' ? "written" : c == 'U' ? "unwritten" : c == 'd' ? "delalloc" : "hole";
	case RowKind::cow: return c == 'W' ? "written CoW staging" : c == 'u' ? "unwritten CoW" : c == 'd' ? "delalloc CoW" : "no CoW extent";
	case RowKind::shared: return c == 'S' ? "shared (refcount > 1)" : "not shared";
	case RowKind::write: return c == '=' ? "in the write" : "outside the write";
	case RowKind::grid: return c == '|' ? "unit boundary" : "inside a unit";
	case RowKind::disk_ag: return c == '.' ? "hole" : c == 'd' ? "delalloc" : std::string("AG ") + std::to_string(kAgDigits.find(c));
	case RowKind::disk_aligned: return c == '|' ? "disk block aligned to the write length" : c == '-' ? "disk block not aligned" : "no block";
	case RowKind::fsbno_aligned: return c == '|' ? "fsbno aligned to the write length" : c == '-' ? "fsbno not aligned" : "no block";
	case RowKind::mapping: return c == 'M' ? "mapped (written)" : c == 'U' ? "unwritten mapping" : c == 'd' ? "delalloc mapping" : c == 'h' ? "hole mapping" : "not in this mapping";
	case RowKind::bio: return c == 'A' ? "REQ_ATOMIC bio" : c == 'P' ? "plain bio, new data" : c == 'C' ? "plain bio, a copy of old data" : "not in this bio";
	case RowKind::reads: return c == 'N' ? "reads new" : c == 'O' ? "reads old" : c == '?' ? "reads neither" : "";
	}
	return "";
}

struct Svg {
	const Layout &l;
	double cw, ch = 18, left = 190, y = 0;
	std::ostringstream body;
	double rows_top = 0, rows_bottom = 0;
	size_t longest_text = 0;
	std::vector<double> row_y; // per row of the layout, where it was drawn (-1: not drawn)
	explicit Svg(const Layout &lay) : l(lay), cw(lay.win.cells <= 40 ? 20 : 12) {}
	double x_of_cell(double c) const { return left + c * cw; }

	void text(double x, double ty, const std::string &s, const char *extra = "")
	{
		body << "<text x=\"" << x << "\" y=\"" << ty << "\"" << extra << ">" << xml_escape(s) << "</text>\n";
		longest_text = std::max(longest_text, size_t(x / 6.6) + s.size());
	}

	// Block numbers above the cells, as dense as they fit: every 1, 2, 5 or
	// 10 cells.  Numbers of more than 6 digits break the axis: the window's
	// first block is written once, left of the cells, and the labels count
	// from it (+0, +10, ...), so a solver-sized offset stays readable.
	void ruler()
	{
		const bool broken = std::to_string(l.win.end()).size() > 6;
		const uint64_t base = broken ? l.win.first : 0;
		if (broken) {
			text(12, y, "file block " + std::to_string(base) + " +", " class=\"ruler\" font-weight=\"bold\"");
			body << "<path class=\"axis-break\" d=\"M" << left - 14 << " " << y + 2 << " l4 -10 m2 10 l4 -10\" "
			     << "stroke=\"#555555\" fill=\"none\"/>\n";
		}
		const size_t digits = std::to_string(l.win.end() - base).size() + (broken ? 1 : 0);
		uint64_t step = 10;
		for (uint64_t s : {1, 2, 5})
			if (double(digits) * 6.5 + 10 <= double(s) * cw) {
				step = s;
				break;
			}
		for (uint64_t c = 0; c < l.win.cells; c++)
			if (((l.win.cell_start(c) - base) / l.win.scale) % step == 0 &&
			    (!broken || double(digits) * 6.5 + 10 <= double(step) * cw || c % 10 == 0))
				text(x_of_cell(double(c)), y,
				     (broken ? "+" : "") + std::to_string(l.win.cell_start(c) - base), " class=\"ruler\"");
		y += 8;
	}

	void cell(const Row &r, uint64_t c)
	{
		char ch_ = r.cells[c];
		const Window &w = l.win;
		const double x = x_of_cell(double(c));
		body << "<rect class=\"block\" x=\"" << x << "\" y=\"" << y << "\" width=\"" << cw << "\" height=\"" << ch
		     << "\" fill=\"" << cell_fill(r.kind, ch_) << "\" stroke=\"#ffffff\">"
		     << "<title>" << xml_escape(r.label) << ", file block" << (w.scale > 1 ? "s " : " ") << w.cell_start(c)
		     << (w.scale > 1 ? ".." + std::to_string(w.cell_start(c) + w.scale - 1) : "") << ": "
		     << xml_escape(cell_meaning(r.kind, ch_))
		     << (c < r.titles.size() && !r.titles[c].empty() ? ", " + xml_escape(r.titles[c]) : "")
		     << "</title></rect>\n";
		if (tick_row(r.kind) && ch_ == '|')
			body << "<line class=\"tick\" x1=\"" << x + 1 << "\" y1=\"" << y << "\" x2=\"" << x + 1 << "\" y2=\""
			     << y + ch << "\" stroke=\"#222222\" stroke-width=\"2\"/>\n";
		bool lettered = r.kind == RowKind::data || r.kind == RowKind::cow || r.kind == RowKind::disk_ag ||
				r.kind == RowKind::reads || r.kind == RowKind::mapping || r.kind == RowKind::bio;
		if (lettered && ch_ != '.' && ch_ != ' ' && cw >= 12)
			text(x + cw / 2, y + ch - 5, std::string(1, ch_),
			     dark_fill(r.kind, ch_) ? " class=\"cell\" fill=\"#ffffff\"" : " class=\"cell\"");
	}

	void ag_boundaries(const Row &r)
	{
		for (uint64_t c = 1; c < r.cells.size(); c++) {
			char a = r.cells[c - 1], b = r.cells[c];
			bool both = kAgDigits.find(a) != std::string_view::npos && kAgDigits.find(b) != std::string_view::npos;
			if (!both || a == b)
				continue;
			double x = x_of_cell(double(c));
			body << "<line class=\"ag-boundary\" x1=\"" << x << "\" y1=\"" << y - 4 << "\" x2=\"" << x << "\" y2=\""
			     << y + ch + 4 << "\" stroke=\"#c0392b\" stroke-width=\"3\"/>\n";
		}
	}

	void row(const Row &r, size_t i)
	{
		row_y[i] = y;
		text(12, y + ch - 5, r.label);
		for (uint64_t c = 0; c < r.cells.size(); c++)
			cell(r, c);
		if (r.kind == RowKind::disk_ag)
			ag_boundaries(r);
		if (r.kind == RowKind::mapping || r.kind == RowKind::bio)
			text(x_of_cell(double(r.cells.size())) + 10, y + ch - 5, r.legend);
		y += ch + 5;
	}

	void rows()
	{
		rows_top = y;
		row_y.assign(l.rows.size(), -1);
		for (Section s : {Section::before, Section::io, Section::after, Section::crash}) {
			bool any = std::any_of(l.rows.begin(), l.rows.end(), [s](const Row &r) { return r.section == s; });
			if (!any)
				continue;
			text(4, y + 13, section_title(s), " font-weight=\"bold\"");
			y += 20;
			for (size_t i = 0; i < l.rows.size(); i++)
				if (l.rows[i].section == s)
					row(l.rows[i], i);
		}
		rows_bottom = y;
	}

	// The blocks that make each finding, outlined, numbered as in the list
	// under the picture.
	void marks()
	{
		for (size_t m = 0; m < l.marks.size(); m++) {
			const Mark &k = l.marks[m];
			if (k.row >= row_y.size() || row_y[k.row] < 0)
				continue;
			const double x = x_of_cell(double(k.c0)), w = double(k.c1 - k.c0) * cw, ty = row_y[k.row];
			body << "<rect class=\"mark\" x=\"" << x - 1 << "\" y=\"" << ty - 2 << "\" width=\"" << w + 2
			     << "\" height=\"" << ch + 4 << "\" fill=\"none\" stroke=\"" << kMarkColour
			     << "\" stroke-width=\"3\"><title>" << xml_escape(k.invariant + ": " + k.why)
			     << "</title></rect>\n";
			// badges of marks ending at the same cell step left, so none hides another
			const auto same = std::count_if(l.marks.begin(), l.marks.begin() + long(m), [&](const Mark &o) {
				return o.row == k.row && o.c1 == k.c1;
			});
			const double bx = x + w - 16 * double(same);
			body << "<circle class=\"mark-badge\" cx=\"" << bx << "\" cy=\"" << ty - 2 << "\" r=\"7\" fill=\""
			     << kMarkColour << "\"/>\n";
			text(bx, ty + 1.5, std::to_string(m + 1), " class=\"cell\" fill=\"#ffffff\" font-size=\"9\"");
		}
	}

	// The write range, over every row, on top of the blocks.
	void write_range()
	{
		const Window &w = l.win;
		double a = double(std::clamp(l.o, w.first, w.end()) - w.first) / double(w.scale);
		double b = double(std::clamp(l.E, w.first, w.end()) - w.first) / double(w.scale);
		body << "<rect id=\"write-range\" class=\"write-range\" x=\"" << x_of_cell(a) << "\" y=\"" << rows_top - 4
		     << "\" width=\"" << (b - a) * cw << "\" height=\"" << rows_bottom - rows_top + 4
		     << "\" fill=\"#2e9d5b\" fill-opacity=\"0.10\" stroke=\"#2e9d5b\" stroke-width=\"2\"><title>the write: file blocks ["
		     << l.o << ", " << l.E << ")</title></rect>\n";
	}

	// A dashed line at every boundary of the write length's alignment unit,
	// when the boundaries are at least four cells apart (closer, they would
	// cover the picture; the grid row still shows them).
	void grid_lines()
	{
		const Window &w = l.win;
		const uint64_t u = l.write_unit;
		if (u < 4 * w.scale || (w.end() - w.first) / u > 400)
			return;
		for (xfs_fileoff_t f = (w.first + u - 1) / u * u; f <= w.end(); f += u) {
			double x = x_of_cell(double(f - w.first) / double(w.scale));
			body << "<line class=\"grid\" x1=\"" << x << "\" y1=\"" << rows_top - 6 << "\" x2=\"" << x << "\" y2=\""
			     << rows_bottom << "\" stroke=\"#333333\" stroke-width=\"1\" stroke-dasharray=\"3,3\"/>\n";
		}
	}

	bool has_row(RowKind k) const
	{
		return std::any_of(l.rows.begin(), l.rows.end(), [k](const Row &r) { return r.kind == k; });
	}

	// One swatch per AG the disk rows show.
	void ag_legend()
	{
		std::string seen;
		for (const auto &r : l.rows)
			for (char c : r.cells)
				if (r.kind == RowKind::disk_ag && kAgDigits.find(c) != std::string_view::npos &&
				    seen.find(c) == std::string::npos)
					seen += c;
		std::sort(seen.begin(), seen.end(), [](char a, char b) { return kAgDigits.find(a) < kAgDigits.find(b); });
		double x = 12;
		for (char c : seen)
			legend_item(x, RowKind::disk_ag, c, "AG " + std::to_string(kAgDigits.find(c)));
		if (x > 12)
			y += 18;
	}

	void legend_item(double &x, RowKind k, char c, const std::string &what)
	{
		body << "<rect class=\"legend\" x=\"" << x << "\" y=\"" << y << "\" width=\"12\" height=\"12\" fill=\""
		     << cell_fill(k, c) << "\" stroke=\"#888888\"/>\n";
		if (tick_row(k) && c == '|')
			body << "<line class=\"tick\" x1=\"" << x + 1 << "\" y1=\"" << y << "\" x2=\"" << x + 1 << "\" y2=\""
			     << y + 12 << "\" stroke=\"#222222\" stroke-width=\"2\"/>\n";
		text(x + 16, y + 10, what);
		x += 16 + 6.6 * double(what.size()) + 14;
	}

	void legend()
	{
		y += 10;
		text(4, y + 10, "legend", " font-weight=\"bold\"");
		y += 18;
		struct Item {
			RowKind k;
			char c;
			const char *what;
		};
		const std::vector<std::vector<Item>> lines = {
			{{RowKind::data, 'N', "data: written"}, {RowKind::data, 'U', "data: unwritten"},
			 {RowKind::data, '.', "hole / none"}, {RowKind::data, 'd', "delalloc"}},
			{{RowKind::cow, 'W', "CoW: written (write in progress)"}, {RowKind::cow, 'u', "CoW: unwritten"},
			 {RowKind::shared, 'S', "shared (refcount > 1)"}, {RowKind::write, '=', "the write"}},
			{{RowKind::grid, '|', "unit boundary / block (disk or fsbno) aligned to the write length"},
			 {RowKind::grid, '-', "inside a unit / not aligned"}, {RowKind::data, kMixed, "mixed cell"}},
			{{RowKind::mapping, 'M', "mapping: written"}, {RowKind::mapping, 'U', "mapping: unwritten"},
			 {RowKind::mapping, 'h', "mapping: hole"}},
			{{RowKind::bio, 'A', "bio: REQ_ATOMIC"}, {RowKind::bio, 'P', "bio: plain, new data"},
			 {RowKind::bio, 'C', "bio: plain, a copy of old data"}},
			{{RowKind::reads, 'N', "reads new"}, {RowKind::reads, 'O', "reads old"}, {RowKind::reads, '?', "reads neither"}},
		};
		for (const auto &line : lines) {
			double x = 12;
			for (const auto &i : line)
				if (has_row(i.k))
					legend_item(x, i.k, i.c, i.what);
			if (x > 12)
				y += 18;
		}
		ag_legend();
		text(12, y + 10, "red bar on a disk row: an AG boundary between neighbouring blocks; dashed lines: the "
				 "write length's alignment grid; outlined in magenta: the blocks that make the finding",
		     "");
		y += 18;
	}

	void lines(const std::string &heading, const std::vector<std::string> &v, const char *extra = "")
	{
		if (v.empty())
			return;
		y += 6;
		text(4, y + 10, heading, " font-weight=\"bold\"");
		y += 18;
		for (const auto &p : v) {
			text(12, y + 10, p, extra);
			y += 16;
		}
	}

	void mark_list()
	{
		std::vector<std::string> v;
		for (size_t m = 0; m < l.marks.size(); m++) {
			const Mark &k = l.marks[m];
			v.push_back(std::to_string(m + 1) + ". " + k.invariant + ": " +
				    (k.row < l.rows.size() ? l.rows[k.row].label + (l.rows[k.row].section == Section::after ? " after the write" : "") + ", " : "") + k.why);
		}
		lines("what makes the finding (outlined in magenta)", v, " fill=\"#9c0055\"");
	}

	void summary()
	{
		for (const auto &s : l.summary) {
			const bool bad = s.find("violation") != std::string::npos || s.find("inconclusive") != std::string::npos;
			const bool div = s.find("divergence") != std::string::npos;
			text(4, y, s,
			     s.rfind("verdict", 0) == 0
				     ? (bad ? " font-weight=\"bold\" fill=\"#c0392b\"" : div ? " font-weight=\"bold\" fill=\"#b45f06\"" : " font-weight=\"bold\" fill=\"#2e7d32\"")
				     : " font-weight=\"bold\"");
			y += 16;
		}
	}

	std::string finish()
	{
		double width = std::max(x_of_cell(double(l.win.cells)) + 40, 6.6 * double(longest_text) + 40);
		std::ostringstream o;
		o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << int(width) << "\" height=\"" << int(y + 10)
		  << "\" viewBox=\"0 0 " << int(width) << " " << int(y + 10)
		  << "\" font-family=\"monospace\" font-size=\"11\" style=\"background:#ffffff\">\n"
		  << "<rect x=\"0\" y=\"0\" width=\"" << int(width) << "\" height=\"" << int(y + 10) << "\" fill=\"#ffffff\"/>\n"
		  << "<style>.cell { text-anchor: middle; font-size: 10px; } .ruler { font-size: 10px; fill: #555555; }</style>\n"
		  << body.str() << "</svg>\n";
		return o.str();
	}
};

// ------------------------------------------------------------ the crash illustration

enum class Fate { all, none, either };
struct BioFate {
	Fate fate = Fate::none;
	uint64_t prefix = 0; // either: how many of its first blocks persisted (the illustration's choice)
	std::string why;
};

bool device_atomic_ok(const FileState &st, uint64_t size, uint64_t addr)
{
	const DeviceLimits &d = st.dev;
	return d.awu_min != 0 && size && (size & (size - 1)) == 0 && size <= d.awu_max && size % d.awu_min == 0 &&
	       addr % size == 0;
}

std::optional<bool> witness_bit(const CrashState &c, size_t b)
{
	for (const auto &[i, persisted] : c.atomic)
		if (i == b)
			return persisted;
	return std::nullopt;
}

// What bio b left on disk, per the crash model (docs/domain.md, "Crashes"; model/src/invariants.cpp).
BioFate bio_fate(const Trace &t, size_t b, const CrashState &c)
{
	const Bio &x = t.bios[b];
	if (x.status)
		return {Fate::none, 0, "ended with " + std::string(errno_name(x.status)) + ": nothing written"};
	if (c.committed < x.txns_before)
		return {Fate::none, 0, "not yet submitted at the crash: nothing written"};
	if (c.committed > x.txns_before)
		return {Fate::all, 0, "durable: a transaction after it committed (the log flush)"};
	const uint64_t bs = t.initial.geo.block_size;
	auto bit = witness_bit(c, b);
	if (x.req_atomic && bit && device_atomic_ok(t.initial, x.nblocks * bs, x.daddr * bs))
		return {*bit ? Fate::all : Fate::none, 0,
			std::string("in flight, a valid REQ_ATOMIC bio: ") + (*bit ? "persisted whole" : "lost whole") +
				" (the witness's choice)"};
	return {Fate::either, 0,
		x.req_atomic ? "in flight, REQ_ATOMIC but not one the device writes atomically: any subset may persist"
			     : "in flight, a plain bio: any subset of its blocks may persist"};
}

bool landed(const Bio &x, const BioFate &f, xfs_fsblock_t p)
{
	return f.fate == Fate::all || (f.fate == Fate::either && p - x.fsbno < f.prefix);
}

std::optional<size_t> last_writer(const Trace &t, xfs_fsblock_t p)
{
	for (size_t b = t.bios.size(); b-- > 0;)
		if (p >= t.bios[b].fsbno && p - t.bios[b].fsbno < t.bios[b].nblocks)
			return b;
	return std::nullopt;
}

// What file block x reads with snapshot k committed (the rules of
// model/src/invariants.cpp's `reading`, for one concrete crash).
char block_reading(const Trace &t, const std::vector<BioFate> &fates, unsigned k, xfs_fileoff_t x)
{
	const Fork &snap = k == 0 ? t.initial.data_fork : t.txns[k - 1].data_fork;
	const xfs_bmbt_irec *e = extent_at(snap, x), *e0 = extent_at(t.initial.data_fork, x);
	if (e && e->br_startblock == DELAYSTARTBLOCK)
		return '?';
	const bool old_zeros = !e0 || (is_real(e0) && e0->br_state == XFS_EXT_UNWRITTEN);
	if (!e || e->br_state == XFS_EXT_UNWRITTEN)
		return old_zeros ? 'O' : '?';
	const xfs_fsblock_t p = pblk_of(*e, x);
	auto w = last_writer(t, p);
	if (w && landed(t.bios[*w], fates[*w], p))
		return t.bios[*w].payload == Payload::old_copy ? 'O' : 'N';
	const bool orig_is_old = is_real(e0) && e0->br_state == XFS_EXT_NORM && pblk_of(*e0, x) == p;
	return orig_is_old ? 'O' : '?';
}

std::string readings(const Trace &t, const std::vector<BioFate> &fates, unsigned k, xfs_fileoff_t o, xfs_fileoff_t E)
{
	std::string s;
	for (xfs_fileoff_t x = o; x < E; x++)
		s += block_reading(t, fates, k, x);
	return s;
}

bool is_torn(const std::string &reads)
{
	return reads.find('?') != std::string::npos ||
	       (reads.find('O') != std::string::npos && reads.find('N') != std::string::npos);
}

// The splits tried for a bio whose blocks may persist in any subset: its
// first half (the split that shows a tear most often), all, none.
std::vector<uint64_t> prefix_options(const Bio &b)
{
	if (b.nblocks >= 2)
		return {(b.nblocks + 1) / 2, b.nblocks, 0};
	return {b.nblocks, 0};
}

std::string describe_fate(const Bio &x, size_t b, const BioFate &f)
{
	std::ostringstream o;
	o << "bio " << b << " (" << (x.req_atomic ? "REQ_ATOMIC" : "plain") << ", file blocks [" << x.file_off << ", "
	  << x.file_off + x.nblocks << ")): " << f.why;
	if (f.fate == Fate::either)
		o << " -- chosen for the illustration: its first " << blocks_str(f.prefix) << " persisted, the other "
		  << x.nblocks - f.prefix << " lost";
	return o.str();
}

// "blocks [0, 2) read new; blocks [2, 4) read old"
std::string describe_runs(const std::string &reads, xfs_fileoff_t o)
{
	std::string out;
	for (size_t i = 0; i < reads.size();) {
		size_t j = i;
		while (j < reads.size() && reads[j] == reads[i])
			j++;
		const char *what = reads[i] == 'N' ? "new" : reads[i] == 'O' ? "old" : "neither old nor new";
		out += (out.empty() ? "" : "; ") + std::string(j - i == 1 ? "block " : "blocks ") +
		       (j - i == 1 ? std::to_string(o + i) : "[" + std::to_string(o + i) + ", " + std::to_string(o + j) + ")") +
		       (j - i == 1 ? " reads " : " read ") + what;
		i = j;
	}
	return out;
}

// ------------------------------------------------------------ judgement

const InvariantInfo *info_of(const std::string &name)
{
	for (const auto &i : invariant_catalogue())
		if (name == i.name)
			return &i;
	return nullptr;
}

std::string crash_row_cells(const Layout &l, const std::string &reads)
{
	return cells_of(l.win, [&](xfs_fileoff_t x) { return x >= l.o && x < l.E ? reads[x - l.o] : ' '; });
}

std::string format_crash(const Trace &t, const Finding &f, const Layout &l)
{
	const CrashState *c = f.witness.crash_state();
	if (!c)
		return "    (the witness is not a crash state: no illustration)\n";
	CrashIllustration ill = illustrate_crash(t, *c);
	std::ostringstream o;
	o << "    which blocks read old and which new -- an ILLUSTRATION derived by `untorn explain` from the trace and\n"
	  << "    this witness (the solver fixes the committed transactions and each REQ_ATOMIC bio; for a bio that may\n"
	  << "    persist in part, explain picks a split of its blocks that shows the tear):\n";
	o << "      " << c->committed << " of " << t.txns.size() << " transactions committed: the data fork as "
	  << (c->committed ? "after transaction " + std::to_string(c->committed - 1) : std::string("before the write"))
	  << "\n";
	for (const auto &b : ill.bios)
		o << "      " << b << "\n";
	Row r{RowKind::reads, Section::crash, "reads", crash_row_cells(l, ill.reads), "N new  O old  ? neither", 0, {}};
	o << ruler(l.win, "    file block") << row_line(r);
	o << "      " << describe_runs(ill.reads, l.o) << "\n";
	if (!ill.torn)
		o << "      (no tear under the splits explain tries; the solver's crash may need another subset of an "
		     "in-flight bio's blocks)\n";
	return o.str();
}

std::string format_finding(const Trace &t, const Finding &f, const Layout &l)
{
	std::ostringstream o;
	const InvariantInfo *info = info_of(f.invariant);
	o << "  " << f.invariant << " (" << (f.cls == InvClass::safety ? "violation" : "divergence") << ")\n";
	if (info)
		o << "    forbids: " << info->forbids << "\n    origin:  " << info->origin << "\n";
	o << "    witness: " << f.witness.text() << "\n";
	if (f.invariant == "torn_write")
		o << format_crash(t, f, l);
	return o.str();
}

std::string format_expect(const Case &c, const Trace &t, const Judgement &j)
{
	const Expect &e = c.expect;
	if (!e.result && !e.path && !e.verdict && e.invariants.empty())
		return "";
	std::ostringstream o;
	o << "  the case expects:";
	if (e.result)
		o << " result " << (*e.result ? std::string(errno_name(*e.result)) : "ok");
	if (e.path)
		o << ", path " << path_name(*e.path);
	if (e.verdict)
		o << ", verdict " << *e.verdict;
	if (!e.invariants.empty())
		o << ", invariants [" << join(e.invariants) << "]";
	bool same = (!e.result || *e.result == t.result) && (!e.path || *e.path == t.path) &&
		    (!e.verdict || *e.verdict == verdict_name(j.verdict)) &&
		    (e.invariants.empty() || e.invariants == j.broken_names());
	o << (same ? " -- as happened\n" : " -- NOT what happened (see `untorn replay`)\n");
	return o.str();
}

// ------------------------------------------------------------ decisions

std::string branch_line(const Branch &b, const char *indent)
{
	std::ostringstream o;
	o << indent << b.func << ": if (" << b.cond << ") -> " << (b.taken ? "taken" : "not taken") << "   ["
	  << (b.file ? b.file : "?") << ":" << b.line << "]\n";
	return o.str();
}

std::string call_text(const Trace &t, size_t i)
{
	const IomapBeginCall &c = t.calls[i];
	const uint64_t bs = t.initial.geo.block_size;
	std::ostringstream o;
	o << "  iomap_begin #" << i + 1 << " via " << ops_name(c.ops) << ": pos " << c.pos << ", length " << c.length
	  << " (file blocks [" << c.pos / bs << ", " << (c.pos + c.length + bs - 1) / bs << ")), flags "
	  << iomap_flags_str(c.flags) << "\n";
	// ILOCK drop points reached in this call, each where it fell among the
	// decisions, with the actions another actor took there (x_interleave)
	auto drops_at = [&](size_t nb) {
		for (size_t d = 0; d < t.drop_points.size(); d++) {
			const auto &dp = t.drop_points[d];
			if (dp.call != int(i) || dp.branches_before != nb)
				continue;
			o << "    -- " << dp.func << " drops the ILOCK (drop point " << d << ")";
			bool any = false;
			for (const auto &a : t.initial.interleave)
				if (a.at == d) {
					o << (any ? "; " : ": another actor: ") << interleave_kind_name(a.action)
					  << " file blocks [" << a.offset << ", " << a.offset + a.count << ")";
					any = true;
				}
			o << (any ? "" : ": nothing runs") << "; ILOCK retaken --\n";
		}
	};
	for (size_t nb = 0; nb < c.branches.size(); nb++) {
		drops_at(nb);
		o << branch_line(c.branches[nb], "    ");
	}
	drops_at(c.branches.size());
	if (c.error) {
		o << "    returns -" << errno_name(c.error) << "\n";
		return o.str();
	}
	o << "    returns " << iomap_type_name(c.iomap.type) << " " << format_extent(c.iomap.irec) << " = bytes ["
	  << c.iomap.offset << ", " << c.iomap.offset + c.iomap.length << "), flags " << iomap_fflags_str(c.iomap.flags)
	  << "\n";
	if (c.srcmap)
		o << "    srcmap " << iomap_type_name(c.srcmap->type) << " " << format_extent(c.srcmap->irec) << "\n";
	return o.str();
}

std::string bio_text(const Trace &t, size_t i)
{
	const Bio &b = t.bios[i];
	const Geometry &g = t.initial.geo;
	std::ostringstream o;
	o << "  bio " << i << ": file blocks [" << b.file_off << ", " << b.file_off + b.nblocks << ") -> fsbno " << b.fsbno
	  << " = disk block " << b.daddr;
	if (g.ag_blocks)
		o << " (AG " << xfs_fsb_to_agno(g, b.fsbno) << ", agbno " << xfs_fsb_to_agbno(g, b.fsbno) << ")";
	o << ", " << blocks_str(b.nblocks) << ", " << (b.req_atomic ? "REQ_ATOMIC" : "plain") << ", "
	  << (b.payload == Payload::old_copy ? "a copy of old data (unshare)" : "new data") << ", submitted after "
	  << b.txns_before << " transaction" << (b.txns_before == 1 ? "" : "s");
	if (b.status)
		o << "; the block layer ends it with " << errno_name(b.status);
	o << "\n";
	return o.str();
}

// An in-core change (no transaction: not logged, gone after a crash) says so.
std::string note_label(const std::string &note)
{
	return note.find("in-core") != std::string::npos ? "in-core change, no transaction: " : "note: ";
}

std::string event_text(const Trace &t, const TraceEvent &ev)
{
	const size_t i = size_t(ev.index);
	switch (ev.kind) {
	case TraceEvent::call: return call_text(t, i);
	case TraceEvent::bio: return bio_text(t, i);
	case TraceEvent::txn:
		return "  transaction " + std::to_string(i) + " (" + t.txns[i].name + (t.txns[i].other ? ", another actor" : "") +
		       "): " + t.txns[i].what + "\n";
	case TraceEvent::note: return "  " + note_label(t.notes[i]) + t.notes[i] + "\n";
	}
	return "";
}

std::string header_text(const Case &c, const Trace &t)
{
	const Geometry &g = t.initial.geo;
	std::ostringstream o;
	o << "untorn explain: " << c.name << (c.file.empty() ? "" : " (" + c.file + ")") << "\n";
	o << "variant " << variant_name(t.variant) << ": RWF_ATOMIC pwrite offset " << t.write.offset << " length "
	  << t.write.length << " = file blocks [" << t.write.offset / g.block_size << ", "
	  << (t.write.offset + t.write.length + g.block_size - 1) / g.block_size << ")\n";
	o << "geometry: bs " << g.block_size << ", ag_blocks " << g.ag_blocks << " (agblklog " << g.agblklog() << "), "
	  << g.ag_count << " AG" << (g.ag_count == 1 ? "" : "s") << ", reflink " << (g.reflink ? "yes" : "no")
	  << ", cowextsize " << g.cowextsize << (g.cowextsize ? "" : " (unset: 32)") << "; device awu ["
	  << t.initial.dev.awu_min << ", " << t.initial.dev.awu_max << "] bytes; inode atomic write limits [" << t.awu_min
	  << ", " << t.awu_max << "]\n";
	for (size_t i = 0; i < c.state.interleave.size(); i++) {
		const auto &a = c.state.interleave[i];
		o << (i ? "" : "interleaved (another actor at the write's ILOCK drop points):\n") << "  at drop point "
		  << a.at << ": " << interleave_kind_name(a.action) << " over file blocks [" << a.offset << ", "
		  << a.offset + a.count << ")\n";
	}
	if (!c.note.empty())
		o << "note:\n" << word_wrap(c.note, 102, "  ");
	return o.str();
}

} // namespace

// ------------------------------------------------------------ exported

std::optional<uint64_t> Window::column(xfs_fileoff_t f) const
{
	if (f < first || f >= end())
		return std::nullopt;
	return (f - first) / scale;
}

Window choose_window(xfs_fileoff_t o, xfs_fileoff_t E)
{
	const xfs_fileoff_t end = std::max(E, o + 1);
	const uint64_t pad = std::max<uint64_t>(4, (end - o) / 4);
	const xfs_fileoff_t lo = o > pad ? o - pad : 0, hi = end + pad;
	// A power-of-two scale, cells starting at multiples of it: alignment
	// units (powers of two) then begin at cell boundaries.
	Window w;
	for (w.scale = 1;; w.scale *= 2) {
		w.first = lo / w.scale * w.scale;
		w.cells = (hi - w.first + w.scale - 1) / w.scale;
		if (w.cells <= kMaxCells)
			return w;
	}
}

const Row *Layout::find(RowKind k, Section s, uint64_t u) const
{
	for (const auto &r : rows)
		if (r.kind == k && r.section == s && (!u || r.unit == u))
			return &r;
	return nullptr;
}

Layout build_layout(const Trace &t, const std::string &title)
{
	Layout l;
	l.title = title;
	const uint64_t bs = t.initial.geo.block_size;
	l.o = t.write.offset / bs;
	l.E = (t.write.offset + t.write.length + bs - 1) / bs;
	l.write_unit = std::max<uint64_t>(1, t.write.length / bs);
	l.win = choose_window(l.o, l.E);
	add_fork_rows(l, t.initial, Section::before);
	add_write_rows(l, t);
	add_disk_rows(l, t.initial, Section::before, false);
	add_disk_rows(l, t.initial, Section::before, true);
	add_io_rows(l, t);
	add_fork_rows(l, t.final_state, Section::after);
	add_disk_rows(l, t.final_state, Section::after, false);
	add_disk_rows(l, t.final_state, Section::after, true);
	l.physical = physical_lines(t, l);
	return l;
}

std::string render_text(const Layout &l)
{
	std::string out = "  " + scale_caption(l.win) + "\n";
	out += ruler(l.win, "file block");
	out += rows_text(l, Section::before);
	if (l.find(RowKind::mapping, Section::io) || l.find(RowKind::bio, Section::io))
		out += rows_text(l, Section::io);
	out += rows_text(l, Section::after);
	if (!l.physical.empty()) {
		out += "  disk, per extent in the window (disk block = agno * ag_blocks + agbno, as xfs_fsb_to_db)\n";
		for (const auto &p : l.physical)
			out += "    " + p + "\n";
	}
	if (!l.marks.empty()) {
		out += "  what makes the finding (outlined in the picture)\n";
		for (size_t m = 0; m < l.marks.size(); m++) {
			const Mark &k = l.marks[m];
			const Row &r = l.rows[k.row];
			out += "    " + std::to_string(m + 1) + ". " + k.invariant + ": " + r.label +
			       (r.section == Section::after ? " after the write" : "") + ", " + k.why + "\n";
		}
	}
	return out;
}

std::string render_svg(const Layout &l)
{
	Svg s(l);
	s.y = 20;
	s.text(4, s.y, l.title, " font-weight=\"bold\" font-size=\"13\"");
	s.y += 18;
	s.summary();
	s.text(4, s.y, scale_caption(l.win));
	s.y += 22;
	s.ruler();
	s.rows();
	s.grid_lines();
	s.write_range();
	s.marks();
	s.mark_list();
	s.legend();
	s.lines("what happened, in order", l.steps);
	s.lines("disk (disk block = agno * ag_blocks + agbno, xfs_fsb_to_db)", l.physical);
	return s.finish();
}


// The file-level decisions (admission, limits, the path) in the order they
// were taken among the calls, bios and transactions: the -ENOPROTOOPT
// retry's decision comes after the ->iomap_begin call that returned it.
// (A trace without positions prints them all first.)
std::string format_decisions(const Trace &t)
{
	const bool placed = t.file_branch_at.size() == t.file_branches.size();
	std::string out = "  file-level decisions (admission, limits, the path):\n";
	size_t fb = 0;
	auto file_branches_upto = [&](size_t events, const char *heading) {
		bool first = true;
		for (; fb < t.file_branches.size() && (!placed || t.file_branch_at[fb] <= events); fb++) {
			if (first && heading)
				out += heading;
			first = false;
			out += branch_line(t.file_branches[fb], "    ");
		}
	};
	file_branches_upto(0, nullptr);
	for (size_t i = 0; i < t.timeline.size(); i++) {
		if (i > 0)
			file_branches_upto(i, "  back at file level:\n");
		out += event_text(t, t.timeline[i]);
	}
	file_branches_upto(t.timeline.size(), "  back at file level:\n");
	out += "  result: " +
	       (t.result ? "-" + std::string(errno_name(t.result)) : "ok (" + std::to_string(t.bytes_written) + " bytes)") +
	       ", path " + std::string(path_name(t.path)) + "\n";
	return out;
}

CrashIllustration illustrate_crash(const Trace &t, const CrashState &choice)
{
	CrashState c = choice;
	c.committed = std::min<unsigned>(c.committed, unsigned(t.txns.size()));
	const uint64_t bs = t.initial.geo.block_size;
	const xfs_fileoff_t o = t.write.offset / bs, E = (t.write.offset + t.write.length + bs - 1) / bs;
	std::vector<BioFate> fates;
	std::vector<size_t> open; // bios that may persist in part: the illustration picks a split
	for (size_t b = 0; b < t.bios.size(); b++) {
		fates.push_back(bio_fate(t, b, c));
		if (fates.back().fate == Fate::either && open.size() < 6 && E - o <= 65536)
			open.push_back(b);
	}
	std::vector<size_t> idx(open.size(), 0);
	CrashIllustration best;
	for (bool first = true;; first = false) {
		for (size_t i = 0; i < open.size(); i++)
			fates[open[i]].prefix = prefix_options(t.bios[open[i]])[idx[i]];
		std::string reads = readings(t, fates, c.committed, o, E);
		if (first || is_torn(reads)) {
			best.reads = reads;
			best.torn = is_torn(reads);
			best.bios.clear();
			for (size_t b = 0; b < t.bios.size(); b++)
				best.bios.push_back(describe_fate(t.bios[b], b, fates[b]));
		}
		if (best.torn)
			break;
		size_t i = 0; // next combination of splits
		while (i < idx.size() && ++idx[i] == prefix_options(t.bios[open[i]]).size())
			idx[i++] = 0;
		if (i == idx.size())
			break;
	}
	best.choice = c;
	return best;
}

std::string format_judgement_explained(const Trace &t, const Judgement &j, const Layout &l)
{
	std::ostringstream o;
	o << "  verdict (Z3, the reference engine): " << verdict_name(j.verdict) << "\n";
	if (j.findings.empty() && j.inconclusive.empty())
		o << "  every invariant holds, for every crash state\n";
	for (const auto &f : j.findings)
		o << format_finding(t, f, l);
	for (const auto &n : j.inconclusive) {
		const InvariantInfo *info = info_of(n);
		o << "  " << n << ": INCONCLUSIVE (the solver answered unknown or timed out) -- not a pass"
		  << (info ? std::string("; it forbids ") + info->forbids : "") << "\n";
	}
	return o.str();
}

std::string case_title(const Case &c, const Trace &t)
{
	return c.name + " -- " + std::string(variant_name(t.variant)) + ", RWF_ATOMIC write of " +
	       std::to_string(t.write.length) + " bytes at " + std::to_string(t.write.offset);
}

namespace {

// The index of the n-th row of kind k in section s, if drawn.
std::optional<size_t> row_index(const Layout &l, RowKind k, Section s, size_t n = 0)
{
	for (size_t i = 0; i < l.rows.size(); i++)
		if (l.rows[i].kind == k && l.rows[i].section == s && n-- == 0)
			return i;
	return std::nullopt;
}

std::string blocks_text(xfs_fileoff_t a, xfs_fileoff_t b)
{
	return b == a + 1 ? "file block " + std::to_string(a)
			  : "file blocks [" + std::to_string(a) + ", " + std::to_string(b) + ")";
}

// Marks each run of cells of `row` where `pred` holds for some block of the
// cell (sampled in very wide cells, as the characters are).
void mark_blocks(std::vector<Mark> &out, const Layout &l, std::optional<size_t> row,
		 const std::function<bool(xfs_fileoff_t)> &pred, const std::string &inv, const std::string &why)
{
	if (!row)
		return;
	const Window &w = l.win;
	const uint64_t step = std::max<uint64_t>(1, w.scale / kSamplesPerCell);
	auto hit = [&](uint64_t c) {
		for (uint64_t i = 0; i < w.scale; i += step)
			if (pred(w.cell_start(c) + i))
				return true;
		return false;
	};
	for (uint64_t c = 0; c < w.cells;) {
		if (!hit(c)) {
			c++;
			continue;
		}
		uint64_t e = c + 1;
		while (e < w.cells && hit(e))
			e++;
		out.push_back({*row, c, e, inv, blocks_text(w.cell_start(c), w.cell_start(e)) + ": " + why});
		c = e;
	}
}

bool written_by_bio(const Trace &t, xfs_fsblock_t p)
{
	return std::any_of(t.bios.begin(), t.bios.end(), [p](const Bio &b) {
		return !b.status && p >= b.fsbno && p - b.fsbno < b.nblocks;
	});
}

bool cow_path_call(const IomapBeginCall &c)
{
	return c.ops == Ops::atomic_write_cow || (c.flags & IOMAP_ATOMIC_COW) || (c.iomap.flags & IOMAP_F_ATOMIC_COW);
}

// A mapping the direct I/O loop sends as one REQ_ATOMIC bio: a hardware-path
// mapping of an atomic write that is not a CoW mapping.
bool atomic_bio_call(const IomapBeginCall &c)
{
	return !c.error && (c.flags & IOMAP_ATOMIC) && !cow_path_call(c) && !(c.iomap.flags & IOMAP_F_SHARED);
}

std::pair<xfs_fileoff_t, xfs_fileoff_t> mapping_blocks(const IomapBeginCall &c, uint64_t bs)
{
	return {xfs_fileoff_t(c.iomap.offset) / bs, (xfs_fileoff_t(c.iomap.offset + c.iomap.length) + bs - 1) / bs};
}

bool same_mapping(const xfs_bmbt_irec *a, const xfs_bmbt_irec *b, xfs_fileoff_t x)
{
	if (!a || !b)
		return !a && !b;
	if (is_real(a) != is_real(b) || a->br_state != b->br_state)
		return false;
	return !is_real(a) || pblk_of(*a, x) == pblk_of(*b, x);
}

void marks_for(std::vector<Mark> &m, const Trace &t, const Layout &l, const std::string &inv, const std::string &reads)
{
	const uint64_t bs = t.initial.geo.block_size;
	const xfs_fileoff_t o = l.o, E = l.E;
	auto outside = [&](xfs_fileoff_t x) { return x < o || x >= E; };
	const auto data_after = row_index(l, RowKind::data, Section::after);
	const auto cow_after = row_index(l, RowKind::cow, Section::after);
	const auto write_row = row_index(l, RowKind::write, Section::before);
	const size_t calls = std::min(t.calls.size(), kMaxIoRows), bios = std::min(t.bios.size(), kMaxIoRows);

	if (inv == "outside_unchanged") {
		mark_blocks(m, l, cow_after, [&](xfs_fileoff_t x) {
			const xfs_bmbt_irec *e = extent_at(t.final_state.cow_fork, x);
			if (!outside(x) || !is_real(e) || e->br_state != XFS_EXT_NORM)
				return false;
			const xfs_fsblock_t p = pblk_of(*e, x);
			const xfs_bmbt_irec *b = extent_at(t.initial.cow_fork, x);
			const bool was = is_real(b) && b->br_state == XFS_EXT_NORM && pblk_of(*b, x) == p;
			return !was && !written_by_bio(t, p);
		}, inv, "a stale CoW block exposed: written (a write in progress) but never written, so a later completion "
			"would remap its stale contents into the file");
		mark_blocks(m, l, data_after, [&](xfs_fileoff_t x) {
			return outside(x) && !same_mapping(extent_at(t.initial.data_fork, x), extent_at(t.final_state.data_fork, x), x);
		}, inv, "the data fork changed outside the write");
	} else if (inv == "sw_mapping_contract") {
		for (size_t i = 0; i < calls; i++) {
			const IomapBeginCall &c = t.calls[i];
			if (c.error || !cow_path_call(c))
				continue;
			const auto row = row_index(l, RowKind::mapping, Section::io, i);
			// (not a structured binding: the lambdas below capture a and b,
			// which clang 14 refuses for bindings)
			xfs_fileoff_t a, b;
			std::tie(a, b) = mapping_blocks(c, bs);
			if (c.iomap.type != IomapType::MAPPED)
				mark_blocks(m, l, row, [&](xfs_fileoff_t x) { return x >= a && x < b; }, inv,
					    std::string("the CoW path returned an ") + std::string(iomap_type_name(c.iomap.type)) +
						    " mapping, not a written CoW extent");
			else
				mark_blocks(m, l, row, [&](xfs_fileoff_t x) { return x >= a && x < b && outside(x); }, inv,
					    "the CoW-path mapping reaches outside the write");
		}
	} else if (inv == "hw_mapping_contract") {
		for (size_t i = 0; i < calls; i++) {
			const IomapBeginCall &c = t.calls[i];
			if (!atomic_bio_call(c))
				continue;
			// (not a structured binding: the lambdas below capture a and b,
			// which clang 14 refuses for bindings)
			xfs_fileoff_t a, b;
			std::tie(a, b) = mapping_blocks(c, bs);
			const bool spans = a <= o && b >= E;
			mark_blocks(m, l, row_index(l, RowKind::mapping, Section::io, i),
				    [&](xfs_fileoff_t x) { return x >= a && x < b; }, inv,
				    spans ? "a mapping for one REQ_ATOMIC bio that the contract refuses (alignment or extent state)"
					  : "a mapping for one REQ_ATOMIC bio that does not span the write [" + std::to_string(o) +
						    ", " + std::to_string(E) + ")");
			if (!spans)
				mark_blocks(m, l, write_row, [&](xfs_fileoff_t x) { return !outside(x) && (x < a || x >= b); },
					    inv, "blocks of the write that mapping leaves out");
		}
	} else if (inv == "no_spurious_failure" || inv == "fallback_protocol") {
		const size_t before = m.size();
		for (size_t i = 0; i < bios; i++)
			if (t.bios[i].status)
				mark_blocks(m, l, row_index(l, RowKind::bio, Section::io, i),
					    [&](xfs_fileoff_t x) { return bio_char(t.bios[i], x) != ' '; }, inv,
					    "the block layer ends this bio with " + std::string(errno_name(t.bios[i].status)));
		for (size_t i = 0; i < calls; i++) {
			const IomapBeginCall &c = t.calls[i];
			if (c.error || (c.iomap.type != IomapType::DELALLOC && c.iomap.type != IomapType::HOLE))
				continue;
			// (not a structured binding: the lambdas below capture a and b,
			// which clang 14 refuses for bindings)
			xfs_fileoff_t a, b;
			std::tie(a, b) = mapping_blocks(c, bs);
			mark_blocks(m, l, row_index(l, RowKind::mapping, Section::io, i),
				    [&](xfs_fileoff_t x) { return x >= a && x < b; }, inv,
				    "direct I/O cannot write an " + std::string(iomap_type_name(c.iomap.type)) + " mapping: " +
					    (t.result ? std::string(errno_name(t.result)) : std::string("the write fails")));
		}
		if (m.size() == before && t.result)
			mark_blocks(m, l, write_row, [&](xfs_fileoff_t x) { return !outside(x); }, inv,
				    "the admitted write fails with " + std::string(errno_name(t.result)));
	} else if (inv == "torn_write" && !reads.empty()) {
		const auto row = row_index(l, RowKind::reads, Section::crash);
		mark_blocks(m, l, row, [&](xfs_fileoff_t x) { return !outside(x) && reads[x - o] == 'O'; }, inv,
			    "reads old after the witness's crash, beside blocks that read new");
		mark_blocks(m, l, row, [&](xfs_fileoff_t x) { return !outside(x) && reads[x - o] == '?'; }, inv,
			    "reads neither old nor new after the witness's crash");
	} else if (inv == "completed_write_reads_new") {
		mark_blocks(m, l, data_after, [&](xfs_fileoff_t x) {
			const xfs_bmbt_irec *e = extent_at(t.final_state.data_fork, x);
			return !outside(x) && !(is_real(e) && e->br_state == XFS_EXT_NORM && written_by_bio(t, pblk_of(*e, x)));
		}, inv, "does not read the new data although the write succeeded");
	} else if (inv == "no_shared_overwrite") {
		for (size_t i = 0; i < bios; i++) {
			const Bio &b = t.bios[i];
			mark_blocks(m, l, row_index(l, RowKind::bio, Section::io, i), [&](xfs_fileoff_t x) {
				return bio_char(b, x) != ' ' && refcount_of(t.initial.refcount, b.fsbno + (x - b.file_off)) > 1;
			}, inv, "new data written in place over a shared block (refcount > 1)");
		}
	} else if (inv == "valid_atomic_bio") {
		for (size_t i = 0; i < bios; i++)
			if (t.bios[i].req_atomic)
				mark_blocks(m, l, row_index(l, RowKind::bio, Section::io, i),
					    [&](xfs_fileoff_t x) { return bio_char(t.bios[i], x) != ' '; }, inv,
					    "a REQ_ATOMIC bio at disk block " + std::to_string(t.bios[i].daddr) +
						    " that is not the whole write, a power of two within the device's units "
						    "and naturally aligned on disk");
	} else if (inv == "others_data_kept") {
		mark_blocks(m, l, data_after, [&](xfs_fileoff_t x) {
			for (const auto &e : t.others_mapped)
				if (x >= e.br_startoff && x < e.end()) {
					const xfs_bmbt_irec *f = extent_at(t.final_state.data_fork, x);
					return !is_real(f) || pblk_of(*f, x) != pblk_of(e, x) || written_by_bio(t, pblk_of(e, x));
				}
			return false;
		}, inv, "another actor's committed data, unmapped or overwritten by the write");
	}
}

} // namespace

std::vector<Mark> finding_marks(const Trace &t, const Judgement &j, const Layout &l)
{
	std::vector<Mark> m;
	for (const auto &f : j.findings) {
		std::string reads;
		if (f.invariant == "torn_write")
			if (const CrashState *c = f.witness.crash_state())
				reads = illustrate_crash(t, *c).reads;
		const size_t before = m.size();
		marks_for(m, t, l, f.invariant, reads);
		if (m.size() == before) { // no block of its own: the write, with what it forbids
			const InvariantInfo *info = info_of(f.invariant);
			mark_blocks(m, l, row_index(l, RowKind::write, Section::before),
				    [&](xfs_fileoff_t x) { return x >= l.o && x < l.E; }, f.invariant,
				    "forbids " + std::string(info ? info->forbids : "what the specification forbids"));
		}
	}
	return m;
}

namespace {

std::vector<std::string> summary_lines(const Trace &t, const Judgement &j)
{
	std::vector<std::string> v;
	v.push_back("result: " +
		    (t.result ? "-" + std::string(errno_name(t.result)) : "ok (" + std::to_string(t.bytes_written) + " bytes)") +
		    ", path " + std::string(path_name(t.path)) + ", " + std::to_string(t.calls.size()) + " iomap_begin call" +
		    (t.calls.size() == 1 ? "" : "s") + ", " + std::to_string(t.bios.size()) + " bio" +
		    (t.bios.size() == 1 ? "" : "s") + ", " + std::to_string(t.txns.size()) + " transaction" +
		    (t.txns.size() == 1 ? "" : "s"));
	std::string verdict = "verdict (Z3): " + std::string(verdict_name(j.verdict));
	if (j.findings.empty() && j.inconclusive.empty())
		verdict += " -- every invariant holds, for every crash state";
	for (size_t i = 0; i < j.findings.size(); i++)
		verdict += (i ? ", " : " -- ") + j.findings[i].invariant + " (" +
			   (j.findings[i].cls == InvClass::safety ? "violation" : "divergence") + ")";
	if (!j.inconclusive.empty())
		verdict += "; inconclusive: " + join(j.inconclusive);
	v.push_back(verdict);
	return v;
}

// What happened, one line per event, the file-level decisions in their place
// (the SVG's list; the terminal has the full decisions).
std::vector<std::string> step_lines(const Trace &t)
{
	constexpr size_t kMaxSteps = 40;
	std::vector<std::string> v;
	const bool placed = t.file_branch_at.size() == t.file_branches.size();
	size_t fb = 0;
	auto branches_upto = [&](size_t events) {
		for (; fb < t.file_branches.size() && (!placed || t.file_branch_at[fb] <= events); fb++)
			if (events > 0 && t.file_branches[fb].taken)
				v.push_back(std::string(t.file_branches[fb].func) + ": if (" + t.file_branches[fb].cond +
					    ") -> taken");
	};
	for (size_t i = 0; i < t.timeline.size(); i++) {
		branches_upto(i);
		const TraceEvent &ev = t.timeline[i];
		const size_t k = size_t(ev.index);
		switch (ev.kind) {
		case TraceEvent::call:
			v.push_back("iomap_begin #" + std::to_string(k + 1) + " " + mapping_legend(t.calls[k]));
			break;
		case TraceEvent::bio:
			v.push_back("bio " + std::to_string(k) + ": " + blocks_text(t.bios[k].file_off, t.bios[k].file_off + t.bios[k].nblocks) +
				    " " + bio_legend(t, t.bios[k]));
			break;
		case TraceEvent::txn:
			v.push_back("transaction " + std::to_string(k) + " (" + t.txns[k].name +
				    (t.txns[k].other ? ", another actor" : "") + "): " + t.txns[k].what);
			break;
		case TraceEvent::note: v.push_back(note_label(t.notes[k]) + t.notes[k]); break;
		}
	}
	branches_upto(t.timeline.size());
	if (v.size() > kMaxSteps) {
		const size_t more = v.size() - kMaxSteps;
		v.resize(kMaxSteps);
		v.push_back("... " + std::to_string(more) + " more (untorn explain prints them all)");
	}
	return v;
}

} // namespace

Layout layout_with_crash(const Trace &t, const Judgement &j, Layout l)
{
	for (const auto &f : j.findings) {
		const CrashState *c =
		    f.invariant == "torn_write" ? f.witness.crash_state() : nullptr;
		if (!c)
			continue;
		CrashIllustration ill = illustrate_crash(t, *c);
		l.rows.push_back({RowKind::reads, Section::crash, "reads (torn_write)", crash_row_cells(l, ill.reads),
				  "N new  O old  ? neither: an illustration derived from the witness", 0, {}});
	}
	l.summary = summary_lines(t, j);
	l.steps = step_lines(t);
	l.marks = finding_marks(t, j, l);
	return l;
}

std::string explain_case(const Case &c, const Trace &t, const Judgement &j)
{
	Layout l = layout_with_crash(t, j, build_layout(t, case_title(c, t)));
	std::string out = header_text(c, t);
	out += "\n1. layout\n" + render_text(l);
	out += "\n2. decisions, call by call ([file:line] is untorn's model of the kernel source)\n" + format_decisions(t);
	out += "\n3. judgement\n" + format_judgement_explained(t, j, l) + format_expect(c, t, j);
	return out;
}

namespace
{

// A decision line without its "   [file:line]": two variants' files differ,
// their lines too, where the kernel code is the same.
std::string_view without_location(std::string_view line)
{
	if (line.ends_with("]"))
		if (size_t at = line.rfind("   ["); at != std::string_view::npos)
			return line.substr(0, at);
	return line;
}

std::vector<std::string> lines_of(const std::string &text)
{
	std::vector<std::string> v;
	for (size_t from = 0; from < text.size();) {
		size_t nl = text.find('\n', from);
		if (nl == std::string::npos)
			nl = text.size();
		v.push_back(text.substr(from, nl - from));
		from = nl + 1;
	}
	return v;
}

} // namespace

std::string marked_lines(const std::string &a, const std::string &b)
{
	const auto la = lines_of(a), lb = lines_of(b);
	const size_t n = la.size(), m = lb.size();
	auto same = [&](size_t i, size_t j) {
		return without_location(la[i]) == without_location(lb[j]);
	};
	// longest common subsequence of the suffixes; a trace too long for the
	// table is compared line by line
	const bool table = n * m <= (size_t(1) << 24);
	std::vector<uint32_t> lcs(table ? (n + 1) * (m + 1) : 0, 0);
	auto at = [&](size_t i, size_t j) -> uint32_t & { return lcs[i * (m + 1) + j]; };
	if (table)
		for (size_t i = n; i-- > 0;)
			for (size_t j = m; j-- > 0;)
				at(i, j) = same(i, j) ? at(i + 1, j + 1) + 1
				                      : std::max(at(i + 1, j), at(i, j + 1));
	std::string out;
	size_t i = 0, j = 0;
	while (i < n || j < m) {
		if (i < n && j < m && same(i, j)) {
			out += "  " + la[i++] + "\n";
			j++;
		} else if (i < n && (j == m || (table ? at(i + 1, j) >= at(i, j + 1) : true))) {
			out += "- " + la[i++] + "\n";
			if (!table && j < m)
				out += "+ " + lb[j++] + "\n";
		} else {
			out += "+ " + lb[j++] + "\n";
		}
	}
	return out;
}

std::string explain_pair(const Case &a, const Trace &ta, const Judgement &ja, const Case &b,
                         const Trace &tb, const Judgement &jb)
{
	const std::string an(variant_name(ta.variant)), bn(variant_name(tb.variant));
	std::string out = "untorn explain: a pair, side by side\n";
	out += "  - " + a.name + (a.file.empty() ? "" : " (" + a.file + ")") + ", variant " + an +
	       "\n";
	out += "  + " + b.name + (b.file.empty() ? "" : " (" + b.file + ")") + ", variant " + bn +
	       "\n";
	Case ka = a, kb = b;
	kb.variant = ka.variant;
	const bool same_input = canonical_content(ka) == canonical_content(kb);
	out += same_input ? "the same layout and write under both variants\n"
	                  : "the two cases' layouts or writes differ: the traces below are of "
	                    "different inputs\n";
	if (auto d = first_difference(ta, ja, tb, jb))
		out += "first difference (" + d->key() + "): " + d->what + "\n";
	else
		out += "no difference: the two runs agree in result, path, bytes written, limits, "
		       "the forks and refcounts "
		       "after the write, every invariant's verdict, the bios, transactions, "
		       "mappings and decisions\n";

	Layout la = build_layout(ta, case_title(a, ta)), lb = build_layout(tb, case_title(b, tb));
	out += "\n" + header_text(a, ta).substr(header_text(a, ta).find('\n') + 1);
	out += "\n1. layout, under " + an + "\n" + render_text(la);
	if (!same_input) {
		out += "\n" + header_text(b, tb).substr(header_text(b, tb).find('\n') + 1);
		out += "   layout, under " + bn + "\n" + render_text(lb);
	} else if (ta.final_state.data_fork != tb.final_state.data_fork ||
	           ta.final_state.cow_fork != tb.final_state.cow_fork ||
	           ta.final_state.refcount != tb.final_state.refcount) {
		out += "  under " + bn + ":\n" + ruler(lb.win, "file block") +
		       rows_text(lb, Section::after);
	} else {
		out += "  under " + bn + ": the same after the write\n";
	}
	out += "\n2. decisions, side by side (- only under " + an + ", + only under " + bn +
	       "; lines compared without their [file:line])\n" +
	       marked_lines(format_decisions(ta), format_decisions(tb));

	out += "\n3. judgement (Z3, the reference engine)\n";
	auto verdict_line = [](const std::string &marker, const std::string &name,
	                       const Judgement &j) {
		return "  " + marker + " " + name + ": " + std::string(verdict_name(j.verdict)) +
		       (j.findings.empty() ? "" : " [" + join(j.broken_names()) + "]") +
		       (j.inconclusive.empty() ? ""
		                               : ", INCONCLUSIVE [" + join(j.inconclusive) + "]") +
		       "\n";
	};
	out += verdict_line("-", an, ja) + verdict_line("+", bn, jb);
	for (const auto &[only, other, name] : {std::tuple{&ja, &jb, an}, std::tuple{&jb, &ja, bn}})
		for (const auto &n : findings_added(*other, *only)) {
			const InvariantInfo *info = info_of(n);
			out += "  " + n + ": broken under " + name + " only" +
			       (info ? std::string(" -- it forbids ") + info->forbids : "") + "\n";
		}
	const std::string ea = format_expect(a, ta, ja), eb = format_expect(b, tb, jb);
	if (!ea.empty())
		out += "  - " + ea.substr(2);
	if (!eb.empty())
		out += "  + " + eb.substr(2);
	return out;
}

} // namespace explain

int cmd_explain(const ExplainOptions &o)
{
	if (!o.svg.empty() && (o.inputs.size() != 1 || o.pair)) {
		std::cerr << "untorn: explain: --svg draws one case; got " << o.inputs.size()
			  << (o.pair ? " as a pair" : "") << " (explain them one at a time)\n";
		return EXIT_BAD_INPUT;
	}
	if (o.pair && o.inputs.size() != 2) {
		std::cerr << "untorn: explain: --pair takes two cases (as check --compare writes them); got "
			  << o.inputs.size() << "\n";
		return EXIT_BAD_INPUT;
	}
	// Every case is loaded first: one bad case stops everything.
	std::vector<Case> cases;
	if (!load_cases_or_report({o.inputs.begin(), o.inputs.end()}, cases))
		return EXIT_BAD_INPUT;
	Spec spec(Engine::z3);
	std::vector<Trace> traces;
	std::vector<Judgement> judgements;
	bool inconclusive = false;
	for (const Case &c : cases) {
		traces.push_back(run_atomic_write(c.state, c.write, c.variant));
		judgements.push_back(spec.judge(traces.back()));
		inconclusive |= judgements.back().verdict == Verdict::inconclusive;
	}
	if (o.pair) {
		std::cout << explain::explain_pair(cases[0], traces[0], judgements[0], cases[1], traces[1],
						   judgements[1]);
		return inconclusive ? EXIT_INCONCLUSIVE : EXIT_CLEAN;
	}
	for (size_t i = 0; i < cases.size(); i++) {
		const Case &c = cases[i];
		if (!o.svg.empty()) {
			try {
				auto l = explain::build_layout(traces[i], explain::case_title(c, traces[i]));
				write_file_atomically(o.svg, explain::render_svg(explain::layout_with_crash(
								     traces[i], judgements[i], std::move(l))));
			} catch (const std::exception &e) {
				std::cerr << "untorn: explain: cannot write the picture " << o.svg << ": " << e.what()
					  << "\n";
				return EXIT_BAD_INPUT;
			}
		}
		if (cases.size() > 1)
			std::cout << (i ? "\n" : "") << "== " << c.file << "\n";
		std::cout << explain::explain_case(c, traces[i], judgements[i]);
		if (!o.svg.empty())
			std::cout << "\npicture: " << o.svg << "\n";
	}
	return inconclusive ? EXIT_INCONCLUSIVE : EXIT_CLEAN;
}

} // namespace untorn
