// The untorn-case/1 loader (docs/case-format.md states these rules for users).  Strict: every
// field is type- and range-checked, unknown fields are errors unless they
// start with "x_", and the state is validated before anything runs.
#include "untorn/checker.h"
#include "untorn/model.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <unistd.h>

namespace untorn {

using json = nlohmann::json;
namespace fs = std::filesystem;

CaseError::CaseError(std::string f, std::string p, std::string e)
	: std::runtime_error(f + ": " + (p.empty() ? "" : p + ": ") + e), file(std::move(f)),
	  path(std::move(p)), expected(std::move(e))
{
}

static constexpr uint64_t max_case_bytes = 16 << 20; // a case is small; refuse huge files
static constexpr int max_json_depth = 16;
static constexpr size_t max_interleave_actions = 16; // x_interleave: a few actions

namespace {

struct Reader {
	std::string file;

	[[noreturn]] void fail(const std::string &path, const std::string &what) const
	{
		throw CaseError(file, path, what);
	}

	static std::string kind(const json &j)
	{
		if (j.is_null())
			return "null";
		if (j.is_boolean())
			return "a boolean";
		if (j.is_number_float())
			return "the number " + j.dump();
		if (j.is_number_integer() && j.get<int64_t>() < 0)
			return "the negative number " + j.dump();
		if (j.is_number())
			return "the number " + j.dump();
		if (j.is_string())
			return "a string";
		if (j.is_array())
			return "an array";
		return "an object";
	}

	const json &field(const json &obj, const std::string &path, const char *key) const
	{
		auto it = obj.find(key);
		if (it == obj.end())
			fail(path.empty() ? key : path + "." + key, "missing; expected " + std::string(key));
		return *it;
	}

	uint64_t uint(const json &j, const std::string &path, uint64_t max) const
	{
		if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<int64_t>() >= 0))
			fail(path, "expected an unsigned integer, got " + kind(j));
		uint64_t v = j.get<uint64_t>();
		if (v > max)
			fail(path, "expected an unsigned integer at most " + std::to_string(max) + ", got " + j.dump());
		return v;
	}

	uint64_t uint_field(const json &obj, const std::string &path, const char *key, uint64_t max) const
	{
		return uint(field(obj, path, key), path.empty() ? key : path + "." + key, max);
	}

	std::string str(const json &j, const std::string &path) const
	{
		if (!j.is_string())
			fail(path, "expected a string, got " + kind(j));
		return j.get<std::string>();
	}

	bool boolean(const json &j, const std::string &path) const
	{
		if (!j.is_boolean())
			fail(path, "expected true or false, got " + kind(j));
		return j.get<bool>();
	}

	const json &object(const json &j, const std::string &path) const
	{
		if (!j.is_object())
			fail(path, "expected an object, got " + kind(j));
		return j;
	}

	const json &array(const json &j, const std::string &path) const
	{
		if (!j.is_array())
			fail(path, "expected an array, got " + kind(j));
		return j;
	}

	void only_keys(const json &obj, const std::string &path, std::initializer_list<const char *> keys) const
	{
		for (auto it = obj.begin(); it != obj.end(); ++it) {
			const std::string &k = it.key();
			if (k.rfind("x_", 0) == 0)
				continue;
			if (std::none_of(keys.begin(), keys.end(), [&](const char *x) { return k == x; })) {
				std::string expected;
				for (const char *x : keys)
					expected += (expected.empty() ? "" : ", ") + std::string(x);
				fail(path.empty() ? k : path + "." + k,
				     "unknown field; expected one of " + expected + " (or a field starting with x_)");
			}
		}
	}

	xfs_bmbt_irec extent(const json &j, const std::string &path, bool cow) const
	{
		object(j, path);
		only_keys(j, path, {"startoff", "startblock", "blockcount", "state"});
		xfs_bmbt_irec e;
		e.br_startoff = uint_field(j, path, "startoff", 1ULL << 54);
		e.br_blockcount = uint_field(j, path, "blockcount", 1ULL << 21);
		std::string state = str(field(j, path, "state"), path + ".state");
		if (state == "norm")
			e.br_state = XFS_EXT_NORM;
		else if (state == "unwritten")
			e.br_state = XFS_EXT_UNWRITTEN;
		else if (state == "delalloc" && cow)
			e.br_startblock = DELAYSTARTBLOCK;
		else
			fail(path + ".state", std::string("expected ") + (cow ? "\"norm\", \"unwritten\" or \"delalloc\"" : "\"norm\" or \"unwritten\"") +
						      ", got \"" + state + "\"");
		if (e.br_startblock != DELAYSTARTBLOCK)
			e.br_startblock = uint_field(j, path, "startblock", (1ULL << 52));
		else if (j.contains("startblock"))
			fail(path + ".startblock", "a delalloc extent has no startblock");
		return e;
	}
};

