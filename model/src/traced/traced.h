// A third value type for impl/ (see impl/include/untorn/value.h): a concrete
// 64-bit value that knows whether it depends on the case's inputs, and
// whose comparisons, turned into a bool, append their outcome to the
// current path -- the decisions the concolic type (model/src/sym/concolic.h)
// records, without building a solver term.  Two runs of one sweep append
// the same string exactly when the prover would count them as one path:
// both types record a decision at the same places (a comparison involving
// an input), and a decision that only the concolic type sees as constant
// (its term simplifies to true or false) has the same outcome on every
// input, so it adds the same character to every string at that point.
// `untorn census` runs impl on this type to count the prover's paths at
// tens of thousands of layouts a second (model/src/census.cpp).
//
// This header is included in translation units compiled with
// -Duntorn=untorn_traced, so its own namespace has a name that macro leaves
// alone.
#pragma once

#include "../sym/scopes.h"

#include <cstdint>
#include <string>
#include <type_traits>

namespace untorn_tracing
{

// Where outcomes go while impl runs: one '1' or '0' per decision.
// `quiet` > 0: text is being rendered (TextOnly), nothing is recorded.
struct Path {
	std::string outcomes;
	int quiet = 0;
};
Path *&current_path();

inline void record(bool taken)
{
	Path *p = current_path();
	if (p && !p->quiet)
		p->outcomes.push_back(taken ? '1' : '0');
}

class CBool
{
public:
	CBool(bool c) : c_(c) {}
	CBool(bool c, bool depends) : c_(c), depends_(depends) {}
	operator bool() const
	{
		if (depends_)
			record(c_);
		return c_;
	}
	bool concrete() const { return c_; }
	// The same for every input: nothing to decide.
	bool constant() const { return !depends_; }

private:
	bool c_;
	bool depends_ = false;
};

class Val
{
public:
	Val() = default;
	template <class T, std::enable_if_t<std::is_integral_v<T> || std::is_enum_v<T>, int> = 0>
	Val(T c) : c_(uint64_t(c))
	{
	}
	// One of the case's inputs (a number the sweep leaves symbolic).
	static Val input(uint64_t c) { return Val(c, true); }

	uint64_t concrete() const { return c_; }
	bool depends() const { return depends_; }

	// `c ? a : b` as a value, not a decision (see value.h); as the concolic
	// type's, constant only when the condition or both sides are.
	friend Val choose(const CBool &c, const Val &a, const Val &b)
	{
		if (c.constant())
			return c.concrete() ? a : b;
		if (!a.depends_ && !b.depends_ && a.c_ == b.c_)
			return a;
		return Val(c.concrete() ? a.c_ : b.c_, true);
	}

	explicit operator bool() const { return CBool(c_ != 0, depends_); }

	// The concrete results are the concolic type's (and so bit-vector
	// semantics for a zero divisor, which impl never uses).
	friend Val operator+(const Val &a, const Val &b) { return Val(a.c_ + b.c_, a, b); }
	friend Val operator-(const Val &a, const Val &b) { return Val(a.c_ - b.c_, a, b); }
	friend Val operator*(const Val &a, const Val &b) { return Val(a.c_ * b.c_, a, b); }
	friend Val operator/(const Val &a, const Val &b)
	{
		return Val(b.c_ ? a.c_ / b.c_ : ~0ULL, a, b);
	}
	friend Val operator%(const Val &a, const Val &b)
	{
		return Val(b.c_ ? a.c_ % b.c_ : a.c_, a, b);
	}
	friend Val operator&(const Val &a, const Val &b) { return Val(a.c_ & b.c_, a, b); }
	friend Val operator|(const Val &a, const Val &b) { return Val(a.c_ | b.c_, a, b); }
	friend Val operator^(const Val &a, const Val &b) { return Val(a.c_ ^ b.c_, a, b); }
	friend Val operator<<(const Val &a, const Val &b)
	{
		return Val(b.c_ < 64 ? a.c_ << b.c_ : 0, a, b);
	}
	friend Val operator>>(const Val &a, const Val &b)
	{
		return Val(b.c_ < 64 ? a.c_ >> b.c_ : 0, a, b);
	}
	Val operator~() const { return Val(~c_, depends_); }
	Val operator-() const { return Val(-c_, depends_); }
	Val &operator+=(const Val &b) { return *this = *this + b; }
	Val &operator-=(const Val &b) { return *this = *this - b; }
	Val &operator|=(const Val &b) { return *this = *this | b; }
	Val &operator&=(const Val &b) { return *this = *this & b; }
	Val &operator++() { return *this = *this + 1; }

