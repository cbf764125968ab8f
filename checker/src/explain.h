// `untorn explain`: the pieces behind the command, exported for the
// tests.  A Layout is the picture of one case -- rows of one character per
// cell (a cell is one file block, or `scale` blocks when the window is wide)
// -- drawn as text by render_text and as SVG by render_svg from the very
// same rows.  The crash illustration recomputes, from the trace and the
// solver's witness, which blocks of the write read old and which read new.
#pragma once

#include "untorn/checker.h"
#include "untorn/impl.h"
#include "untorn/model.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace untorn::explain {

inline constexpr uint64_t kMaxCells = 96;     // wider windows are scaled down
inline constexpr size_t kCellsColumn = 20;    // text: where the first cell is printed

// The file blocks drawn: cells [0, cells), cell c covering file blocks
// [first + c*scale, first + (c+1)*scale).
struct Window {
	xfs_fileoff_t first = 0;
	uint64_t cells = 0;
	uint64_t scale = 1;
	xfs_fileoff_t cell_start(uint64_t c) const { return first + c * scale; }
	xfs_fileoff_t end() const { return first + cells * scale; }
	std::optional<uint64_t> column(xfs_fileoff_t f) const; // the cell of file block f, if drawn
};
Window choose_window(xfs_fileoff_t o, xfs_fileoff_t E);

enum class RowKind { data, cow, shared, write, grid, disk_ag, disk_aligned, fsbno_aligned, mapping, bio, reads };
// before the write; the write itself (the mappings ->iomap_begin returned and
// the bios built from them); after it; after the witness's crash
enum class Section { before, io, after, crash };

struct Row {
	RowKind kind;
	Section section;
	std::string label;  // e.g. "data fork"
	std::string cells;  // one character per cell
	std::string legend; // what the characters mean
	uint64_t unit = 0;  // grid rows: the unit, in file blocks
	std::vector<std::string> titles; // optional, per cell: more than the character says (SVG tooltips)
};

// Cells [c0, c1) of rows[row] that make a finding (drawn outlined, with
// `why` in the list under the picture).
struct Mark {
	size_t row = 0;
	uint64_t c0 = 0, c1 = 0;
	std::string invariant, why;
};

struct Layout {
	std::string title;
	std::vector<std::string> summary; // the result, the path, the verdict and what breaks
	std::vector<std::string> steps;	  // what happened, in order (SVG)
	std::vector<Mark> marks;
	Window win;
	xfs_fileoff_t o = 0, E = 0; // the write's file blocks [o, E)
	uint64_t write_unit = 1;    // the write length in blocks (at least 1): the natural-alignment unit
	std::vector<Row> rows;
	std::vector<std::string> physical; // one line per extent: disk range, AG, alignment
	const Row *find(RowKind k, Section s, uint64_t unit = 0) const;
};

Layout build_layout(const Trace &t, const std::string &title);
std::string render_text(const Layout &l);
std::string render_svg(const Layout &l);

// Where a Branch's line is: the file of untorn's kernel model that holds
// `func` for this variant (impl/variants/<v>.cpp or impl/src/xfs_kernel.cpp).

std::string format_decisions(const Trace &t);

// What each block of [o, E) reads after that crash: 'N' new, 'O' old,
// '?' neither (zeros where there was data, stale disk contents, delalloc).
struct CrashIllustration {
	CrashState choice;
	std::string reads;		 // one character per block of [o, E)
	std::vector<std::string> bios;	 // what each bio left on disk
	bool torn = false;
};
CrashIllustration illustrate_crash(const Trace &t, const CrashState &c);

// The picture's title; the picture with, for a torn write, the crash
// illustration's row, the result and verdict, and the blocks that make each
// finding marked (what --svg draws).
std::string case_title(const Case &c, const Trace &t);
Layout layout_with_crash(const Trace &t, const Judgement &j, Layout l);
// The marks alone (layout_with_crash adds them): per broken invariant, the
// cells that show it.
std::vector<Mark> finding_marks(const Trace &t, const Judgement &j, const Layout &l);

// The whole explanation printed by `untorn explain` (without the header's I/O).
std::string format_judgement_explained(const Trace &t, const Judgement &j, const Layout &l);
std::string explain_case(const Case &c, const Trace &t, const Judgement &j);

// Two texts line by line, each line marked "  " (in both), "- " (only in `a`)
// or "+ " (only in `b`), lines compared without a trailing "   [file:line]".
std::string marked_lines(const std::string &a, const std::string &b);
// `untorn explain A B`: two cases (as `check --compare` writes them, the same
// layout under two variants) side by side: the first difference, the layout
// (once when the same), both decision traces with differing lines marked,
// and both judgements.
std::string explain_pair(const Case &a, const Trace &ta, const Judgement &ja, const Case &b,
                         const Trace &tb, const Judgement &jb);

} // namespace untorn::explain
