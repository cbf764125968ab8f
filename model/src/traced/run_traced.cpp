// One run of impl's logic over the traced value type (this file is compiled
// with -Duntorn=untorn_traced, like the impl sources it calls).
#include "run.h"

#include "untorn/impl.h"

namespace untorn_tracing
{

Path *&current_path()
{
	thread_local Path *p = nullptr;
	return p;
}

std::string decisions(const untorn_concolic::InCase &c)
{
	Path path;
	untorn_scopes::Recording<Path, current_path> recording(path);

	auto value = [](const untorn_concolic::In &in) {
		return in.var ? Val::input(in.value) : Val(in.value);
	};
	untorn::FileState st = untorn_concolic::file_state<untorn::FileState>(c, value, value);
	untorn::WriteReq w{value(c.offset), value(c.length)};
	untorn::run_atomic_write(st, w, untorn::Variant(c.variant));
	return std::move(path.outcomes);
}

} // namespace untorn_tracing
