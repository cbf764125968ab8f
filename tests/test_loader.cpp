// Tests of the untorn-case/1 loader (checker/src/case.cpp) against the
// contract in docs/case-format.md: a valid case parses; every
// bad case is refused with a CaseError naming the file and the JSON path;
// case_to_json round-trips.
#include "untorn/checker.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

using namespace untorn;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const char *const kMinimal = R"({
  "format": "untorn-case/1",
  "name": "minimal",
  "variant": "v6.16",
  "geometry": { "block_size": 4096, "ag_blocks": 1000, "ag_count": 4,
                "reflink": true, "cowextsize": 0 },
  "device": { "awu_min": 4096, "awu_max": 65536 },
  "data_fork": [ { "startoff": 0, "startblock": 8, "blockcount": 4, "state": "norm" } ],
  "write": { "offset": 0, "length": 16384 }
})";

json minimal() { return json::parse(kMinimal); }

std::string mutate(const std::function<void(json &)> &f)
{
	json j = minimal();
	f(j);
	return j.dump();
}

// Runs parse_case and returns the CaseError it throws (FAILs if none).
struct Caught {
	bool thrown = false;
	std::string file, path, expected, what;
};

Caught parse_error(const std::string &text)
{
	Caught c;
	try {
		(void)parse_case(text, "t.json");
	} catch (const CaseError &e) {
		c.thrown = true;
		c.file = e.file;
		c.path = e.path;
		c.expected = e.expected;
		c.what = e.what();
	}
	return c;
}

} // namespace

#define CHECK_CASE_ERROR(text, expected_path)                                                  \
	do {                                                                                   \
		const std::string text_ = (text);                                              \
		REQUIRE_THROWS_AS(parse_case(text_, "t.json"), CaseError);                     \
		const Caught c_ = parse_error(text_);                                          \
		REQUIRE(c_.thrown);                                                            \
		CHECK(c_.file == "t.json");                                                    \
		CHECK(c_.path == (expected_path));                                             \
		CHECK_FALSE(c_.expected.empty());                                              \
		CHECK(c_.what.find("t.json") == 0u);                                           \
	} while (0)

// ================================================================= valid input

TEST_CASE("loader: a minimal valid case parses", "[loader]")
{
	Case c = parse_case(kMinimal, "t.json");
	CHECK(c.file == "t.json");
	CHECK(c.name == "minimal");
	CHECK(c.note.empty());
	CHECK(c.variant == Variant::v6_16);
	CHECK(c.state.geo.block_size == 4096u);
	CHECK(c.state.geo.ag_blocks == 1000u);
	CHECK(c.state.geo.ag_count == 4u);
	CHECK(c.state.geo.reflink);
	CHECK(c.state.geo.cowextsize == 0u);
	CHECK(c.state.geo.max_atomic_ioend == Geometry{}.max_atomic_ioend); // documented default
	CHECK(c.state.dev.awu_min == 4096u);
	CHECK(c.state.dev.awu_max == 65536u);
	REQUIRE(c.state.data_fork.size() == 1u);
	CHECK(c.state.data_fork[0].br_startoff == 0u);
	CHECK(c.state.data_fork[0].br_startblock == 8u);
	CHECK(c.state.data_fork[0].br_blockcount == 4u);
	CHECK(c.state.data_fork[0].br_state == XFS_EXT_NORM);
	CHECK(c.state.cow_fork.empty());
	CHECK(c.state.refcount.empty());
	CHECK(c.state.alloc.empty());
	CHECK(c.write.offset == 0u);
	CHECK(c.write.length == 16384u);
	CHECK_FALSE(c.expect.result.has_value());
	CHECK_FALSE(c.expect.path.has_value());
}

