// Internal to impl/: the in-core inode and the kernel helpers the variants
// share.  Names, argument order and return conventions follow fs/xfs/ so a
// variant reads like the kernel function it mirrors: helpers return 0 or a
// negative errno, exactly as the kernel does.
#pragma once

#include "untorn/impl.h"

namespace untorn::kern {

// XFS_DEFAULT_COWEXTSZ_HINT (fs/xfs/xfs_inode.h): used when the inode has none.
inline constexpr uint32_t XFS_DEFAULT_COWEXTSZ_HINT = 32;
// MAX_RW_COUNT (include/linux/fs.h) with 4 KiB pages.
inline constexpr uint64_t MAX_RW_COUNT = 0x7ffff000ULL;
// PAGE_SIZE on the machines whose kernels we model.
inline constexpr uint64_t PAGE_SIZE = 4096;

// xfs_bmapi_* flags (fs/xfs/libxfs/xfs_bmap.h); EXTSZALIGN is v6.16's name for
// the RFC's XFS_BMAPI_NALIGN.
enum : unsigned {
	XFS_BMAPI_PREALLOC = 1u << 1,
	XFS_BMAPI_CONVERT = 1u << 5,
	XFS_BMAPI_COWFORK = 1u << 6,
	XFS_BMAPI_EXTSZALIGN = 1u << 11,
};

enum { XFS_DATA_FORK = 0, XFS_COW_FORK = 2 };

// The allocator: answers come from the case's script in order, each trimmed
// to the request.  When the script is exhausted the documented default policy
// applies: the first free run of the requested length in AG order whose agbno
// is aligned to the requested alignment; failing that, unaligned; failing
// that, the longest free run (a short allocation); no free block -> ENOSPC.
struct Allocator {
	const std::vector<AllocAnswer> *script = nullptr;
	AllocPolicy policy = AllocPolicy::default_policy;
	size_t next = 0;
	std::vector<std::pair<xfs_fsblock_t, xfs_filblks_t>> given; // this run's allocations
};

// The in-core inode plus its mount: everything a variant may touch.
struct xfs_inode {
	Geometry geo;
	DeviceLimits dev;
	IterEnv env;
	std::vector<xfs_bmbt_irec> i_df;     // data fork
	std::vector<xfs_bmbt_irec> i_cowfp;  // CoW fork
	std::vector<xfs_refcount_irec> refc; // refcount btree records (refcount > 1)
	Allocator alloc;
	Trace *trace = nullptr;
	IomapBeginCall *cur_call = nullptr; // where branches are recorded
	std::vector<Branch> *file_branches = nullptr;

	// buftarg atomic limits (bytes), as xfs_configure_buftarg_atomic_writes sets them.
	u32 bt_awu_min = 0, bt_awu_max = 0;

	// Interleavings (FileState::interleave): the actions, the ILOCK drop
	// points reached so far, and whether another actor is running now (its
	// transactions are marked as such).
	const std::vector<InterleaveAction> *interleave = nullptr;
	unsigned drops = 0;
	bool other_actor = false;

