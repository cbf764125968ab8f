// The scratch XFS: an image in a folder of its own, a loop device, a mount,
// and a private trace instance that sees only this filesystem's events.
#include "sys.h"
#include "untorn/kernel.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <linux/loop.h>
#include <signal.h>
#include <sstream>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

namespace untorn::kernel
{

namespace fs = std::filesystem;
using namespace sys;

static constexpr const char *prefix = "untorn-kern-";

// The folder scratch filesystems live in: $UNTORN_KERNEL_TMPDIR, $TMPDIR or /tmp.
static std::string base_dir()
{
	for (const char *v : {"UNTORN_KERNEL_TMPDIR", "TMPDIR"})
		if (const char *d = getenv(v); d && *d)
			return d;
	return "/tmp";
}

void set_graceful_stop(bool on)
{
	install_signal_cleanup();
	set_graceful(on);
}
bool stop_requested()
{
	return sys::stop_requested();
}

std::string kernel_release()
{
	struct utsname u;
	return uname(&u) == 0 ? u.release : "unknown";
}

std::string MkfsGeometry::describe() const
{
	return std::to_string(block_size) + "-byte blocks, " + std::to_string(ag_count) +
	       " AGs of " + std::to_string(ag_blocks) + " blocks";
}

uint32_t FsGeometry::agblklog() const
{
	uint32_t l = 0;
	while ((uint64_t(1) << l) < ag_blocks)
		++l;
	return l;
}

static bool proc_filesystems_has(const std::string &name)
{
	std::istringstream in(read_text("/proc/filesystems"));
	std::string line;
	while (std::getline(in, line))
		if (line.size() >= name.size() &&
		    line.compare(line.size() - name.size(), name.size(), name) == 0 &&
		    (line.size() == name.size() || line[line.size() - name.size() - 1] == '\t'))
			return true;
	return false;
}

void check_capabilities(bool tracing)
{
	if (geteuid() != 0)
		throw Missing("root (untorn kernel mounts a scratch filesystem; running as uid " +
		              std::to_string(geteuid()) + ")");
	if (access("/dev/loop-control", R_OK | W_OK) != 0)
		throw Missing(
		    "a loop device (/dev/loop-control: " + std::string(std::strerror(errno)) + ")");
	if (!proc_filesystems_has("xfs"))
		throw Missing("XFS in the running kernel (no 'xfs' in /proc/filesystems)");
	if (find_program("mkfs.xfs").empty())
		throw Missing("mkfs.xfs (Debian package xfsprogs)");
	if (tracing && !proc_filesystems_has("tracefs"))
		throw Missing(
		    "tracefs in the running kernel (the XFS trace events are the oracle's view of "
		    "->iomap_begin)");
}

// ------------------------------------------------------------ leftovers

static bool owner_alive(const std::string &name)
{
	// untorn-kern-<pid>-<random>
	const char *p = name.c_str() + strlen(prefix);
	char *end = nullptr;
	long pid = strtol(p, &end, 10);
	if (end == p || *end != '-' || pid <= 0)
		return true; // not ours to judge
	return kill(pid_t(pid), 0) == 0 || errno == EPERM;
}

static std::vector<std::string> mounts_under(const std::string &dir)
{
	std::vector<std::string> out;
	std::istringstream in(read_text("/proc/self/mounts"));
	std::string src, target, rest;
	while (in >> src >> target && std::getline(in, rest))
		if (target.compare(0, dir.size() + 1, dir + "/") == 0)
			out.push_back(target);
	return out;
}

// Trace instances outlive the tracefs mount they were made through: remove
// those named after a process that is gone.
static void clean_trace_instances(const std::string &base, std::vector<std::string> &done)
{
	std::string tmpl = base + "/" + prefix + std::to_string(getpid()) + "-clean-XXXXXX";
	std::vector<char> buf(tmpl.begin(), tmpl.end());
	buf.push_back(0);
	if (!mkdtemp(buf.data()))
		return;
	const std::string mnt = buf.data();
	if (mount("nodev", mnt.c_str(), "tracefs", 0, nullptr) == 0) {
		if (DIR *d = opendir((mnt + "/instances").c_str())) {
			std::vector<std::string> names;
			while (dirent *e = readdir(d))
				if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
				    !owner_alive(e->d_name))
					names.push_back(e->d_name);
			closedir(d);
			for (const auto &n : names)
				if (rmdir((mnt + "/instances/" + n).c_str()) == 0)
					done.push_back("removed trace instance " + n);
		}
		if (umount2(mnt.c_str(), 0) != 0)
			umount2(mnt.c_str(), MNT_DETACH);
	}
	rmdir(mnt.c_str());
}

