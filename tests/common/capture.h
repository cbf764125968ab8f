// Runs a command's body with its standard output and error captured: the
// tests keep the command's text out of their own output, and keep it for
// their messages.
#pragma once

#include <functional>
#include <iostream>
#include <sstream>
#include <string>

namespace untorn_test
{

struct Captured {
	int rc = -1;
	std::string out, err;
};

inline Captured capture(const std::function<int()> &body)
{
	std::ostringstream out, err;
	auto *cout_buf = std::cout.rdbuf(out.rdbuf());
	auto *cerr_buf = std::cerr.rdbuf(err.rdbuf());
	Captured c;
	try {
		c.rc = body();
	} catch (...) {
		std::cout.rdbuf(cout_buf);
		std::cerr.rdbuf(cerr_buf);
		throw;
	}
	std::cout.rdbuf(cout_buf);
	std::cerr.rdbuf(cerr_buf);
	c.out = out.str();
	c.err = err.str();
	return c;
}

} // namespace untorn_test
