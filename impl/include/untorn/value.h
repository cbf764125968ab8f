// The value types of impl/: every number that comes from a case (offsets,
// lengths, block numbers, geometry, device limits, extent states) has one of
// these types, spelled as the kernel spells them (u64, u32, xfs_fileoff_t,
// ...).  Normally they are plain integers.  model/ compiles impl's sources a
// second time with UNTORN_VALUE_HEADER naming a header that binds them to a
// symbolic type (a concrete value plus a solver term, whose comparisons record
// the branch they decide); that is how `untorn prove` runs the very code a
// variant file states.  impl/ itself knows nothing of that type.
//
// The few operations the kernel writes with compiler builtins or that turn a
// value into a count are functions here, so that each mode supplies its own.
#pragma once

#ifdef UNTORN_VALUE_HEADER
#include UNTORN_VALUE_HEADER
#else

#include <cstdint>
#include <string>

namespace untorn
{

using u64 = uint64_t;
using u32 = uint32_t;

// Extent states (fs/xfs/libxfs/xfs_types.h).
enum xfs_exntst_t : uint8_t { XFS_EXT_NORM, XFS_EXT_UNWRITTEN };

// rounddown_pow_of_two() (include/linux/log2.h); 0 for 0.
inline u64 rounddown_pow_of_two(u64 n)
{
	return n == 0 ? 0 : 1ULL << (63 - __builtin_clzll(n));
}
// The largest power of two dividing n (the kernel's max_pow_of_two_factor()).
inline u64 max_pow_of_two_factor(u64 n)
{
	return n & -n;
}
// ceil(log2(n)) for n >= 1: the smallest l with 2^l >= n (sb_agblklog).
inline u64 ilog2_roundup(u64 n)
{
	return n <= 1 ? 0 : 64 - __builtin_clzll(n - 1);
}
// A value used as a count or index (a vector size, a loop bound).
inline uint64_t to_count(u64 v)
{
	return v;
}
// A value shown in text (trace notes, transaction summaries): never a decision.
inline std::string to_text(u64 v)
{
	return std::to_string(v);
}
// Conditions and values combined without deciding anything: the prover's
// value type builds these as terms (an `ite`, an `and`) instead of recording
// a decision, so code written with them -- the facts a specification judges
// (model/src/facts.cpp) -- adds no paths.  `certainly(c)` is true only when c
// holds for every input: here, when it holds.
inline bool cond_and(bool a, bool b)
{
	return a && b;
}
inline bool cond_or(bool a, bool b)
{
	return a || b;
}
inline bool cond_not(bool a)
{
	return !a;
}
inline u64 choose(bool c, u64 a, u64 b)
{
	return c ? a : b;
}
inline bool certainly(bool c)
{
	return c;
}
// The same, with the second operand (or the sides) computed only when its
// value matters: here, as `&&`, `||` and `?:` do; under the prover's split
// (choose() deciding), the same, so a lookup whose result is not used adds
// no decisions; otherwise both are built into the term, as above.
template <class B> bool cond_and_then(bool a, B b)
{
	return a && b();
}
template <class B> bool cond_or_else(bool a, B b)
{
	return a || b();
}
template <class A, class B> u64 choose_lazily(bool c, A a, B b)
{
	return c ? a() : b();
}
// While one lives, comparisons only render text (no-op for plain integers).
struct TextOnly {
	TextOnly() {}
};

} // namespace untorn

#endif