std::vector<std::string> clean_leftovers()
{
	std::vector<std::string> done;
	const std::string base = base_dir();
	DIR *d = opendir(base.c_str());
	if (!d)
		return done;
	std::vector<std::string> dead;
	while (dirent *e = readdir(d)) {
		std::string name = e->d_name;
		if (name.compare(0, strlen(prefix), prefix) == 0 && !owner_alive(name))
			dead.push_back(base + "/" + name);
	}
	closedir(d);
	for (const auto &dir : dead) {
		auto targets = mounts_under(dir);
		for (auto it = targets.rbegin(); it != targets.rend(); ++it) // deepest first
			if (umount2(it->c_str(), 0) == 0 || umount2(it->c_str(), MNT_DETACH) == 0)
				done.push_back("unmounted " + *it);
		for (const auto &b : fs::directory_iterator("/sys/block")) {
			std::string bf = read_text(b.path().string() + "/loop/backing_file");
			if (bf.compare(0, dir.size() + 1, dir + "/") != 0)
				continue;
			std::string dev = "/dev/" + b.path().filename().string();
			int fd = open(dev.c_str(), O_RDWR | O_CLOEXEC);
			if (fd >= 0 && ioctl(fd, LOOP_CLR_FD, 0) == 0)
				done.push_back("detached " + dev);
			if (fd >= 0)
				close(fd);
		}
		std::error_code ec;
		if (mounts_under(dir).empty() && fs::remove_all(dir, ec) > 0)
			done.push_back("removed " + dir);
	}
	clean_trace_instances(base, done);
	return done;
}

// ------------------------------------------------------------ ScratchFs

static bool is_mountpoint(const std::string &path)
{
	std::istringstream in(read_text("/proc/self/mounts"));
	std::string src, target, rest;
	while (in >> src >> target && std::getline(in, rest))
		if (target == path)
			return true;
	return false;
}

struct ScratchFs::Impl {
	MkfsGeometry want;
	bool raw = false;       // a ScratchDev: image and loop device only
	uint64_t raw_bytes = 0; // its image's size
	int slot = -1;
	std::string dir, img, mnt, tracefs, instance, dev;
	int loop_fd = -1;
	int pipe_fd = -1; // the instance's trace_pipe, non-blocking: reading consumes
	unsigned loop_major = 0, loop_minor = 0;
	bool mounted = false, tracefs_mounted = false;
	MountLimits limits;

	~Impl() { teardown(); }

	void make_dir()
	{
		std::string tmpl = base_dir() + "/" + prefix + std::to_string(getpid()) + "-XXXXXX";
		std::vector<char> buf(tmpl.begin(), tmpl.end());
		buf.push_back(0);
		if (!mkdtemp(buf.data()))
			fail_errno("mkdtemp " + tmpl);
		dir = buf.data();
		slot = register_scratch(dir);
		img = dir + "/img";
		mnt = dir + "/mnt";
		if (mkdir(mnt.c_str(), 0700) != 0)
			fail_errno("mkdir in " + dir);
		if (raw) {
			// whatever the program mounts there is ours to unmount
			mounted = true;
			set_scratch_mount(slot, mnt, true);
			return;
		}
		tracefs = dir + "/tracefs";
		if (mkdir(tracefs.c_str(), 0700) != 0)
			fail_errno("mkdir in " + dir);
	}

