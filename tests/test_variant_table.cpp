// Tests of the table of variants (impl/variants/variants.cmake): what it
// says of each variant is consistent (names round-trip, a patch's base is a
// kernel version, every accepted name is listed), every variant runs, and a
// property a patch inherits from its base is asked of the table -- so a
// patch that does not touch the code behind a finding judges it exactly as
// its base does.
#include "untorn/checker.h"
#include "untorn/impl.h"
#include "untorn/model.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

using namespace untorn;

namespace
{

const std::filesystem::path kSource = UNTORN_SOURCE_DIR;

bool is_kernel_version(Variant v)
{
	return std::find(all_variants.begin(), all_variants.end(), v) != all_variants.end();
}

} // namespace

TEST_CASE("variant table: names, bases and sources are consistent", "[variants][table]")
{
	const auto every = every_variant();
	REQUIRE(every.size() == all_variants.size() + whatif_variants.size());
	REQUIRE(variant_names().size() == every.size());
	// the kernel versions first, then the patches, each exactly once
	for (size_t i = 0; i < every.size(); i++) {
		INFO(variant_name(every[i]));
		CHECK(every[i] == (i < all_variants.size()
		                       ? all_variants[i]
		                       : whatif_variants[i - all_variants.size()]));
		CHECK(variant_names()[i] == variant_name(every[i]));
		CHECK(variant_from_name(variant_names()[i]) == every[i]);
		const std::string source(variant_source(every[i]));
		CHECK(std::filesystem::exists(kSource / source));
		CHECK(!variant_origin(every[i]).empty());
		// a kernel version is its own base; a patch's base is a kernel
		// version, its file under impl/variants/patches/, named after it
		if (is_kernel_version(every[i])) {
			CHECK(variant_base(every[i]) == every[i]);
			CHECK(source.rfind("impl/variants/", 0) == 0);
			CHECK(source.size() > 4);
			CHECK(source.substr(source.size() - 4) == ".cpp");
		} else {
			CHECK(variant_base(every[i]) != every[i]);
			CHECK(is_kernel_version(variant_base(every[i])));
			CHECK(variant_atomic_bio_rule(every[i]) ==
			      variant_atomic_bio_rule(variant_base(every[i])));
			CHECK(source == "impl/variants/patches/" +
			                    std::string(variant_name(every[i])) + ".patch");
		}
	}
	CHECK(!variant_from_name("v9.99").has_value());
	CHECK(!variant_from_name("").has_value());
	// the names as messages list them
	const std::string text = variant_names_text();
	for (const auto &n : variant_names())
		CHECK(text.find("\"" + n + "\"") != std::string::npos);
}

TEST_CASE("variant table: every variant runs a write and computes its limits", "[variants][table]")
{
	FileState st;
	st.geo.block_size = 4096;
	st.geo.ag_blocks = 1000;
	st.geo.ag_count = 4;
	st.geo.reflink = true;
	st.dev.awu_min = 4096;
	st.dev.awu_max = 65536;
	for (Variant v : every_variant()) {
		INFO(variant_name(v));
		Trace t = run_atomic_write(st, WriteReq{0, 4096}, v);
		CHECK(t.variant == v);
		CHECK(t.admitted);
		CHECK(t.result == 0);
		CHECK(atomic_write_limits(st, v).awu_max == t.awu_max);
	}
}

// The RFC's EINVAL finding (corpus/findings/rfc-v1/): the span check runs on
// the untrimmed mapping and iomap refuses the short REQ_ATOMIC mapping.  A
// patch of rfc-v1 that leaves that code alone -- Darrick Wong's flags test
// only changes how CoW extents are converted -- must take the same path and
// be judged the same, by both engines: the facts of a trace take the iomap
// rule from the table (the base's), not from the variant's name.
TEST_CASE("variant table: rfc-v1+dax-flags judges the RFC's EINVAL finding exactly as rfc-v1",
          "[variants][table]")
{
	const Case c = load_case_file(
	    kSource / "corpus/findings/rfc-v1/rfc-v1-span-checked-before-cow-trim-einval.json");
	const auto rfc = variant_from_name("rfc-v1");
	const auto patched = variant_from_name("rfc-v1+dax-flags");
	REQUIRE(rfc.has_value());
	REQUIRE(patched.has_value());
	REQUIRE(variant_base(*patched) == *rfc);
	const Trace a = run_atomic_write(c.state, c.write, *rfc);
	const Trace b = run_atomic_write(c.state, c.write, *patched);
	CHECK(a.result == EINVAL);
	CHECK(b.result == a.result);
	CHECK(b.path == a.path);
	// the same decisions, in the same order (the patched copy's lines are
	// its generated file's, so compare the conditions and outcomes)
	auto decisions = [](const Trace &t) {
		std::vector<std::string> d;
		for (const auto &call : t.calls)
			for (const auto &br : call.branches)
				d.push_back(std::string(br.func) + ": " + br.cond +
				            (br.taken ? " taken" : " not taken"));
		return d;
	};
	CHECK(decisions(b) == decisions(a));
	CHECK(!decisions(a).empty());
	const std::vector<std::string> want = {"hw_mapping_contract", "no_spurious_failure"};
	for (Engine e : {Engine::compiled, Engine::z3}) {
		Spec spec(e);
		const Judgement ja = spec.judge(a), jb = spec.judge(b);
		CHECK(ja.broken_names() == want);
		CHECK(jb.broken_names() == ja.broken_names());
		CHECK(jb.verdict == ja.verdict);
		CHECK(verdict_name(jb.verdict) == std::string("violation"));
	}
}
