// The variants a test runs over, taken from the implementation's lists, so
// that a test written for "every variant" covers a new one as soon as it is
// listed there.
#pragma once

#include "untorn/impl.h"

#include <iterator>
#include <vector>

namespace untorn_test
{

// The kernel versions, then the what-ifs.
inline std::vector<untorn::Variant> every_variant()
{
	std::vector<untorn::Variant> v(std::begin(untorn::all_variants),
	                               std::end(untorn::all_variants));
	v.insert(v.end(), std::begin(untorn::whatif_variants), std::end(untorn::whatif_variants));
	return v;
}

} // namespace untorn_test
