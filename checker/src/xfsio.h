// What `untorn export --xfs-io` (export.cpp) and `untorn import` (import.cpp)
// share: the unit the XFS tools count in, and a case name made fit for a
// file name.
#pragma once

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

namespace untorn::xfsio
{

// 512 bytes: the unit of xfs_bmap -v, xfs_io's bmap -vp and fiemap -v.
inline constexpr uint64_t kBB = 512;

// A name usable in a file name or a shell word without quoting.
inline std::string safe_name(std::string_view s)
{
	std::string o;
	for (char ch : s)
		o.push_back((std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' ||
		             ch == '_' || ch == '-')
		                ? ch
		                : '_');
	if (o.empty())
		o = "case";
	return o;
}

} // namespace untorn::xfsio
