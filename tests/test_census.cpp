// untorn census: the paths `untorn prove` must explore, counted on sampled
// layouts.  It is only worth its figures if (1) every sampled layout is an
// input the prover explores, (2) the traced value type tells paths apart
// exactly as the prover does, and (3) where the sample is large enough it
// finds exactly the prover's paths.
#include "census_sample.h"
#include "sample.h"
#include "smt.h"
#include "sym/bridge.h"
#include "traced/run.h"
#include "untorn/census.h"
#include "untorn/prove.h"

#include <catch2/catch.hpp>

#include <map>
#include <numeric>

using namespace untorn;
using namespace untorn_concolic;

namespace
{

ProveBounds bounds(unsigned d, unsigned c, unsigned r, unsigned a,
                   std::vector<GeometryProfile> geos = default_geometries())
{
	ProveBounds b;
	b.data_extents = d;
	b.cow_extents = c;
	b.refcount = r;
	b.alloc = a;
	b.geometries = std::move(geos);
	return b;
}

// The conjuncts of the precondition of c's sweep that c's values break.
std::vector<std::string> precondition_broken(const InCase &c)
{
	z3::expr_vector from(smt::ctx()), to(smt::ctx());
	InCase copy = c;
	for_each_input(copy, [&](In &x) {
		if (x.var) {
			from.push_back(*x.var);
			to.push_back(smt::ctx().bv_val(x.value, 64));
		}
	});
	std::vector<std::string> broken;
	for (z3::expr p : precondition(c))
		if (!p.substitute(from, to).simplify().is_true())
			broken.push_back(p.to_string());
	return broken;
}

} // namespace

TEST_CASE("census: every sampled layout is an input of its sweep (the prover's precondition)",
          "[census]")
{
	// every sweep of the default bounds (4/2/2/2, the four profiles); a
	// sweep points into its bounds' profiles, which must outlive it
	const ProveBounds b;
	const std::vector<Sweep> sws = sweeps(b);
	std::vector<InCase> cases;
	for (const Sweep &sw : sws)
		cases.push_back(symbolic_case(sw, unsigned(Variant::v6_18)));
	const unsigned n = untorn_test::sample(4000);
	unsigned drawn = 0;
	for (uint64_t i = 0; i < n; i++) {
		const uint64_t k = (i * 7919) % sws.size(); // spread over the sweeps
		if (!sample_layout(sws[k], 1, i, cases[k]))
			continue;
		drawn++;
		INFO("sample " << i << " in sweep " << sws[k].describe());
		REQUIRE(precondition_broken(cases[k]) == std::vector<std::string>{});
	}
	// the sampler rarely fails to draw a valid layout
	CHECK(drawn > n * 9 / 10);
}

TEST_CASE("census: the traced decisions part layouts exactly as the prover's paths do", "[census]")
{
	// Within a sweep, two layouts have the same traced decisions iff the
	// concolic build (the prover's) takes the same path on them.  Small
	// bounds, so that many samples share a path.
	const ProveBounds hardware = bounds(1, 0, 0, 0, {default_geometries()[0]}),
	                  software = bounds(0, 1, 1, 0, {default_geometries()[2]});
	for (auto [v, b] :
	     {std::pair{Variant::rfc_v1, &hardware}, std::pair{Variant::v6_16, &hardware},
	      std::pair{Variant::v6_18, &software}}) {
		const std::vector<Sweep> sws = sweeps(*b); // (which points into *b)
		std::map<std::string, std::string> traced_to_path, path_to_traced;
		unsigned shared = 0;
		const unsigned n = untorn_test::sample(600);
		for (uint64_t i = 0; i < n; i++) {
			const uint64_t k = i % sws.size();
			InCase c = symbolic_case(sws[k], unsigned(v));
			if (!sample_layout(sws[k], 3, i, c))
				continue;
			const std::string key = std::to_string(k) + ":";
			const std::string traced = key + untorn_tracing::decisions(c);
			const std::string path = key + path_outcomes(run_symbolic(c).conds);
			auto [a, fresh_a] = traced_to_path.emplace(traced, path);
			auto [b, fresh_b] = path_to_traced.emplace(path, traced);
			INFO(variant_name(v) << ", sample " << i << " in " << sws[k].describe());
			CHECK(a->second == path);
			CHECK(b->second == traced);
			shared += !fresh_a;
		}
		// (the check means something only if paths repeat)
		CHECK(shared > n / 2);
	}
}

