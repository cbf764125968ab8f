// The census's entry into impl compiled over the traced value type
// (traced.h; model/CMakeLists.txt): plain structs in, the decisions out, so
// both sides can include it.
#pragma once

#include "../sym/bridge.h"

#include <string>

namespace untorn_tracing
{

// Runs the case's variant and returns its decisions, one '1' or '0' each
// (and `=N;` where a count that depends on the inputs is taken), exactly
// where `untorn prove` would record them: a number whose In::var is set is
// an input of the sweep, the others are pinned.  Two cases of one sweep
// get the same string iff the prover counts them as one path.
std::string decisions(const untorn_concolic::InCase &c);

} // namespace untorn_tracing
