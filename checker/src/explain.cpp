// untorn explain: being written (issue 7).
#include "commands.h"
#include "untorn/checker.h"
#include <iostream>
namespace untorn {
int cmd_explain(const ExplainOptions &) { std::cerr << "untorn: explain: not built yet\n"; return EXIT_BAD_INPUT; }
} // namespace untorn