TEST_CASE("census: where the sample finds them all, exactly the prover's paths", "[census]")
{
	const std::vector<GeometryProfile> software_only = {default_geometries()[2]};
	for (const ProveBounds &b :
	     {bounds(1, 0, 0, 0, software_only), bounds(0, 0, 1, 0, software_only)}) {
		ProveBounds pb = b;
		pb.jobs = 2;
		const ProveResult proof = prove(Variant::v6_18, pb);
		REQUIRE(proof.stats.paths > 20);
		const CensusResult c = census(Variant::v6_18, b, CensusSample{200000, 1, 2});
		CHECK(c.paths == proof.stats.paths);
		// found early, so the figure is settled
		CHECK(c.growth.front() == c.paths);
	}
}

TEST_CASE("census: the same result for any number of threads, and consistent figures", "[census]")
{
	const ProveBounds b = bounds(1, 1, 1, 1);
	const uint64_t count = untorn_test::sample(40000);
	const CensusResult one = census(Variant::v6_18, b, CensusSample{count, 9, 1});
	const CensusResult three = census(Variant::v6_18, b, CensusSample{count, 9, 3});
	CHECK(one.paths == three.paths);
	CHECK(one.layouts == three.layouts);
	CHECK(one.growth == three.growth);
	CHECK(one.paths_by_size == three.paths_by_size);

	CHECK(one.sweeps == sweeps(b).size());
	CHECK(one.layouts <= count);
	CHECK(one.layouts > count * 9 / 10);
	REQUIRE(one.growth.size() == 10);
	CHECK(std::is_sorted(one.growth.begin(), one.growth.end()));
	CHECK(one.growth.back() == one.paths);
	CHECK(std::accumulate(one.paths_by_size.begin(), one.paths_by_size.end(), uint64_t(0)) ==
	      one.paths);
	CHECK(std::accumulate(one.sweeps_by_size.begin(), one.sweeps_by_size.end(), uint64_t(0)) ==
	      one.sweeps);
	// a paths count per sweep size, each size with sweeps of its own
	CHECK(one.paths_by_size.size() == 5);
	CHECK(one.paths_by_size[0] > 0);
	CHECK(one.paths_by_size[4] > one.paths_by_size[0]);

	// the variants' BRANCH()es alone tell fewer paths apart (every decision
	// of theirs is one of impl's), but still some in every sweep size
	CensusSample branches{count, 9, 2};
	branches.by_branches = true;
	const CensusResult br = census(Variant::v6_18, b, branches);
	CHECK(br.layouts == one.layouts);
	CHECK(br.paths < one.paths);
	for (size_t n = 0; n < br.paths_by_size.size(); n++) {
		CHECK(br.paths_by_size[n] > 0);
		CHECK(br.paths_by_size[n] <= one.paths_by_size[n]);
	}

	// another seed samples other layouts: a different count of layouts run,
	// the same order of magnitude of paths
	const CensusResult other = census(Variant::v6_18, b, CensusSample{count, 10, 2});
	CHECK(other.paths > one.paths / 2);
	CHECK(other.paths < one.paths * 2);
}

// The prover's precondition and the loader agree on a file that maps the
// same shared blocks at two offsets (the kernel does it: one range cloned to
// two offsets, refcount 3): allowed where the blocks are shared, refused
// where part of the overlap is not.
TEST_CASE("census: the precondition lets written extents map shared blocks twice, as the loader does",
          "[census]")
{
	const ProveBounds b = bounds(2, 0, 1, 0); // a sweep points into its bounds' profiles
	const std::vector<Sweep> sws = sweeps(b);
	const Sweep *sw = nullptr;
	for (const Sweep &s : sws)
		if (s.data == 2 && s.refcount == 1 && s.cow == 0 && s.alloc == 0 && s.reflink && s.pow2_length)
			sw = &s;
	REQUIRE(sw);
	InCase c = symbolic_case(*sw, unsigned(Variant::v6_18));
	auto set = [](InExtent &x, uint64_t off, uint64_t blk, uint64_t n) {
		x.startoff.value = off;
		x.startblock.value = blk;
		x.blockcount.value = n;
		x.state.value = 0;
	};
	set(c.data[0], 0, 16, 4);
	set(c.data[1], 16, 16, 4);
	c.refcount[0].startblock.value = 16;
	c.refcount[0].blockcount.value = 4;
	c.refcount[0].refcount.value = 3;
	c.max_atomic_ioend.value = 4096;
	c.offset.value = 0;
	c.length.value = 16384;
	CHECK(precondition_broken(c).empty());
	c.refcount[0].blockcount.value = 2; // blocks 18-19 mapped twice, not shared
	CHECK(!precondition_broken(c).empty());
	c.refcount[0].blockcount.value = 4;
	c.data[1].state.value = 1; // an unwritten extent is never shared
	CHECK(!precondition_broken(c).empty());
}
