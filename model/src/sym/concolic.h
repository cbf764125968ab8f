// The symbolic value type impl/ is compiled over for `untorn prove` (see
// impl/include/untorn/value.h): a Val is a concrete 64-bit value plus, when
// it depends on the case's inputs, the Z3 bit-vector term that computes it.
// Arithmetic builds terms; a comparison yields a CBool, and turning a CBool
// (or a Val, as in `if (x)`) into a bool records the decision -- the term,
// oriented the way the concrete value went -- in the current path.  Nothing
// converts a Val to an integer silently: code that needs a count says so
// (to_count), and that records an equality.  So the recorded path condition
// describes exactly the inputs that follow the same path, which is what the
// explorer (model/src/prove.cpp) negates to find the next one.
//
// This header is included in translation units compiled with
// -Duntorn=untorn_sym, so its own namespace has a name that macro leaves alone.
#pragma once

#include "scopes.h"

#include <z3++.h>

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace untorn_concolic
{

// The Z3 context of this thread (model's smt::ctx()).
z3::context &ctx();

// Where decisions go while impl runs.  `quiet` > 0: text is being rendered,
// decisions are not recorded (they decide nothing).
struct Path {
	std::vector<z3::expr> conds; // each as it held on this run
	int quiet = 0;
};
Path *&current_path();

void record(const z3::expr &cond, bool taken);

// While set, choose() decides (records its condition and takes a side), as
// an `if` would: the explorer splits a path whose merged facts are too hard
// to judge at once (model/src/prove.cpp).
bool &choose_decides();

class CBool
{
public:
	CBool(bool c) : c_(c) {}
	CBool(bool c, std::optional<z3::expr> e) : c_(c), e_(std::move(e)) {}
	operator bool() const
	{
		if (e_)
			record(*e_, c_);
		return c_;
	}
	bool concrete() const { return c_; }
	z3::expr expr() const { return e_ ? *e_ : ctx().bool_val(c_); }
	// The same for every input (no term): nothing to decide.
	bool constant() const { return !e_; }
	// A condition from a term (not simplified: the facts build long chains
	// of these, and simplifying each re-walks its whole term).
	static CBool of(bool c, const z3::expr &e)
	{
		if (e.is_true() || e.is_false())
			return CBool(c);
		return CBool(c, e);
	}

private:
	bool c_;
	std::optional<z3::expr> e_;
};

class Val
{
public:
	Val() = default;
	template <class T, std::enable_if_t<std::is_integral_v<T> || std::is_enum_v<T>, int> = 0>
	Val(T c) : c_(uint64_t(c))
	{
	}
	static Val symbolic(uint64_t c, z3::expr e) { return Val(c, std::move(e)); }
	// An input the precondition makes 0 or a power of two (a device's atomic
	// write units): `x % it` is then `x & (it - 1)` for every value (bvurem by
	// 0 is x, and so is x & ~0), which keeps the kernel's `size % unit_min`
	// linear for the solver.
	static Val symbolic_pow2_or_zero(uint64_t c, z3::expr e)
	{
		Val v(c, std::move(e));
		v.pow2_or_zero_ = true;
		return v;
	}

	uint64_t concrete() const { return c_; }
	bool is_symbolic() const { return e_.has_value(); }

	// `c ? a : b` as a value (an ite term), not a decision.
	friend Val choose(const CBool &c, const Val &a, const Val &b)
	{
		if (c.constant())
			return c.concrete() ? a : b;
		if (choose_decides())
			return bool(c) ? a : b;
		Val v = !a.e_ && !b.e_ && a.c_ == b.c_ ? Val(a.c_)
		                                       : Val(c.concrete() ? a.c_ : b.c_,
		                                             z3::ite(c.expr(), a.expr(), b.expr()));
		v.pow2_or_zero_ = a.pow2_or_zero_ && b.pow2_or_zero_;
		return v;
	}
	z3::expr expr() const { return e_ ? *e_ : ctx().bv_val(c_, 64); }

	// `if (x)`: the decision x != 0.
	explicit operator bool() const
	{
		return CBool(c_ != 0, e_ ? std::optional(*e_ != 0) : std::nullopt);
	}

	friend Val operator+(const Val &a, const Val &b)
	{
		return bin(a, b, a.c_ + b.c_, [](auto x, auto y) { return x + y; });
	}
	friend Val operator-(const Val &a, const Val &b)
	{
		return bin(a, b, a.c_ - b.c_, [](auto x, auto y) { return x - y; });
	}
	friend Val operator*(const Val &a, const Val &b)
	{
		return bin(a, b, a.c_ * b.c_, [](auto x, auto y) { return x * y; });
	}
	// bvudiv/bvurem semantics for a zero divisor (the impl never divides by 0).
	friend Val operator/(const Val &a, const Val &b)
	{
		return bin(a, b, b.c_ ? a.c_ / b.c_ : ~0ULL,
		           [](auto x, auto y) { return z3::udiv(x, y); });
	}
	friend Val operator%(const Val &a, const Val &b)
	{
		if (b.pow2_or_zero_)
			return bin(a, b, b.c_ ? a.c_ % b.c_ : a.c_,
			           [](auto x, auto y) { return x & (y - 1); });
		return bin(a, b, b.c_ ? a.c_ % b.c_ : a.c_,
		           [](auto x, auto y) { return z3::urem(x, y); });
	}
	friend Val operator&(const Val &a, const Val &b)
	{
		return bin(a, b, a.c_ & b.c_, [](auto x, auto y) { return x & y; });
	}
	friend Val operator|(const Val &a, const Val &b)
	{
		return bin(a, b, a.c_ | b.c_, [](auto x, auto y) { return x | y; });
	}
	friend Val operator^(const Val &a, const Val &b)
	{
		return bin(a, b, a.c_ ^ b.c_, [](auto x, auto y) { return x ^ y; });
	}
	friend Val operator<<(const Val &a, const Val &b)
	{
		return bin(a, b, b.c_ < 64 ? a.c_ << b.c_ : 0,
		           [](auto x, auto y) { return z3::shl(x, y); });
	}
	friend Val operator>>(const Val &a, const Val &b)
	{
		return bin(a, b, b.c_ < 64 ? a.c_ >> b.c_ : 0,
		           [](auto x, auto y) { return z3::lshr(x, y); });
	}
	Val operator~() const { return e_ ? Val(~c_, ~*e_) : Val(~c_); }
	Val operator-() const { return e_ ? Val(-c_, -*e_) : Val(-c_); }
	Val &operator+=(const Val &b) { return *this = *this + b; }
	Val &operator-=(const Val &b) { return *this = *this - b; }
	Val &operator|=(const Val &b) { return *this = *this | b; }
	Val &operator&=(const Val &b) { return *this = *this & b; }
	Val &operator++() { return *this = *this + 1; }

	friend CBool operator==(const Val &a, const Val &b)
	{
		return cmp(a, b, a.c_ == b.c_, [](auto x, auto y) { return x == y; });
	}
	friend CBool operator!=(const Val &a, const Val &b)
	{
		return cmp(a, b, a.c_ != b.c_, [](auto x, auto y) { return x != y; });
	}
	friend CBool operator<(const Val &a, const Val &b)
	{
		return cmp(a, b, a.c_ < b.c_, [](auto x, auto y) { return z3::ult(x, y); });
	}
	friend CBool operator<=(const Val &a, const Val &b)
	{
		return cmp(a, b, a.c_ <= b.c_, [](auto x, auto y) { return z3::ule(x, y); });
	}
	friend CBool operator>(const Val &a, const Val &b)
	{
		return cmp(a, b, a.c_ > b.c_, [](auto x, auto y) { return z3::ugt(x, y); });
	}
	friend CBool operator>=(const Val &a, const Val &b)
	{
		return cmp(a, b, a.c_ >= b.c_, [](auto x, auto y) { return z3::uge(x, y); });
	}

private:
	Val(uint64_t c, z3::expr e) : c_(c), e_(std::move(e)) {}
	template <class F> static Val bin(const Val &a, const Val &b, uint64_t c, F f)
	{
		if (!a.e_ && !b.e_)
			return Val(c);
		return Val(c, f(a.expr(), b.expr()).simplify());
	}
	template <class F> static CBool cmp(const Val &a, const Val &b, bool c, F f)
	{
		if (!a.e_ && !b.e_)
			return CBool(c);
		z3::expr e = f(a.expr(), b.expr()).simplify();
		if (e.is_true() || e.is_false())
			return CBool(c);
		return CBool(c, e);
	}

	uint64_t c_ = 0;
	std::optional<z3::expr> e_;
	bool pow2_or_zero_ = false;
};

Val choose(const CBool &c, const Val &a, const Val &b); // (the friend above, for lookup)

// Conditions combined as terms, without recording a decision (see value.h).
inline CBool cond_and(const CBool &a, const CBool &b)
{
	if (choose_decides()) // as `a && b` decides: each part in turn
		return CBool(bool(a) && bool(b));
	if (a.constant())
		return a.concrete() ? b : a;
	if (b.constant())
		return b.concrete() ? a : b;
	return CBool::of(a.concrete() && b.concrete(), a.expr() && b.expr());
}
inline CBool cond_or(const CBool &a, const CBool &b)
{
	if (choose_decides())
		return CBool(bool(a) || bool(b));
	if (a.constant())
		return a.concrete() ? a : b;
	if (b.constant())
		return b.concrete() ? b : a;
	return CBool::of(a.concrete() || b.concrete(), a.expr() || b.expr());
}
inline CBool cond_not(const CBool &a)
{
	return a.constant() ? CBool(!a.concrete()) : CBool::of(!a.concrete(), !a.expr());
}
// cond_and / cond_or / choose with the operand that may not matter computed
// by a callable, only when it does (see value.h): a constant condition, or
// one being decided (a split), picks a side before the other is built, so
// a split path records no decisions of lookups it does not use.  Merged,
// the terms are exactly cond_and's, cond_or's and choose's.
template <class B> CBool cond_and_then(const CBool &a, B b)
{
	if (a.constant())
		return a.concrete() ? CBool(b()) : a;
	if (choose_decides()) // (as cond_and decides: each part in turn)
		return CBool(bool(a) && bool(CBool(b())));
	return cond_and(a, b());
}
template <class B> CBool cond_or_else(const CBool &a, B b)
{
	if (a.constant())
		return a.concrete() ? a : CBool(b());
	if (choose_decides())
		return CBool(bool(a) || bool(CBool(b())));
	return cond_or(a, b());
}
template <class A, class Bf> Val choose_lazily(const CBool &c, A a, Bf b)
{
	if (c.constant())
		return c.concrete() ? Val(a()) : Val(b());
	if (choose_decides())
		return bool(c) ? Val(a()) : Val(b());
	return choose(c, a(), b());
}
// True only when c holds for every input (its term simplified to true).
inline bool certainly(const CBool &c)
{
	return c.constant() && c.concrete();
}

// Renders text without recording decisions (trace notes, summaries).
using TextOnly = untorn_scopes::Quiet<Path, current_path>;

Val rounddown_pow_of_two(const Val &n);
Val max_pow_of_two_factor(const Val &n);
Val ilog2_roundup(const Val &n);
uint64_t to_count(const Val &v);
inline std::string to_text(const Val &v)
{
	return std::to_string(v.concrete());
}

} // namespace untorn_concolic

namespace untorn
{

using u64 = untorn_concolic::Val;
using u32 = untorn_concolic::Val;
enum : uint8_t { XFS_EXT_NORM, XFS_EXT_UNWRITTEN };
using xfs_exntst_t = untorn_concolic::Val;

using untorn_concolic::certainly;
using untorn_concolic::choose_lazily;
using untorn_concolic::cond_and_then;
using untorn_concolic::cond_or_else;
using untorn_concolic::choose;
using untorn_concolic::cond_and;
using untorn_concolic::cond_not;
using untorn_concolic::cond_or;
using untorn_concolic::ilog2_roundup;
using untorn_concolic::max_pow_of_two_factor;
using untorn_concolic::rounddown_pow_of_two;
using untorn_concolic::TextOnly;
using untorn_concolic::to_count;
using untorn_concolic::to_text;

} // namespace untorn
