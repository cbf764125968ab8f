// Operation scripts for `untorn kernel`: how a file's layout is built on
// the real filesystem (format untorn-kernel-script/1), the seeded generator
// of `kernel fuzz`, and the exact read-back of the built layout as a case.
#pragma once

#include "untorn/checker.h"
#include "untorn/kernel.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace untorn::kscript
{

enum class OpKind { write, falloc, punch, reflink };
std::string_view op_name(OpKind k);

// One layout operation, in bytes (block-aligned).  reflink clones the donor
// file's [src_offset, +length) into [offset, +length); the donor's range is
// written first where it is not yet.
struct Op {
	OpKind kind = OpKind::write;
	uint64_t offset = 0, length = 0, src_offset = 0;
};

struct Script {
	std::string name, note;
	kernel::MkfsGeometry geometry;
	uint64_t file_size = 2 << 20; // bytes; the file is truncated to this first
	uint32_t cowextsize = 0;      // blocks; 0 = no hint set on the inode
	std::vector<Op> ops;
	std::vector<WriteReq> writes; // RWF_ATOMIC direct writes, in order
};

// Parses and validates; throws CaseError (file, JSON path, what was expected).
Script parse_script(const std::string &text, const std::string &file);
Script load_script_file(const std::string &file);
std::string script_to_json(const Script &s);
// True when the text is a script (its "format" says so), not a case.
bool looks_like_script(const std::string &text);

// The trial'th script of a fuzz run: depends only on (seed, trial, geometry).
Script generate_script(uint64_t seed, uint64_t trial, const kernel::MkfsGeometry &g);

// A case's layout as a script: the logical layout (written, unwritten,
// holes, shared ranges, hint) and its write; physical placement is left to
// the kernel.  Throws NotBuildable naming what a valid case holds that user
// space cannot build (a CoW fork, allocator answers, no reflink): the case
// is not wrong, so `guarded` reports it NOT REPRODUCED with exit 4, as the
// exported scripts do.
struct NotBuildable : CaseError {
	using CaseError::CaseError;
};
Script script_from_case(const Case &c, const kernel::MkfsGeometry &g);

// The content written by layout op `gen` (or atomic write 1000+k) at byte
// `offset` of a file: 16-byte tags naming the generation and the offset, so
// that no two writes put the same bytes anywhere.
std::vector<uint8_t> pattern(uint32_t gen, uint64_t offset, uint64_t length);

// A script built on the scratch filesystem: the target file and its donor.
struct Built {
	std::unique_ptr<kernel::File> target, donor;
	bool remounted = false; // the CoW fork had to be emptied by a remount
};
// remount_always: remount after every layout (the benchmark's baseline),
// not only when it left CoW fork state.
Built build(kernel::ScratchFs &fs, const Script &s, const std::string &tag,
            bool remount_always = false);

// The target's data fork, sharing, hint and geometry read back as the
// state of a case (variant v6.18, empty CoW fork, no allocator answers).
FileState read_back(const kernel::ScratchFs &fs, const Built &b);

// ---- shared by the kernel commands

// --geometry BLOCK_SIZE:AG_BLOCKS:AG_COUNT; "" = the default scratch
// geometry.  Throws CaseError naming --geometry.
kernel::MkfsGeometry parse_geometry(const std::string &text);

// Runs a kernel command's body and maps what it throws to the exit
// statuses: a missing capability 4, bad input or a geometry mkfs refuses 2,
// anything else 3 (each with its message on stderr).
int guarded(const std::function<int()> &body);

// Cleans up after earlier runs that were killed, saying what it did.
void report_leftovers();

} // namespace untorn::kscript