TEST_CASE("loader: the full format parses, with x_ fields accepted", "[loader]")
{
	std::string text = mutate([](json &j) {
		// brackets inside a string, after an escaped quote, are not nesting
		j["note"] = "a \" [[[[[[[[[[[[[[[[[[[[[[[[ note with { inside and a \\";
		j["variant"] = "rfc-v1";
		j["x_anything"] = {{"free", 1}};
		j["geometry"]["x_max_atomic_ioend"] = 64;
		j["geometry"]["cowextsize"] = 16;
		j["data_fork"].push_back({{"startoff", 4}, {"startblock", 20}, {"blockcount", 2}, {"state", "unwritten"},
					  {"x_comment", "ok"}});
		j["cow_fork"] = json::array({{{"startoff", 0}, {"blockcount", 2}, {"state", "delalloc"}},
					     {{"startoff", 2}, {"startblock", 1030}, {"blockcount", 2}, {"state", "norm"}}});
		j["refcount"] = json::array({{{"startblock", 8}, {"blockcount", 2}, {"refcount", 3}}});
		j["alloc"] = json::array({{{"startblock", 2048}, {"blockcount", 8}}});
		j["expect"] = {{"result", "EINVAL"}, {"path", "hw"}, {"verdict", "divergence"}, {"invariants", {"a", "b"}}};
	});
	Case c = parse_case(text, "t.json");
	CHECK(c.variant == Variant::rfc_v1);
	CHECK(c.note.find("[[[[") != std::string::npos);
	CHECK(c.state.geo.max_atomic_ioend == 64u);
	CHECK(c.state.geo.cowextsize == 16u);
	REQUIRE(c.state.data_fork.size() == 2u);
	CHECK(c.state.data_fork[1].br_state == XFS_EXT_UNWRITTEN);
	REQUIRE(c.state.cow_fork.size() == 2u);
	CHECK(c.state.cow_fork[0].br_startblock == DELAYSTARTBLOCK);
	CHECK(c.state.cow_fork[1].br_startblock == 1030u);
	REQUIRE(c.state.refcount.size() == 1u);
	CHECK(c.state.refcount[0].rc_refcount == 3u);
	REQUIRE(c.state.alloc.size() == 1u);
	CHECK(c.state.alloc[0].startblock == 2048u);
	REQUIRE(c.expect.result.has_value());
	CHECK(*c.expect.result == EINVAL);
	REQUIRE(c.expect.path.has_value());
	CHECK(*c.expect.path == Path::hw);
	CHECK(c.expect.verdict == std::optional<std::string>("divergence"));
	CHECK(c.expect.invariants == std::vector<std::string>{"a", "b"});
}

// ================================================================== bad input

TEST_CASE("loader: not JSON at all", "[loader][bad]")
{
	CHECK_CASE_ERROR("{\"format\": \"untorn-case/1\", ", "");
	CHECK_CASE_ERROR("", "");
	CHECK_CASE_ERROR("   \n", "");
	CHECK_CASE_ERROR(std::string(kMinimal) + " trailing", "");
	CHECK_CASE_ERROR("[1, 2]", "(top level)");
	CHECK_CASE_ERROR("\"a string\"", "(top level)");
}

TEST_CASE("loader: deep nesting is refused", "[loader][bad]")
{
	std::string deep(40, '[');
	deep += std::string(40, ']');
	CHECK_CASE_ERROR(deep, "");
	// ... also inside an otherwise valid case
	CHECK_CASE_ERROR(mutate([](json &j) {
				 json x = json::array();
				 for (int i = 0; i < 40; i++)
					 x = json::array({x});
				 j["x_deep"] = x;
			 }),
			 "");
}

TEST_CASE("loader: wrong types", "[loader][bad]")
{
	CHECK_CASE_ERROR(mutate([](json &j) { j["geometry"]["block_size"] = "4096"; }), "geometry.block_size");
	CHECK_CASE_ERROR(mutate([](json &j) { j["geometry"]["block_size"] = 4096.0; }), "geometry.block_size");
	CHECK_CASE_ERROR(mutate([](json &j) { j["geometry"]["ag_blocks"] = 1000.5; }), "geometry.ag_blocks");
	CHECK_CASE_ERROR(mutate([](json &j) { j["write"]["offset"] = -4096; }), "write.offset");
	CHECK_CASE_ERROR(mutate([](json &j) { j["write"]["length"] = nullptr; }), "write.length");
	CHECK_CASE_ERROR(mutate([](json &j) { j["geometry"]["reflink"] = "yes"; }), "geometry.reflink");
	CHECK_CASE_ERROR(mutate([](json &j) { j["geometry"]["reflink"] = 1; }), "geometry.reflink");
	CHECK_CASE_ERROR(mutate([](json &j) { j["data_fork"] = json::object(); }), "data_fork");
	CHECK_CASE_ERROR(mutate([](json &j) { j["data_fork"][0] = 5; }), "data_fork[0]");
	CHECK_CASE_ERROR(mutate([](json &j) { j["data_fork"][0]["startoff"] = true; }), "data_fork[0].startoff");
	CHECK_CASE_ERROR(mutate([](json &j) { j["name"] = 7; }), "name");
	CHECK_CASE_ERROR(mutate([](json &j) { j["geometry"] = json::array(); }), "geometry");
	CHECK_CASE_ERROR(mutate([](json &j) { j["write"]["offset"] = 1e30; }), "write.offset");
}

