// untorn-kernel-script/1: building a layout on the real filesystem, and
// reading it back exactly as a case.
#include "kernel_script.h"

#include "untorn/rng.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

namespace untorn::kscript
{

using json = nlohmann::json;

std::string_view op_name(OpKind k)
{
	switch (k) {
	case OpKind::write:
		return "write";
	case OpKind::falloc:
		return "falloc";
	case OpKind::punch:
		return "punch";
	case OpKind::reflink:
		return "reflink";
	}
	return "?";
}

static constexpr const char *script_format = "untorn-kernel-script/1";

// ------------------------------------------------------------ parsing

namespace
{

struct Reader {
	std::string file;
	[[noreturn]] void fail(const std::string &path, const std::string &what) const
	{
		throw CaseError(file, path, what);
	}
	uint64_t uint(const json &obj, const std::string &path, const char *key, uint64_t max,
	              bool required, uint64_t dflt = 0) const
	{
		std::string p = path.empty() ? key : path + "." + key;
		auto it = obj.find(key);
		if (it == obj.end()) {
			if (required)
				fail(p, "missing; expected an unsigned integer");
			return dflt;
		}
		if (!it->is_number_unsigned() &&
		    !(it->is_number_integer() && it->get<int64_t>() >= 0))
			fail(p, "expected an unsigned integer, got " + it->dump());
		uint64_t v = it->get<uint64_t>();
		if (v > max)
			fail(p, "expected an unsigned integer at most " + std::to_string(max) +
			            ", got " + it->dump());
		return v;
	}
	void only_keys(const json &obj, const std::string &path,
	               std::initializer_list<const char *> keys) const
	{
		if (!obj.is_object())
			fail(path, "expected an object");
		for (auto it = obj.begin(); it != obj.end(); ++it)
			if (std::none_of(keys.begin(), keys.end(),
			                 [&](const char *k) { return it.key() == k; }))
				fail(path.empty() ? it.key() : path + "." + it.key(),
				     "unknown field");
	}
};

void check_aligned(const Reader &r, const std::string &path, uint64_t v, uint32_t bs)
{
	if (v % bs)
		r.fail(path, "expected a multiple of the block size " + std::to_string(bs) +
		                 ", got " + std::to_string(v));
}

} // namespace

bool looks_like_script(const std::string &text)
{
	return text.find(script_format) != std::string::npos;
}

Script parse_script(const std::string &text, const std::string &file)
{
	Reader r{file};
	json j;
	try {
		j = json::parse(text);
	} catch (const json::parse_error &e) {
		r.fail("", std::string("expected JSON: ") + e.what());
	}
	r.only_keys(
	    j, "",
	    {"format", "name", "note", "geometry", "file_size", "cowextsize", "ops", "writes"});
	if (!j.contains("format") || j["format"] != script_format)
		r.fail("format", std::string("expected \"") + script_format + "\"");
	Script s;
	if (j.contains("name")) {
		if (!j["name"].is_string())
			r.fail("name", "expected a string");
		s.name = j["name"];
	}
	if (j.contains("note")) {
		if (!j["note"].is_string())
			r.fail("note", "expected a string");
		s.note = j["note"];
	}
	if (j.contains("geometry")) {
		const json &g = j["geometry"];
		r.only_keys(g, "geometry", {"block_size", "ag_blocks", "ag_count"});
		s.geometry.block_size =
		    uint32_t(r.uint(g, "geometry", "block_size", 65536, false, 4096));
		if (s.geometry.block_size < 1024 ||
		    (s.geometry.block_size & (s.geometry.block_size - 1)))
			r.fail("geometry.block_size",
			       "expected a power of two from 1024 to 65536 (reflink needs a v5 "
			       "filesystem), got " +
			           std::to_string(s.geometry.block_size));
		s.geometry.ag_blocks =
		    uint32_t(r.uint(g, "geometry", "ag_blocks", 1u << 31, false, 20011));
		s.geometry.ag_count = uint32_t(r.uint(g, "geometry", "ag_count", 64, false, 4));
		if (s.geometry.ag_count < 1)
			r.fail("geometry.ag_count", "expected at least 1");
	}
	const uint32_t bs = s.geometry.block_size;
	s.file_size = r.uint(j, "", "file_size", 1ull << 32, false, 2 << 20);
	check_aligned(r, "file_size", s.file_size, bs);
	s.cowextsize = uint32_t(r.uint(j, "", "cowextsize", 1u << 20, false, 0));
	if (j.contains("ops")) {
		if (!j["ops"].is_array())
			r.fail("ops", "expected an array");
		for (size_t i = 0; i < j["ops"].size(); ++i) {
			const json &o = j["ops"][i];
			std::string p = "ops[" + std::to_string(i) + "]";
			r.only_keys(o, p, {"op", "offset", "length", "src_offset"});
			if (!o.contains("op") || !o["op"].is_string())
				r.fail(p + ".op", "expected one of write, falloc, punch, reflink");
			Op op;
			std::string k = o["op"];
			if (k == "write")
				op.kind = OpKind::write;
			else if (k == "falloc")
				op.kind = OpKind::falloc;
			else if (k == "punch")
				op.kind = OpKind::punch;
			else if (k == "reflink")
				op.kind = OpKind::reflink;
			else
				r.fail(p + ".op",
				       "expected one of write, falloc, punch, reflink, got \"" + k +
				           "\"");
			op.offset = r.uint(o, p, "offset", s.file_size, true);
			op.length = r.uint(o, p, "length", s.file_size, true);
			op.src_offset = r.uint(o, p, "src_offset", s.file_size, false, op.offset);
			check_aligned(r, p + ".offset", op.offset, bs);
			check_aligned(r, p + ".length", op.length, bs);
			check_aligned(r, p + ".src_offset", op.src_offset, bs);
			if (op.length == 0 || op.offset + op.length > s.file_size ||
			    op.src_offset + op.length > s.file_size)
				r.fail(p + ".length",
				       "expected a non-empty range inside file_size " +
				           std::to_string(s.file_size));
			s.ops.push_back(op);
		}
	}
	if (!j.contains("writes") || !j["writes"].is_array() || j["writes"].empty())
		r.fail("writes", "expected a non-empty array of {offset, length}");
	for (size_t i = 0; i < j["writes"].size(); ++i) {
		const json &w = j["writes"][i];
		std::string p = "writes[" + std::to_string(i) + "]";
		r.only_keys(w, p, {"offset", "length"});
		WriteReq req;
		req.offset = r.uint(w, p, "offset", s.file_size, true);
		req.length = r.uint(w, p, "length", 64u << 20, true);
		if (req.length == 0 || req.offset + req.length > s.file_size)
			r.fail(p + ".length", "expected a non-empty range inside file_size " +
			                          std::to_string(s.file_size));
		s.writes.push_back(req);
	}
	return s;
}

Script load_script_file(const std::string &file)
{
	std::ifstream in(file, std::ios::binary);
	if (!in)
		throw CaseError(file, "", "cannot read the file");
	std::stringstream ss;
	ss << in.rdbuf();
	return parse_script(ss.str(), file);
}

std::string script_to_json(const Script &s)
{
	json j = json::object();
	j["format"] = script_format;
	if (!s.name.empty())
		j["name"] = s.name;
	if (!s.note.empty())
		j["note"] = s.note;
	j["geometry"] = {{"block_size", s.geometry.block_size},
	                 {"ag_blocks", s.geometry.ag_blocks},
	                 {"ag_count", s.geometry.ag_count}};
	j["file_size"] = s.file_size;
	j["cowextsize"] = s.cowextsize;
	j["ops"] = json::array();
	for (const Op &o : s.ops) {
		json e = {{"op", op_name(o.kind)}, {"offset", o.offset}, {"length", o.length}};
		if (o.kind == OpKind::reflink)
			e["src_offset"] = o.src_offset;
		j["ops"].push_back(e);
	}
	j["writes"] = json::array();
	for (const WriteReq &w : s.writes)
		j["writes"].push_back({{"offset", w.offset}, {"length", w.length}});
	return j.dump(2) + "\n";
}

// ------------------------------------------------------------ the generator

namespace
{

uint64_t pick_write_length(Rng &r, uint32_t bs)
{
	const unsigned roll = unsigned(r.below(100));
	if (roll < 80) // a power of two from one block to 1 MiB-ish
		return uint64_t(bs) << r.below(9);
	if (roll < 85)
		return uint64_t(bs) * 512; // above the software limit
	if (roll < 92)
		return uint64_t(bs) * (3 + 2 * r.below(3)); // not a power of two
	if (roll < 96)
		return bs / 2; // below the block size
	return uint64_t(bs) << (9 + r.below(2));
}

WriteReq pick_write(Rng &r, uint32_t bs, uint64_t file_size)
{
	WriteReq w;
	w.length = pick_write_length(r, bs);
	if (w.length > file_size)
		w.length = file_size;
	uint64_t slots = std::max<uint64_t>(1, (file_size - w.length) / w.length + 1);
	const unsigned roll = unsigned(r.below(100));
	if (roll < 75) { // naturally aligned, mostly near the layout
		w.offset = r.below(std::min<uint64_t>(slots, r.chance(70) ? 256 * bs / w.length + 1
		                                                          : slots)) *
		           w.length;
	} else if (roll < 95) { // block-aligned, not naturally aligned
		w.offset = r.below((file_size - w.length) / bs + 1) * bs;
	} else { // not even block-aligned
		w.offset = r.below(file_size - w.length + 1) & ~uint64_t(511);
	}
	return w;
}

} // namespace

Script generate_script(uint64_t seed, uint64_t trial, const kernel::MkfsGeometry &g)
{
	Rng r(seed * 0x9e3779b97f4a7c15ULL ^ (trial + 1) * 0xd1b54a32d192ed03ULL);
	Script s;
	s.name = "fuzz-" + std::to_string(seed) + "-" + std::to_string(trial);
	s.geometry = g;
	const uint32_t bs = g.block_size;
	s.file_size = uint64_t(512) * bs;
	static const uint32_t hints[] = {0, 0, 0, 1, 2, 4, 8, 16, 32, 64};
	s.cowextsize = r.pick(hints);
	// The layout lives mostly in the first 128 blocks, where writes land most.
	const unsigned nops = unsigned(r.below(7));
	for (unsigned i = 0; i < nops; ++i) {
		Op op;
		const unsigned roll = unsigned(r.below(100));
		op.kind = roll < 35   ? OpKind::write
		          : roll < 60 ? OpKind::falloc
		          : roll < 75 ? OpKind::punch
		                      : OpKind::reflink;
		const uint64_t span = r.chance(85) ? 128 : 512;
		const uint64_t len = 1 + r.below(r.chance(60) ? 16 : 64);
		const uint64_t start = r.below(span);
		op.offset = std::min<uint64_t>(start, 512 - len) * bs;
		op.length = len * bs;
		// mostly the donor's range at the same offset; else anywhere, so one
		// donor range may be cloned to two offsets (blocks mapped twice)
		op.src_offset =
		    r.chance(70) ? op.offset : std::min<uint64_t>(r.below(512), 512 - len) * bs;
		s.ops.push_back(op);
	}
	const unsigned nwrites = r.chance(75) ? 1 : 2;
	for (unsigned i = 0; i < nwrites; ++i)
		s.writes.push_back(pick_write(r, bs, s.file_size));
	return s;
}

// ------------------------------------------------------------ cases as scripts

Script script_from_case(const Case &c, const kernel::MkfsGeometry &g)
{
	const Geometry &geo = c.state.geo;
	Script s;
	s.name = c.name.empty() ? "case" : c.name;
	s.note = "built from " + (c.file.empty() ? std::string("a case") : c.file);
	s.geometry = g;
	s.geometry.block_size = geo.block_size;
	const uint32_t bs = geo.block_size;
	if (!geo.reflink)
		throw NotBuildable(c.file, "geometry.reflink",
		                   "true: the scratch filesystem has reflink");
	if (!c.state.cow_fork.empty())
		throw NotBuildable(c.file, "cow_fork",
		                   "empty: a CoW fork cannot be built from user space");
	if (!c.state.alloc.empty())
		throw NotBuildable(c.file, "alloc",
		                   "absent: the kernel's allocator places new blocks itself");
	uint64_t end = c.write.offset + c.write.length;
	for (const auto &e : c.state.data_fork)
		end = std::max<uint64_t>(end, uint64_t(e.end()) * bs);
	s.file_size = std::max<uint64_t>((end + bs - 1) / bs * bs, uint64_t(64) * bs);
	s.cowextsize = geo.cowextsize;
	// Shared ranges: the blocks of data extents whose physical block has a
	// refcount above 1 become clones of the donor.
	auto shared = [&](xfs_fsblock_t b) {
		for (const auto &rc : c.state.refcount)
			if (b >= rc.rc_startblock && b < rc.rc_startblock + rc.rc_blockcount)
				return true;
		return false;
	};
	for (size_t i = 0; i < c.state.data_fork.size(); ++i) {
		const auto &e = c.state.data_fork[i];
		const std::string p = "data_fork[" + std::to_string(i) + "]";
		for (xfs_filblks_t k = 0; k < e.br_blockcount;) {
			bool sh = shared(e.br_startblock + k);
			xfs_filblks_t n = 1;
			while (k + n < e.br_blockcount && shared(e.br_startblock + k + n) == sh)
				++n;
			Op op;
			op.offset = uint64_t(e.br_startoff + k) * bs;
			op.length = uint64_t(n) * bs;
			op.src_offset = op.offset;
			op.kind = sh                                ? OpKind::reflink
			          : e.br_state == XFS_EXT_UNWRITTEN ? OpKind::falloc
			                                            : OpKind::write;
			s.ops.push_back(op);
			k += n;
		}
	}
	// Data first, clones last: a write onto a clone would leave CoW fork state.
	std::stable_partition(s.ops.begin(), s.ops.end(),
	                      [](const Op &o) { return o.kind != OpKind::reflink; });
	s.writes.push_back(c.write);
	return s;
}

// ------------------------------------------------------------ patterns

std::vector<uint8_t> pattern(uint32_t gen, uint64_t offset, uint64_t length)
{
	std::vector<uint8_t> out(length);
	for (uint64_t i = 0; i < length; i += 16) {
		uint64_t at = offset + i;
		uint8_t tag[16] = {'u', 't'};
		memcpy(tag + 2, &gen, 4);
		memcpy(tag + 6, &at, 8);
		tag[14] = uint8_t(gen * 31 + 7);
		tag[15] = 'n';
		memcpy(out.data() + i, tag, std::min<uint64_t>(16, length - i));
	}
	return out;
}

// ------------------------------------------------------------ building

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

Built build(kernel::ScratchFs &fs, const Script &s, const std::string &tag, bool remount_always)
{
	Built b;
	b.target = std::make_unique<kernel::File>(fs, tag + ".t");
	b.donor = std::make_unique<kernel::File>(fs, tag + ".d");
	b.target->truncate(s.file_size);
	b.donor->truncate(s.file_size);
	if (s.cowextsize)
		b.target->set_cowextsize(s.cowextsize * s.geometry.block_size);
	const uint32_t bs = s.geometry.block_size;
	std::vector<bool> donor_written(s.file_size / bs, false);
	std::vector<std::pair<uint64_t, uint64_t>> cloned; // target ranges made shared
	bool cow_state = false;
	for (size_t i = 0; i < s.ops.size(); ++i) {
		const Op &op = s.ops[i];
		const uint32_t gen = uint32_t(i + 1);
		switch (op.kind) {
		case OpKind::write:
			for (const auto &[o, l] : cloned)
				cow_state |= overlaps(o, l, op.offset, op.length);
			b.target->pwrite(op.offset, pattern(gen, op.offset, op.length));
			break;
		case OpKind::falloc:
			b.target->fallocate(op.offset, op.length);
			break;
		case OpKind::punch:
			b.target->punch_hole(op.offset, op.length);
			break;
		case OpKind::reflink:
			for (uint64_t k = 0; k < op.length / bs; ++k) {
				uint64_t blk = op.src_offset / bs + k;
				if (donor_written[blk])
					continue;
				b.donor->pwrite(blk * bs, pattern(500 + gen, blk * bs, bs));
				donor_written[blk] = true;
			}
			b.target->clone_from(*b.donor, op.src_offset, op.offset, op.length);
			cloned.emplace_back(op.offset, op.length);
			break;
		}
	}
	b.target->fsync();
	b.donor->fsync();
	if (cow_state || remount_always) { // a write onto a clone left CoW fork state: drop it
		b.target->close();
		b.donor->close();
		fs.remount();
		b.target->reopen();
		b.donor->reopen();
		b.remounted = true;
	}
	return b;
}

// ------------------------------------------------------------ reading back

namespace
{

struct Geo {
	uint32_t bs, agblocks, agblklog;
	xfs_fsblock_t fsbno(uint64_t physical_bytes) const
	{
		uint64_t db = physical_bytes / bs;
		return (xfs_fsblock_t(db / agblocks) << agblklog) | (db % agblocks);
	}
};

// FIEMAP splits an extent where its sharing changes; the data fork holds
// one record: merge pieces contiguous in file and fsblock space.
std::vector<xfs_bmbt_irec> data_fork_of(const std::vector<kernel::Extent> &ext, const Geo &g)
{
	std::vector<xfs_bmbt_irec> out;
	for (const auto &e : ext) {
		if (e.delalloc)
			throw std::runtime_error("FIEMAP reports a delalloc extent after fsync");
		// one extent can straddle no AG, but a FIEMAP piece may cover two records
		for (uint64_t done = 0; done < e.length;) {
			uint64_t phys = e.physical + done;
			uint64_t db = phys / g.bs;
			uint64_t in_ag = g.agblocks - db % g.agblocks;
			uint64_t n = std::min<uint64_t>((e.length - done) / g.bs, in_ag);
			xfs_bmbt_irec r;
			r.br_startoff = (e.logical + done) / g.bs;
			r.br_startblock = g.fsbno(phys);
			r.br_blockcount = n;
			r.br_state = e.unwritten ? XFS_EXT_UNWRITTEN : XFS_EXT_NORM;
			if (!out.empty() && out.back().end() == r.br_startoff &&
			    out.back().br_startblock + out.back().br_blockcount ==
			        r.br_startblock &&
			    out.back().br_state == r.br_state)
				out.back().br_blockcount += n;
			else
				out.push_back(r);
			done += n * g.bs;
		}
	}
	return out;
}

} // namespace

FileState read_back(const kernel::ScratchFs &fs, const Built &b)
{
	const kernel::FsGeometry fg = fs.geometry();
	FileState st;
	st.geo.block_size = fg.block_size;
	st.geo.ag_blocks = fg.ag_blocks;
	st.geo.ag_count = fg.ag_count;
	st.geo.reflink = fg.reflink;
	st.geo.cowextsize = b.target->cowextsize() / fg.block_size;
	st.geo.max_atomic_ioend = fs.mount_limits().log_blockcount;
	st.dev.awu_min = fs.device_awu_min();
	st.dev.awu_max = fs.device_awu_max();
	const Geo g{fg.block_size, fg.ag_blocks, fg.agblklog()};
	st.data_fork = data_fork_of(b.target->fiemap(), g);
	// refcount: how many mappings of the two files point at each block
	std::map<xfs_fsblock_t, uint32_t> refs;
	for (const auto *f : {b.target.get(), b.donor.get()})
		for (const auto &r : data_fork_of(f->fiemap(), g))
			for (xfs_filblks_t k = 0; k < r.br_blockcount; ++k)
				++refs[r.br_startblock + k];
	for (const auto &[blk, n] : refs) {
		if (n < 2)
			continue;
		auto &rc = st.refcount;
		if (!rc.empty() && rc.back().rc_startblock + rc.back().rc_blockcount == blk &&
		    rc.back().rc_refcount == n &&
		    (blk >> g.agblklog) == (rc.back().rc_startblock >> g.agblklog))
			++rc.back().rc_blockcount;
		else
			rc.push_back({blk, 1, n});
	}
	return st;
}

// ------------------------------------------------------------ shared by the commands

kernel::MkfsGeometry parse_geometry(const std::string &text)
{
	kernel::MkfsGeometry g;
	if (text.empty())
		return g;
	unsigned bs = 0, agb = 0, agc = 0;
	char tail = 0;
	if (sscanf(text.c_str(), "%u:%u:%u%c", &bs, &agb, &agc, &tail) != 3 || bs < 1024 ||
	    bs > 65536 || (bs & (bs - 1)) || agb < 16 || agc < 1 || agc > 64)
		throw CaseError("", "--geometry",
		                "BLOCK_SIZE:AG_BLOCKS:AG_COUNT (block size a power of two from "
		                "1024 to 65536), got \"" +
		                    text + "\"");
	g.block_size = bs;
	g.ag_blocks = agb;
	g.ag_count = agc;
	return g;
}

int guarded(const std::function<int()> &body)
{
	try {
		return body();
	} catch (const kernel::Missing &e) {
		std::cerr << "untorn kernel: " << e.what() << "\n";
		return EXIT_UNAVAILABLE;
	} catch (const NotBuildable &e) {
		std::cerr << "untorn kernel: NOT REPRODUCED: " << e.what() << "\n";
		return EXIT_UNAVAILABLE;
	} catch (const CaseError &e) { // a file's error names it; an option's, the option
		std::cerr << "untorn kernel: " << (e.file.empty() ? e.path + ": " + e.expected : e.what())
		          << "\n";
		return EXIT_BAD_INPUT;
	} catch (const kernel::Refused &e) {
		std::cerr << "untorn kernel: " << e.what() << "\n";
		return EXIT_BAD_INPUT;
	} catch (const std::exception &e) {
		std::cerr << "untorn kernel: " << e.what() << "\n";
		return EXIT_INTERNAL;
	}
}

void report_leftovers()
{
	for (const auto &line : kernel::clean_leftovers())
		std::cerr << "untorn kernel: cleaned up after an earlier run: " << line << "\n";
}

} // namespace untorn::kscript
