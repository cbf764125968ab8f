// untorn export --xfs-io and untorn import: being written (issue 7).
#include "commands.h"
#include "untorn/checker.h"
#include <iostream>
namespace untorn {
int cmd_export(const ExportOptions &) { std::cerr << "untorn: export: not built yet\n"; return EXIT_BAD_INPUT; }
int cmd_import(const ImportOptions &) { std::cerr << "untorn: import: not built yet\n"; return EXIT_BAD_INPUT; }
} // namespace untorn