TEST_CASE("loader: missing fields", "[loader][bad]")
{
	CHECK_CASE_ERROR(mutate([](json &j) { j.erase("format"); }), "format");
	CHECK_CASE_ERROR(mutate([](json &j) { j.erase("variant"); }), "variant");
	CHECK_CASE_ERROR(mutate([](json &j) { j.erase("write"); }), "write");
	CHECK_CASE_ERROR(mutate([](json &j) { j.erase("data_fork"); }), "data_fork");
	CHECK_CASE_ERROR(mutate([](json &j) { j["geometry"].erase("ag_count"); }), "geometry.ag_count");
	CHECK_CASE_ERROR(mutate([](json &j) { j["write"].erase("length"); }), "write.length");
	CHECK_CASE_ERROR(mutate([](json &j) { j["device"].erase("awu_max"); }), "device.awu_max");
	CHECK_CASE_ERROR(mutate([](json &j) { j["data_fork"][0].erase("state"); }), "data_fork[0].state");
	CHECK_CASE_ERROR(mutate([](json &j) { j["data_fork"][0].erase("startblock"); }), "data_fork[0].startblock");
}

TEST_CASE("loader: unknown fields (other than x_)", "[loader][bad]")
{
	CHECK_CASE_ERROR(mutate([](json &j) { j["bogus"] = 1; }), "bogus");
	CHECK_CASE_ERROR(mutate([](json &j) { j["geometry"]["max_atomic_ioend"] = 8; }), "geometry.max_atomic_ioend");
	CHECK_CASE_ERROR(mutate([](json &j) { j["data_fork"][0]["colour"] = "red"; }), "data_fork[0].colour");
	CHECK_CASE_ERROR(mutate([](json &j) { j["write"]["flags"] = 0; }), "write.flags");
	CHECK_CASE_ERROR(mutate([](json &j) { j["expect"] = {{"outcome", "ok"}}; }), "expect.outcome");
}

TEST_CASE("loader: unknown format, variant, state and expectations", "[loader][bad]")
{
	CHECK_CASE_ERROR(mutate([](json &j) { j["format"] = "untorn-case/2"; }), "format");
	CHECK_CASE_ERROR(mutate([](json &j) { j["variant"] = "v6.17"; }), "variant");
	CHECK_CASE_ERROR(mutate([](json &j) { j["data_fork"][0]["state"] = "dirty"; }), "data_fork[0].state");
	CHECK_CASE_ERROR(mutate([](json &j) { j["expect"] = {{"result", "EWHAT"}}; }), "expect.result");
	CHECK_CASE_ERROR(mutate([](json &j) { j["expect"] = {{"path", "both"}}; }), "expect.path");
	CHECK_CASE_ERROR(mutate([](json &j) { j["expect"] = {{"verdict", "fine"}}; }), "expect.verdict");
}

TEST_CASE("loader: an unknown variant's error lists every accepted name", "[loader][bad]")
{
	try {
		parse_case(mutate([](json &j) { j["variant"] = "v6.17"; }), "t.json");
		FAIL("an unknown variant was accepted");
	} catch (const CaseError &e) {
		const std::string what = e.what();
		CHECK(what.find("\"v6.17\"") != std::string::npos);
		REQUIRE(accepted_variant_names().size() >= 4); // the kernel versions and at least one what-if
		for (const auto &n : accepted_variant_names())
			CHECK(what.find("\"" + n + "\"") != std::string::npos);
	}
}

