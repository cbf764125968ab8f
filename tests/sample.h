// How large a sampling test's sample is.  The Release suite (CI stage 1)
// runs every sample in full.  The sanitizer build (stage 2) runs the same
// tests again to catch memory errors and undefined behaviour, which a
// quarter of the sample exercises as well.  There each instrumented run
// costs 3-5x: at full size these tests took 286 of the sanitizer suite's
// 473 test-seconds, and CI went over its ten minutes.
#pragma once

namespace untorn_test
{

#ifdef UNTORN_SANITIZED
inline constexpr unsigned sample_divisor = 4;
#else
inline constexpr unsigned sample_divisor = 1;
#endif

// n, or its share in the sanitizer build
constexpr unsigned sample(unsigned n)
{
	return n / sample_divisor;
}

} // namespace untorn_test
