// Decision coverage: for every BRANCH() of every variant, which runs took it
// each way.  A variant's BRANCH()es are those of every function its write
// path enters (branch_sites() lists them all; the functions a variant enters
// are found on a fixed sample of generated layouts, plus the runs counted).
#pragma once

#include "untorn/checker.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace untorn
{

// One direction of one BRANCH(): `taken` is the value of its condition.
struct Direction {
	size_t site = 0; // index into branch_sites()
	bool taken = false;
	auto operator<=>(const Direction &) const = default;
};

class Coverage
{
public:
	// `variants`: the variants reported, in this order.  `examples`: how many
	// run names each direction keeps (all when 0).
	explicit Coverage(std::vector<Variant> variants, size_t examples = 0);

	// Counts one run's decisions under its variant, under the run's name
	// (a case counts once per direction, however often it decides there).
	// Each direction keeps the names of the runs with the lowest `order`
	// (default: the order of adding), so any split of the runs over
	// recorders merges into the same table.
	void add(const Trace &t, const std::string &name,
	         std::optional<uint64_t> order = std::nullopt);
	void merge(const Coverage &o); // another recorder's runs, as if added after these

	struct Count {
		uint64_t runs = 0;
		std::vector<std::string> names; // the first `examples` runs (all when 0)
		std::vector<uint64_t> order;    // their order
	};
	struct SiteCov {
		size_t site;
		Count dir[2]; // [false], [true]
	};
	struct VariantCov {
		Variant variant;
		std::vector<SiteCov> sites; // the variant's BRANCH()es, in branch_sites() order
		size_t directions() const { return sites.size() * 2; }
		size_t covered() const;
	};
	// Resolves which BRANCH()es belong to each variant (the functions it
	// enters, on the sample and on the runs added) and returns the table.
	std::vector<VariantCov> table() const;

	// The stable name of a direction: "VARIANT FILE FUNC (COND) true|false".
	static std::string direction_id(Variant v, const BranchSite &s, bool taken);

private:
	std::vector<Variant> variants_;
	size_t examples_;
	uint64_t added_ = 0;
	// per variant: per site, per direction (site*2 + taken)
	std::map<Variant, std::map<size_t, Count>> counts_;
	std::map<Variant, std::set<std::pair<std::string, std::string>>> entered_; // (file, func)
	void note(Variant v, const Branch &b, std::set<size_t> &seen, const std::string &name,
	          uint64_t order);
	void keep(Count &c, const std::string &name, uint64_t order) const;
};

// Reports: the text (summary per variant and file, every direction with its
// counts and runs, the uncovered ones with file:line and condition), the JSON
// object, and the Markdown table for the docs (summary and uncovered only).
std::string coverage_text(const std::vector<Coverage::VariantCov> &t, const std::string &what);
nlohmann::json coverage_json(const std::vector<Coverage::VariantCov> &t);
std::string coverage_markdown(const std::vector<Coverage::VariantCov> &t);

// Every variant `--coverage` reports: the kernel versions, then the what-ifs.
std::vector<Variant> coverage_variants();

} // namespace untorn
