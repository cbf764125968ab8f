// A file on the scratch filesystem: built with ordinary syscalls, read back
// with FIEMAP and FS_IOC_FSGETXATTR, written with pwritev2(RWF_ATOMIC).
#include "sys.h"
#include "untorn/kernel.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <memory>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

namespace untorn::kernel
{

using namespace sys;

namespace
{

// O_DIRECT wants memory aligned to the logical block size; 4096 covers it.
struct AlignedBuf {
	void *p = nullptr;
	explicit AlignedBuf(size_t n)
	{
		if (posix_memalign(&p, 4096, n ? n : 4096) != 0)
			throw std::bad_alloc();
	}
	~AlignedBuf() { free(p); }
	AlignedBuf(const AlignedBuf &) = delete;
	AlignedBuf &operator=(const AlignedBuf &) = delete;
};

} // namespace

File::File(const ScratchFs &fs, const std::string &name) : path_(fs.mountpoint() + "/" + name)
{
	fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0600);
	if (fd_ < 0)
		fail_errno("create " + path_);
}

File::File(const std::string &path) : path_(path)
{
	fd_ = open(path_.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd_ < 0)
		fail_errno("open " + path_);
}

File::~File()
{
	close();
}

void File::close()
{
	if (fd_ >= 0)
		::close(fd_);
	fd_ = -1;
}

void File::reopen()
{
	close();
	fd_ = open(path_.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd_ < 0)
		fail_errno("reopen " + path_);
}

const std::string &File::path() const
{
	return path_;
}

uint64_t File::ino() const
{
	struct stat st;
	if (fstat(fd_, &st) != 0)
		fail_errno("fstat " + path_);
	return st.st_ino;
}

void File::truncate(uint64_t size)
{
	if (ftruncate(fd_, off_t(size)) != 0)
		fail_errno("ftruncate " + path_);
}

void File::pwrite(uint64_t offset, const std::vector<uint8_t> &data)
{
	AlignedBuf buf(data.size());
	memcpy(buf.p, data.data(), data.size());
	ssize_t n = ::pwrite(fd_, buf.p, data.size(), off_t(offset));
	if (n != ssize_t(data.size()))
		fail_errno("pwrite " + path_ + " at " + std::to_string(offset));
}

void File::fallocate(uint64_t offset, uint64_t length)
{
	if (::fallocate(fd_, FALLOC_FL_KEEP_SIZE, off_t(offset), off_t(length)) != 0)
		fail_errno("fallocate " + path_);
}

void File::punch_hole(uint64_t offset, uint64_t length)
{
	if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(offset),
	                off_t(length)) != 0)
		fail_errno("punch hole in " + path_);
}

void File::clone_from(const File &src, uint64_t src_offset, uint64_t offset, uint64_t length)
{
	if (!try_clone_from(src, src_offset, offset, length))
		fail_errno("FICLONERANGE into " + path_);
}

void File::set_cowextsize(uint32_t bytes)
{
	fsxattr fa{};
	if (ioctl(fd_, FS_IOC_FSGETXATTR, &fa) != 0)
		fail_errno("FS_IOC_FSGETXATTR " + path_);
	fa.fsx_xflags |= FS_XFLAG_COWEXTSIZE;
	fa.fsx_cowextsize = bytes;
	if (ioctl(fd_, FS_IOC_FSSETXATTR, &fa) != 0)
		fail_errno("FS_IOC_FSSETXATTR cowextsize " + std::to_string(bytes) + " on " +
		           path_);
}

uint32_t File::cowextsize() const
{
	fsxattr fa{};
	if (ioctl(fd_, FS_IOC_FSGETXATTR, &fa) != 0)
		fail_errno("FS_IOC_FSGETXATTR " + path_);
	return (fa.fsx_xflags & FS_XFLAG_COWEXTSIZE) ? fa.fsx_cowextsize : 0;
}

