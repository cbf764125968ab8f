// Z3 behind one small value type, in the manner of Alive2's smt/: an Expr is
// a 64-bit bit-vector or a boolean; operators build Z3 terms in one
// thread-local context.  Nothing outside model/src sees z3++.h.
#pragma once

#include <z3++.h>

#include <cstdint>
#include <string>

namespace untorn::smt {

z3::context &ctx();

class Expr {
public:
	explicit Expr(z3::expr e) : e_(std::move(e)) {}
	static Expr var(const std::string &name) { return Expr(ctx().bv_const(name.c_str(), 64)); }
	static Expr num(uint64_t v) { return Expr(ctx().bv_val(v, 64)); }
	static Expr boolean(bool b) { return Expr(ctx().bool_val(b)); }
	const z3::expr &z3() const { return e_; }

	friend Expr operator+(const Expr &a, const Expr &b) { return Expr(a.e_ + b.e_); }
	friend Expr operator-(const Expr &a, const Expr &b) { return Expr(a.e_ - b.e_); }
	friend Expr operator*(const Expr &a, const Expr &b) { return Expr(a.e_ * b.e_); }
	friend Expr operator&(const Expr &a, const Expr &b) { return Expr(a.e_ & b.e_); }
	friend Expr operator|(const Expr &a, const Expr &b) { return Expr(a.e_ | b.e_); }
	friend Expr urem(const Expr &a, const Expr &b) { return Expr(z3::urem(a.e_, b.e_)); }
	friend Expr operator==(const Expr &a, const Expr &b) { return Expr(a.e_ == b.e_); }
	friend Expr operator!=(const Expr &a, const Expr &b) { return Expr(a.e_ != b.e_); }
	friend Expr operator<(const Expr &a, const Expr &b) { return Expr(z3::ult(a.e_, b.e_)); }
	friend Expr operator<=(const Expr &a, const Expr &b) { return Expr(z3::ule(a.e_, b.e_)); }
	friend Expr operator>(const Expr &a, const Expr &b) { return Expr(z3::ugt(a.e_, b.e_)); }
	friend Expr operator>=(const Expr &a, const Expr &b) { return Expr(z3::uge(a.e_, b.e_)); }
	friend Expr operator&&(const Expr &a, const Expr &b) { return Expr(a.e_ && b.e_); }
	friend Expr operator||(const Expr &a, const Expr &b) { return Expr(a.e_ || b.e_); }
	friend Expr operator!(const Expr &a) { return Expr(!a.e_); }
	friend Expr implies(const Expr &a, const Expr &b) { return Expr(z3::implies(a.e_, b.e_)); }
	friend Expr ite(const Expr &c, const Expr &a, const Expr &b) { return Expr(z3::ite(c.e_, a.e_, b.e_)); }

	Expr operator+(uint64_t b) const { return *this + num(b); }
	Expr operator-(uint64_t b) const { return *this - num(b); }
	Expr operator==(uint64_t b) const { return *this == num(b); }
	Expr operator!=(uint64_t b) const { return *this != num(b); }

private:
	z3::expr e_;
};

// n != 0 && (n & (n - 1)) == 0
inline Expr is_pow2(const Expr &n) { return n != 0 && (n & (n - 1)) == 0; }

} // namespace untorn::smt