	std::vector<xfs_bmbt_irec> &fork(int whichfork) { return whichfork == XFS_COW_FORK ? i_cowfp : i_df; }
	xfs_off_t FSB_TO_B(xfs_filblks_t fsb) const { return fsb * geo.block_size; }
	xfs_fileoff_t B_TO_FSBT(xfs_off_t b) const { return b / geo.block_size; }
	xfs_fileoff_t B_TO_FSB(xfs_off_t b) const { return (b + geo.block_size - 1) / geo.block_size; }
};

// IS_DAX(inode): a what-if input (IterEnv); false for every real case.
inline bool IS_DAX(const xfs_inode *ip) { return ip->env.inode_dax; }

// Records one decision in the current iomap_begin call (or at file level) and
// returns it, so `if (BRANCH(ip, cond))` reads like the kernel's `if (cond)`.
// __FILE__ is repository-relative: CMake passes -fmacro-prefix-map.
bool record_branch(xfs_inode *ip, const char *file, const char *func, const char *cond, int line, bool taken);
// Each BRANCH() also leaves a BranchSite in the linker section
// untorn_branch_sites, whether or not it ever runs, so that branch_sites()
// lists every decision of every variant compiled in (coverage needs the
// directions no run took).  Only the plain build registers: model/'s second
// and third compilations of the same files would repeat every site.
#ifdef UNTORN_VALUE_HEADER
#define BRANCH(ip, cond) (::untorn::kern::record_branch((ip), __FILE__, __func__, #cond, __LINE__, (cond)))
#else
#define BRANCH(ip, cond)                                                                                        \
	({                                                                                                      \
		__attribute__((section("untorn_branch_sites"), used)) static const ::untorn::BranchSite          \
			untorn_site_{__FILE__, __func__, #cond, __LINE__};                                       \
		::untorn::kern::record_branch((ip), __FILE__, __func__, #cond, __LINE__, (cond));                \
	})
#endif

// --- generic helpers (same in every modelled version) ------------------------
inline bool IS_ALIGNED(const u64 &x, const u64 &a) { return (x & (a - 1)) == 0; } // a power of two
inline bool is_power_of_2(const u64 &n) { return n != 0 && (n & (n - 1)) == 0; }
// rounddown_pow_of_two and max_pow_of_two_factor are in untorn/value.h.

void xfs_trim_extent(xfs_bmbt_irec *irec, xfs_fileoff_t bno, xfs_filblks_t len);
bool xfs_iext_lookup_extent(xfs_inode *ip, int whichfork, xfs_fileoff_t bno, size_t *icur,
			    xfs_bmbt_irec *gotp);
bool xfs_iext_next_extent(xfs_inode *ip, int whichfork, size_t *icur, xfs_bmbt_irec *gotp);
int xfs_bmapi_read(xfs_inode *ip, xfs_fileoff_t bno, xfs_filblks_t len, xfs_bmbt_irec *mval,
		   int *nmap, unsigned flags);
bool xfs_bmap_is_real_extent(const xfs_bmbt_irec *irec);
bool xfs_bmap_is_written_extent(const xfs_bmbt_irec *irec);
xfs_extlen_t xfs_get_cowextsz_hint(xfs_inode *ip);
xfs_fileoff_t xfs_iomap_end_fsb(xfs_inode *ip, xfs_off_t offset, xfs_off_t count);

// Allocates real blocks for [bno, bno+len) in a fork (one mapping, nimaps == 1),
// converting a delalloc extent whole; records one transaction.
int xfs_bmapi_write(xfs_inode *ip, const char *caller, int whichfork, xfs_fileoff_t bno,
		    xfs_filblks_t len, unsigned flags, xfs_bmbt_irec *mval, int *nmap);
// xfs_bmapi_convert_delalloc: allocates the delalloc extent backing `offset`
// (whole, from its start; looping, one transaction each, while the allocator
// comes up short of offset) and maps the extent that now backs offset into
// *iomap.  Returns 0 or -errno.
int xfs_bmapi_convert_delalloc(xfs_inode *ip, int whichfork, xfs_off_t offset, Iomap *iomap);
// Converts [bno, bno+len) of the fork to `state` in place (no transaction record).
void xfs_bmap_set_state(xfs_inode *ip, int whichfork, xfs_fileoff_t bno, xfs_filblks_t len,
			xfs_exntst_t state);
// Commits a transaction record with a snapshot of the forks.
void xfs_trans_commit(xfs_inode *ip, const char *name, std::string what);

// Refcount: the first shared run in [agbno, agbno+len) (xfs_refcount_find_shared).
int xfs_refcount_find_shared(xfs_inode *ip, xfs_fsblock_t bno, xfs_filblks_t len,
			     xfs_fsblock_t *fbno, xfs_filblks_t *flen, bool find_end_of_shared);
void xfs_refcount_decrease_extent(xfs_inode *ip, const xfs_bmbt_irec *irec);
void xfs_fork_unmap(xfs_inode *ip, int whichfork, xfs_fileoff_t bno, xfs_filblks_t len);
void xfs_fork_map(xfs_inode *ip, int whichfork, const xfs_bmbt_irec &irec);

// --- iomap helpers (fs/xfs/xfs_iomap.c) ---------------------------------------
bool imap_needs_alloc(xfs_inode *ip, unsigned flags, const xfs_bmbt_irec *imap, int nimaps);
bool imap_needs_cow(xfs_inode *ip, unsigned flags, const xfs_bmbt_irec *imap, int nimaps);
bool imap_spans_range(const xfs_bmbt_irec *imap, xfs_fileoff_t offset_fsb, xfs_fileoff_t end_fsb);
int xfs_bmbt_to_iomap(xfs_inode *ip, Iomap *iomap, const xfs_bmbt_irec *imap, unsigned mapping_flags,
		      unsigned iomap_flags);
int xfs_iomap_write_direct(xfs_inode *ip, xfs_fileoff_t offset_fsb, xfs_fileoff_t count_fsb,
			   unsigned flags, xfs_bmbt_irec *imap);
int xfs_iomap_write_unwritten(xfs_inode *ip, xfs_off_t offset, xfs_off_t count);

// --- reflink helpers (fs/xfs/xfs_reflink.c, v6.16 unless the name says) ------
int xfs_reflink_trim_around_shared(xfs_inode *ip, xfs_bmbt_irec *irec, bool *shared);
int xfs_find_trim_cow_extent(xfs_inode *ip, xfs_bmbt_irec *imap, xfs_bmbt_irec *cmap, bool *shared,
			     bool *found);
int xfs_reflink_convert_cow_locked(xfs_inode *ip, xfs_fileoff_t offset_fsb, xfs_filblks_t count_fsb);
int xfs_reflink_convert_unwritten(xfs_inode *ip, xfs_bmbt_irec *imap, xfs_bmbt_irec *cmap,
				  bool convert_now);
// `atomic` is the RFC's patch 05 argument; v6.16 callers pass false.
int xfs_reflink_fill_cow_hole(xfs_inode *ip, xfs_bmbt_irec *imap, xfs_bmbt_irec *cmap, bool *shared,
			      bool convert_now, bool atomic);
int xfs_reflink_fill_delalloc(xfs_inode *ip, xfs_bmbt_irec *imap, xfs_bmbt_irec *cmap, bool *shared,
			      bool convert_now);
int xfs_reflink_allocate_cow(xfs_inode *ip, xfs_bmbt_irec *imap, xfs_bmbt_irec *cmap, bool *shared,
			     bool convert_now, bool atomic);
int xfs_reflink_end_cow(xfs_inode *ip, xfs_off_t offset, xfs_off_t count);
int xfs_reflink_end_atomic_cow(xfs_inode *ip, xfs_off_t offset, xfs_off_t count);
int xfs_reflink_unshare(xfs_inode *ip, xfs_off_t offset, xfs_off_t len); // RFC patch 07's use
// xfs_calc_max_atomic_write_fsblocks (libxfs/xfs_trans_resv.c): what the log
// can remap in one tr_atomic_ioend transaction -- the case's
// geometry.max_atomic_ioend (the log is not modelled).
xfs_extlen_t xfs_calc_max_atomic_write_fsblocks(xfs_inode *ip);
// xfs_reflink_max_atomic_cow (v6.16): the largest atomic write completed
// through software, a power of two; 0 without reflink.
xfs_extlen_t xfs_reflink_max_atomic_cow(xfs_inode *ip);

// --- admission and limits ----------------------------------------------------
int generic_atomic_write_valid(xfs_inode *ip, const WriteReq &w);

// --- the direct-I/O loop (fs/iomap/direct-io.c) and completion ----------------
// One ->iomap_begin implementation, as a variant provides it.
using iomap_begin_fn = int (*)(xfs_inode *ip, xfs_off_t offset, xfs_off_t length, unsigned flags,
			       Iomap *iomap, std::optional<Iomap> *srcmap);

// Which iomap rule decides a REQ_ATOMIC bio: AtomicBioRule (untorn/impl.h).

struct DioOps {
	Ops ops;
	iomap_begin_fn begin;
};

// What ->write_iter and iomap_dio_rw return (the kernel's ssize_t): a byte
// count, or a negative errno.  Two fields because the count is a value
// (symbolic under the prover, see value.h) while an errno is always concrete;
// `ret == -EAGAIN` and `if (ret)`-style tests read as in the kernel.
struct ssize_ret {
	int error = 0;	       // 0 or -errno
	xfs_off_t nbytes = 0; // when error == 0
	ssize_ret(int err = 0) : error(err) {}
	static ssize_ret bytes(xfs_off_t n)
	{
		ssize_ret r;
		r.nbytes = n;
		return r;
	}
	bool operator==(int err) const { return error == err; }
};

// iomap_dio_rw() for one atomic direct write; returns bytes or -errno.
ssize_ret iomap_dio_rw(xfs_inode *ip, const WriteReq &w, const DioOps &ops, unsigned extra_iter_flags,
		       AtomicBioRule rule);

// xfs_dio_write_end_io(): completion, given what the dio accumulated.
int xfs_dio_write_end_io(xfs_inode *ip, xfs_off_t offset, xfs_off_t size, int error, unsigned dio_flags);
enum : unsigned { IOMAP_DIO_UNWRITTEN = 1u << 0, IOMAP_DIO_COW = 1u << 1 };

// The ILOCK is dropped and retaken (xfs_iunlock ... xfs_trans_alloc_inode):
// the next drop point.  Runs the case's interleaved actions for it (another
// actor on the same inode) and returns whether any ran -- when none did, the
// fork is what it was, so a re-lookup would repeat the first lookup.
bool xfs_ilock_cycle(xfs_inode *ip, const char *func);
// What another actor does on the inode (one InterleaveAction), at a drop
// point or, for the oracle's concurrent writers, before the write begins.
void xfs_other_actor(xfs_inode *ip, const InterleaveAction &a);

// Trace bookkeeping used by the variants' file-level code.
void trace_note(xfs_inode *ip, std::string s);

} // namespace untorn::kern
