// The prover's value type on its own (model/src/sym/concolic.h): the lazy
// forms facts.cpp measures with.  Merged, they must build exactly the eager
// forms' terms (so a merged judgement is unchanged); in a split (choose()
// deciding), they must decide the condition and leave the operand that does
// not matter unbuilt, so it records no decisions.  (This file includes no
// impl header: concolic.h binds untorn::u64 to its own type.)
#include "sym/concolic.h"

#include <catch2/catch.hpp>

using namespace untorn_concolic;

namespace
{
// A path to record into, and choose() deciding, while one lives.
struct Splitting {
	Path path;
	Path *saved = current_path();
	Splitting()
	{
		current_path() = &path;
		choose_decides() = true;
	}
	~Splitting()
	{
		choose_decides() = false;
		current_path() = saved;
	}
};
} // namespace

TEST_CASE("concolic: the lazy forms build the eager forms' terms when merged", "[concolic]")
{
	Val x = Val::symbolic(3, ctx().bv_const("x", 64)),
	    y = Val::symbolic(5, ctx().bv_const("y", 64));
	CBool lt = x < y, gt = y < x; // true and false on these values
	for (const CBool &c : {lt, gt}) {
		CHECK(z3::eq(cond_and_then(c, [&] { return x == y; }).expr(),
		             cond_and(c, x == y).expr()));
		CHECK(z3::eq(cond_or_else(c, [&] { return x == y; }).expr(),
		             cond_or(c, x == y).expr()));
		CHECK(z3::eq(choose_lazily(
		                 c, [&] { return x + 1; }, [&] { return y; })
		                 .expr(),
		             choose(c, x + 1, y).expr()));
	}
	// a constant condition: only the side it picks is built
	bool built = false;
	Val v = choose_lazily(
	    CBool(true), [&] { return x; },
	    [&] {
		    built = true;
		    return y;
	    });
	CHECK(!built);
	CHECK(z3::eq(v.expr(), x.expr()));
	CHECK(cond_and_then(CBool(false), [&] {
		      built = true;
		      return lt;
	      }).constant());
	CHECK(cond_or_else(CBool(true), [&] {
		      built = true;
		      return lt;
	      }).constant());
	CHECK(!built);
}

TEST_CASE("concolic: in a split, the lazy forms decide the condition and skip what is unused",
          "[concolic]")
{
	Val x = Val::symbolic(3, ctx().bv_const("x", 64)),
	    y = Val::symbolic(5, ctx().bv_const("y", 64));
	Splitting s;
	bool built = false;
	auto unused = [&] {
		built = true;
		return x == y;
	};
	CBool r = cond_and_then(y < x, unused); // false: the rest is not needed
	CHECK(!built);
	CHECK(r.constant());
	CHECK(!r.concrete());
	REQUIRE(s.path.conds.size() == 1);

	r = cond_or_else(x < y, unused); // true: the rest is not needed
	CHECK(!built);
	CHECK(r.concrete());
	CHECK(s.path.conds.size() == 2);

	Val v = choose_lazily(
	    x < y, [&] { return x + 1; },
	    [&] {
		    built = true;
		    return y;
	    });
	CHECK(!built);
	CHECK(v.concrete() == 4);
	CHECK(s.path.conds.size() == 3);

	// the operand that matters is decided in turn
	r = cond_and_then(x < y, [&] { return x == y; });
	CHECK(!r.concrete());
	CHECK(s.path.conds.size() == 5);
}
