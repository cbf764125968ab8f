// branch_sites(): every BRANCH() compiled into impl.  The BRANCH() macro
// (xfs_kernel.h) places one BranchSite per use in the linker section
// untorn_branch_sites; the GNU linker marks its bounds with __start_ and
// __stop_ symbols.
#include "untorn/impl.h"

#include <algorithm>
#include <cstring>
#include <tuple>

extern "C" {
extern const untorn::BranchSite __start_untorn_branch_sites[] __attribute__((weak));
extern const untorn::BranchSite __stop_untorn_branch_sites[] __attribute__((weak));
}

namespace untorn
{

const std::vector<BranchSite> &branch_sites()
{
	static const std::vector<BranchSite> sites = [] {
		std::vector<BranchSite> v;
		if (__start_untorn_branch_sites && __stop_untorn_branch_sites)
			v.assign(__start_untorn_branch_sites, __stop_untorn_branch_sites);
		auto key = [](const BranchSite &s) {
			return std::make_tuple(std::string_view(s.file), s.line);
		};
		std::sort(v.begin(), v.end(), [&](const BranchSite &a, const BranchSite &b) {
			return key(a) < key(b);
		});
		// a site in an inline function may be emitted by several objects
		v.erase(std::unique(v.begin(), v.end(),
		                    [&](const BranchSite &a, const BranchSite &b) {
			                    return key(a) == key(b);
		                    }),
		        v.end());
		return v;
	}();
	return sites;
}

} // namespace untorn