bool File::buffered_write(uint64_t offset, const std::vector<uint8_t> &data)
{
	int fd = open(path_.c_str(), O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	const ssize_t n = ::pwrite(fd, data.data(), data.size(), off_t(offset));
	::close(fd);
	return n == ssize_t(data.size());
}

bool File::mmap_write(uint64_t offset, const std::vector<uint8_t> &data)
{
	int fd = open(path_.c_str(), O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	void *m = mmap(nullptr, data.size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, off_t(offset));
	::close(fd);
	if (m == MAP_FAILED)
		return false;
	// (a fault on a shut-down filesystem raises SIGBUS: callers never race
	// this with XFS_IOC_GOINGDOWN)
	memcpy(m, data.data(), data.size());
	return munmap(m, data.size()) == 0;
}

bool File::try_clone_from(const File &src, uint64_t src_offset, uint64_t offset, uint64_t length)
{
	file_clone_range r{};
	r.src_fd = src.fd_;
	r.src_offset = src_offset;
	r.src_length = length;
	r.dest_offset = offset;
	return ioctl(fd_, FICLONERANGE, &r) == 0;
}

bool File::try_fsync() { return ::fsync(fd_) == 0; }

void File::fsync()
{
	if (!try_fsync())
		fail_errno("fsync " + path_);
}

std::vector<uint8_t> File::read_all(uint64_t size) const
{
	AlignedBuf buf(size);
	uint64_t done = 0;
	while (done < size) {
		ssize_t n = pread(fd_, static_cast<char *>(buf.p) + done, size - done, off_t(done));
		if (n < 0)
			fail_errno("read " + path_);
		if (n == 0)
			break;
		done += uint64_t(n);
	}
	std::vector<uint8_t> out(size, 0);
	memcpy(out.data(), buf.p, done);
	return out;
}

std::vector<Extent> File::fiemap() const
{
	constexpr unsigned batch = 256;
	std::vector<Extent> out;
	std::vector<uint8_t> mem(sizeof(struct fiemap) + batch * sizeof(struct fiemap_extent));
	uint64_t start = 0;
	for (;;) {
		std::fill(mem.begin(), mem.end(), 0);
		auto *fm = reinterpret_cast<struct fiemap *>(mem.data());
		fm->fm_start = start;
		fm->fm_length = FIEMAP_MAX_OFFSET - start;
		fm->fm_flags = FIEMAP_FLAG_SYNC;
		fm->fm_extent_count = batch;
		if (ioctl(fd_, FS_IOC_FIEMAP, fm) != 0)
			fail_errno("FIEMAP " + path_);
		bool last = fm->fm_mapped_extents == 0;
		for (unsigned i = 0; i < fm->fm_mapped_extents; ++i) {
			const fiemap_extent &fe = fm->fm_extents[i];
			Extent e;
			e.logical = fe.fe_logical;
			e.physical = fe.fe_physical;
			e.length = fe.fe_length;
			e.unwritten = fe.fe_flags & FIEMAP_EXTENT_UNWRITTEN;
			e.shared = fe.fe_flags & FIEMAP_EXTENT_SHARED;
			e.delalloc = fe.fe_flags & FIEMAP_EXTENT_DELALLOC;
			out.push_back(e);
			start = fe.fe_logical + fe.fe_length;
			if (fe.fe_flags & FIEMAP_EXTENT_LAST)
				last = true;
		}
		if (last || fm->fm_mapped_extents < batch)
			return out;
	}
}

StatxAtomic File::statx_atomic() const
{
	alignas(8) unsigned char b[STATX_SIZE] = {};
	StatxAtomic s;
	if (syscall(SYS_statx, fd_, "", AT_EMPTY_PATH, STATX_WRITE_ATOMIC_MASK, b) != 0)
		fail_errno("statx " + path_);
	auto u32 = [&](size_t off) {
		uint32_t v;
		memcpy(&v, b + off, 4);
		return v;
	};
	s.supported = u32(0) & STATX_WRITE_ATOMIC_MASK;
	s.unit_min = u32(STATX_OFF_ATOMIC_MIN);
	s.unit_max = u32(STATX_OFF_ATOMIC_MAX);
	s.segments_max = u32(STATX_OFF_ATOMIC_SEGS);
	s.unit_max_opt = u32(STATX_OFF_ATOMIC_MAX_OPT);
	return s;
}

Ret File::dio_write(uint64_t offset, const std::vector<uint8_t> &data, int flags) const
{
	AlignedBuf buf(data.size());
	memcpy(buf.p, data.data(), data.size());
	iovec iov{buf.p, data.size()};
	ssize_t n = pwritev2(fd_, &iov, 1, off_t(offset), flags);
	return n < 0 ? -Ret(errno) : Ret(n);
}

Ret File::atomic_write(uint64_t offset, const std::vector<uint8_t> &data, bool dsync) const
{
	return dio_write(offset, data, RWF_ATOMIC_FLAG | (dsync ? RWF_DSYNC : 0));
}

Ret File::plain_write(uint64_t offset, const std::vector<uint8_t> &data, bool dsync) const
{
	return dio_write(offset, data, dsync ? RWF_DSYNC : 0);
}

} // namespace untorn::kernel