TEST_CASE("loader: overlapping and unsorted extents", "[loader][bad]")
{
	CHECK_CASE_ERROR(mutate([](json &j) {
				 j["data_fork"].push_back(
					 {{"startoff", 2}, {"startblock", 20}, {"blockcount", 4}, {"state", "norm"}});
			 }),
			 "data_fork[1].startoff");
	CHECK_CASE_ERROR(mutate([](json &j) {
				 j["data_fork"] = json::array(
					 {{{"startoff", 8}, {"startblock", 20}, {"blockcount", 4}, {"state", "norm"}},
					  {{"startoff", 0}, {"startblock", 8}, {"blockcount", 4}, {"state", "norm"}}});
			 }),
			 "data_fork[1].startoff");
	CHECK_CASE_ERROR(mutate([](json &j) {
				 j["cow_fork"] = json::array(
					 {{{"startoff", 0}, {"startblock", 100}, {"blockcount", 4}, {"state", "unwritten"}},
					  {{"startoff", 3}, {"blockcount", 1}, {"state", "delalloc"}}});
			 }),
			 "cow_fork[1].startoff");
	// Two file ranges on the same physical blocks.
	CHECK_CASE_ERROR(mutate([](json &j) {
				 j["data_fork"].push_back(
					 {{"startoff", 10}, {"startblock", 10}, {"blockcount", 4}, {"state", "norm"}});
			 }),
			 "data_fork[1].startblock");
}

TEST_CASE("loader: start blocks outside the AGs and extents past an AG's end", "[loader][bad]")
{
	// ag_count 4, agblklog 10: fsbno 4 << 10 is agno 4.
	CHECK_CASE_ERROR(mutate([](json &j) { j["data_fork"][0]["startblock"] = 4 << 10; }), "data_fork[0].startblock");
	// agbno 1000 >= ag_blocks in AG 0 (fsbno 1000 < 1024).
	CHECK_CASE_ERROR(mutate([](json &j) { j["data_fork"][0]["startblock"] = 1000; }), "data_fork[0].startblock");
	// agbno 998 + 4 > 1000.
	CHECK_CASE_ERROR(mutate([](json &j) { j["data_fork"][0]["startblock"] = 998; }), "data_fork[0].blockcount");
	// ... but ending exactly at the AG end is fine.
	CHECK_NOTHROW(parse_case(mutate([](json &j) { j["data_fork"][0]["startblock"] = 996; }), "t.json"));
	CHECK_NOTHROW(parse_case(mutate([](json &j) { j["data_fork"][0]["startblock"] = (3 << 10) | 996; }), "t.json"));
	// fsbno 0 is the superblock.
	CHECK_CASE_ERROR(mutate([](json &j) { j["data_fork"][0]["startblock"] = 0; }), "data_fork[0].startblock");
	// refcount and alloc ranges are checked too.
	CHECK_CASE_ERROR(mutate([](json &j) {
				 j["alloc"] = json::array({{{"startblock", 998}, {"blockcount", 4}}});
			 }),
			 "alloc[0].blockcount");
}

TEST_CASE("loader: overflowing ranges", "[loader][bad]")
{
	CHECK_CASE_ERROR(mutate([](json &j) {
				 j["write"]["offset"] = 1ULL << 62;
				 j["write"]["length"] = 4096;
			 }),
			 "write.length");
	CHECK_CASE_ERROR(mutate([](json &j) { j["write"]["offset"] = (1ULL << 62) + 4096; }), "write.offset");
	CHECK_CASE_ERROR(mutate([](json &j) { j["write"]["offset"] = UINT64_MAX; }), "write.offset");
	CHECK_CASE_ERROR(mutate([](json &j) { j["data_fork"][0]["startoff"] = 1ULL << 54; }), "data_fork[0].blockcount");
	CHECK_CASE_ERROR(mutate([](json &j) { j["write"]["length"] = 0; }), "write.length");
}