int json_depth(const json &j)
{
	int d = 0;
	if (j.is_structured())
		for (const auto &x : j)
			d = std::max(d, json_depth(x));
	return d + (j.is_structured() ? 1 : 0);
}

} // namespace

Case parse_case(const std::string &text, const std::string &file)
{
	Reader r{file};
	json j;
	// Refuse deep nesting before recursing into it.
	int depth = 0, maxdepth = 0;
	bool in_str = false;
	for (size_t i = 0; i < text.size(); i++) {
		char ch = text[i];
		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
		} else if (ch == '"')
			in_str = true;
		else if (ch == '[' || ch == '{')
			maxdepth = std::max(maxdepth, ++depth);
		else if (ch == ']' || ch == '}')
			depth--;
	}
	if (maxdepth > max_json_depth)
		r.fail("", "JSON nested " + std::to_string(maxdepth) + " levels deep; a case is at most " +
				   std::to_string(max_json_depth));
	try {
		j = json::parse(text);
	} catch (const json::exception &e) { // parse errors, and numbers out of range (1e400)
		r.fail("", std::string("not valid JSON: ") + e.what());
	}
	(void)json_depth;
	r.object(j, "(top level)");
	r.only_keys(j, "", {"format", "name", "note", "variant", "geometry", "device", "data_fork", "cow_fork",
			    "refcount", "alloc", "write", "expect", "x_alloc_policy", "x_inode_dax", "x_iter_flags", "x_interleave"});
	if (std::string f = r.str(r.field(j, "", "format"), "format"); f != "untorn-case/1")
		r.fail("format", "expected \"untorn-case/1\", got \"" + f + "\"");

	Case c;
	c.file = file;
	c.name = r.str(r.field(j, "", "name"), "name");
	if (j.contains("note"))
		c.note = r.str(j["note"], "note");
	std::string vname = r.str(r.field(j, "", "variant"), "variant");
	auto v = variant_from_name(vname);
	if (!v) {
		std::string names;
		for (const auto &n : accepted_variant_names())
			names += (names.empty() ? "\"" : ", \"") + n + "\"";
		r.fail("variant", "expected one of " + names + "; got \"" + vname + "\"");
	}
	c.variant = *v;

	const json &g = r.object(r.field(j, "", "geometry"), "geometry");
	r.only_keys(g, "geometry", {"block_size", "ag_blocks", "ag_count", "reflink", "cowextsize"});
	auto &geo = c.state.geo;
	geo.block_size = uint32_t(r.uint_field(g, "geometry", "block_size", 1u << 20));
	geo.ag_blocks = uint32_t(r.uint_field(g, "geometry", "ag_blocks", 1ULL << 31));
	geo.ag_count = uint32_t(r.uint_field(g, "geometry", "ag_count", 1u << 20));
	geo.reflink = r.boolean(r.field(g, "geometry", "reflink"), "geometry.reflink");
	geo.cowextsize = uint32_t(r.uint_field(g, "geometry", "cowextsize", 1u << 21));
	if (g.contains("x_max_atomic_ioend"))
		geo.max_atomic_ioend = uint32_t(r.uint(g["x_max_atomic_ioend"], "geometry.x_max_atomic_ioend", 1u << 30));

	const json &d = r.object(r.field(j, "", "device"), "device");
	r.only_keys(d, "device", {"awu_min", "awu_max"});
	c.state.dev.awu_min = uint32_t(r.uint_field(d, "device", "awu_min", 1u << 30));
	c.state.dev.awu_max = uint32_t(r.uint_field(d, "device", "awu_max", 1u << 30));

	auto extents = [&](const char *key, bool cow, std::vector<xfs_bmbt_irec> &out, bool required) {
		if (!j.contains(key)) {
			if (required)
				r.fail(key, "missing; expected an array of extents");
			return;
		}
		const json &a = r.array(j[key], key);
		for (size_t i = 0; i < a.size(); i++)
			out.push_back(r.extent(a[i], std::string(key) + "[" + std::to_string(i) + "]", cow));
	};
	extents("data_fork", false, c.state.data_fork, true);
	extents("cow_fork", true, c.state.cow_fork, false);

	if (j.contains("refcount")) {
		const json &a = r.array(j["refcount"], "refcount");
		for (size_t i = 0; i < a.size(); i++) {
			std::string p = "refcount[" + std::to_string(i) + "]";
			r.object(a[i], p);
			r.only_keys(a[i], p, {"startblock", "blockcount", "refcount"});
			xfs_refcount_irec rc;
			rc.rc_startblock = r.uint_field(a[i], p, "startblock", 1ULL << 52);
			rc.rc_blockcount = r.uint_field(a[i], p, "blockcount", 1ULL << 21);
			rc.rc_refcount = uint32_t(r.uint_field(a[i], p, "refcount", 1u << 31));
			c.state.refcount.push_back(rc);
		}
	}
	if (j.contains("alloc")) {
		const json &a = r.array(j["alloc"], "alloc");
		for (size_t i = 0; i < a.size(); i++) {
			std::string p = "alloc[" + std::to_string(i) + "]";
			r.object(a[i], p);
			r.only_keys(a[i], p, {"startblock", "blockcount"});
			c.state.alloc.push_back({r.uint_field(a[i], p, "startblock", 1ULL << 52),
						 r.uint_field(a[i], p, "blockcount", 1ULL << 21)});
		}
	}

	if (j.contains("x_alloc_policy")) {
		std::string p = r.str(j["x_alloc_policy"], "x_alloc_policy");
		if (p == "script-only")
			c.state.alloc_policy = AllocPolicy::script_only;
		else if (p != "default")
			r.fail("x_alloc_policy", "expected \"default\" or \"script-only\", got \"" + p + "\"");
	}
	if (j.contains("x_inode_dax"))
		c.state.env.inode_dax = r.boolean(j["x_inode_dax"], "x_inode_dax");
	if (j.contains("x_iter_flags")) {
		const json &a = r.array(j["x_iter_flags"], "x_iter_flags");
		c.state.env.iter_flags = 0;
		for (size_t i = 0; i < a.size(); i++) {
			std::string p = "x_iter_flags[" + std::to_string(i) + "]";
			std::string f = r.str(a[i], p);
			if (f == "IOMAP_DIRECT")
				c.state.env.iter_flags |= ITER_DIRECT;
			else if (f == "IOMAP_DAX")
				c.state.env.iter_flags |= ITER_DAX;
			else
				r.fail(p, "expected \"IOMAP_DIRECT\" or \"IOMAP_DAX\", got \"" + f + "\"");
		}
	}

	const json &w = r.object(r.field(j, "", "write"), "write");
	r.only_keys(w, "write", {"offset", "length"});
	c.write.offset = r.uint_field(w, "write", "offset", 1ULL << 62);
	c.write.length = r.uint_field(w, "write", "length", 1ULL << 40);

	if (j.contains("expect")) {
		const json &e = r.object(j["expect"], "expect");
		r.only_keys(e, "expect", {"result", "path", "verdict", "invariants"});
		if (e.contains("result")) {
			std::string s = r.str(e["result"], "expect.result");
			auto n = errno_from_name(s);
			if (!n)
				r.fail("expect.result", "expected \"ok\" or an errno name such as \"EINVAL\", got \"" + s + "\"");
			c.expect.result = *n;
		}
		if (e.contains("path")) {
			std::string s = r.str(e["path"], "expect.path");
			if (s == "hw")
				c.expect.path = Path::hw;
			else if (s == "sw")
				c.expect.path = Path::sw;
			else if (s == "none")
				c.expect.path = Path::none;
			else
				r.fail("expect.path", "expected \"hw\", \"sw\" or \"none\", got \"" + s + "\"");
		}
		if (e.contains("verdict")) {
			std::string s = r.str(e["verdict"], "expect.verdict");
			if (s != "clean" && s != "violation" && s != "divergence")
				r.fail("expect.verdict", "expected \"clean\", \"violation\" or \"divergence\", got \"" + s + "\"");
			c.expect.verdict = s;
		}
		if (e.contains("invariants")) {
			const json &a = r.array(e["invariants"], "expect.invariants");
			for (size_t i = 0; i < a.size(); i++)
				c.expect.invariants.push_back(r.str(a[i], "expect.invariants[" + std::to_string(i) + "]"));
		}
	}

	// Interleavings: another actor at the write's ILOCK drop points (impl.h).
	if (j.contains("x_interleave")) {
		const json &a = r.array(j["x_interleave"], "x_interleave");
		if (a.size() > max_interleave_actions)
			r.fail("x_interleave", "has " + std::to_string(a.size()) + " actions; at most " +
						       std::to_string(max_interleave_actions));
		for (size_t i = 0; i < a.size(); i++) {
			std::string p = "x_interleave[" + std::to_string(i) + "]";
			r.object(a[i], p);
			r.only_keys(a[i], p, {"at", "action", "offset", "count"});
			InterleaveAction act;
			act.at = unsigned(r.uint_field(a[i], p, "at", 64));
			std::string name = r.str(r.field(a[i], p, "action"), p + ".action");
			auto k = interleave_kind_from_name(name);
			if (!k)
				r.fail(p + ".action",
				       "expected \"buffered_cow_reservation\", \"writeback_convert\", \"end_cow_other\" or "
				       "\"refcount_drop\", got \"" + name + "\"");
			act.action = *k;
			act.offset = r.uint_field(a[i], p, "offset", 1ULL << 54);
			act.count = r.uint_field(a[i], p, "count", 1ULL << 21);
			c.state.interleave.push_back(act);
		}
	}

	auto errs = validate_state(c.state, c.write); // (x_interleave's ranges too)
	if (!errs.empty())
		r.fail(errs.front().path, errs.front().what);
	return c;
}

