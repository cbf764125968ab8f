// Syscall helpers, and the registry of scratch filesystems that a signal
// handler undoes.  The handler runs only async-signal-safe calls (umount2,
// rmdir, unlink, close, ioctl, raise) on fixed char arrays.
#include "sys.h"

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace untorn::kernel::sys
{

void fail_errno(const std::string &what)
{
	throw std::runtime_error(what + ": " + std::strerror(errno));
}
void fail(const std::string &what)
{
	throw std::runtime_error(what);
}

int run_command(const std::vector<std::string> &argv, std::string *out)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		fail_errno("pipe");
	pid_t pid = fork();
	if (pid < 0)
		fail_errno("fork");
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		std::vector<char *> args;
		for (const auto &a : argv)
			args.push_back(const_cast<char *>(a.c_str()));
		args.push_back(nullptr);
		execv(args[0], args.data());
		_exit(127);
	}
	close(pipefd[1]);
	std::string text;
	char buf[4096];
	ssize_t n;
	while ((n = read(pipefd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			text.append(buf, size_t(n));
	close(pipefd[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (out)
		*out = text;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string find_program(const std::string &name)
{
	std::string dirs = getenv("PATH") ? getenv("PATH") : "";
	dirs += ":/usr/sbin:/sbin:/usr/bin:/bin";
	size_t start = 0;
	while (start <= dirs.size()) {
		size_t end = dirs.find(':', start);
		if (end == std::string::npos)
			end = dirs.size();
		std::string p = dirs.substr(start, end - start) + "/" + name;
		if (end > start && access(p.c_str(), X_OK) == 0)
			return p;
		start = end + 1;
	}
	return "";
}

std::string read_text(const std::string &path)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "";
	std::string text;
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		text.append(buf, size_t(n));
	close(fd);
	return text;
}

void write_text(const std::string &path, const std::string &text)
{
	int fd = open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		fail_errno("open " + path);
	ssize_t n = write(fd, text.data(), text.size());
	int saved = errno;
	close(fd);
	errno = saved;
	if (n != ssize_t(text.size()))
		fail_errno("write '" + text + "' to " + path);
}

// ------------------------------------------------------------ the registry

namespace
{

struct Slot {
	std::atomic<bool> used{false};
	char dir[512];
	char mnt[512];
	char tracefs[512];
	char instance[640];
	std::atomic<bool> mounted{false};
	std::atomic<int> loop_fd{-1};
	std::atomic<int> trace_fd{-1};
	std::atomic<int> child{-1};
};
std::array<Slot, 8> slots;
std::atomic<bool> graceful{false};
std::atomic<int> stop_sig{0};

void copy(char *dst, size_t n, const std::string &s)
{
	std::strncpy(dst, s.c_str(), n - 1);
	dst[n - 1] = 0;
}

// Undo one slot with async-signal-safe calls only.
void undo_slot(Slot &s)
{
	if (!s.used.load())
		return;
	if (int pid = s.child.exchange(-1); pid > 0) {
		// SIGTERM first: a script's EXIT trap unmounts and removes its
		// files (up to 2 s); then SIGKILL to whatever of the group is left.
		kill(-pid, SIGTERM);
		bool reaped = false;
		for (int i = 0; i < 200 && !reaped; ++i) {
			reaped = waitpid(pid, nullptr, WNOHANG) == pid;
			struct timespec ts = {0, 10 * 1000 * 1000};
			if (!reaped)
				nanosleep(&ts, nullptr);
		}
		kill(-pid, SIGKILL);
		if (!reaped)
			waitpid(pid, nullptr, 0);
	}
	if (s.mounted.load() && umount2(s.mnt, 0) != 0)
		umount2(s.mnt, MNT_DETACH);
	if (int tfd = s.trace_fd.exchange(-1); tfd >= 0)
		close(tfd);
	if (s.instance[0])
		rmdir(s.instance);
	if (s.tracefs[0] && umount2(s.tracefs, 0) != 0)
		umount2(s.tracefs, MNT_DETACH);
	int fd = s.loop_fd.load();
	if (fd >= 0) {
		ioctl(fd, LOOP_CLR_FD, 0);
		close(fd);
	}
	char path[600];
	const char *names[] = {"/img", "/img.log", "/script.sh", "/loop"};
	for (const char *n : names) {
		size_t l = strlen(s.dir);
		if (l + strlen(n) + 1 < sizeof path) {
			memcpy(path, s.dir, l);
			strcpy(path + l, n);
			unlink(path);
		}
	}
	rmdir(s.mnt);
	rmdir(s.tracefs);
	rmdir(s.dir);
	s.used = false;
}

void on_signal(int sig)
{
	if (graceful.load() && stop_sig.load() == 0) {
		stop_sig = sig;
		return;
	}
	for (auto &s : slots)
		undo_slot(s);
	signal(sig, SIG_DFL);
	raise(sig);
}

} // namespace

int register_scratch(const std::string &dir)
{
	for (size_t i = 0; i < slots.size(); ++i) {
		bool expected = false;
		Slot &s = slots[i];
		if (s.used.load())
			continue;
		copy(s.dir, sizeof s.dir, dir);
		s.mnt[0] = s.tracefs[0] = s.instance[0] = 0;
		s.mounted = false;
		s.loop_fd = -1;
		s.trace_fd = -1;
		s.child = -1;
		if (s.used.compare_exchange_strong(expected, true))
			return int(i);
	}
	fail("more than 8 scratch filesystems at once");
}

void set_scratch_mount(int slot, const std::string &mnt, bool mounted)
{
	copy(slots[slot].mnt, sizeof slots[slot].mnt, mnt);
	slots[slot].mounted = mounted;
}

void set_scratch_trace(int slot, const std::string &tracefs, const std::string &instance)
{
	copy(slots[slot].tracefs, sizeof slots[slot].tracefs, tracefs);
	copy(slots[slot].instance, sizeof slots[slot].instance, instance);
}

void set_scratch_loop(int slot, int loop_fd)
{
	slots[slot].loop_fd = loop_fd;
}
void set_scratch_trace_fd(int slot, int fd)
{
	slots[slot].trace_fd = fd;
}
void set_scratch_child(int slot, int pid)
{
	slots[slot].child = pid;
}
void unregister_scratch(int slot)
{
	slots[slot].used = false;
}

void install_signal_cleanup()
{
	static std::atomic<bool> done{false};
	if (done.exchange(true))
		return;
	struct sigaction sa {
	};
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART; // a graceful stop is polled; syscalls carry on
	sigemptyset(&sa.sa_mask);
	for (int sig : {SIGINT, SIGTERM, SIGHUP})
		sigaction(sig, &sa, nullptr);
}

void set_graceful(bool on)
{
	graceful = on;
}
bool stop_requested()
{
	return stop_sig.load() != 0;
}
int stop_signal()
{
	return stop_sig.load();
}

} // namespace untorn::kernel::sys