TEST_CASE("loader: 512-byte blocks are refused with reflink (a v5 XFS needs 1024)", "[loader][bad]")
{
	// fs/xfs/libxfs/xfs_sb.c xfs_validate_sb_common: a v5 superblock with
	// sb_blocksize < XFS_MIN_CRC_BLOCKSIZE (1024) is corrupt, and mkfs.xfs
	// refuses to make one; reflink exists only on v5.
	Caught e = parse_error(mutate([](json &j) {
		j["geometry"]["block_size"] = 512;
		j["write"]["length"] = 512;
	}));
	REQUIRE(e.thrown);
	CHECK(e.file == "t.json");
	CHECK(e.path == "geometry.block_size");
	CHECK(e.expected.find("1024") != std::string::npos);
	CHECK(e.expected.find("reflink") != std::string::npos);
	// 512 without reflink, and 1024 with it, are fine
	CHECK_NOTHROW(parse_case(mutate([](json &j) {
					 j["geometry"]["block_size"] = 512;
					 j["geometry"]["reflink"] = false;
					 j["write"]["length"] = 512;
				 }),
				 "t.json"));
	CHECK_NOTHROW(parse_case(mutate([](json &j) {
					 j["geometry"]["block_size"] = 1024;
					 j["write"]["length"] = 1024;
				 }),
				 "t.json"));
}

TEST_CASE("loader: geometry and device out of range", "[loader][bad]")
{
	for (int bs : {3000, 256, 131072, 0})
		CHECK_CASE_ERROR(mutate([bs](json &j) { j["geometry"]["block_size"] = bs; }), "geometry.block_size");
	CHECK_CASE_ERROR(mutate([](json &j) { j["geometry"]["ag_blocks"] = 0; }), "geometry.ag_blocks");
	CHECK_CASE_ERROR(mutate([](json &j) { j["geometry"]["ag_blocks"] = 1; }), "geometry.ag_blocks");
	CHECK_CASE_ERROR(mutate([](json &j) { j["geometry"]["ag_blocks"] = (1ULL << 31) + 1; }), "geometry.ag_blocks");
	CHECK_CASE_ERROR(mutate([](json &j) { j["geometry"]["ag_count"] = 0; }), "geometry.ag_count");
	CHECK_CASE_ERROR(mutate([](json &j) {
				 j["device"]["awu_min"] = 65536;
				 j["device"]["awu_max"] = 4096;
			 }),
			 "device.awu_min");
	CHECK_CASE_ERROR(mutate([](json &j) { j["device"]["awu_max"] = 0; }), "device");
	CHECK_CASE_ERROR(mutate([](json &j) { j["device"]["awu_max"] = 65535; }), "device.awu_max");
	CHECK_CASE_ERROR(mutate([](json &j) { j["geometry"]["x_max_atomic_ioend"] = 0; }), "geometry.x_max_atomic_ioend");
	// Both 0 is the documented "no hardware atomics".
	CHECK_NOTHROW(parse_case(mutate([](json &j) {
					 j["device"]["awu_min"] = 0;
					 j["device"]["awu_max"] = 0;
				 }),
				 "t.json"));
}

TEST_CASE("loader: fork contents the format forbids", "[loader][bad]")
{
	CHECK_CASE_ERROR(mutate([](json &j) {
				 j["data_fork"][0] = {{"startoff", 0}, {"blockcount", 4}, {"state", "delalloc"}};
			 }),
			 "data_fork[0].state");
	CHECK_CASE_ERROR(mutate([](json &j) {
				 j["cow_fork"] = json::array(
					 {{{"startoff", 0}, {"startblock", 100}, {"blockcount", 4}, {"state", "delalloc"}}});
			 }),
			 "cow_fork[0].startblock");
	CHECK_CASE_ERROR(mutate([](json &j) { j["data_fork"][0]["blockcount"] = 0; }), "data_fork[0].blockcount");
	CHECK_CASE_ERROR(mutate([](json &j) {
				 j["geometry"]["reflink"] = false;
				 j["cow_fork"] = json::array(
					 {{{"startoff", 0}, {"startblock", 100}, {"blockcount", 4}, {"state", "unwritten"}}});
			 }),
			 "cow_fork");
}

TEST_CASE("loader: refcount records", "[loader][bad]")
{
	CHECK_CASE_ERROR(mutate([](json &j) {
				 j["refcount"] = json::array({{{"startblock", 8}, {"blockcount", 4}, {"refcount", 1}}});
			 }),
			 "refcount[0].refcount");
	CHECK_CASE_ERROR(mutate([](json &j) {
				 j["refcount"] = json::array({{{"startblock", 8}, {"blockcount", 4}, {"refcount", 0}}});
			 }),
			 "refcount[0].refcount");
	CHECK_CASE_ERROR(mutate([](json &j) {
				 j["refcount"] = json::array({{{"startblock", 10}, {"blockcount", 2}, {"refcount", 2}},
							      {{"startblock", 8}, {"blockcount", 2}, {"refcount", 2}}});
			 }),
			 "refcount[1].startblock");
	CHECK_CASE_ERROR(mutate([](json &j) {
				 j["geometry"]["reflink"] = false;
				 j["refcount"] = json::array({{{"startblock", 8}, {"blockcount", 4}, {"refcount", 2}}});
			 }),
			 "refcount");
}

