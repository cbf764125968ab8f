// untorn impl/: a C++ reference model of how Linux XFS serves one RWF_ATOMIC
// direct write over one file's extent layout.  The public surface is small:
// the file state, the write, the variants, and the trace a run produces.
// Kernel names are kept (xfs_bmbt_irec, br_startoff, ...) so that the
// model reads beside fs/xfs/.  Nothing here knows of Z3 or the specification.
#pragma once

#include <array>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "untorn/value.h"
#include "untorn/variant_table.h" // generated from impl/variants/variants.cmake

namespace untorn {

using xfs_fileoff_t = u64;   // file offset in fs blocks
using xfs_fsblock_t = u64;   // (agno << agblklog) | agbno
using xfs_filblks_t = u64;   // a number of fs blocks
using xfs_daddr_blk_t = u64; // disk address in fs blocks: agno * agblocks + agbno
using xfs_off_t = u64;	     // a byte offset or length in the file
using xfs_agnumber_t = u32;
using xfs_agblock_t = u32;
using xfs_extlen_t = u32;

// The kernel's "null" start blocks (fs/xfs/libxfs/xfs_format.h).
inline constexpr uint64_t DELAYSTARTBLOCK = ~0ULL;
inline constexpr uint64_t HOLESTARTBLOCK = ~0ULL - 1;
inline bool isnullstartblock(const xfs_fsblock_t &b) { return b == DELAYSTARTBLOCK || b == HOLESTARTBLOCK; }

struct xfs_bmbt_irec {
	xfs_fileoff_t br_startoff = 0;
	xfs_fsblock_t br_startblock = HOLESTARTBLOCK;
	xfs_filblks_t br_blockcount = 0;
	xfs_exntst_t br_state = XFS_EXT_NORM;
	xfs_fileoff_t end() const { return br_startoff + br_blockcount; }
	bool operator==(const xfs_bmbt_irec &) const = default;
};

// A physical range whose refcount is above 1 (shared with another file).
struct xfs_refcount_irec {
	xfs_fsblock_t rc_startblock = 0;
	xfs_filblks_t rc_blockcount = 0;
	u32 rc_refcount = 2;
	bool operator==(const xfs_refcount_irec &) const = default;
};

// Block size limits (fs/xfs/libxfs/xfs_format.h): XFS_MIN_BLOCKSIZE for any
// XFS, XFS_MIN_CRC_BLOCKSIZE for a v5 (CRC) one -- the only kind with reflink
// (xfs_validate_sb_common refuses a smaller v5 superblock; mkfs.xfs says
// "Minimum block size for CRC enabled filesystems is 1024 bytes").
inline constexpr uint32_t XFS_MIN_BLOCKSIZE = 512, XFS_MIN_CRC_BLOCKSIZE = 1024,
                          XFS_MAX_BLOCKSIZE = 65536;

struct Geometry {
	u32 block_size = 4096;
	xfs_agblock_t ag_blocks = 0;
	xfs_agnumber_t ag_count = 0;
	bool reflink = false;
	xfs_extlen_t cowextsize = 0; // inode hint in blocks; 0 = unset (kernel default 32 applies)
	// What the log can remap in one atomic ioend transaction, in blocks: the
	// kernel's xfs_calc_max_atomic_write_fsblocks() (libxfs/xfs_trans_resv.c,
	// from tr_atomic_ioend; its tracepoint's "blockcount"), not rounded.
	// xfs_reflink_max_atomic_cow() rounds it down to a power of two.  Case
	// field x_max_atomic_ioend; the default is a power of two.
	xfs_extlen_t max_atomic_ioend = 4096;
	u32 agblklog() const; // ceil(log2(ag_blocks)), as sb_agblklog
};

struct DeviceLimits {
	u32 awu_min = 0; // bytes; both 0 = no hardware atomics
	u32 awu_max = 0;
};

// One answer of the allocator script: each request takes the next one.
struct AllocAnswer {
	xfs_fsblock_t startblock = 0;
	xfs_filblks_t blockcount = 0;
};

// What the allocator does once its script is exhausted: the documented
// default policy, or nothing more to give (ENOSPC) -- the prover's allocator,
// whose every answer is one of the case's (symbolic) answers.
enum class AllocPolicy : uint8_t { default_policy, script_only };

// What-if inputs for questions about ->iomap_begin (case fields x_*): whether
// the inode is DAX (IS_DAX) and which of IOMAP_DIRECT / IOMAP_DAX the
// iteration carries.  A real RWF_ATOMIC write is direct I/O on a non-DAX
// inode: IOMAP_DIRECT, not DAX.  (The I/O loop stays the direct-I/O one.)
inline constexpr unsigned ITER_DIRECT = 1u << 4, ITER_DAX = 1u << 8; // IOMAP_DIRECT, IOMAP_DAX
struct IterEnv {
	bool inode_dax = false;
	unsigned iter_flags = ITER_DIRECT;
	bool operator==(const IterEnv &) const = default;
};

// Interleavings (case field x_interleave): what another actor does on the
// same inode while the write has dropped the ILOCK.  `at` is the drop point,
// counted from 0 in the order the write reaches them (xfs_reflink_fill_cow_hole
// and xfs_reflink_fill_delalloc around xfs_trans_alloc_inode;
// xfs_atomic_write_cow_iomap_begin between its first lookup and its
// xfs_trans_alloc_inode, and v6.18's around xfs_bmapi_convert_delalloc before
// `goto retry`); the action runs there, then the variant continues
// with the kernel's re-lookup.  offset/count are file blocks.  The actions,
// each named after the kernel function it stands for (impl/src/xfs_kernel.cpp):
//   buffered_cow_reservation  a write fault on shared blocks
//       (xfs_buffered_write_iomap_begin -> xfs_bmapi_reserve_delalloc on the
//       CoW fork): DELAYSTARTBLOCK extents in the CoW fork, in-core only
//   writeback_convert  writeback of CoW-fork delalloc (xfs_map_blocks ->
//       xfs_bmapi_convert_delalloc(XFS_COW_FORK)) at `offset`: one transaction
//   end_cow_other  another direct write's completion over ITS range
//       (xfs_reflink_end_cow): its CoW blocks there written and remapped into
//       the data fork, one transaction per extent; never overlaps the write
//   refcount_drop  another file sharing the blocks our data fork maps at
//       [offset, offset+count) remaps its copy (its xfs_reflink_end_cow ->
//       xfs_refcount_decrease_extent): their refcount falls by one
// The prover does not explore interleavings (its states have none).
enum class InterleaveKind : uint8_t { buffered_cow_reservation, writeback_convert, end_cow_other, refcount_drop };
std::string_view interleave_kind_name(InterleaveKind k);
std::optional<InterleaveKind> interleave_kind_from_name(std::string_view name);
struct InterleaveAction {
	unsigned at = 0; // the drop point (a count, never a case value)
	InterleaveKind action = InterleaveKind::buffered_cow_reservation;
	xfs_fileoff_t offset = 0;
	xfs_filblks_t count = 0;
	bool operator==(const InterleaveAction &) const = default;
};

// Everything the write sees of one file and its filesystem.
struct FileState {
	Geometry geo;
	DeviceLimits dev;
	std::vector<xfs_bmbt_irec> data_fork; // br_state NORM or UNWRITTEN
	std::vector<xfs_bmbt_irec> cow_fork;  // may also hold DELAYSTARTBLOCK extents
	std::vector<xfs_refcount_irec> refcount;
	std::vector<AllocAnswer> alloc;
	AllocPolicy alloc_policy = AllocPolicy::default_policy;
	IterEnv env;
	std::vector<InterleaveAction> interleave; // x_interleave; empty: the write runs alone
};

struct WriteReq {
	xfs_off_t offset = 0; // bytes
	xfs_off_t length = 0;
};

// The variants: the kernel's versions, then the patches of one of them
// (impl/variants/patches/NAME.patch), all from one table
// (impl/variants/variants.cmake).  Every command that takes a variant accepts
// every one; `check` and `prove` run the kernel versions by default.  Code
// outside the table never names a variant: what a variant inherits from its
// base is asked of the functions below.
// A Variant is its row's index: the kernel versions first, by name (the
// enumerators), then the patches.
enum class Variant : unsigned { UNTORN_KERNEL_VARIANT_ENUMERATORS };
// The kernel versions (rfc-v1, v6.16, v6.18), in the table's order.
inline constexpr std::array<Variant, UNTORN_KERNEL_VARIANT_COUNT> all_variants = {
    UNTORN_KERNEL_VARIANTS};
// The patches, by name (defined with the table's rows, so that adding a
// patch does not recompile what includes this header).
extern const std::span<const Variant> whatif_variants;
// Every variant: the kernel versions, then the patches.
std::span<const Variant> every_variant();
// Every accepted name, in the same order (CLI choices, the loader's error).
const std::vector<std::string> &variant_names();
// `one of "rfc-v1", "v6.16", ...`: for messages that list the accepted names.
std::string variant_names_text();
std::string_view variant_name(Variant v);
std::optional<Variant> variant_from_name(std::string_view name);
// The kernel version a patch applies to (itself for a kernel version).
Variant variant_base(Variant v);
// The file that states it, relative to the repository: impl/variants/X.cpp,
// or impl/variants/patches/NAME.patch.
std::string_view variant_source(Variant v);
// What it mirrors (a patch: the first line of its free text), one line.
std::string_view variant_origin(Variant v);
// Which iomap rule makes a mapping a REQ_ATOMIC bio: v6.16's
// IOMAP_F_ATOMIC_BIO mapping flag, or the RFC's "IOMAP_ATOMIC without
// IOMAP_F_ATOMIC_COW" (patch 03).  A patch has its base's.
enum class AtomicBioRule { mapping_flag_v616, rfc_not_atomic_cow };
AtomicBioRule variant_atomic_bio_rule(Variant v);

// Validation of a state: sorted, non-overlapping, no overflow, inside the AGs.
// Returns an empty vector when the state is valid; else "path: what" messages.
struct StateError {
	std::string path; // JSON-style path, e.g. "data_fork[2].startblock"
	std::string what;
};
std::vector<StateError> validate_state(const FileState &st, const WriteReq &w);

// fsblock number <-> disk address, exactly as XFS_FSB_TO_DADDR does it.
xfs_daddr_blk_t xfs_fsb_to_db(const Geometry &g, xfs_fsblock_t fsbno);
xfs_agnumber_t xfs_fsb_to_agno(const Geometry &g, xfs_fsblock_t fsbno);
xfs_agblock_t xfs_fsb_to_agbno(const Geometry &g, xfs_fsblock_t fsbno);
xfs_fsblock_t xfs_agb_to_fsb(const Geometry &g, xfs_agnumber_t agno, xfs_agblock_t agbno);

// ---------------------------------------------------------------- the trace
// iomap flags as the kernel spells them (include/linux/iomap.h), plus the RFC's.
enum : unsigned {
	IOMAP_WRITE = 1u << 0,
	IOMAP_ZERO = 1u << 1,
	IOMAP_REPORT = 1u << 2,
	IOMAP_FAULT = 1u << 3,
	IOMAP_DIRECT = ITER_DIRECT,
	IOMAP_NOWAIT = 1u << 5,
	IOMAP_OVERWRITE_ONLY = 1u << 6,
	IOMAP_UNSHARE = 1u << 7,
	IOMAP_DAX = ITER_DAX,
	IOMAP_ATOMIC = 1u << 9,
	IOMAP_ATOMIC_COW = 1u << 10, // RFC v1 patch 03 only
};
enum : unsigned {
	IOMAP_F_NEW = 1u << 0,
	IOMAP_F_DIRTY = 1u << 1,
	IOMAP_F_SHARED = 1u << 2,
	IOMAP_F_ATOMIC_BIO = 1u << 8, // v6.16
	IOMAP_F_ATOMIC_COW = 1u << 9, // RFC v1 patch 03
};
enum class IomapType : uint8_t { HOLE, DELALLOC, MAPPED, UNWRITTEN };
std::string iomap_flags_str(unsigned flags);
std::string iomap_fflags_str(unsigned flags);
std::string_view iomap_type_name(IomapType t);

// Errnos are Linux's (<cerrno>); XFS's EFSCORRUPTED is EUCLEAN, as in the kernel.
inline constexpr int EFSCORRUPTED = EUCLEAN;
std::string_view errno_name(int e);
std::optional<int> errno_from_name(std::string_view name);

struct Iomap {
	IomapType type = IomapType::HOLE;
	unsigned flags = 0;	// IOMAP_F_*
	xfs_off_t offset = 0;	// bytes
	xfs_off_t length = 0;	// bytes
	xfs_bmbt_irec irec;	// the extent it was built from (fork's view)
	bool operator==(const Iomap &) const = default;
};

// One decision taken inside a kernel function: `func` and `cond` are the
// kernel's; `file` and `line` locate the code that decided it, relative to
// the repository (e.g. impl/variants/v6_16.cpp).
struct Branch {
	const char *func;
	const char *cond;
	bool taken;
	int line;
	const char *file = nullptr;
};

// One BRANCH() of impl's sources, whether or not any run reaches it.
struct BranchSite {
	const char *file; // repository-relative, as Branch::file
	const char *func;
	const char *cond;
	int line;
};
// Every BRANCH() compiled into impl (kernel versions, what-ifs and the shared
// machinery), ordered by file and line, each once.
const std::vector<BranchSite> &branch_sites();

enum class Ops : uint8_t { direct_write, atomic_write_cow };
std::string_view ops_name(Ops o);

struct IomapBeginCall {
	Ops ops;
	xfs_off_t pos = 0, length = 0;
	unsigned flags = 0; // IOMAP_*
	int error = 0;
	Iomap iomap;
	std::optional<Iomap> srcmap;
	std::vector<Branch> branches;
};

// What a bio carries: the write's new data, or a copy of old file data
// (the RFC's xfs_reflink_unshare() before its CoW-mode retry).
enum class Payload : uint8_t { new_data, old_copy };

struct Bio {
	xfs_fileoff_t file_off = 0; // file block of the first block written
	xfs_fsblock_t fsbno = 0;
	xfs_daddr_blk_t daddr = 0;  // disk block
	xfs_filblks_t nblocks = 0;
	bool req_atomic = false;
	Payload payload = Payload::new_data;
	int status = 0;		     // 0, or the errno the block layer ended it with
	unsigned txns_before = 0;    // transactions committed before it was submitted
	int call = -1;		     // index of the iomap_begin call that mapped it
};

// One committed transaction and the forks right after it: the crash model
// replays any prefix of these, so each carries its full result.
struct Transaction {
	const char *name; // kernel function that committed it
	std::string what; // human-readable summary of the change
	std::vector<xfs_bmbt_irec> data_fork, cow_fork;
	std::vector<xfs_refcount_irec> refcount;
	bool other = false; // committed by another actor at an ILOCK drop point (x_interleave)
};

enum class Path : uint8_t { none, hw, sw };
std::string_view path_name(Path p);

struct TraceEvent {
	enum Kind : uint8_t { call, bio, txn, note } kind;
	int index; // into calls / bios / txns / notes
};

struct Trace {
	Variant variant{};
	WriteReq write;
	FileState initial;
	std::vector<IomapBeginCall> calls;
	std::vector<Bio> bios;
	std::vector<Transaction> txns;
	std::vector<std::string> notes;
	std::vector<TraceEvent> timeline;
	std::vector<Branch> file_branches; // decisions outside ->iomap_begin (admission, path)
	std::vector<size_t> file_branch_at; // per file branch: the timeline events before it
	int result = 0;		   // 0 = ok, else errno
	xfs_off_t bytes_written = 0; // what the syscall returned on success
	Path path = Path::none;
	bool admitted = false;	   // passed the admission checks
	u32 awu_min = 0, awu_max = 0; // the inode's atomic write limits (bytes)
	FileState final_state;
	// Interleavings: the ILOCK drop points reached (the kernel function that
	// dropped it), and the data-fork extents another actor remapped there
	// (its committed data: the write must neither overwrite nor unmap them).
	struct DropPoint {
		std::string func; // the kernel function that dropped the ILOCK
		int call = -1;	  // the iomap_begin call it happened in
		size_t branches_before = 0; // that call's decisions taken before it
	};
	std::vector<DropPoint> drop_points; // only with x_interleave
	std::vector<xfs_bmbt_irec> others_mapped;
	std::vector<unsigned> others_mapped_at; // the snapshot (transactions committed) each appeared in
};

// The atomic write limits a variant computes for a file's geometry and device,
// without running a write, from the variant's own limit functions.  v6.16 and
// v6.18: awu_min/awu_max as statx reports them (xfs_get_atomic_write_min/max,
// bytes); the terms of xfs_calc_atomic_write_unit_max() as its tracepoint
// prints them (blocks): max_write (xfs_calc_atomic_write_max), max_ioend
// (xfs_reflink_max_atomic_cow), max_gsize (xfs_calc_group_awu_max), and their
// minimum, the AG group's awu_max.  rfc-v1 (patch 09) has no such terms:
// max_write and max_ioend are 0, max_gsize and group_awu_max are mp->awu_max.
struct AtomicLimits {
	u32 awu_min = 0, awu_max = 0; // bytes
	xfs_extlen_t max_write = 0, max_ioend = 0, max_gsize = 0;
	xfs_extlen_t group_awu_max = 0; // m_groups[XG_TYPE_AG].awu_max
};
AtomicLimits atomic_write_limits(const FileState &st, Variant v);

// Runs one RWF_ATOMIC direct write end to end and returns the trace.
Trace run_atomic_write(const FileState &st, const WriteReq &w, Variant v);
// The layout after another actor's step (an x_interleave action, its `at`
// ignored) with no write running: states in which, say, a buffered write
// reserved CoW blocks before the atomic write began.
FileState run_other_actor(const FileState &st, const InterleaveAction &a);

// Every decision of the run, in order, as "func:line:taken;" -- what two runs
// must share to have taken the same path (the prover compares them).
std::string decision_signature(const Trace &t);

// A readable rendering of the trace (for `untorn run`).
std::string format_trace(const Trace &t);
std::string format_extent(const xfs_bmbt_irec &e);

} // namespace untorn
