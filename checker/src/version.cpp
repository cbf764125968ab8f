// What `untorn --version` prints.
#include "cli.h"
#include "untorn/model.h"
#include "untorn_revision.h"

namespace untorn
{

std::string version_text()
{
	std::string rev = UNTORN_GIT_REVISION;
	return std::string("untorn ") + UNTORN_VERSION + (rev.empty() ? "" : " (git " + rev + ")") +
	       "\nZ3 " + z3_version();
}

} // namespace untorn