Case load_case_file(const fs::path &file)
{
	std::error_code ec;
	const std::string name = file.string();
	if (fs::is_directory(file, ec))
		throw CaseError(name, "", "is a directory; expected a case file (use `untorn replay DIR` for folders)");
	if (!fs::exists(file, ec))
		throw CaseError(name, "", "no such file");
	auto size = fs::file_size(file, ec);
	if (ec)
		throw CaseError(name, "", "cannot read: " + ec.message());
	if (size > max_case_bytes)
		throw CaseError(name, "", "file is " + std::to_string(size) + " bytes; a case is at most " +
						  std::to_string(max_case_bytes));
	std::ifstream in(file, std::ios::binary);
	if (!in)
		throw CaseError(name, "", "cannot open for reading (permissions?)");
	std::ostringstream ss;
	ss << in.rdbuf();
	if (in.bad())
		throw CaseError(name, "", "read error");
	return parse_case(ss.str(), name);
}

std::optional<Case> load_case_or_report(const fs::path &file)
{
	try {
		return load_case_file(file);
	} catch (const CaseError &e) {
		std::cerr << "untorn: " << e.what() << "\n";
		return std::nullopt;
	}
}

bool load_cases_or_report(const std::vector<fs::path> &files, std::vector<Case> &out)
{
	bool ok = true;
	for (const auto &f : files) {
		try {
			out.push_back(load_case_file(f));
		} catch (const CaseError &e) {
			std::cerr << "untorn: " << e.what() << "\n";
			ok = false;
		}
	}
	return ok;
}

