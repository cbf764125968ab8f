// CI report formats: SARIF 2.1.0 and JUnit XML for check, replay.
#pragma once

#include "untorn/checker.h"
#include "untorn/model.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace untorn {

// One judged case, as the report writers see it.
struct ReportItem {
	Case c;	      // the case (for check: the minimized counterexample)
	Trace trace;  // its run
	Judgement j;  // its verdict
	bool passed = true;    // replay: matched its expect block; check: false for a new finding
	std::string message;   // replay: what differed, if anything
};

// `tool_command` is e.g. "untorn check" or "untorn replay".
std::string sarif_report(const std::vector<ReportItem> &items, const std::string &tool_command);
std::string junit_report(const std::vector<ReportItem> &items, const std::string &suite_name);

// A witness as JSON: {"kind": "crash", "committed": K, "of": T, "atomic_bios":
// [{"bio": B, "persisted": true}, ...]}, {"kind": "any_crash"} or null.
nlohmann::ordered_json witness_json(const Witness &w);

// Writes whichever of the two files is asked for, atomically; false (after
// printing why) if one cannot be written.
bool write_ci_reports(const std::vector<ReportItem> &items, const std::string &sarif, const std::string &junit,
		      const std::string &tool);

} // namespace untorn
