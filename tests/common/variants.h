// The variants a test runs over: the variant table's (untorn::every_variant(),
// the kernel versions then the patch variants), so that a test written for
// "every variant" covers a new one as soon as its row exists.
#pragma once

#include "untorn/impl.h"