std::vector<std::string> accepted_variant_names()
{
	return variant_names(); // the variant table's: kernel versions, then patches
}

static nlohmann::ordered_json extent_json(const xfs_bmbt_irec &e)
{
	nlohmann::ordered_json j = nlohmann::ordered_json::object();
	j["startoff"] = e.br_startoff;
	if (e.br_startblock != DELAYSTARTBLOCK)
		j["startblock"] = e.br_startblock;
	j["blockcount"] = e.br_blockcount;
	j["state"] = e.br_startblock == DELAYSTARTBLOCK ? "delalloc"
		     : e.br_state == XFS_EXT_UNWRITTEN    ? "unwritten"
							  : "norm";
	return j;
}

std::string case_to_json(const Case &c)
{
	// nlohmann's ordered_json keeps insertion order: the contract's order.
	nlohmann::ordered_json j;
	j["format"] = "untorn-case/1";
	j["name"] = c.name;
	if (!c.note.empty())
		j["note"] = c.note;
	j["variant"] = std::string(variant_name(c.variant));
	const auto &g = c.state.geo;
	j["geometry"] = {{"block_size", g.block_size}, {"ag_blocks", g.ag_blocks}, {"ag_count", g.ag_count},
			 {"reflink", g.reflink},	   {"cowextsize", g.cowextsize}};
	if (g.max_atomic_ioend != Geometry{}.max_atomic_ioend)
		j["geometry"]["x_max_atomic_ioend"] = g.max_atomic_ioend;
	j["device"] = {{"awu_min", c.state.dev.awu_min}, {"awu_max", c.state.dev.awu_max}};
	auto fork = [](const std::vector<xfs_bmbt_irec> &f) {
		nlohmann::ordered_json a = nlohmann::ordered_json::array();
		for (const auto &e : f)
			a.push_back(extent_json(e));
		return a;
	};
	j["data_fork"] = fork(c.state.data_fork);
	j["cow_fork"] = fork(c.state.cow_fork);
	j["refcount"] = nlohmann::ordered_json::array();
	for (const auto &r : c.state.refcount)
		j["refcount"].push_back({{"startblock", r.rc_startblock}, {"blockcount", r.rc_blockcount}, {"refcount", r.rc_refcount}});
	j["alloc"] = nlohmann::ordered_json::array();
	for (const auto &a : c.state.alloc)
		j["alloc"].push_back({{"startblock", a.startblock}, {"blockcount", a.blockcount}});
	if (c.state.alloc_policy == AllocPolicy::script_only)
		j["x_alloc_policy"] = "script-only";
	if (c.state.env.inode_dax)
		j["x_inode_dax"] = true;
	if (c.state.env.iter_flags != IterEnv{}.iter_flags) {
		j["x_iter_flags"] = nlohmann::ordered_json::array();
		if (c.state.env.iter_flags & ITER_DIRECT)
			j["x_iter_flags"].push_back("IOMAP_DIRECT");
		if (c.state.env.iter_flags & ITER_DAX)
			j["x_iter_flags"].push_back("IOMAP_DAX");
	}
	if (!c.state.interleave.empty()) {
		j["x_interleave"] = nlohmann::ordered_json::array();
		for (const auto &a : c.state.interleave)
			j["x_interleave"].push_back({{"at", a.at},
						     {"action", std::string(interleave_kind_name(a.action))},
						     {"offset", a.offset},
						     {"count", a.count}});
	}
	j["write"] = {{"offset", c.write.offset}, {"length", c.write.length}};
	nlohmann::ordered_json e = nlohmann::ordered_json::object();
	if (c.expect.result)
		e["result"] = std::string(errno_name(*c.expect.result));
	if (c.expect.path)
		e["path"] = std::string(path_name(*c.expect.path));
	if (c.expect.verdict)
		e["verdict"] = *c.expect.verdict;
	if (!c.expect.invariants.empty())
		e["invariants"] = c.expect.invariants;
	if (!e.empty())
		j["expect"] = e;
	return j.dump(2) + "\n";
}

