// Comparing a file's layout as the kernel left it with the model's, block by
// block: shared by `untorn kernel run`/`fuzz` (after each write) and
// `kernel crash`/`race` (after log recovery, against the model's crash states).
#pragma once

#include "untorn/impl.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace untorn::kcompare
{

enum class Kind : uint8_t { hole, unwritten, norm };
const char *kind_name(Kind k);

struct BlockView {
	Kind kind = Kind::hole;
	xfs_fsblock_t fsbno = 0;
	bool shared = false;
};

// What each file block maps to in a state (the model's, or the kernel's read back).
std::vector<BlockView> blocks_of(const FileState &st, uint64_t nblocks);

// Runs of blocks that share a complaint, as "blocks a-b: what".
struct RunList {
	std::vector<std::pair<std::pair<uint64_t, uint64_t>, std::string>> runs;
	void add(uint64_t blk, const std::string &what);
	std::string str() const;
	bool empty() const { return runs.empty(); }
};

// The kernel's layout after (ka, from kb) against the model's (ma, from
// mb): per block the kind, whether it moved, new blocks one to one (the
// allocator's choice is not compared), and, in `sharing`, refcount > 1.
struct ForkDiff {
	RunList forks, sharing;
};
ForkDiff diff_forks(const std::vector<BlockView> &kb, const std::vector<BlockView> &ka,
                    const std::vector<BlockView> &mb, const std::vector<BlockView> &ma);

// What the model says a write does, as the kernel shows it: the syscall's
// return (bytes, or -errno) and the software-path ->iomap_begin calls
// (pos, length), which the kernel traces as xfs_iomap_atomic_write_cow.
struct Outcome {
	int64_t ret = 0;
	std::vector<std::pair<uint64_t, uint64_t>> calls;
	bool operator==(const Outcome &) const = default;
};
Outcome outcome_of(const Trace &t);

// "ok" or the errno's name, of a syscall's return (>= 0, or -errno).
std::string result_name(int64_t r);
// Software-path ->iomap_begin calls (pos, length), as "[(pos,len), ...]".
std::string calls_str(const std::vector<std::pair<uint64_t, uint64_t>> &c);

} // namespace untorn::kcompare