	friend CBool operator==(const Val &a, const Val &b) { return cmp(a.c_ == b.c_, a, b); }
	friend CBool operator!=(const Val &a, const Val &b) { return cmp(a.c_ != b.c_, a, b); }
	friend CBool operator<(const Val &a, const Val &b) { return cmp(a.c_ < b.c_, a, b); }
	friend CBool operator<=(const Val &a, const Val &b) { return cmp(a.c_ <= b.c_, a, b); }
	friend CBool operator>(const Val &a, const Val &b) { return cmp(a.c_ > b.c_, a, b); }
	friend CBool operator>=(const Val &a, const Val &b) { return cmp(a.c_ >= b.c_, a, b); }

private:
	Val(uint64_t c, bool depends) : c_(c), depends_(depends) {}
	Val(uint64_t c, const Val &a, const Val &b) : c_(c), depends_(a.depends_ || b.depends_) {}
	static CBool cmp(bool c, const Val &a, const Val &b)
	{
		return CBool(c, a.depends_ || b.depends_);
	}

	uint64_t c_ = 0;
	bool depends_ = false;
};

Val choose(const CBool &c, const Val &a, const Val &b); // (the friend above, for lookup)

// Conditions combined without recording a decision (see value.h).  The
// census counts impl's paths, not the fact cases of a split path, so these
// never decide (the concolic type's choose_decides() is never on).
inline CBool cond_and(const CBool &a, const CBool &b)
{
	if (a.constant())
		return a.concrete() ? b : a;
	if (b.constant())
		return b.concrete() ? a : b;
	return CBool(a.concrete() && b.concrete(), true);
}
inline CBool cond_or(const CBool &a, const CBool &b)
{
	if (a.constant())
		return a.concrete() ? a : b;
	if (b.constant())
		return b.concrete() ? b : a;
	return CBool(a.concrete() || b.concrete(), true);
}
inline CBool cond_not(const CBool &a)
{
	return CBool(!a.concrete(), !a.constant());
}
template <class B> CBool cond_and_then(const CBool &a, B b)
{
	if (a.constant())
		return a.concrete() ? CBool(b()) : a;
	return cond_and(a, b());
}
template <class B> CBool cond_or_else(const CBool &a, B b)
{
	if (a.constant())
		return a.concrete() ? a : CBool(b());
	return cond_or(a, b());
}
template <class A, class Bf> Val choose_lazily(const CBool &c, A a, Bf b)
{
	if (c.constant())
		return c.concrete() ? Val(a()) : Val(b());
	return choose(c, a(), b());
}
inline bool certainly(const CBool &c)
{
	return c.constant() && c.concrete();
}

using TextOnly = untorn_scopes::Quiet<Path, current_path>;

inline Val rounddown_pow_of_two(const Val &n)
{
	uint64_t c = n.concrete() == 0 ? 0 : 1ULL << (63 - __builtin_clzll(n.concrete()));
	return n.depends() ? Val::input(c) : Val(c);
}
inline Val max_pow_of_two_factor(const Val &n)
{
	return n & -n;
}
inline Val ilog2_roundup(const Val &n)
{
	uint64_t c = n.concrete() <= 1 ? 0 : 64 - __builtin_clzll(n.concrete() - 1);
	return n.depends() ? Val::input(c) : Val(c);
}
// As the concolic type's, a count that depends on the inputs records the
// equality it is taken under -- a decision whose term names the value, so
// the value itself goes into the path.
inline uint64_t to_count(const Val &v)
{
	Path *p = current_path();
	if (v.depends() && p && !p->quiet)
		p->outcomes += "=" + std::to_string(v.concrete()) + ";";
	return v.concrete();
}
inline std::string to_text(const Val &v)
{
	return std::to_string(v.concrete());
}

} // namespace untorn_tracing

namespace untorn
{

using u64 = untorn_tracing::Val;
using u32 = untorn_tracing::Val;
enum : uint8_t { XFS_EXT_NORM, XFS_EXT_UNWRITTEN };
using xfs_exntst_t = untorn_tracing::Val;

using untorn_tracing::certainly;
using untorn_tracing::choose;
using untorn_tracing::choose_lazily;
using untorn_tracing::cond_and;
using untorn_tracing::cond_and_then;
using untorn_tracing::cond_not;
using untorn_tracing::cond_or;
using untorn_tracing::cond_or_else;
using untorn_tracing::ilog2_roundup;
using untorn_tracing::max_pow_of_two_factor;
using untorn_tracing::rounddown_pow_of_two;
using untorn_tracing::TextOnly;
using untorn_tracing::to_count;
using untorn_tracing::to_text;

} // namespace untorn
