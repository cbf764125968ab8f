// `untorn bench`: layouts per second, impl alone against impl and the
// specification (compiled evaluator, and Z3 itself on a sample).
#include "commands.h"
#include "generate.h"
#include "untorn/checker.h"
#include "untorn/model.h"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>

namespace untorn
{

int cmd_bench(const BenchOptions &o)
{
	using clock = std::chrono::steady_clock;
	Variant v = *variant_from_name(o.variant);
	std::vector<Case> cases;
	cases.reserve(o.count);
	for (uint64_t i = 0; i < o.count; i++)
		cases.push_back(generate_layout(o.seed, i, v));

	// The two measurements alternate over the same chunks of layouts, so a
	// noisy machine slows both alike and their ratio stays meaningful.
	Spec compiled(Engine::compiled);
	uint64_t sink = 0;
	auto time_chunk = [&](uint64_t from, uint64_t to, bool with_spec) {
		auto t0 = clock::now();
		for (uint64_t i = from; i < to; i++) {
			Trace t = run_atomic_write(cases[i].state, cases[i].write, v);
			sink += t.calls.size();
			if (with_spec)
				sink += compiled.judge(t).findings.size();
		}
		return std::chrono::duration<double>(clock::now() - t0).count();
	};
	// Warm-up, untimed: every layout once, so that every shape the timed
	// passes meet is already compiled.  (Warming only the first layouts
	// left the rest's shapes to compile inside the timed passes, and the
	// ratio then depended on --count: 3.56x at 300,000, 2.77x at 1,000,000.)
	double t_warm = time_chunk(0, o.count, true);
	const uint64_t chunks = 20;
	double t_impl = 0, t_both = 0;
	for (uint64_t k = 0; k < chunks; k++) {
		uint64_t from = o.count * k / chunks, to = o.count * (k + 1) / chunks;
		t_impl += time_chunk(from, to, false);
		t_both += time_chunk(from, to, true);
	}
	double impl = double(o.count) / t_impl, both = double(o.count) / t_both;
	uint64_t zn = std::min<uint64_t>(o.count, o.z3_sample);
	double z3 = 0;
	if (zn) {
		Spec z(Engine::z3);
		auto t0 = clock::now();
		for (uint64_t i = 0; i < zn; i++)
			sink += z.judge(run_atomic_write(cases[i].state, cases[i].write, v))
			            .findings.size();
		z3 = double(zn) / std::chrono::duration<double>(clock::now() - t0).count();
	}
	if (sink == 42)
		std::cerr << "";
	std::cout << "untorn bench: variant " << o.variant << ", seed " << o.seed << ", " << o.count
	          << " layouts, one thread\n";
	// (what a check run pays once per shape: the warm-up less a warm pass)
	std::cout << "  warm-up, untimed: every layout judged once, " << std::fixed
	          << std::setprecision(1) << t_warm << " s; " << compiled.shapes_built()
	          << " shapes compiled in about " << std::max(0.0, t_warm - t_both) << " s of it\n"
	          << std::defaultfloat << std::setprecision(6);
	std::cout << "  impl alone:                      " << uint64_t(impl) << " layouts/s\n";
	std::cout << "  impl + specification (compiled): " << uint64_t(both) << " layouts/s\n";
	if (zn)
		std::cout << "  impl + specification (Z3 itself, " << zn
		          << " layouts): " << uint64_t(z3) << " layouts/s\n";
	std::cout << "  cost of the specification: " << impl / both
	          << "x the impl alone (target <= 3x)";
	if (zn)
		std::cout << "; compiled evaluator vs Z3: " << both / z3 << "x faster";
	std::cout << "\n";
	return EXIT_CLEAN;
}

} // namespace untorn