// ================================================================ case files

TEST_CASE("loader: load_case_file on a directory, a missing file, and a real file", "[loader][files]")
{
	const fs::path dir = fs::temp_directory_path() / ("untorn-test-loader-" + std::to_string(::getpid()));
	fs::create_directories(dir);

	{
		REQUIRE_THROWS_AS(load_case_file(dir), CaseError);
		try {
			(void)load_case_file(dir);
		} catch (const CaseError &e) {
			CHECK(e.file == dir.string());
		}
	}
	{
		const fs::path missing = dir / "no-such-case.json";
		REQUIRE_THROWS_AS(load_case_file(missing), CaseError);
		try {
			(void)load_case_file(missing);
		} catch (const CaseError &e) {
			CHECK(e.file == missing.string());
		}
	}
	{
		const fs::path good = dir / "good.json";
		std::ofstream(good) << kMinimal;
		Case c = load_case_file(good);
		CHECK(c.file == good.string());
		CHECK(c.name == "minimal");
	}
	{
		const fs::path bad = dir / "bad.json";
		std::ofstream(bad) << "{";
		REQUIRE_THROWS_AS(load_case_file(bad), CaseError);
		try {
			(void)load_case_file(bad);
		} catch (const CaseError &e) {
			CHECK(e.file == bad.string()); // errors name the file they came from
		}
	}
	std::error_code ec;
	fs::remove_all(dir, ec);
}

// ================================================================= round trip

TEST_CASE("loader: case_to_json round-trips", "[loader][roundtrip]")
{
	std::string text = mutate([](json &j) {
		j["note"] = "round trip";
		j["variant"] = "v6.18";
		j["geometry"]["x_max_atomic_ioend"] = 64;
		j["geometry"]["cowextsize"] = 8;
		j["data_fork"].push_back({{"startoff", 8}, {"startblock", 1030}, {"blockcount", 3}, {"state", "unwritten"}});
		j["cow_fork"] = json::array({{{"startoff", 0}, {"blockcount", 2}, {"state", "delalloc"}},
					     {{"startoff", 4}, {"startblock", 2100}, {"blockcount", 2}, {"state", "norm"}}});
		j["refcount"] = json::array({{{"startblock", 9}, {"blockcount", 2}, {"refcount", 4}}});
		j["alloc"] = json::array({{{"startblock", 3000}, {"blockcount", 16}}, {{"startblock", 64}, {"blockcount", 1}}});
		j["write"] = {{"offset", 32768}, {"length", 32768}};
		j["expect"] = {{"result", "ok"}, {"path", "sw"}, {"verdict", "clean"}, {"invariants", {"inv1"}}};
	});
	const Case a = parse_case(text, "t.json");
	const std::string out = case_to_json(a);
	const Case b = parse_case(out, "t.json");

	CHECK(b.name == a.name);
	CHECK(b.note == a.note);
	CHECK(b.variant == a.variant);
	CHECK(b.state.geo.block_size == a.state.geo.block_size);
	CHECK(b.state.geo.ag_blocks == a.state.geo.ag_blocks);
	CHECK(b.state.geo.ag_count == a.state.geo.ag_count);
	CHECK(b.state.geo.reflink == a.state.geo.reflink);
	CHECK(b.state.geo.cowextsize == a.state.geo.cowextsize);
	CHECK(b.state.geo.max_atomic_ioend == 64u);
	CHECK(b.state.dev.awu_min == a.state.dev.awu_min);
	CHECK(b.state.dev.awu_max == a.state.dev.awu_max);
	CHECK(b.state.data_fork == a.state.data_fork);
	CHECK(b.state.cow_fork == a.state.cow_fork);
	CHECK(b.state.refcount == a.state.refcount);
	REQUIRE(b.state.alloc.size() == a.state.alloc.size());
	for (size_t i = 0; i < a.state.alloc.size(); i++) {
		CHECK(b.state.alloc[i].startblock == a.state.alloc[i].startblock);
		CHECK(b.state.alloc[i].blockcount == a.state.alloc[i].blockcount);
	}
	CHECK(b.write.offset == a.write.offset);
	CHECK(b.write.length == a.write.length);
	CHECK(b.expect.result == a.expect.result);
	CHECK(b.expect.path == a.expect.path);
	CHECK(b.expect.verdict == a.expect.verdict);
	CHECK(b.expect.invariants == a.expect.invariants);
	// Stable output: writing the re-parsed case gives the same bytes.
	CHECK(case_to_json(b) == out);

	// And the minimal case, whose optional fields are absent.
	const Case m = parse_case(kMinimal, "t.json");
	const Case m2 = parse_case(case_to_json(m), "t.json");
	CHECK(m2.state.data_fork == m.state.data_fork);
	CHECK(m2.state.geo.max_atomic_ioend == m.state.geo.max_atomic_ioend);
	CHECK_FALSE(m2.expect.result.has_value());
	CHECK(case_to_json(m2) == case_to_json(m));
}

