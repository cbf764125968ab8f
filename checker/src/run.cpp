// `untorn run`: run cases and print each trace and outcome.
#include "commands.h"
#include "text.h"
#include "untorn/checker.h"
#include "untorn/model.h"

#include <iostream>

namespace untorn
{

int cmd_run(const RunOptions &o)
{
	// run takes files only: a folder is an error (replay walks folders)
	std::vector<Case> cases;
	if (!load_cases_or_report({o.files.begin(), o.files.end()}, cases))
		return EXIT_BAD_INPUT;
	Spec spec(o.engine == "z3" ? Engine::z3 : Engine::compiled, o.limits());
	bool inconclusive = false;
	for (const auto &c : cases) {
		Trace t = run_atomic_write(c.state, c.write, c.variant);
		Judgement j = spec.judge(t);
		inconclusive |= j.verdict == Verdict::inconclusive;
		if (o.json) {
			std::cout << outcome_json(c, t, j) << "\n";
			continue;
		}
		std::cout << "== " << c.name << " (" << c.file << ")\n"
		          << format_trace(t) << format_judgement(j) << "\n";
	}
	return inconclusive ? EXIT_INCONCLUSIVE : EXIT_CLEAN;
}

} // namespace untorn