	void make_image()
	{
		uint64_t bytes =
		    raw ? raw_bytes : uint64_t(want.ag_blocks) * want.ag_count * want.block_size;
		int fd = open(img.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			fail_errno("create " + img);
		int r = ftruncate(fd, off_t(bytes));
		close(fd);
		if (r != 0)
			fail_errno("size " + img);
		if (raw)
			return;
		std::string out;
		std::vector<std::string> argv = {
		    find_program("mkfs.xfs"),
		    "-q",
		    "-f",
		    "-m",
		    "crc=1,reflink=1",
		    "-b",
		    "size=" + std::to_string(want.block_size),
		    "-d",
		    "agsize=" + std::to_string(uint64_t(want.ag_blocks) * want.block_size),
		    img};
		if (run_command(argv, &out) != 0)
			throw Refused("mkfs.xfs refused " + want.describe() + ": " +
			              out.substr(0, out.find('\n')));
	}

	void attach_loop()
	{
		int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
		if (ctl < 0)
			throw Missing("a loop device (/dev/loop-control: " +
			              std::string(std::strerror(errno)) + ")");
		int img_fd = open(img.c_str(), O_RDWR | O_CLOEXEC);
		if (img_fd < 0) {
			close(ctl);
			fail_errno("open " + img);
		}
		for (int attempt = 0; attempt < 20 && loop_fd < 0; ++attempt) {
			int n = ioctl(ctl, LOOP_CTL_GET_FREE);
			if (n < 0) {
				close(ctl);
				close(img_fd);
				throw Missing("a free loop device (LOOP_CTL_GET_FREE: " +
				              std::string(std::strerror(errno)) + ")");
			}
			dev = "/dev/loop" + std::to_string(n);
			if (access(dev.c_str(), F_OK) != 0) {
				// no device node (no udev here): one of our own, in our folder
				dev = dir + "/loop";
				unlink(dev.c_str());
				if (mknod(dev.c_str(), S_IFBLK | 0600, makedev(7, n)) != 0)
					fail_errno("mknod " + dev);
			}
			int fd = open(dev.c_str(), O_RDWR | O_CLOEXEC);
			if (fd < 0)
				continue;
			loop_config cfg{};
			cfg.fd = uint32_t(img_fd);
			cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
			strncpy(reinterpret_cast<char *>(cfg.info.lo_file_name), img.c_str(),
			        LO_NAME_SIZE - 1);
			if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0) {
				loop_fd = fd;
				loop_major = 7;
				loop_minor = unsigned(n);
				set_scratch_loop(slot, fd);
			} else {
				close(fd); // taken by someone else meanwhile: the next free one
			}
		}
		close(ctl);
		close(img_fd);
		if (loop_fd < 0)
			throw Missing("a free loop device (LOOP_CONFIGURE kept failing)");
	}

	// The trace instance: events of this loop device only.
	void start_tracing()
	{
		if (mount("nodev", tracefs.c_str(), "tracefs", 0, nullptr) != 0)
			throw Missing("tracefs (mount: " + std::string(std::strerror(errno)) + ")");
		tracefs_mounted = true;
		instance = tracefs + "/instances/" + fs::path(dir).filename().string();
		if (mkdir(instance.c_str(), 0700) != 0)
			throw Missing("a tracefs instance (" + std::string(std::strerror(errno)) +
			              ")");
		set_scratch_trace(slot, tracefs, instance);
		const std::string filter =
		    "dev == " + std::to_string((loop_major << 20) | loop_minor);
		for (const char *ev :
		     {"xfs_calc_max_atomic_write_fsblocks", "xfs_calc_atomic_write_unit_max",
		      "xfs_iomap_atomic_write_cow", "xfs_reflink_convert_cow"}) {
			std::string e = instance + "/events/xfs/" + ev;
			if (access((e + "/enable").c_str(), W_OK) != 0)
				throw Missing(std::string("the XFS trace event ") + ev);
			write_text(e + "/filter", filter);
			write_text(e + "/enable", "1");
		}
	}

	void do_mount()
	{
		if (mount(dev.c_str(), mnt.c_str(), "xfs", 0, nullptr) != 0)
			fail_errno("mount " + dev + " on " + mnt);
		mounted = true;
		set_scratch_mount(slot, mnt, true);
	}

	void do_umount()
	{
		if (!mounted)
			return;
		if (umount2(mnt.c_str(), 0) != 0)
			fail_errno("unmount " + mnt);
		mounted = false;
		set_scratch_mount(slot, mnt, false);
	}

	// A raw device's mount point: everything mounted there, however often.
	bool unmount_all() noexcept
	{
		bool any = false;
		for (int i = 0; i < 16 && !mnt.empty() && is_mountpoint(mnt); ++i) {
			any = true;
			if (umount2(mnt.c_str(), 0) != 0 && umount2(mnt.c_str(), MNT_DETACH) != 0)
				break;
		}
		return any;
	}

