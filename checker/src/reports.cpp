// SARIF and JUnit: being written (issue 7).
#include "reports.h"
namespace untorn {
std::string sarif_report(const std::vector<ReportItem> &, const std::string &) { return "{}\n"; }
std::string junit_report(const std::vector<ReportItem> &, const std::string &) { return "<testsuites/>\n"; }
} // namespace untorn
