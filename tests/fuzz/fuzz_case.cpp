// libFuzzer target: arbitrary bytes as the text of a case file, through the
// loader and, when a case loads, through the impl and the specification
// (compiled engine; Z3 itself is far too slow for fuzzing).  Also checks the
// case format round trip: case_to_json of a loaded case must load again and
// re-serialize byte for byte.
//
// A CaseError is the expected answer to bad input (return 0); any other
// exception escaping, a sanitizer report, a round-trip mismatch (abort) or a
// run slower than -timeout is a finding.  Run:
//   untorn_fuzz -max_total_time=60 -timeout=10 SCRATCH corpus/fstests corpus/findings/*
#include "untorn/checker.h"
#include "untorn/model.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

[[noreturn]] void fuzz_fail(const char *what, const std::string &a, const std::string &b)
{
	std::fprintf(stderr, "untorn_fuzz: %s\n--- first:\n%s\n--- second:\n%s\n", what, a.c_str(), b.c_str());
	std::abort();
}

// The loader promises that every physical block it accepts lies inside the
// AGs: (agno, agbno) of an fsblock number must encode back to the same number
// (an agno that does not fit the geometry would alias another AG's blocks).
void check_fsbno(const untorn::Case &c, untorn::xfs_fsblock_t b, const char *what)
{
	const auto &g = c.state.geo;
	const uint32_t agno = untorn::xfs_fsb_to_agno(g, b), agbno = untorn::xfs_fsb_to_agbno(g, b);
	if ((b >> g.agblklog()) >= g.ag_count || agbno >= g.ag_blocks || untorn::xfs_agb_to_fsb(g, agno, agbno) != b)
		fuzz_fail("the loader accepted a block outside the AGs", untorn::case_to_json(c),
			  std::string(what) + " fsbno " + std::to_string(b));
}

void check_state(const untorn::Case &c)
{
	for (const auto *fork : {&c.state.data_fork, &c.state.cow_fork})
		for (const auto &e : *fork)
			if (!untorn::isnullstartblock(e.br_startblock))
				check_fsbno(c, e.br_startblock, fork == &c.state.data_fork ? "data_fork" : "cow_fork");
	for (const auto &r : c.state.refcount)
		check_fsbno(c, r.rc_startblock, "refcount");
	for (const auto &a : c.state.alloc)
		check_fsbno(c, a.startblock, "alloc");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static untorn::Spec spec(untorn::Engine::compiled);

	const std::string text(reinterpret_cast<const char *>(data), size);
	untorn::Case c;
	try {
		c = untorn::parse_case(text, "fuzz-input");
	} catch (const untorn::CaseError &e) {
		// The message must name the file it was given.
		if (e.file != "fuzz-input" || std::string(e.what()).rfind("fuzz-input: ", 0) != 0)
			fuzz_fail("CaseError does not name the file", e.what(), e.file);
		return 0;
	}

	check_state(c);

	untorn::Trace t = untorn::run_atomic_write(c.state, c.write, c.variant);
	untorn::Judgement j = spec.judge(t);
	if (j.verdict == untorn::Verdict::inconclusive)
		fuzz_fail("the compiled engine was inconclusive", untorn::case_to_json(c), untorn::join(j.inconclusive));

	// Round trip: what untorn writes, untorn reads back to the same case.
	const std::string once = untorn::case_to_json(c);
	untorn::Case back;
	try {
		back = untorn::parse_case(once, "fuzz-roundtrip");
	} catch (const untorn::CaseError &e) {
		fuzz_fail("case_to_json output does not load again", once, e.what());
	}
	const std::string twice = untorn::case_to_json(back);
	if (once != twice)
		fuzz_fail("case_to_json -> parse_case -> case_to_json differs", once, twice);
	return 0;
}
