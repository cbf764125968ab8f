// Small text helpers shared by the human- and machine-facing outputs.
#pragma once

#include <string>
#include <string_view>

namespace untorn {

// Words of `text` filled into lines `prefix + words`, each at most `width`
// columns including the prefix (a single over-long word stands alone).
std::string word_wrap(std::string_view text, size_t width, std::string_view prefix);

// Escapes for XML 1.0 text and attributes (SVG, JUnit, SARIF-adjacent XML):
// in attributes (`attr`) also tabs and line breaks, which attribute-value
// normalization would otherwise turn into spaces; other control characters,
// which XML 1.0 does not allow even escaped, become '?'.
std::string xml_escape(std::string_view s, bool attr = true);

} // namespace untorn
