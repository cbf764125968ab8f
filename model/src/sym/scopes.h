// Scopes over "the current path" of a value type that records decisions
// (the concolic type, sym/concolic.h, and the traced one, traced/traced.h):
// each has a thread-local `Path *&current_path()` whose Path counts `quiet`.
// Included in translation units compiled with -Duntorn=..., so its
// namespace has a name that macro leaves alone.
#pragma once

namespace untorn_scopes
{

// While one lives, decisions are not recorded: text is being rendered
// (trace notes, summaries), which decides nothing.  impl's TextOnly.
template <class P, P *&(*Current)()> struct Quiet {
	Quiet()
	{
		if (Current())
			Current()->quiet++;
	}
	~Quiet()
	{
		if (Current())
			Current()->quiet--;
	}
	Quiet(const Quiet &) = delete;
	Quiet &operator=(const Quiet &) = delete;
};

// While one lives, decisions go to `path`; then where they went before.
template <class P, P *&(*Current)()> struct Recording {
	explicit Recording(P &path) : saved_(Current()) { Current() = &path; }
	~Recording() { Current() = saved_; }
	Recording(const Recording &) = delete;
	Recording &operator=(const Recording &) = delete;

private:
	P *saved_;
};

} // namespace untorn_scopes