// ====================================================== what-if inputs (x_*)

TEST_CASE("loader: x_alloc_policy, x_inode_dax and x_iter_flags load, default and round-trip", "[loader][whatif]")
{
	const Case plain = parse_case(mutate([](json &) {}), "t.json");
	CHECK(plain.state.alloc_policy == AllocPolicy::default_policy);
	CHECK(plain.state.env == IterEnv{});
	CHECK(plain.state.env.iter_flags == ITER_DIRECT);
	CHECK(case_to_json(plain).find("x_") == std::string::npos); // defaults are not written

	const Case a = parse_case(mutate([](json &j) {
					  j["x_alloc_policy"] = "script-only";
					  j["x_inode_dax"] = true;
					  j["x_iter_flags"] = json::array({"IOMAP_DAX"});
				  }),
				  "t.json");
	CHECK(a.state.alloc_policy == AllocPolicy::script_only);
	CHECK(a.state.env.inode_dax);
	CHECK(a.state.env.iter_flags == ITER_DAX);
	const Case b = parse_case(case_to_json(a), "t.json");
	CHECK(b.state.alloc_policy == a.state.alloc_policy);
	CHECK(b.state.env == a.state.env);
	const Case none = parse_case(mutate([](json &j) { j["x_iter_flags"] = json::array(); }), "t.json");
	CHECK(none.state.env.iter_flags == 0u);
	CHECK(parse_case(case_to_json(none), "t.json").state.env.iter_flags == 0u);
}

TEST_CASE("loader: bad what-if inputs name their JSON path", "[loader][whatif]")
{
	CHECK_CASE_ERROR(mutate([](json &j) { j["x_alloc_policy"] = "greedy"; }), "x_alloc_policy");
	CHECK_CASE_ERROR(mutate([](json &j) { j["x_inode_dax"] = 1; }), "x_inode_dax");
	CHECK_CASE_ERROR(mutate([](json &j) { j["x_iter_flags"] = "IOMAP_DAX"; }), "x_iter_flags");
	CHECK_CASE_ERROR(mutate([](json &j) { j["x_iter_flags"] = json::array({"IOMAP_NOWAIT"}); }), "x_iter_flags[0]");
}

TEST_CASE("script-only allocator: an exhausted script is ENOSPC, not the default policy", "[loader][whatif]")
{
	Case c = parse_case(mutate([](json &j) {
				    j["data_fork"] = json::array();
				    j["alloc"] = json::array();
				    j["x_alloc_policy"] = "script-only";
			    }),
			    "t.json");
	Trace t = run_atomic_write(c.state, c.write, c.variant);
	bool enospc_note = false;
	for (const auto &n : t.notes)
		enospc_note |= n.find("script exhausted") != std::string::npos;
	CHECK(enospc_note);
	c.state.alloc_policy = AllocPolicy::default_policy;
	Trace d = run_atomic_write(c.state, c.write, c.variant);
	for (const auto &n : d.notes)
		CHECK(n.find("script exhausted") == std::string::npos);
}

