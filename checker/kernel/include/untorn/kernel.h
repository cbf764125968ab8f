// untorn checker/kernel/: the running kernel's XFS, as an oracle.
//
// A scratch XFS on a loop device in a folder of its own (name prefix
// "untorn-kern-"), files built on it with ordinary syscalls, their layout
// read back exactly (FIEMAP, FS_IOC_FSGETXATTR, XFS_IOC_FSGEOMETRY), real
// RWF_ATOMIC direct writes, and the kernel's own trace events for what
// ->iomap_begin did.  Nothing here knows of impl/ or the specification: it
// speaks bytes, blocks and errnos.  Every exit path (return, exception,
// SIGINT/SIGTERM/SIGHUP) unmounts and detaches what it made, and nothing else.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace untorn::kernel
{

// A capability this machine lacks (root, a loop device, XFS, mkfs.xfs,
// RWF_ATOMIC, tracefs): `what` names it.  Commands turn it into their
// "this machine cannot do it" exit status.
struct Missing : std::runtime_error {
	explicit Missing(const std::string &what)
	    : std::runtime_error("this machine cannot do it: " + what)
	{
	}
};

// A geometry mkfs.xfs or the kernel will not make (bad input, not a
// missing capability): `what` carries mkfs's own first line.
struct Refused : std::runtime_error {
	explicit Refused(const std::string &what) : std::runtime_error(what) {}
};

// Throws Missing, naming the first thing absent.  Makes nothing.  Without
// `tracing`, tracefs is not asked for (a ScratchDev needs none).
void check_capabilities(bool tracing = true);

// Scratch filesystems left by an earlier untorn that was killed (its folder
// names a process that is gone): unmounted, detached and removed.  Returns
// one line per thing cleaned; touches nothing whose owner still runs.
std::vector<std::string> clean_leftovers();

struct MkfsGeometry {
	uint32_t block_size = 4096;
	uint32_t ag_blocks = 20011; // not a power of two: fsbno and disk addresses differ
	uint32_t ag_count = 4;
	std::string describe() const; // "4096-byte blocks, 4 AGs of 17417 blocks"
};

// What XFS_IOC_FSGEOMETRY says of the mounted filesystem.
struct FsGeometry {
	uint32_t block_size = 0, ag_blocks = 0, ag_count = 0, sect_size = 0, log_blocks = 0;
	bool reflink = false;
	uint32_t agblklog() const; // ceil(log2(ag_blocks)), as the superblock's sb_agblklog
};

// What the kernel computed at mount for its atomic write limits, from its
// trace events xfs_calc_max_atomic_write_fsblocks and
// xfs_calc_atomic_write_unit_max (data device, in blocks).
struct MountLimits {
	uint32_t log_blockcount = 0; // xfs_calc_max_atomic_write_fsblocks()
	uint32_t max_write = 0, max_ioend = 0, max_gsize = 0, awu_max = 0;
};

// statx(STATX_WRITE_ATOMIC) of a file, in bytes.
struct StatxAtomic {
	bool supported = false; // STATX_WRITE_ATOMIC in stx_mask
	uint32_t unit_min = 0, unit_max = 0, segments_max = 0, unit_max_opt = 0;
};

// One FIEMAP extent, in bytes.
struct Extent {
	uint64_t logical = 0, physical = 0, length = 0;
	bool unwritten = false, shared = false, delalloc = false;
};

// One ->iomap_begin of the software atomic path, as the kernel traced it
// (xfs_iomap_atomic_write_cow), and one CoW fork conversion
// (xfs_reflink_convert_cow), in bytes and blocks as traced.
struct TraceEvent {
	std::string name;
	uint64_t ino = 0;
	uint64_t a = 0, b = 0,
	         c = 0; // atomic_write_cow: pos, count; convert_cow: fileoff, fsbcount, startblock
};

class File;

class ScratchFs
{
public:
	// mkfs, loop device, mount, a trace instance.  Throws Missing, or
	// std::runtime_error for anything else; leaves nothing behind either way.
	explicit ScratchFs(const MkfsGeometry &g);
	~ScratchFs();
	ScratchFs(const ScratchFs &) = delete;
	ScratchFs &operator=(const ScratchFs &) = delete;

	const std::string &mountpoint() const;
	const std::string &device() const; // /dev/loopN
	FsGeometry geometry() const;
	MountLimits mount_limits() const;
	// The loop device's hardware atomic write units (sysfs), bytes.
	uint32_t device_awu_min() const, device_awu_max() const;

	// Unmount and mount again: every in-core CoW fork is dropped and
	// on-disk CoW staging extents are freed (xfs_reflink_recover_cow).
	// Open Files must be reopened.
	void remount();
	// XFS_IOC_GOINGDOWN with the given flag (XFS_FSOP_GOING_FLAGS_*), then
	// unmount and mount: log recovery runs.
	void shutdown_and_recover(uint32_t going_flags);
	// Issues XFS_IOC_GOINGDOWN alone (from a crasher thread); false when the
	// ioctl fails (never throws: it runs on threads).
	bool shutdown(uint32_t going_flags);

	// The software-path events traced since the last call, oldest first.
	std::vector<TraceEvent> take_events();

private:
	friend class ScratchDev;
	struct Impl;
	std::unique_ptr<Impl> p;
};

// A raw scratch device, for a program that makes and mounts its own
// filesystem (an exported reproducer): a sparse image of `bytes` on a loop
// device, and an empty mount point, both in an untorn-kern-* folder of their
// own; neither mkfs'd nor mounted.  Cleaned up like a ScratchFs on every
// exit path, and besides: whatever is left mounted on the mount point is
// unmounted, and on a signal the program running (run()) is killed first.
class ScratchDev
{
public:
	// Throws Missing (root, a loop device, XFS, mkfs.xfs), or
	// std::runtime_error; leaves nothing behind either way.
	explicit ScratchDev(uint64_t bytes);
	~ScratchDev();
	ScratchDev(const ScratchDev &) = delete;
	ScratchDev &operator=(const ScratchDev &) = delete;

	const std::string &device() const;     // /dev/loopN
	const std::string &mountpoint() const; // an empty folder
	const std::string &folder() const;     // the untorn-kern-* folder holding both

	struct Result {
		int status = 0;     // exit status, or 128 + the signal that ended it
		std::string output; // stdout and stderr, interleaved
	};
	// Runs argv (argv[0]: a path, or a name looked up in PATH) with `env`
	// added to the environment, in a process group of its own, and waits.
	Result run(const std::vector<std::string> &argv,
	           const std::vector<std::pair<std::string, std::string>> &env);
	// Unmounts whatever is mounted on mountpoint(); true if anything was.
	bool unmount_leftovers();

private:
	struct Impl;
	std::unique_ptr<Impl> p;
};

// Result of a syscall: >= 0 the value, < 0 a negated errno.
using Ret = int64_t;

class File
{
public:
	File(const ScratchFs &fs, const std::string &name); // creates (truncates) it, O_DIRECT
	explicit File(const std::string &path);             // an existing file, O_RDWR | O_DIRECT
	~File();
	File(const File &) = delete;
	File &operator=(const File &) = delete;
	void close();  // before a remount: an open file keeps the filesystem busy
	void reopen(); // after it
	uint64_t ino() const;
	const std::string &path() const;

	void truncate(uint64_t size);
	// Direct write of `data` at `offset` (block-aligned; memory aligned here).
	void pwrite(uint64_t offset, const std::vector<uint8_t> &data);
	void fallocate(uint64_t offset, uint64_t length);  // unwritten blocks
	void punch_hole(uint64_t offset, uint64_t length); // FALLOC_FL_PUNCH_HOLE
	void clone_from(const File &src, uint64_t src_offset, uint64_t offset,
	                uint64_t length);    // FICLONERANGE
	void set_cowextsize(uint32_t bytes); // FS_IOC_FSSETXATTR, FS_XFLAG_COWEXTSIZE
	uint32_t cowextsize() const;         // bytes; 0 when no hint is set
	void fsync();
	std::vector<uint8_t> read_all(uint64_t size) const;
	std::vector<Extent> fiemap() const; // FIEMAP_FLAG_SYNC
	StatxAtomic statx_atomic() const;
	// For threads racing a shutdown: false (and no exception) on failure.
	bool buffered_write(uint64_t offset, const std::vector<uint8_t> &data); // page cache, not O_DIRECT
	// Stores `data` at `offset` (page-aligned) through a shared mapping:
	// write faults (->page_mkwrite), which unlike write() do not take the
	// IOLOCK, so they can run while a direct write has dropped the ILOCK.
	// Never race it with a shutdown: a fault then raises SIGBUS.
	bool mmap_write(uint64_t offset, const std::vector<uint8_t> &data);
	bool try_clone_from(const File &src, uint64_t src_offset, uint64_t offset, uint64_t length);
	bool try_fsync();
	// pwritev2(RWF_ATOMIC [| RWF_DSYNC]) of `data` at `offset`: bytes written or -errno.
	Ret atomic_write(uint64_t offset, const std::vector<uint8_t> &data,
	                 bool dsync = false) const;
	// The same without RWF_ATOMIC: a plain direct write (the crash trials' control).
	Ret plain_write(uint64_t offset, const std::vector<uint8_t> &data, bool dsync = false) const;

private:
	Ret dio_write(uint64_t offset, const std::vector<uint8_t> &data, int flags) const;
	std::string path_;
	int fd_ = -1;
};

// The kernel release (uname -r).
std::string kernel_release();

// Ctrl-C while a command runs: with graceful stops on, the first SIGINT,
// SIGTERM or SIGHUP only sets stop_requested() (the command finishes its
// trial, reports and cleans up); a second one, or any with graceful stops
// off, unmounts and detaches at once and ends the process by that signal.
void set_graceful_stop(bool on);
bool stop_requested();

} // namespace untorn::kernel
