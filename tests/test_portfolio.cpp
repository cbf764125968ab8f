// Tests of the random side of `untorn prove` and `untorn diff`
// (checker/src/portfolio.cpp): layouts within the prover's bounds, the
// first refutation by index whatever the threads, its minimized witness
// validated as the exploration's are, and pair differences kept through
// minimization.
#include "generate.h"
#include "portfolio.h"
#include "untorn/model.h"
#include "untorn/prove.h"

#include <catch2/catch.hpp>

using namespace untorn;

namespace
{

// One delalloc-sized bound: v6.16's delalloc finding fits in it.
LayoutBounds small_bounds()
{
	LayoutBounds b;
	b.data_extents = 0;
	b.cow_extents = 1;
	b.refcount = 0;
	b.alloc = 0;
	b.geometries = {default_geometries().at(2)}; // no hardware atomics
	return b;
}

} // namespace

TEST_CASE("random layouts stay within the prover's bounds", "[portfolio]")
{
	LayoutBounds b;
	b.data_extents = 1;
	b.cow_extents = 1;
	b.refcount = 1;
	b.alloc = 1;
	b.geometries = default_geometries();
	const Variant v = all_variants[0];
	size_t with_cow = 0;
	for (uint64_t i = 0; i < 2000; i++) {
		const Case c = generate_layout_within(7, i, v, b);
		INFO(case_to_json(c));
		REQUIRE(validate_state(c.state, c.write).empty());
		CHECK(c.state.data_fork.size() <= 1);
		CHECK(c.state.cow_fork.size() <= 1);
		CHECK(c.state.refcount.size() <= 1);
		CHECK(c.state.alloc.size() <= 1);
		CHECK(c.state.alloc_policy == AllocPolicy::script_only);
		bool in_profile = false;
		for (const auto &p : default_geometries())
			in_profile |= p.block_size == c.state.geo.block_size &&
			              p.ag_blocks == c.state.geo.ag_blocks &&
			              p.ag_count == c.state.geo.ag_count &&
			              p.cowextsize == c.state.geo.cowextsize &&
			              p.awu_min == c.state.dev.awu_min &&
			              p.awu_max == c.state.dev.awu_max;
		CHECK(in_profile);
		with_cow += !c.state.cow_fork.empty();
	}
	CHECK(with_cow > 0); // the bound is reached, not just respected
}

TEST_CASE("a known-buggy variant is refuted by random layouts, the same way for any threads",
          "[portfolio]")
{
	const Variant v = *variant_from_name("v6.16");
	const LayoutBounds b = small_bounds();
	uint64_t drawn1 = 0, drawn2 = 0;
	auto one =
	    random_refutation(v, b, RandomSearch{20000, 1, 1, nullptr, std::nullopt}, &drawn1);
	auto two =
	    random_refutation(v, b, RandomSearch{20000, 1, 2, nullptr, std::nullopt}, &drawn2);
	REQUIRE(one);
	REQUIRE(two);
	CHECK(one->layout == two->layout);
	CHECK(drawn1 == one->layout + 1);
	CHECK(canonical_content(one->minimized) == canonical_content(two->minimized));
	CHECK(one->oracle_calls == two->oracle_calls);
	REQUIRE_FALSE(one->invariants.empty());
	// no larger than what was drawn, and validated as a prover witness
	CHECK(case_entries(one->minimized) <= case_entries(one->found));
	CHECK(case_magnitude(one->minimized) <= case_magnitude(one->found));
	const ConcreteCase k{one->minimized.state, one->minimized.write};
	for (const auto &inv : one->invariants)
		CHECK(confirm_counterexample(k, v, inv) == "");
	// and it breaks what it says under the concrete specification
	Spec spec(Engine::z3);
	CHECK(spec.judge(run_atomic_write(k.state, k.write, v)).broken_names() == one->invariants);
	// a second seed draws other layouts
	auto other =
	    random_refutation(v, b, RandomSearch{20000, 2, 1, nullptr, std::nullopt}, nullptr);
	REQUIRE(other);
	CHECK(canonical_content(other->found) != canonical_content(one->found));
}

TEST_CASE("a pair difference survives minimization as the same difference", "[portfolio]")
{
	const Variant a = *variant_from_name("v6.16"), b = *variant_from_name("v6.18");
	Spec spec(Engine::compiled);
	{
		const Case c = generate_layout_within(1, 0, a, small_bounds());
		CHECK(pair_difference(c, a, a, spec).key.empty());
	}
	auto d = random_difference(a, b, small_bounds(),
	                           RandomSearch{20000, 1, 2, nullptr, std::nullopt}, nullptr);
	REQUIRE(d);
	CHECK_FALSE(d->diff.key.empty());
	CHECK(pair_difference(d->found, a, b, spec).key == d->diff.key);
	CHECK(case_entries(d->minimized) <= case_entries(d->found));
	const ConcreteCase k{d->minimized.state, d->minimized.write};
	CHECK(confirm_counterexample(k, a, "") == "");
	CHECK(confirm_counterexample(k, b, "") == "");
}

TEST_CASE("match_known names a known finding by content, or by path and invariants", "[portfolio]")
{
	const Variant v = *variant_from_name("v6.16");
	auto r = random_refutation(v, small_bounds(),
	                           RandomSearch{20000, 1, 1, nullptr, std::nullopt}, nullptr);
	REQUIRE(r);
	Case known = r->minimized;
	known.name = "the-finding";
	known.expect.verdict = "violation";
	known.expect.invariants = r->invariants;
	const std::vector<KnownFinding> list{{"the-finding.json", known}};
	CHECK(match_known(r->minimized, list) == "the-finding (the-finding.json)");
	Case policy = r->minimized;
	policy.state.alloc_policy = AllocPolicy::default_policy;
	CHECK(
	    match_known(policy, list).find("the-finding (the-finding.json; the same case under") ==
	    0);
	CHECK(match_known(r->minimized, {}) == "");
}
