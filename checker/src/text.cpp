#include "text.h"

#include <sstream>

namespace untorn {

std::string word_wrap(std::string_view text, size_t width, std::string_view prefix)
{
	std::istringstream in{std::string(text)};
	std::string word, line, out;
	while (in >> word) {
		if (!line.empty() && prefix.size() + line.size() + 1 + word.size() > width) {
			out.append(prefix).append(line).push_back('\n');
			line.clear();
		}
		if (!line.empty())
			line.push_back(' ');
		line += word;
	}
	if (!line.empty())
		out.append(prefix).append(line).push_back('\n');
	return out;
}

uint64_t fnv1a(std::string_view bytes, uint64_t h)
{
	for (unsigned char ch : bytes) {
		h ^= ch;
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t fnv1a_u64(uint64_t h, uint64_t x)
{
	for (int i = 0; i < 8; i++) {
		h ^= (x >> (8 * i)) & 0xff;
		h *= 0x100000001b3ULL;
	}
	return h;
}

std::string xml_escape(std::string_view s, bool attr)
{
	std::string o;
	o.reserve(s.size());
	for (unsigned char ch : s) {
		switch (ch) {
		case '&': o += "&amp;"; break;
		case '<': o += "&lt;"; break;
		case '>': o += "&gt;"; break;
		case '"': o += "&quot;"; break;
		case '\'': o += "&apos;"; break;
		case '\t': o += attr ? "&#9;" : "\t"; break;
		case '\n': o += attr ? "&#10;" : "\n"; break;
		case '\r': o += "&#13;"; break;
		default:
			if (ch < 0x20 || ch == 0x7f)
				o += "?";
			else
				o.push_back(char(ch));
		}
	}
	return o;
}

} // namespace untorn
