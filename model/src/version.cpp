// The version of the Z3 the specification is decided with, for
// `untorn --version`: the library actually linked, not the headers.
#include "untorn/model.h"

#include <z3.h>

namespace untorn
{

std::string z3_version()
{
	unsigned major = 0, minor = 0, build = 0, revision = 0;
	Z3_get_version(&major, &minor, &build, &revision);
	return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(build);
}

} // namespace untorn