// A file can map the same shared blocks twice: FICLONERANGE of one source
// range into two offsets (the kernel oracle built it: refcount 3;
// tests/kernel/refcount-three.script.json).  Mapped twice without a shared
// range, the blocks would belong to two extents at once, which the kernel
// never does.
TEST_CASE("loader: written extents may map shared blocks twice, unshared blocks never", "[loader]")
{
	FileState st;
	st.geo.block_size = 4096;
	st.geo.ag_blocks = 20011;
	st.geo.ag_count = 4;
	st.geo.reflink = true;
	xfs_bmbt_irec a, b;
	a.br_startoff = 0;
	a.br_startblock = 10;
	a.br_blockcount = 4;
	b = a;
	b.br_startoff = 16;
	st.data_fork = {a, b};
	const WriteReq w{0, 16384};
	st.refcount = {{10, 4, 3}};
	CHECK(validate_state(st, w).empty());
	st.refcount = {{10, 2, 3}, {12, 2, 2}}; // covered by two adjacent records
	CHECK(validate_state(st, w).empty());
	st.refcount = {{10, 2, 3}}; // blocks 12-13 mapped twice, not shared
	auto errs = validate_state(st, w);
	REQUIRE(errs.size() == 1);
	CHECK(errs[0].path == "data_fork[1].startblock");
	CHECK(errs[0].what.find("outside any shared range") != std::string::npos);
	st.refcount.clear();
	CHECK(!validate_state(st, w).empty());
}

TEST_CASE("loader: x_interleave parses, round-trips and is validated", "[loader][interleave]")
{
	auto with = [](json actions) {
		return mutate([&](json &j) { j["x_interleave"] = actions; });
	};
	Case c = parse_case(with(json::parse(R"([{"at": 1, "action": "buffered_cow_reservation", "offset": 0, "count": 2},
	                                         {"at": 0, "action": "end_cow_other", "offset": 8, "count": 4}])")),
	                    "t.json");
	REQUIRE(c.state.interleave.size() == 2);
	CHECK(c.state.interleave[0].at == 1u);
	CHECK(c.state.interleave[0].action == InterleaveKind::buffered_cow_reservation);
	CHECK(c.state.interleave[1].action == InterleaveKind::end_cow_other);
	CHECK(c.state.interleave[1].offset == 8u);
	CHECK(c.state.interleave[1].count == 4u);
	Case back = parse_case(case_to_json(c), "t.json");
	CHECK(back.state.interleave == c.state.interleave);
	// absent: nothing written back
	CHECK(case_to_json(parse_case(kMinimal, "t.json")).find("x_interleave") == std::string::npos);

	CHECK_CASE_ERROR(with(json::object()), "x_interleave");
	CHECK_CASE_ERROR(with(json::parse(R"([5])")), "x_interleave[0]");
	CHECK_CASE_ERROR(with(json::parse(R"([{"at": 0, "action": "truncate", "offset": 0, "count": 1}])")),
	                 "x_interleave[0].action");
	CHECK_CASE_ERROR(with(json::parse(R"([{"at": 0, "action": "end_cow_other", "offset": 0}])")),
	                 "x_interleave[0].count");
	CHECK_CASE_ERROR(with(json::parse(R"([{"at": 0, "action": "end_cow_other", "offset": 0, "count": 0}])")),
	                 "x_interleave[0].count");
	CHECK_CASE_ERROR(with(json::parse(R"([{"at": -1, "action": "end_cow_other", "offset": 9, "count": 1}])")),
	                 "x_interleave[0].at");
	CHECK_CASE_ERROR(with(json::parse(R"([{"at": 0, "action": "end_cow_other", "offset": 9, "count": 1, "x": 1}])")),
	                 "x_interleave[0].x");
	// another direct write's completion is modelled beside the write only: [2, 6) meets [0, 4)
	CHECK_CASE_ERROR(with(json::parse(R"([{"at": 0, "action": "end_cow_other", "offset": 2, "count": 4}])")),
	                 "x_interleave[0]");
	// a file without reflink has no CoW fork to act on
	CHECK_CASE_ERROR(mutate([](json &j) {
		j["geometry"]["reflink"] = false;
		j["x_interleave"] = json::parse(R"([{"at": 0, "action": "refcount_drop", "offset": 0, "count": 1}])");
	}),
	                 "x_interleave[0]");
}
