// Files for tests that write them: a fresh temporary folder, removed
// afterwards, and a file's whole content.
#pragma once

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include <unistd.h>

namespace untorn_test
{

// A fresh folder under the system's temporary directory (its name says which
// test made it), removed afterwards.  `create`: whether it exists at first,
// or is left for the code under test to make.
struct TempDir {
	std::filesystem::path path;
	explicit TempDir(const std::string &what, bool create = true)
	{
		namespace fs = std::filesystem;
		static std::atomic<unsigned> n{0};
		path = fs::temp_directory_path() / ("untorn-test-" + std::to_string(getpid()) +
		                                    "-" + std::to_string(n++) + "-" + what);
		std::error_code ec;
		fs::remove_all(path, ec);
		if (create)
			fs::create_directories(path);
	}
	~TempDir()
	{
		std::error_code ec;
		std::filesystem::remove_all(path, ec);
	}
	TempDir(const TempDir &) = delete;
	TempDir &operator=(const TempDir &) = delete;
	std::string str() const { return path.string(); }
};

inline std::string slurp(const std::filesystem::path &p)
{
	std::ifstream in(p, std::ios::binary);
	std::ostringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

} // namespace untorn_test