void write_file_atomically(const fs::path &dest, const std::string &text)
{
	fs::path dir = dest.has_parent_path() ? dest.parent_path() : fs::path(".");
	fs::path tmp = dir / ("." + dest.filename().string() + ".tmp." + std::to_string(::getpid()));
	{
		std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
		if (!out)
			throw std::runtime_error(dest.string() + ": cannot create (is " + dir.string() +
						 " a writable folder?)");
		out << text;
		out.flush();
		if (!out) {
			std::error_code ec;
			fs::remove(tmp, ec);
			throw std::runtime_error(tmp.string() + ": write failed");
		}
	}
	std::error_code ec;
	fs::rename(tmp, dest, ec);
	if (ec) {
		fs::remove(tmp, ec);
		throw std::runtime_error(dest.string() + ": cannot rename into place: " + ec.message());
	}
}

std::vector<fs::path> collect_case_files(const std::vector<std::string> &args)
{
	std::set<fs::path> out;
	for (const auto &a : args) {
		std::error_code ec;
		if (fs::is_directory(a, ec)) {
			for (auto it = fs::recursive_directory_iterator(a, ec); !ec && it != fs::recursive_directory_iterator();
			     it.increment(ec))
				// report.json is untorn check's summary, not a case
				if (it->is_regular_file() && it->path().extension() == ".json" &&
				    it->path().filename() != "report.json")
					out.insert(it->path());
		} else {
			out.insert(fs::path(a));
		}
	}
	return {out.begin(), out.end()};
}

std::string outcome_json(const Case &c, const Trace &t, const Judgement &jd)
{
	nlohmann::ordered_json j;
	j["name"] = c.name;
	j["file"] = c.file;
	j["variant"] = std::string(variant_name(c.variant));
	j["result"] = t.result ? std::string(errno_name(t.result)) : std::string("ok");
	j["path"] = std::string(path_name(t.path));
	j["bytes_written"] = t.bytes_written;
	j["iomap_begin_calls"] = t.calls.size();
	j["bios"] = t.bios.size();
	j["transactions"] = t.txns.size();
	j["verdict"] = std::string(verdict_name(jd.verdict));
	j["invariants"] = jd.broken_names();
	return j.dump();
}

} // namespace untorn
