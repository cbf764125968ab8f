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
#include <iterator>
#include <string>
#include <vector>

namespace untorn::spec
{

// Mapping kinds of a segment in a data-fork snapshot.
enum : uint64_t { K_HOLE = 0, K_UNWRITTEN = 1, K_NORM = 2, K_DELALLOC = 3 };
// iomap types as facts.
enum : uint64_t { T_HOLE = 0, T_DELALLOC = 1, T_MAPPED = 2, T_UNWRITTEN = 3 };

// Every fact, declared once: FACT(kind, slot, name, meaning).  The kind says
// how often it occurs: once per trace (global), once per segment and
// snapshot of the data fork (seg), per bio (bio) or per iomap_begin call
// (call).  The slot enums, the names (slot_name, the solver's variables) and
// the catalogue below are all generated from this list, so a new fact is one
// row here plus the code that measures it (extract_facts).
#define UNTORN_FACTS(GLOBAL, SEG, BIO, CALL)                                                       \
	GLOBAL(G_BS, "bs", "block size, bytes")                                                    \
	GLOBAL(G_O, "o", "first block of the write")                                               \
	GLOBAL(G_E, "E", "block after the write")                                                  \
	GLOBAL(G_POS, "pos", "write offset, bytes")                                                \
	GLOBAL(G_LEN, "len", "write length, bytes")                                                \
	GLOBAL(G_RESULT, "result", "0 or errno")                                                   \
	GLOBAL(G_ADMITTED, "admitted", "passed admission")                                         \
	GLOBAL(G_PATH, "path", "0 none, 1 hw, 2 sw")                                               \
	GLOBAL(G_AWU_MIN, "awu_min", "the inode's advertised atomic write unit min, bytes")        \
	GLOBAL(G_AWU_MAX, "awu_max", "the inode's advertised atomic write unit max, bytes")        \
	GLOBAL(G_DEV_MIN, "dev_min", "the device's atomic write unit min, bytes")                  \
	GLOBAL(G_DEV_MAX, "dev_max", "the device's atomic write unit max, bytes")                  \
	GLOBAL(G_OUTSIDE_CHANGED, "outside_changed",                                               \
	       "blocks outside [o,E) whose data-fork mapping changed in any snapshot")             \
	GLOBAL(G_COW_WRITTEN_OUTSIDE, "cow_written_outside",                                       \
	       "CoW-fork blocks outside [o,E) turned written by this write")                       \
	GLOBAL(G_REMAP_TXNS, "remap_txns",                                                         \
	       "transactions after the write's first bio that change [o,E)")                       \
	GLOBAL(G_INIT_PIECES, "init_pieces",                                                       \
	       "data-fork extents/holes covering [o,E) before the write")                          \
	GLOBAL(G_INIT_KIND, "init_kind", "kind of the first of them")                              \
	GLOBAL(G_INIT_DADDR, "init_daddr", "disk block of block o before the write (if real)")     \
	GLOBAL(G_INIT_SHARED, "init_shared", "shared blocks in [o,E) before the write")            \
	GLOBAL(G_INIT_COW, "init_cow", "CoW-fork blocks in [o,E) before the write")                \
	GLOBAL(G_OTHERS_CHANGED, "others_changed",                                                 \
	       "another actor's committed extents (x_interleave) the write unmapped or overwrote") \
	SEG(S_KIND, "kind", "mapping kind (K_*) of the segment's first block")                     \
	SEG(S_PBLK, "pblk", "its physical block (0 if none)")                                      \
	SEG(S_WR, "wr", "1 + the last bio that wrote that block (0: none)")                        \
	BIO(B_ATOMIC, "atomic", "REQ_ATOMIC")                                                      \
	BIO(B_FILE_OFF, "file_off", "first file block")                                            \
	BIO(B_NBLOCKS, "nblocks", "length, blocks")                                                \
	BIO(B_DADDR, "daddr", "first disk block")                                                  \
	BIO(B_STATUS, "status", "0 or errno")                                                      \
	BIO(B_TXNS_BEFORE, "txns_before", "transactions committed before it was submitted")        \
	BIO(B_OLD_COPY, "old_copy", "it carries a copy of old data, not the write's")              \
	BIO(B_SHARED, "shared", "shared blocks it wrote in place")                                 \
	CALL(C_SW, "sw", "the software (CoW) path's iomap_begin")                                  \
	CALL(C_ATOMIC, "atomic", "the mapping asks for REQ_ATOMIC bios")                           \
	CALL(C_ERROR, "error", "0 or errno")                                                       \
	CALL(C_TYPE, "type", "iomap type (T_*)")                                                   \
	CALL(C_FLAGGED_COW, "flagged_cow", "IOMAP_F_SHARED or IOMAP_F_ATOMIC_COW")                 \
	CALL(C_OFF, "off", "first file block of the mapping")                                      \
	CALL(C_LEN, "len", "length of the mapping, blocks")                                        \
	CALL(C_POS, "pos", "file block asked for")                                                 \
	CALL(C_DADDR_AT_O, "daddr_at_o", "disk block the mapping gives block o (0 if none)")

#define UNTORN_FACT_SLOT(slot, name, meaning) slot,
#define UNTORN_FACT_NONE(slot, name, meaning)
enum Global : unsigned {
	UNTORN_FACTS(UNTORN_FACT_SLOT, UNTORN_FACT_NONE, UNTORN_FACT_NONE, UNTORN_FACT_NONE) G_COUNT
};
enum SegField : unsigned { // per segment and snapshot
	UNTORN_FACTS(UNTORN_FACT_NONE, UNTORN_FACT_SLOT, UNTORN_FACT_NONE, UNTORN_FACT_NONE)
	    S_FIELDS
};
enum BioField : unsigned {
	UNTORN_FACTS(UNTORN_FACT_NONE, UNTORN_FACT_NONE, UNTORN_FACT_SLOT, UNTORN_FACT_NONE)
	    B_FIELDS
};
enum CallField : unsigned {
	UNTORN_FACTS(UNTORN_FACT_NONE, UNTORN_FACT_NONE, UNTORN_FACT_NONE, UNTORN_FACT_SLOT)
	    C_FIELDS
};
#undef UNTORN_FACT_SLOT
#undef UNTORN_FACT_NONE

enum class FactKind { global, seg, bio, call };
struct FactInfo {
	FactKind kind;
	unsigned field; // the slot (global) or the field within its segment, bio or call
	const char *name, *meaning;
};
// The list above as a table, in order: globals, then segment, bio and call fields.
#define UNTORN_FACT_GLOBAL(slot, name, meaning) FactInfo{FactKind::global, slot, name, meaning},
#define UNTORN_FACT_SEG(slot, name, meaning) FactInfo{FactKind::seg, slot, name, meaning},
#define UNTORN_FACT_BIO(slot, name, meaning) FactInfo{FactKind::bio, slot, name, meaning},
#define UNTORN_FACT_CALL(slot, name, meaning) FactInfo{FactKind::call, slot, name, meaning},
inline constexpr FactInfo fact_catalogue[] = {
    UNTORN_FACTS(UNTORN_FACT_GLOBAL, UNTORN_FACT_SEG, UNTORN_FACT_BIO, UNTORN_FACT_CALL)};
#undef UNTORN_FACT_GLOBAL
#undef UNTORN_FACT_SEG
#undef UNTORN_FACT_BIO
#undef UNTORN_FACT_CALL
static_assert(std::size(fact_catalogue) ==
              unsigned(G_COUNT) + unsigned(S_FIELDS) + B_FIELDS + C_FIELDS);

// The facts of one kind, in slot order: fact(kind, i) is field i of that kind.
constexpr unsigned fact_first(FactKind k)
{
	unsigned i = 0;
	while (i < std::size(fact_catalogue) && fact_catalogue[i].kind != k)
		i++;
	return i;
}
constexpr const FactInfo &fact(FactKind k, unsigned field)
{
	return fact_catalogue[fact_first(k) + field];
}
static_assert(fact_first(FactKind::global) == 0 && fact_first(FactKind::seg) == G_COUNT &&
                  fact_first(FactKind::bio) == unsigned(G_COUNT) + unsigned(S_FIELDS) &&
                  fact_first(FactKind::call) == unsigned(G_COUNT) + unsigned(S_FIELDS) + B_FIELDS,
              "the catalogue lists each kind's facts together, in slot order");
constexpr bool fact_fields_in_order()
{
	for (unsigned i = 0; i < std::size(fact_catalogue); i++)
		if (fact_catalogue[i].field != i - fact_first(fact_catalogue[i].kind))
			return false;
	return true;
}
static_assert(fact_fields_in_order(), "fact(kind, i).field == i for every fact");

// The shape decides the formulas: they are built (and compiled) once per shape.
struct Shape {
	unsigned segs = 0, bios = 0, txns = 0, calls = 0;
	uint64_t atomic_mask = 0; // which bios are REQ_ATOMIC (they get a crash choice)
	bool operator==(const Shape &) const = default;
	unsigned snapshots() const { return txns + 1; }
	unsigned seg_base(unsigned s) const { return G_COUNT + s * (1 + S_FIELDS * snapshots()); }
	unsigned seg_len(unsigned s) const { return seg_base(s); }
	unsigned seg(unsigned s, unsigned k, SegField f) const
	{
		return seg_base(s) + 1 + k * S_FIELDS + f;
	}
	unsigned bio(unsigned b, BioField f) const { return seg_base(segs) + b * B_FIELDS + f; }
	unsigned call(unsigned c, CallField f) const
	{
		return bio(bios, B_ATOMIC) + c * C_FIELDS + f;
	}
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