	void teardown() noexcept
	{
		if (raw)
			unmount_all();
		else if (mounted && umount2(mnt.c_str(), 0) != 0)
			umount2(mnt.c_str(), MNT_DETACH);
		mounted = false;
		if (pipe_fd >= 0) {
			set_scratch_trace_fd(slot, -1);
			close(pipe_fd);
			pipe_fd = -1;
		}
		if (!instance.empty())
			rmdir(instance.c_str());
		if (tracefs_mounted && umount2(tracefs.c_str(), 0) != 0)
			umount2(tracefs.c_str(), MNT_DETACH);
		tracefs_mounted = false;
		if (loop_fd >= 0) {
			ioctl(loop_fd, LOOP_CLR_FD, 0);
			close(loop_fd);
			loop_fd = -1;
		}
		if (!dir.empty()) {
			std::error_code ec;
			fs::remove_all(dir, ec);
		}
		if (slot >= 0)
			unregister_scratch(slot);
		slot = -1;
	}
};

// ------------------------------------------------------------ ScratchDev

struct ScratchDev::Impl {
	ScratchFs::Impl fs;
};

ScratchDev::ScratchDev(uint64_t bytes) : p(std::make_unique<Impl>())
{
	check_capabilities(false);
	install_signal_cleanup();
	p->fs.raw = true;
	p->fs.raw_bytes = bytes;
	p->fs.make_dir();
	p->fs.make_image();
	p->fs.attach_loop();
}

ScratchDev::~ScratchDev() = default;

const std::string &ScratchDev::device() const
{
	return p->fs.dev;
}
const std::string &ScratchDev::mountpoint() const
{
	return p->fs.mnt;
}
const std::string &ScratchDev::folder() const
{
	return p->fs.dir;
}

bool ScratchDev::unmount_leftovers()
{
	return p->fs.unmount_all();
}

