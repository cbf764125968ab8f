// Private helpers of checker/kernel/: syscalls that throw, the kernel's
// ioctl structures that Debian 12's headers (Linux 6.1) do not have yet,
// and the registry that lets a signal handler undo what is mounted.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <sys/ioctl.h>
#include <vector>

namespace untorn::kernel::sys
{

// RWF_ATOMIC (Linux 6.11, include/uapi/linux/fs.h).
inline constexpr int RWF_ATOMIC_FLAG = 0x00000040;
// statx (Linux 6.11+): STATX_WRITE_ATOMIC and where its fields lie.
inline constexpr unsigned STATX_WRITE_ATOMIC_MASK = 0x00010000U;
inline constexpr size_t STATX_OFF_ATOMIC_MIN = 168, STATX_OFF_ATOMIC_MAX = 172,
                        STATX_OFF_ATOMIC_SEGS = 176, STATX_OFF_ATOMIC_MAX_OPT = 184,
                        STATX_SIZE = 256;

// fs/xfs/libxfs/xfs_fs.h (v5 layout, 256 bytes).
struct xfs_fsop_geom {
	uint32_t blocksize, rtextsize, agblocks, agcount, logblocks, sectsize, inodesize, imaxpct;
	uint64_t datablocks, rtblocks, rtextents, logstart;
	unsigned char uuid[16];
	uint32_t sunit, swidth;
	int32_t version;
	uint32_t flags, logsectsize, rtsectsize, dirblocksize, logsunit, sick, checked;
	uint64_t reserved[17];
};
static_assert(sizeof(xfs_fsop_geom) == 256);
inline constexpr unsigned long XFS_IOC_FSGEOMETRY = _IOR('X', 126, xfs_fsop_geom);
inline constexpr unsigned long XFS_IOC_GOINGDOWN = _IOR('X', 125, uint32_t);
inline constexpr uint32_t XFS_FSOP_GEOM_FLAGS_REFLINK = 1u << 20;

// errno as an exception: "what: strerror".
[[noreturn]] void fail_errno(const std::string &what);
[[noreturn]] void fail(const std::string &what);

// Runs argv (no shell); returns the exit status, output (stdout+stderr) in *out.
int run_command(const std::vector<std::string> &argv, std::string *out);
// The program's path in PATH, /usr/sbin or /sbin; "" if none.
std::string find_program(const std::string &name);

std::string read_text(const std::string &path); // "" when unreadable
void write_text(const std::string &path, const std::string &text);

// ---- the cleanup registry: what a signal handler must undo, in order.
// Plain char arrays: the handler may only make async-signal-safe calls.
int register_scratch(const std::string &dir);
void set_scratch_mount(int slot, const std::string &mnt, bool mounted);
void set_scratch_trace(int slot, const std::string &tracefs, const std::string &instance);
void set_scratch_loop(int slot, int loop_fd);
void set_scratch_trace_fd(int slot, int fd); // the open trace_pipe, closed before the instance goes
// A program running on a raw scratch device, in a process group of its own
// (pgid == pid): on a signal, the group gets SIGTERM (a script's EXIT trap
// cleans up), then, after the program ends or 2 s, SIGKILL; all before the
// unmount.  -1 when none runs.
void set_scratch_child(int slot, int pid);
void unregister_scratch(int slot);
// SIGINT, SIGTERM and SIGHUP: the first one sets stop_requested() when a
// command polls it (set_graceful(true)); otherwise, or on a second signal,
// everything registered is undone at once and the signal is raised again.
void install_signal_cleanup();
void set_graceful(bool on);
bool stop_requested();
int stop_signal();

} // namespace untorn::kernel::sys
