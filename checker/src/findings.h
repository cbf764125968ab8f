// The findings of `untorn check` as its --out folder holds them: shared by
// check, which writes them, and merge, which joins the shards' (check.cpp).
#pragma once

#include "untorn/checker.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace untorn
{

struct ReportItem;

// "K/N" with 1 <= K <= N.
bool parse_shard(const std::string &s, uint64_t *k, uint64_t *n);

// A distinct raw finding (variant, invariants, branch path) with its
// representative layout and its (minimized) counterexample.
struct RawFinding {
	std::string key;
	uint64_t layout;
	Case c;
};

// Known findings: the content (canonical_content) of every case under the
// paths that expects a violation or a divergence, and the file it is in.
using KnownFindings = std::map<std::string, std::string>;
// False (after printing why) on a bad case.
bool load_known(const std::vector<std::string> &paths, KnownFindings &known);

// Writes one case per distinct content (its layout: the lowest of the raw
// findings that led to it) and fills rep["raw_findings"] and rep["findings"].
void write_findings(const std::string &out, std::vector<RawFinding> &raws,
                    const KnownFindings &known, nlohmann::ordered_json &rep, size_t *nnew,
                    std::vector<ReportItem> *items);

// With several variants, one line of counts for each (rep["per_variant"]).
void print_per_variant(const nlohmann::ordered_json &rep);
void print_findings_summary(const nlohmann::ordered_json &rep, bool no_minimize, size_t nnew,
                            const std::string &out);

} // namespace untorn