ScratchDev::Result ScratchDev::run(const std::vector<std::string> &argv,
                                   const std::vector<std::pair<std::string, std::string>> &env)
{
	if (argv.empty())
		fail("ScratchDev::run: no program");
	// everything the child needs, made before fork()
	std::vector<std::string> envs;
	for (char **e = environ; *e; ++e) {
		std::string kv = *e;
		bool replaced = false;
		for (const auto &[k, v] : env)
			replaced |= kv.compare(0, k.size() + 1, k + "=") == 0;
		if (!replaced)
			envs.push_back(kv);
	}
	for (const auto &[k, v] : env)
		envs.push_back(k + "=" + v);
	std::vector<char *> args, envp;
	for (const auto &a : argv)
		args.push_back(const_cast<char *>(a.c_str()));
	args.push_back(nullptr);
	for (const auto &e : envs)
		envp.push_back(const_cast<char *>(e.c_str()));
	envp.push_back(nullptr);
	const std::string prog =
	    argv[0].find('/') == std::string::npos ? find_program(argv[0]) : argv[0];
	if (prog.empty())
		fail(argv[0] + ": not found in PATH");

	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		fail_errno("pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		fail_errno("fork");
	}
	if (pid == 0) {
		setpgid(0, 0);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execve(prog.c_str(), args.data(), envp.data());
		_exit(127);
	}
	setpgid(pid, pid); // either side may win the race; both say the same
	set_scratch_child(p->fs.slot, pid);
	close(pipefd[1]);
	Result r;
	char buf[4096];
	for (;;) {
		ssize_t n = read(pipefd[0], buf, sizeof buf);
		if (n > 0)
			r.output.append(buf, size_t(n));
		else if (n == 0 || errno != EINTR)
			break;
	}
	close(pipefd[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	set_scratch_child(p->fs.slot, -1);
	r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return r;
}

static uint64_t field_after(const std::string &line, const std::string &key)
{
	size_t p = line.find(" " + key + " ");
	if (p == std::string::npos)
		return 0;
	return strtoull(line.c_str() + p + key.size() + 2, nullptr, 0);
}

ScratchFs::ScratchFs(const MkfsGeometry &g) : p(std::make_unique<Impl>())
{
	check_capabilities();
	install_signal_cleanup();
	p->want = g;
	p->make_dir();
	p->make_image();
	p->attach_loop();
	p->start_tracing();
	p->do_mount();
	std::istringstream in(read_text(p->instance + "/trace"));
	std::string line;
	while (std::getline(in, line)) {
		if (line.find("xfs_calc_max_atomic_write_fsblocks:") != std::string::npos)
			p->limits.log_blockcount = uint32_t(field_after(line, "blockcount"));
		if (line.find("xfs_calc_atomic_write_unit_max:") != std::string::npos &&
		    line.find(" ag max_write") != std::string::npos) {
			p->limits.max_write = uint32_t(field_after(line, "max_write"));
			p->limits.max_ioend = uint32_t(field_after(line, "max_ioend"));
			p->limits.max_gsize = uint32_t(field_after(line, "max_gsize"));
			p->limits.awu_max = uint32_t(field_after(line, "awu_max"));
		}
	}
	write_text(p->instance + "/trace", "");
	p->pipe_fd = open((p->instance + "/trace_pipe").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (p->pipe_fd < 0)
		throw Missing("the trace instance's trace_pipe (" +
		              std::string(std::strerror(errno)) + ")");
	set_scratch_trace_fd(p->slot, p->pipe_fd);
	if (p->limits.max_write == 0)
		throw Missing(
		    "the mount-time trace event xfs_calc_atomic_write_unit_max (a kernel without "
		    "software atomic writes?)");
}

ScratchFs::~ScratchFs() = default;

const std::string &ScratchFs::mountpoint() const
{
	return p->mnt;
}
const std::string &ScratchFs::device() const
{
	return p->dev;
}
MountLimits ScratchFs::mount_limits() const
{
	return p->limits;
}

static uint32_t sysfs_u32(const std::string &path)
{
	std::string t = read_text(path);
	return t.empty() ? 0 : uint32_t(strtoul(t.c_str(), nullptr, 10));
}

uint32_t ScratchFs::device_awu_min() const
{
	return sysfs_u32("/sys/block/loop" + std::to_string(p->loop_minor) +
	                 "/queue/atomic_write_unit_min_bytes");
}

uint32_t ScratchFs::device_awu_max() const
{
	return sysfs_u32("/sys/block/loop" + std::to_string(p->loop_minor) +
	                 "/queue/atomic_write_unit_max_bytes");
}

FsGeometry ScratchFs::geometry() const
{
	int fd = open(p->mnt.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fail_errno("open " + p->mnt);
	xfs_fsop_geom geo{};
	int r = ioctl(fd, XFS_IOC_FSGEOMETRY, &geo);
	close(fd);
	if (r != 0)
		fail_errno("XFS_IOC_FSGEOMETRY");
	FsGeometry g;
	g.block_size = geo.blocksize;
	g.ag_blocks = geo.agblocks;
	g.ag_count = geo.agcount;
	g.sect_size = geo.sectsize;
	g.log_blocks = geo.logblocks;
	g.reflink = geo.flags & XFS_FSOP_GEOM_FLAGS_REFLINK;
	return g;
}

void ScratchFs::remount()
{
	p->do_umount();
	p->do_mount();
	take_events(); // the mount's own events
}

bool ScratchFs::shutdown(uint32_t going_flags)
{
	int fd = open(p->mnt.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	const int r = ioctl(fd, XFS_IOC_GOINGDOWN, &going_flags);
	close(fd);
	return r == 0;
}

void ScratchFs::shutdown_and_recover(uint32_t going_flags)
{
	if (!shutdown(going_flags))
		fail_errno("XFS_IOC_GOINGDOWN");
	remount();
}

std::vector<TraceEvent> ScratchFs::take_events()
{
	// Clearing the buffer through "trace" waits for an RCU grace period
	// (tens of ms); consuming trace_pipe costs only the read.
	std::string text;
	char buf[65536];
	for (;;) {
		ssize_t n = read(p->pipe_fd, buf, sizeof buf);
		if (n > 0) {
			text.append(buf, size_t(n));
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break; // EAGAIN: nothing more recorded
	}
	std::vector<TraceEvent> out;
	std::istringstream in(text);
	std::string line;
	while (std::getline(in, line)) {
		if (line.empty() || line[0] == '#')
			continue;
		TraceEvent e;
		if (line.find("xfs_iomap_atomic_write_cow:") != std::string::npos) {
			e.name = "xfs_iomap_atomic_write_cow";
			e.a = field_after(line, "pos");
			e.b = field_after(line, "bytecount");
		} else if (line.find("xfs_reflink_convert_cow:") != std::string::npos) {
			e.name = "xfs_reflink_convert_cow";
			e.a = field_after(line, "fileoff");
			e.b = field_after(line, "fsbcount");
			e.c = field_after(line, "startblock");
		} else {
			continue;
		}
		e.ino = field_after(line, "ino");
		out.push_back(e);
	}
	return out;
}

} // namespace untorn::kernel
