// Decision coverage (coverage.h).
#include "coverage.h"

#include "generate.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>
#include <unordered_map>

namespace untorn
{

namespace
{

// The generated layouts that show which functions a variant enters: a fixed
// sample, so the same runs give the same table.
constexpr uint64_t SAMPLE_SEED = 1, SAMPLE_COUNT = 3000;

// A decision's site: branch_sites() index by (file, line).
size_t site_index(const Branch &b)
{
	struct Key {
		const char *file;
		int line;
		bool operator==(const Key &) const = default;
	};
	struct Hash {
		size_t operator()(const Key &k) const
		{
			return std::hash<const void *>()(k.file) ^ size_t(k.line) << 1;
		}
	};
	thread_local std::unordered_map<Key, size_t, Hash> cache;
	Key k{b.file, b.line};
	if (auto it = cache.find(k); it != cache.end())
		return it->second;
	const auto &sites = branch_sites();
	size_t found = sites.size();
	for (size_t i = 0; i < sites.size(); i++)
		if (sites[i].line == b.line && b.file &&
		    std::string_view(sites[i].file) == b.file) {
			found = i;
			break;
		}
	cache.emplace(k, found);
	return found;
}

template <class F> void for_each_branch(const Trace &t, F f)
{
	for (const auto &b : t.file_branches)
		f(b);
	for (const auto &c : t.calls)
		for (const auto &b : c.branches)
			f(b);
}

std::string dir_name(bool taken)
{
	return taken ? "true" : "false";
}

} // namespace

std::vector<Variant> coverage_variants()
{
	std::vector<Variant> v(std::begin(all_variants), std::end(all_variants));
	v.insert(v.end(), std::begin(whatif_variants), std::end(whatif_variants));
	return v;
}

Coverage::Coverage(std::vector<Variant> variants, size_t examples)
    : variants_(std::move(variants)), examples_(examples)
{
}

void Coverage::keep(Count &c, const std::string &name, uint64_t order) const
{
	auto at = std::upper_bound(c.order.begin(), c.order.end(), order) - c.order.begin();
	if (examples_ && size_t(at) >= examples_)
		return;
	c.order.insert(c.order.begin() + at, order);
	c.names.insert(c.names.begin() + at, name);
	if (examples_ && c.names.size() > examples_) {
		c.order.pop_back();
		c.names.pop_back();
	}
}

void Coverage::note(Variant v, const Branch &b, std::set<size_t> &seen, const std::string &name,
                    uint64_t order)
{
	size_t i = site_index(b);
	if (i == branch_sites().size())
		return; // not a BRANCH() (cannot happen: every decision is one)
	entered_[v].emplace(b.file, b.func);
	size_t d = i * 2 + (b.taken ? 1 : 0);
	if (!seen.insert(d).second)
		return;
	Count &c = counts_[v][d];
	c.runs++;
	keep(c, name, order);
}

void Coverage::add(const Trace &t, const std::string &name, std::optional<uint64_t> order)
{
	uint64_t ord = order ? *order : added_;
	added_++;
	std::set<size_t> seen;
	for_each_branch(t, [&](const Branch &b) { note(t.variant, b, seen, name, ord); });
}

void Coverage::merge(const Coverage &o)
{
	for (const auto &[v, m] : o.counts_)
		for (const auto &[d, c] : m) {
			Count &mine = counts_[v][d];
			mine.runs += c.runs;
			for (size_t i = 0; i < c.names.size(); i++)
				keep(mine, c.names[i], c.order[i]);
		}
	for (const auto &[v, s] : o.entered_)
		entered_[v].insert(s.begin(), s.end());
}

size_t Coverage::VariantCov::covered() const
{
	size_t n = 0;
	for (const auto &s : sites)
		n += (s.dir[0].runs > 0) + (s.dir[1].runs > 0);
	return n;
}

std::vector<Coverage::VariantCov> Coverage::table() const
{
	const auto &sites = branch_sites();
	std::vector<VariantCov> out;
	for (Variant v : variants_) {
		std::set<std::pair<std::string, std::string>> entered;
		if (auto it = entered_.find(v); it != entered_.end())
			entered = it->second;
		for (uint64_t i = 0; i < SAMPLE_COUNT; i++) {
			Case c = generate_layout(SAMPLE_SEED, i, v, true);
			Trace t = run_atomic_write(c.state, c.write, v);
			for_each_branch(t,
			                [&](const Branch &b) { entered.emplace(b.file, b.func); });
		}
		VariantCov vc{v, {}};
		const auto *counts = counts_.count(v) ? &counts_.at(v) : nullptr;
		for (size_t i = 0; i < sites.size(); i++) {
			if (!entered.count({sites[i].file, sites[i].func}))
				continue;
			SiteCov sc{i, {}};
			for (int d = 0; d < 2; d++)
				if (counts)
					if (auto it = counts->find(i * 2 + d); it != counts->end())
						sc.dir[d] = it->second;
			vc.sites.push_back(std::move(sc));
		}
		out.push_back(std::move(vc));
	}
	return out;
}

std::string Coverage::direction_id(Variant v, const BranchSite &s, bool taken)
{
	return std::string(variant_name(v)) + " " + s.file + " " + s.func + " (" + s.cond + ") " +
	       dir_name(taken);
}

namespace
{

struct FileSummary {
	std::string file;
	size_t covered = 0, total = 0;
};

std::vector<FileSummary> per_file(const Coverage::VariantCov &vc)
{
	std::vector<FileSummary> files;
	for (const auto &s : vc.sites) {
		const BranchSite &b = branch_sites()[s.site];
		if (files.empty() || files.back().file != b.file)
			files.push_back({b.file, 0, 0});
		files.back().total += 2;
		files.back().covered += (s.dir[0].runs > 0) + (s.dir[1].runs > 0);
	}
	return files;
}

std::string fraction(size_t a, size_t b)
{
	return std::to_string(a) + "/" + std::to_string(b);
}

} // namespace

std::string coverage_text(const std::vector<Coverage::VariantCov> &table, const std::string &what)
{
	const auto &sites = branch_sites();
	std::ostringstream o;
	o << "coverage of " << what << ": BRANCH() directions taken\n";
	for (const auto &vc : table) {
		o << "  " << variant_name(vc.variant);
		if (variant_base(vc.variant) != vc.variant)
			o << " (patches " << variant_name(variant_base(vc.variant)) << ")";
		o << ": " << fraction(vc.covered(), vc.directions()) << "\n";
		for (const auto &f : per_file(vc))
			o << "    " << f.file << ": " << fraction(f.covered, f.total) << "\n";
	}
	o << "every direction (runs taking it; the first of them):\n";
	for (const auto &vc : table)
		for (const auto &s : vc.sites) {
			const BranchSite &b = sites[s.site];
			o << "  " << variant_name(vc.variant) << " " << b.file << ":" << b.line
			  << " " << b.func << " (" << b.cond << ")\n";
			for (int d = 1; d >= 0; d--) {
				const auto &c = s.dir[d];
				o << "    " << dir_name(d) << ": " << c.runs;
				for (size_t i = 0; i < c.names.size() && i < 3; i++)
					o << (i ? ", " : " (") << c.names[i];
				if (!c.names.empty())
					o << (c.runs > 3 ? ", ...)" : ")");
				o << "\n";
			}
		}
	size_t uncovered = 0;
	for (const auto &vc : table)
		uncovered += vc.directions() - vc.covered();
	o << "uncovered directions: " << uncovered << "\n";
	for (const auto &vc : table)
		for (const auto &s : vc.sites)
			for (int d = 1; d >= 0; d--)
				if (!s.dir[d].runs) {
					const BranchSite &b = sites[s.site];
					o << "  " << variant_name(vc.variant) << " " << b.file
					  << ":" << b.line << " " << b.func << " (" << b.cond
					  << ") " << dir_name(d) << "\n";
				}
	return o.str();
}

nlohmann::json coverage_json(const std::vector<Coverage::VariantCov> &table)
{
	const auto &sites = branch_sites();
	nlohmann::json j = nlohmann::json::array();
	for (const auto &vc : table) {
		nlohmann::json v;
		v["variant"] = variant_name(vc.variant);
		v["base"] = variant_name(variant_base(vc.variant));
		v["directions"] = vc.directions();
		v["covered"] = vc.covered();
		nlohmann::json files = nlohmann::json::array();
		for (const auto &f : per_file(vc))
			files.push_back(
			    {{"file", f.file}, {"directions", f.total}, {"covered", f.covered}});
		v["files"] = files;
		nlohmann::json list = nlohmann::json::array();
		for (const auto &s : vc.sites) {
			const BranchSite &b = sites[s.site];
			for (int d = 1; d >= 0; d--)
				list.push_back({{"file", b.file},
				                {"line", b.line},
				                {"func", b.func},
				                {"cond", b.cond},
				                {"taken", bool(d)},
				                {"id", Coverage::direction_id(vc.variant, b, d)},
				                {"runs", s.dir[d].runs},
				                {"names", s.dir[d].names}});
		}
		v["branches"] = list;
		j.push_back(v);
	}
	return j;
}

std::string coverage_markdown(const std::vector<Coverage::VariantCov> &table)
{
	const auto &sites = branch_sites();
	std::ostringstream o;
	o << "| variant | file | directions covered |\n| --- | --- | --- |\n";
	for (const auto &vc : table) {
		o << "| `" << variant_name(vc.variant) << "` | all | "
		  << fraction(vc.covered(), vc.directions()) << " |\n";
		for (const auto &f : per_file(vc))
			o << "| | `" << f.file << "` | " << fraction(f.covered, f.total) << " |\n";
	}
	// Without line numbers, so that an edit above a decision leaves the page
	// as it is; the what-ifs' own lists are left to `--coverage`.
	o << "\nDirections of the kernel versions no case takes:\n\n";
	size_t n = 0;
	for (const auto &vc : table)
		if (variant_base(vc.variant) == vc.variant)
			for (const auto &s : vc.sites)
				for (int d = 1; d >= 0; d--)
					if (!s.dir[d].runs) {
						const BranchSite &b = sites[s.site];
						o << "- `" << variant_name(vc.variant) << "` `"
						  << b.file << "` `" << b.func << "`: `" << b.cond
						  << "` " << dir_name(d) << "\n";
						n++;
					}
	if (!n)
		o << "- none\n";
	return o.str();
}

} // namespace untorn
