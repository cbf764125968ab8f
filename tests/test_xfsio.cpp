// Tests of `untorn import` and `untorn export --xfs-io` (checker/src/import.cpp
// and checker/src/export.cpp).
//
// import: sample outputs of xfs_bmap -v, xfs_io's fiemap -v and filefrag -v
// (tests/data/import/, written with the tools' own printf formats; see the
// README there) all describe one file, and each must import to exactly the
// expected extents -- startblocks exact from xfs_bmap's AG columns, disk
// blocks (with the AG geometry marked as a guess) from the others -- and bad
// input must exit 2 naming the file and line.
//
// export: every corpus case exports to a bash script that parses, refuses to
// run without $SCRATCH_DEV/$SCRATCH_MNT, issues the atomic write as fstests
// does, and whose layout check (an awk program over `xfs_io -c "bmap -vp"`)
// accepts exactly the case's layout.
#include "commands.h"
#include "common/files.h"
#include "common/layout.h"
#include "untorn/checker.h"
#include "untorn/model.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace untorn;
using namespace untorn_test;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace
{

const fs::path kSource = UNTORN_SOURCE_DIR;
const fs::path kData = kSource / "tests" / "data" / "import";

void spit(const fs::path &p, const std::string &s)
{
	std::ofstream out(p, std::ios::binary);
	out << s;
}

struct Run {
	int rc = -1;
	std::string out, err;
};

template <class F> Run captured(F f, const std::string &stdin_text = "")
{
	std::ostringstream o, e;
	std::istringstream in(stdin_text);
	auto *ob = std::cout.rdbuf(o.rdbuf());
	auto *eb = std::cerr.rdbuf(e.rdbuf());
	auto *ib = std::cin.rdbuf(in.rdbuf());
	Run r;
	try {
		r.rc = f();
	} catch (...) {
		std::cout.rdbuf(ob);
		std::cerr.rdbuf(eb);
		std::cin.rdbuf(ib);
		throw;
	}
	std::cout.rdbuf(ob);
	std::cerr.rdbuf(eb);
	std::cin.rdbuf(ib);
	r.out = o.str();
	r.err = e.str();
	return r;
}

Run import(const std::string &input, ImportOptions o = {}, const std::string &stdin_text = "")
{
	o.input = input;
	return captured([&] { return cmd_import(o); }, stdin_text);
}

// The sample file, as every tool shows it (4096-byte blocks, AGs of 16000
// blocks, so agblklog 14): file blocks [0,16) written at AG 0 agbno 24,
// [16,32) a hole, [32,48) unwritten at AG 1 agbno 24, [48,64) written and
// shared at AG 2 agbno 32.  Disk blocks: 24, 16024, 32032.
const std::vector<xfs_bmbt_irec> kExactFork = {
    ext(0, 24, 16), ext(32, (1u << 14) | 24, 16, XFS_EXT_UNWRITTEN), ext(48, (2u << 14) | 32, 16)};
const std::vector<xfs_bmbt_irec> kDiskFork = {ext(0, 24, 16), ext(32, 16024, 16, XFS_EXT_UNWRITTEN),
                                              ext(48, 32032, 16)};

int run_shell(const std::string &cmd)
{
	return std::system(cmd.c_str());
}
bool have(const char *prog)
{
	return run_shell(std::string("command -v ") + prog + " >/dev/null 2>&1") == 0;
}
int exit_status(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

TEST_CASE("import: xfs_bmap -v gives exact startblocks and the AG size", "[xfsio]")
{
	TempDir d("xfsio");
	for (const char *sample : {"xfs_bmap-v.txt", "xfs_bmap-vv.txt"}) {
		INFO(sample);
		ImportOptions o;
		o.output = (d.path / "out.json").string();
		o.offset = 131072;
		o.length = 65536;
		Run r = import((kData / sample).string(), o);
		INFO(r.err);
		REQUIRE(r.rc == EXIT_CLEAN);
		CHECK(r.out.empty());
		Case c = load_case_file(o.output);
		CHECK(c.variant == Variant::v6_18);
		CHECK(c.state.geo.block_size == 4096);
		CHECK(c.state.geo.ag_blocks == 16000); // derived: (BLOCK-RANGE - AG-OFFSET) / AG
		CHECK(c.state.geo.agblklog() == 14);
		CHECK(c.state.geo.ag_count == 3);
		CHECK(c.state.data_fork == kExactFork);
		REQUIRE(c.state.refcount.size() == 1);
		CHECK(c.state.refcount[0] == xfs_refcount_irec{(2u << 14) | 32, 16, 2});
		CHECK(c.state.cow_fork.empty());
		CHECK(c.write.offset == 131072);
		CHECK(c.write.length == 65536);
		CHECK(!c.expect.result);
		// the disk addresses round-trip through the geometry
		CHECK(xfs_fsb_to_db(c.state.geo, c.state.data_fork[1].br_startblock) == 16024);
		CHECK(xfs_fsb_to_db(c.state.geo, c.state.data_fork[2].br_startblock) == 32032);
		CHECK(c.note.find("GUESSES") != std::string::npos);
		CHECK(c.note.find("ag_count") != std::string::npos);
		CHECK(c.note.find("ag_blocks 16000 is exact") != std::string::npos);
		CHECK(c.note.find("awu_min") != std::string::npos);
		// and the skeleton runs
		Trace t = run_atomic_write(c.state, c.write, c.variant);
		CHECK(t.result == 0);
	}
}

TEST_CASE("import: the block size is read where the tool prints it, else a listed guess", "[xfsio]")
{
	// xfs_bmap -v and fiemap -v count 512-byte units and never say the block size
	for (const char *sample : {"xfs_bmap-v.txt", "fiemap-v.txt"}) {
		INFO(sample);
		Run r = import((kData / sample).string());
		REQUIRE(r.rc == EXIT_CLEAN);
		Case c = parse_case(r.out, sample);
		CHECK(c.state.geo.block_size == 4096);
		const auto guesses = c.note.find("GUESSES");
		REQUIRE(guesses != std::string::npos);
		CHECK(c.note.find("geometry.block_size (4096", guesses) != std::string::npos);
		// given on the command line, it is no guess
		ImportOptions o;
		o.block_size = 4096;
		Run given = import((kData / sample).string(), o);
		REQUIRE(given.rc == EXIT_CLEAN);
		CHECK(parse_case(given.out, sample).note.find("geometry.block_size (") == std::string::npos);
	}
	// filefrag -v prints its blocks' size: that is the block size, not a guess
	TempDir d("xfsio-filefrag");
	std::ifstream in(kData / "filefrag-v.txt");
	std::stringstream text;
	text << in.rdbuf();
	std::string t = text.str();
	const std::string from = "(64 blocks of 4096 bytes)";
	REQUIRE(t.find(from) != std::string::npos);
	t.replace(t.find(from), from.size(), "(256 blocks of 1024 bytes)");
	std::ofstream(d.path / "ff.txt") << t;
	Run r = import((d.path / "ff.txt").string());
	INFO(r.err);
	REQUIRE(r.rc == EXIT_CLEAN);
	Case c = parse_case(r.out, "ff.txt");
	CHECK(c.state.geo.block_size == 1024);
	CHECK(c.note.find("geometry.block_size (") == std::string::npos);
	CHECK(c.note.find("geometry.block_size 1024 is filefrag's block size") != std::string::npos);
}

TEST_CASE("import: xfs_bmap -v of a file with no extents is an empty data fork", "[xfsio]")
{
	// xfs_bmap -v prints only "FILE: no extents" for a file with no blocks;
	// the format is recognised from that line alone, whatever the name's length.
	TempDir d("xfsio");
	for (const char *line : {"f: no extents", "/mnt/scratch/a file: no extents"}) {
		INFO(line);
		const auto in = d.path / "bmap.txt";
		std::ofstream(in) << line << "\n";
		ImportOptions o;
		o.output = (d.path / "out.json").string();
		o.offset = 0;
		o.length = 4096;
		Run r = import(in.string(), o);
		INFO(r.err);
		REQUIRE(r.rc == EXIT_CLEAN);
		Case c = load_case_file(o.output);
		CHECK(c.state.data_fork.empty());
		CHECK(c.state.refcount.empty());
		CHECK(run_atomic_write(c.state, c.write, c.variant).result == 0);
	}
}

TEST_CASE("import: fiemap -v and filefrag -v give disk blocks, with the AG geometry a marked guess",
          "[xfsio]")
{
	for (const char *sample : {"fiemap-v.txt", "filefrag-v.txt"}) {
		INFO(sample);
		Run r = import((kData / sample).string());
		INFO(r.err);
		REQUIRE(r.rc == EXIT_CLEAN);
		Case c = parse_case(r.out, sample);
		CHECK(c.name == std::string("imported-") + fs::path(sample).stem().string());
		CHECK(c.state.geo.block_size == 4096);
		CHECK(c.state.data_fork == kDiskFork);
		// one AG of 2^k blocks holding every extent: startblock = disk block
		CHECK(c.state.geo.ag_blocks == 32768);
		CHECK(c.state.geo.ag_count == 1);
		for (const auto &e : c.state.data_fork)
			CHECK(xfs_fsb_to_db(c.state.geo, e.br_startblock) == e.br_startblock);
		REQUIRE(c.state.refcount.size() == 1);
		CHECK(c.state.refcount[0] == xfs_refcount_irec{32032, 16, 2});
		CHECK(c.write.offset == 0);
		CHECK(c.write.length == 4096); // default: one block at 0
		CHECK(c.note.find("GUESSES") != std::string::npos);
		CHECK(c.note.find("geometry.ag_blocks (32768) and ag_count (1)") !=
		      std::string::npos);
		CHECK(c.note.find("@db 16024") != std::string::npos);
		CHECK(c.note.find("write (one block at offset 0") != std::string::npos);
	}
}

TEST_CASE("import: --format, --variant, --block-size and stdin", "[xfsio]")
{
	std::string text = slurp(kData / "filefrag-v.txt");
	ImportOptions o;
	o.format = "filefrag";
	o.variant = "v6.16";
	Run r = import("-", o, text);
	INFO(r.err);
	REQUIRE(r.rc == EXIT_CLEAN);
	Case c = parse_case(r.out, "stdin");
	CHECK(c.name == "imported-stdin");
	CHECK(c.variant == Variant::v6_16);
	CHECK(c.state.data_fork == kDiskFork);

	// filefrag counts in its own blocks; a 1024-byte filesystem block size
	// turns each 4096-byte filefrag block into four
	ImportOptions k;
	k.block_size = 1024;
	Run r2 = import((kData / "filefrag-v.txt").string(), k);
	INFO(r2.err);
	REQUIRE(r2.rc == EXIT_CLEAN);
	Case c2 = parse_case(r2.out, "k");
	REQUIRE(c2.state.data_fork.size() == 3);
	CHECK(c2.state.data_fork[1].br_startoff == 128);
	CHECK(c2.state.data_fork[1].br_blockcount == 64);
	CHECK(c2.state.data_fork[1].br_startblock == 16024 * 4);
	CHECK(c2.note.find("4096-byte blocks") != std::string::npos);

	// the same xfs_bmap output read as 1024-byte blocks: four times the blocks
	ImportOptions s;
	s.block_size = 1024;
	Run r3 = import((kData / "xfs_bmap-v.txt").string(), s);
	INFO(r3.err);
	REQUIRE(r3.rc == EXIT_CLEAN);
	Case c3 = parse_case(r3.out, "s");
	CHECK(c3.state.geo.reflink);
	CHECK(c3.state.geo.ag_blocks == 64000);
	CHECK(c3.state.data_fork[0] == ext(0, 96, 64));

	// As 512-byte blocks it is a v4 XFS, without reflink (a v5 XFS has blocks
	// of 1024 bytes or more), which cannot hold its shared extents.
	s.block_size = 512;
	Run r4 = import((kData / "xfs_bmap-v.txt").string(), s);
	CHECK(r4.rc == EXIT_BAD_INPUT);
	CHECK(r4.err.find("shared blocks need geometry.reflink") != std::string::npos);
}

TEST_CASE("import: bad input exits 2 naming the file and the line", "[xfsio]")
{
	TempDir d("xfsio");
	auto bad = [&](const std::string &name, const std::string &text, const std::string &expect,
	               ImportOptions o = {}) {
		fs::path f = d.path / name;
		spit(f, text);
		o.output = (d.path / "never.json").string();
		Run r = import(f.string(), o);
		INFO(name << ": " << r.err);
		CHECK(r.rc == EXIT_BAD_INPUT);
		CHECK(r.err.find(f.string() + expect) != std::string::npos);
		CHECK(!fs::exists(o.output));
	};
	std::string bmap = slurp(kData / "xfs_bmap-v.txt");
	std::string fiemap = slurp(kData / "fiemap-v.txt");
	std::string ff = slurp(kData / "filefrag-v.txt");
	auto replace = [](std::string s, const std::string &a, const std::string &b) {
		size_t p = s.find(a);
		REQUIRE(p != std::string::npos);
		return s.replace(p, a.size(), b);
	};
	bad("unknown.txt", "hello\nworld\n", ":1: cannot tell which tool printed this");
	bad("empty.txt", "", ":1: empty input");
	bad("bmap-garbled.txt", replace(bmap, "hole", "hoel"),
	    ":4: expected \"N: [START..END]: BLOCK..BLOCK AG");
	bad("bmap-total.txt", replace(bmap, "128 010000", "127 010000"),
	    ":5: the ranges and TOTAL disagree");
	bad("bmap-flags.txt", replace(bmap, "010000", "01x000"), ":5: expected octal FLAGS");
	bad("bmap-delalloc.txt", replace(bmap, "hole    ", "delalloc"), ":4: a delalloc extent");
	bad("bmap-rt.txt", replace(bmap, " BLOCK-RANGE", " RT-BLOCK-RANGE"), ":2: a realtime file");
	bad("bmap-ag.txt", replace(bmap, "1 (192..319)", "1 (200..327)"),
	    ":6: this line implies an AG size");
	bad("bmap-two-files.txt", bmap + "/mnt/other:\n", ":7: a second file's map");
	ImportOptions as_bmap, as_filefrag;
	as_bmap.format = "xfs_bmap";
	as_filefrag.format = "filefrag";
	bad("bmap-noheader.txt", bmap.substr(bmap.find('\n', bmap.find("EXT:")) + 1),
	    ":1: expected the header line", as_bmap);
	bad("fiemap-flags.txt", replace(fiemap, "0x800", "0xZZ0"),
	    ":5: expected \"N: [START..END]: BLOCK..BLOCK TOTAL 0xFLAGS\"");
	bad("fiemap-delalloc.txt", replace(fiemap, "0x800", "0x804"),
	    ":5: an extent with no disk address yet");
	bad("filefrag-flag.txt", replace(ff, "unwritten", "wibble"),
	    ":5: unknown filefrag flag \"wibble\"");
	bad("filefrag-len.txt", replace(ff, "    16:         40:", "    17:         40:"),
	    ":5: the ranges and the length disagree");
	bad("filefrag-row.txt",
	    replace(ff, "   1:       32..      47:", "   1:       32..      47"),
	    ":5: expected an extent line");
	bad("filefrag-noheader.txt", ff.substr(ff.find("   0:")),
	    ":1: expected the header line of `filefrag -v`", as_filefrag);
	bad("noheader-auto.txt", ff.substr(ff.find("   0:")),
	    ":1: cannot tell which tool printed this");
	bad("bmap-blocksize.txt", bmap,
	    ":3: offsets and lengths are not multiples of the block size 65536", [] {
		    ImportOptions o;
		    o.block_size = 65536;
		    return o;
	    }());
	bad("fiemap-as-bmap.txt", fiemap,
	    ":2: expected the header \"EXT: FILE-OFFSET BLOCK-RANGE AG AG-OFFSET TOTAL", [] {
		    ImportOptions o;
		    o.format = "xfs_bmap";
		    return o;
	    }());
	bad("shared-unwritten.txt", replace(fiemap, "0x800", "0x2800"),
	    ":5: an extent both shared and unwritten");
	// (the shared extent moved onto the unwritten one: shared blocks mapped
	// twice are a state the kernel reaches, unwritten ones never are)
	bad("overlap.txt", replace(fiemap, "256256..256383", "128192..128319"),
	    ": the imported layout is not a valid case");

	Run missing = import((d.path / "no-such-file").string());
	CHECK(missing.rc == EXIT_BAD_INPUT);
	CHECK(missing.err.find("no-such-file: cannot open") != std::string::npos);
}

TEST_CASE("export --xfs-io: a script for every corpus case", "[xfsio]")
{
	TempDir d("xfsio");
	const bool bash = have("bash");
	for (const auto &f : collect_case_files({(kSource / "corpus").string()})) {
		Case c = load_case_file(f);
		INFO(f.string());
		ExportOptions o;
		o.input = f.string();
		o.xfs_io = true;
		o.output = (d.path / (c.name + ".sh")).string();
		Run r = captured([&] { return cmd_export(o); });
		INFO(r.err);
		REQUIRE(r.rc == EXIT_CLEAN);
		std::string s = slurp(o.output);
		CHECK(s.rfind("#!/bin/bash\n", 0) == 0);
		CHECK((fs::status(o.output).permissions() & fs::perms::owner_exec) !=
		      fs::perms::none);
		const uint64_t scale =
		    c.state.geo.block_size < 1024 ? 1024 / c.state.geo.block_size : 1;
		const uint64_t wlen = c.write.length * scale, woff = c.write.offset * scale;
		// the atomic write, exactly as fstests issues it, or the same
		// pwritev2 through untorn where xfs_io has no pwrite -A
		CHECK(s.find("-d -c \"pwrite -A -D -V1 -b " + std::to_string(wlen) +
		             " -S 0xa5a5a5a5 " + std::to_string(woff) + " " + std::to_string(wlen) +
		             "\"") != std::string::npos);
		CHECK(s.find("\"$UNTORN_PROG\" kernel awrite \"$file\" " + std::to_string(woff) +
		             " " + std::to_string(wlen) +
		             " --dsync --byte 0xa5 > \"$tmp/write.out\" 2>&1") !=
		      std::string::npos);
		CHECK(s.find("UNTORN_PROG=${UNTORN_PROG:-untorn}") != std::string::npos);
		CHECK(s.find("@@UNTORN") == std::string::npos);
		// a case with a CoW fork is refused before anything is made,
		// unless UNTORN_APPROXIMATE_COW=1; a written CoW extent always
		const size_t require = s.find("# ---- _require_scratch");
		REQUIRE(require != std::string::npos);
		const size_t refusal = s.find("\n_notrepro ");
		const size_t optin =
		    s.find("[ \"${UNTORN_APPROXIMATE_COW:-0}\" = 1 ] ||\n\t_notrepro ");
		bool written_cow = false;
		for (const auto &e : c.state.cow_fork)
			written_cow |=
			    e.br_startblock != DELAYSTARTBLOCK && e.br_state == XFS_EXT_NORM;
		if (written_cow)
			CHECK(refusal < require);
		if (!c.state.cow_fork.empty())
			CHECK(std::min(refusal, optin) < require);
		else if (c.state.alloc.empty())
			CHECK((refusal > require && optin == std::string::npos));
		// the layout check and the layout steps say NOT REPRODUCED, not "not run"
		CHECK(s.find("\t_notrepro \"XFS did not make the case's layout") !=
		      std::string::npos);
		CHECK(s.find("_run() { \"$@\" || _notrepro ") != std::string::npos);
		CHECK(s.find("-b size=" + std::to_string(c.state.geo.block_size * scale) +
		             " -m reflink=" + (c.state.geo.reflink ? "1" : "0")) !=
		      std::string::npos);
		CHECK(s.find("SCRATCH_DEV") != std::string::npos);
		CHECK(s.find("# Case: ") != std::string::npos);
		CHECK(s.find("Variant: " + std::string(variant_name(c.variant))) !=
		      std::string::npos);
		CHECK(s.find("What a real filesystem cannot be made to hold") != std::string::npos);
		CHECK(s.find("Physical start blocks: XFS's allocator picks them") !=
		      std::string::npos);
		CHECK(s.find("Device atomic write limits: the real device's") != std::string::npos);
		int expected = c.expect.result
		                   ? *c.expect.result
		                   : run_atomic_write(c.state, c.write, c.variant).result;
		CHECK(s.find("expected_result=\"" +
		             (expected
		                  ? "pwrite: " + std::string(std::strerror(expected))
		                  : "wrote " + std::to_string(wlen) + "/" + std::to_string(wlen) +
		                        " bytes at offset " + std::to_string(woff)) +
		             "\"") != std::string::npos);
		for (const auto &e : c.state.data_fork)
			if (e.br_state == XFS_EXT_UNWRITTEN)
				CHECK(s.find("-c \"falloc ") != std::string::npos);
		if (!c.state.refcount.empty())
			CHECK(s.find("-c \"reflink $donor ") != std::string::npos);
		if (!c.state.cow_fork.empty())
			CHECK(s.find("The CoW fork: cannot be written directly") !=
			      std::string::npos);
		bool delalloc = false;
		for (const auto &e : c.state.cow_fork)
			delalloc |= e.br_startblock == DELAYSTARTBLOCK;
		if (delalloc) {
			// a dirty buffered write after the layout check (bmap flushes) and
			// before the atomic write, with no sync in between
			size_t dirty = s.find("# no sync: stays dirty");
			REQUIRE(dirty != std::string::npos);
			CHECK(dirty > s.find("layout.real"));
			CHECK(dirty < s.find("\"$XFS_IO_PROG\" -d -c \"pwrite -A -D"));
			CHECK(s.find("\nsync\n", dirty) == std::string::npos);
		}
		if (c.state.geo.cowextsize && c.state.geo.reflink)
			CHECK(s.find("-c \"cowextsize " +
			             std::to_string(uint64_t(c.state.geo.cowextsize) *
			                            c.state.geo.block_size * scale) +
			             "\"") != std::string::npos);
		if (bash)
			CHECK(exit_status(run_shell("bash -n '" + o.output + "'")) == 0);
	}
}

TEST_CASE("export --xfs-io: refuses to run without a scratch device", "[xfsio]")
{
	if (!have("bash") || !have("env"))
		return;
	TempDir d("xfsio");
	ExportOptions o;
	o.input = (kSource / "corpus/fstests/v6.16-shared-unshared-shared-sw.json").string();
	o.xfs_io = true;
	o.output = (d.path / "s.sh").string();
	REQUIRE(captured([&] { return cmd_export(o); }).rc == EXIT_CLEAN);
	fs::path err = d.path / "err";
	int st = run_shell("env -u SCRATCH_DEV -u SCRATCH_MNT bash '" + o.output +
	                   "' >/dev/null 2>'" + err.string() + "'");
	CHECK(exit_status(st) == 2);
	CHECK(slurp(err).find("set SCRATCH_DEV") != std::string::npos);
	st = run_shell("SCRATCH_DEV=" + (d.path / "not-a-device").string() +
	               " SCRATCH_MNT=" + d.path.string() + " bash '" + o.output +
	               "' >/dev/null 2>'" + err.string() + "'");
	CHECK(exit_status(st) == 2);
	CHECK(slurp(err).find("is not a block device") != std::string::npos);
}

TEST_CASE("export --xfs-io: a case it cannot build says NOT REPRODUCED and exits 4", "[xfsio]")
{
	if (!have("bash") || !have("env"))
		return;
	TempDir d("xfsio");
	auto script = [&](const char *rel) {
		ExportOptions o;
		o.input = (kSource / rel).string();
		o.xfs_io = true;
		o.output = (d.path / "s.sh").string();
		REQUIRE(captured([&] { return cmd_export(o); }).rc == EXIT_CLEAN);
		return o.output;
	};
	const fs::path out = d.path / "out";
	auto run = [&](const std::string &env, const std::string &sh) {
		return exit_status(run_shell("env -u SCRATCH_DEV -u SCRATCH_MNT " + env +
		                             " bash '" + sh + "' >'" + out.string() + "' 2>&1"));
	};
	// a written CoW extent: refused even before the scratch device is asked for
	std::string sh =
	    script("corpus/findings/v6.16/v6.16-hole-runs-to-next-cow-extent-written.json");
	CHECK(run("UNTORN_APPROXIMATE_COW=1", sh) == 4);
	std::string o = slurp(out);
	CHECK(o.rfind(
	          "untorn-v6.16-hole-runs-to-next-cow-extent-written: NOT REPRODUCED: CoW fork: a "
	          "written CoW extent",
	          0) == 0);
	CHECK(o.find("outcome as expected") == std::string::npos);
	// a delalloc CoW fork: refused unless the approximation is asked for
	sh = script("corpus/fstests/v6.16-cow-delalloc-eio.json");
	CHECK(run("", sh) == 4);
	CHECK(slurp(out).find(": NOT REPRODUCED: the case has a CoW fork (file blocks [0, 32) "
	                      "delalloc") != std::string::npos);
	CHECK(run("UNTORN_APPROXIMATE_COW=1", sh) == 2); // on to the requirements: not run
	CHECK(slurp(out).find("set SCRATCH_DEV") != std::string::npos);
	CHECK(slurp(sh).find("outcome as expected (with the CoW fork approximated") !=
	      std::string::npos);
	// allocator answers that decide the outcome
	sh = script("corpus/fstests/v6.18-shared-16blocks-aligned-cow-hw.json");
	CHECK(run("", sh) == 4);
	CHECK(slurp(out).find("NOT REPRODUCED: the case's outcome rests on its allocator answers "
	                      "(alloc: 2080+32;") != std::string::npos);
	// and answers the outcome does not rest on: built, not refused
	sh = script("corpus/fstests/v6.18-sw-alloc-short.json");
	CHECK(run("", sh) == 2);
	CHECK(slurp(out).find("NOT REPRODUCED") == std::string::npos);
}

TEST_CASE("export --xfs-io: the layout check accepts the case's layout and nothing else", "[xfsio]")
{
	if (!have("bash") || !have("awk"))
		return;
	TempDir d("xfsio");
	ExportOptions o;
	o.input = (kSource / "corpus/fstests/v6.16-unshared-head-shared-tail-sw.json").string();
	o.xfs_io = true;
	Run r = captured([&] { return cmd_export(o); });
	REQUIRE(r.rc == EXIT_CLEAN);
	const std::string &s = r.out; // no -o: the script goes to stdout
	// the case's layout, as the script states it, and its awk program
	size_t h = s.find("<<'EOF'\n");
	REQUIRE(h != std::string::npos);
	h += 8;
	std::string expected = s.substr(h, s.find("EOF\n", h) - h);
	size_t a = s.find("awk '$1 ~");
	REQUIRE(a != std::string::npos);
	a += 5;
	size_t e = s.find("' \"$tmp/bmap\" > \"$tmp/layout.real\"", a);
	REQUIRE(e != std::string::npos);
	spit(d.path / "prog.awk", s.substr(a, e - a));
	Case c = load_case_file(o.input);
	REQUIRE(c.state.data_fork.size() >= 1);

	// xfs_io -c "bmap -vp" as the kernel would show that layout built on a
	// real XFS (other physical blocks; XFS merged nothing of different kinds)
	auto real = [&](const std::string &bmap) {
		spit(d.path / "bmap", bmap);
		int st = run_shell("awk -f '" + (d.path / "prog.awk").string() + "' '" +
		                   (d.path / "bmap").string() + "' > '" +
		                   (d.path / "out").string() + "'");
		REQUIRE(exit_status(st) == 0);
		return slurp(d.path / "out");
	};
	CHECK(expected == "0 63 norm\n64 127 shared\n");
	CHECK(real("/mnt/scratch/untorn.file:\n"
	           " EXT: FILE-OFFSET      BLOCK-RANGE      AG AG-OFFSET        TOTAL FLAGS\n"
	           "   0: [0..31]:         96..127           0 (96..127)           32 000000\n"
	           "   1: [32..63]:        300..331          0 (300..331)          32 000000\n"
	           "   2: [64..127]:       224..287          0 (224..287)          64 100000\n") ==
	      expected);
	CHECK(real("/mnt/scratch/untorn.file:\n"
	           " EXT: FILE-OFFSET      BLOCK-RANGE      AG AG-OFFSET        TOTAL FLAGS\n"
	           "   0: [0..127]:        96..223           0 (96..223)          128 000000\n") !=
	      expected);
	CHECK(real("/mnt/scratch/untorn.file:\n"
	           " EXT: FILE-OFFSET      BLOCK-RANGE      AG AG-OFFSET        TOTAL FLAGS\n"
	           "   0: [0..63]:         96..159           0 (96..159)           64 010000\n"
	           "   1: [64..127]:       224..287          0 (224..287)          64 100000\n") !=
	      expected);
}

TEST_CASE("export --xfs-io: a bad case exits 2 with the loader's message", "[xfsio]")
{
	TempDir d("xfsio");
	fs::path f = d.path / "bad.json";
	spit(f, "{\"format\": \"untorn-case/1\", \"name\": \"x\"}");
	ExportOptions o;
	o.input = f.string();
	o.xfs_io = true;
	o.output = (d.path / "never.sh").string();
	Run r = captured([&] { return cmd_export(o); });
	CHECK(r.rc == EXIT_BAD_INPUT);
	CHECK(r.err.find(f.string() + ": variant: missing") != std::string::npos);
	CHECK(!fs::exists(o.output));
	o.input = (d.path / "absent.json").string();
	Run r2 = captured([&] { return cmd_export(o); });
	CHECK(r2.rc == EXIT_BAD_INPUT);
	CHECK(r2.err.find("absent.json: no such file") != std::string::npos);
}
