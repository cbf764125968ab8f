// The facts of a trace: every number the specification judges, laid out in
// numbered slots for a given trace shape.  The write range [o, E) is cut into
// segments that look uniform in every snapshot of the data fork (one per
// prefix of committed transactions) and under every bio; per segment and
// snapshot we record the mapping and which bio last wrote its blocks.
// Everything is computed per extent and per segment, never per block, and
// with choose()/cond_*() rather than `if` (untorn/value.h): the prover, which
// compiles this file over its symbolic values like impl/, gets every fact as
// a term and takes no decision here, so measuring adds no paths.  For that,
// segments are not sorted and may be empty (a redundant cut that could not be
// told apart without deciding): each segment's facts hold at its first block,
// and an empty one reads nothing.
#pragma once

#include "untorn/impl.h"

#include <cstdint>
#include <string>
#include <vector>

namespace untorn::spec {

// Mapping kinds of a segment in a data-fork snapshot.
enum : uint64_t { K_HOLE = 0, K_UNWRITTEN = 1, K_NORM = 2, K_DELALLOC = 3 };
// iomap types as facts.
enum : uint64_t { T_HOLE = 0, T_DELALLOC = 1, T_MAPPED = 2, T_UNWRITTEN = 3 };

enum Global : unsigned {
	G_BS,		// block size, bytes
	G_O,		// first block of the write
	G_E,		// block after the write
	G_POS,		// write offset, bytes
	G_LEN,		// write length, bytes
	G_RESULT,	// 0 or errno
	G_ADMITTED,	// passed admission
	G_PATH,		// 0 none, 1 hw, 2 sw
	G_AWU_MIN,	// the inode's advertised limits, bytes
	G_AWU_MAX,
	G_DEV_MIN,	// the device's atomic write unit limits, bytes
	G_DEV_MAX,
	G_OUTSIDE_CHANGED,   // blocks outside [o,E) whose data-fork mapping changed in any snapshot
	G_COW_WRITTEN_OUTSIDE, // CoW-fork blocks outside [o,E) turned written by this write
	G_REMAP_TXNS,	     // transactions after the write's first bio that change [o,E)
	G_INIT_PIECES,	     // data-fork extents/holes covering [o,E) before the write
	G_INIT_KIND,	     // kind of the first of them
	G_INIT_DADDR,	     // disk block of block o before the write (if real)
	G_INIT_SHARED,	     // shared blocks in [o,E) before the write
	G_INIT_COW,	     // CoW-fork blocks in [o,E) before the write
	G_OTHERS_CHANGED,    // another actor's committed extents (x_interleave) the write unmapped or overwrote
	G_COUNT
};

enum SegField : unsigned { S_KIND, S_PBLK, S_WR, S_FIELDS }; // per snapshot
enum BioField : unsigned {
	B_ATOMIC, B_FILE_OFF, B_NBLOCKS, B_DADDR, B_STATUS, B_TXNS_BEFORE, B_OLD_COPY, B_SHARED, B_FIELDS
};
enum CallField : unsigned {
	C_SW, C_ATOMIC, C_ERROR, C_TYPE, C_FLAGGED_COW, C_OFF, C_LEN, C_POS, C_DADDR_AT_O, C_FIELDS
};

// The shape decides the formulas: they are built (and compiled) once per shape.
struct Shape {
	unsigned segs = 0, bios = 0, txns = 0, calls = 0;
	uint64_t atomic_mask = 0; // which bios are REQ_ATOMIC (they get a crash choice)
	bool operator==(const Shape &) const = default;
	unsigned snapshots() const { return txns + 1; }
	unsigned seg_base(unsigned s) const { return G_COUNT + s * (1 + S_FIELDS * snapshots()); }
	unsigned seg_len(unsigned s) const { return seg_base(s); }
	unsigned seg(unsigned s, unsigned k, SegField f) const { return seg_base(s) + 1 + k * S_FIELDS + f; }
	unsigned bio(unsigned b, BioField f) const { return seg_base(segs) + b * B_FIELDS + f; }
	unsigned call(unsigned c, CallField f) const { return bio(bios, B_ATOMIC) + c * C_FIELDS + f; }
	unsigned fact_count() const { return call(calls, C_SW); }
	// Crash choices come after the facts: k, then one bit per REQ_ATOMIC bio.
	unsigned crash_k() const { return fact_count(); }
	unsigned crash_atomic(unsigned b) const { return fact_count() + 1 + b; }
	unsigned slot_count() const { return fact_count() + 1 + bios; }
	std::string key() const;
};

struct Facts {
	Shape shape;
	std::vector<u64> v; // fact_count() values (terms too, when the prover runs it)
};

Facts extract_facts(const Trace &t);
// The same, into `f`, reusing its storage (the hot path of `untorn check`).
void extract_facts(const Trace &t, Facts &f);
std::string slot_name(const Shape &sh, unsigned slot);

} // namespace untorn::spec
