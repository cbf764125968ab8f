// Small text helpers shared by the human- and machine-facing outputs.
#pragma once

#include <cstdint>
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

// FNV-1a, 64 bits: stable across platforms, runs and compilers (report
// names, fingerprints and branch signatures rest on it).
inline constexpr uint64_t FNV1A_OFFSET = 0xcbf29ce484222325ULL;
uint64_t fnv1a(std::string_view bytes, uint64_t h = FNV1A_OFFSET);
uint64_t fnv1a_u64(uint64_t h, uint64_t x); // x's 8 bytes, least significant first

} // namespace untorn
