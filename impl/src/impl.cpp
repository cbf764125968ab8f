// impl/'s public entry points: geometry conversions, names, and the run of one
// write under a variant.  (Compiled for the prover too: see value.h.
// Validation and the trace's readable form are in validate.cpp and format.cpp.)
#include "untorn/impl.h"

#include "../variants/variants.h"
#include "xfs_kernel.h"

#include <algorithm>
#include <sstream>

namespace untorn {

u32 Geometry::agblklog() const { return ilog2_roundup(ag_blocks); }

// XFS_FSB_TO_DADDR in fs blocks: agno * agblocks + agbno.
xfs_daddr_blk_t xfs_fsb_to_db(const Geometry &g, xfs_fsblock_t fsbno)
{
	return xfs_daddr_blk_t(xfs_fsb_to_agno(g, fsbno)) * g.ag_blocks + xfs_fsb_to_agbno(g, fsbno);
}
// (agno is returned whole: validation refuses fsblocks past the last AG)
xfs_agnumber_t xfs_fsb_to_agno(const Geometry &g, xfs_fsblock_t fsbno) { return fsbno >> g.agblklog(); }
xfs_agblock_t xfs_fsb_to_agbno(const Geometry &g, xfs_fsblock_t fsbno)
{
	return fsbno & ((xfs_fsblock_t(1) << g.agblklog()) - 1);
}
xfs_fsblock_t xfs_agb_to_fsb(const Geometry &g, xfs_agnumber_t agno, xfs_agblock_t agbno)
{
	return (xfs_fsblock_t(agno) << g.agblklog()) | agbno;
}

// The table of variants (impl/variants/variants.cmake) answers everything
// about a variant; nothing here knows one by name.
static const kern::VariantRow &row(Variant v)
{
	return kern::variant_rows[size_t(v)];
}

std::span<const Variant> every_variant()
{
	static const std::vector<Variant> all = [] {
		std::vector<Variant> vs;
		for (size_t i = 0; i < kern::variant_row_count; i++)
			vs.push_back(Variant(i));
		return vs;
	}();
	return all;
}

const std::vector<std::string> &variant_names()
{
	static const std::vector<std::string> names = [] {
		std::vector<std::string> ns;
		for (Variant v : every_variant())
			ns.emplace_back(variant_name(v));
		return ns;
	}();
	return names;
}

std::string variant_names_text()
{
	std::string s = "one of ";
	for (const auto &n : variant_names())
		s += (&n == &variant_names().front() ? "\"" : ", \"") + n + "\"";
	return s;
}

std::string_view variant_name(Variant v)
{
	return size_t(v) < kern::variant_row_count ? row(v).name : "?";
}

Variant variant_base(Variant v)
{
	return row(v).base;
}

std::string_view variant_source(Variant v)
{
	return row(v).source;
}

std::string_view variant_origin(Variant v)
{
	return row(v).origin;
}

AtomicBioRule variant_atomic_bio_rule(Variant v)
{
	return row(v).atomic_bio_rule;
}

static constexpr std::pair<InterleaveKind, std::string_view> interleave_names[] = {
	{InterleaveKind::buffered_cow_reservation, "buffered_cow_reservation"},
	{InterleaveKind::writeback_convert, "writeback_convert"},
	{InterleaveKind::end_cow_other, "end_cow_other"},
	{InterleaveKind::refcount_drop, "refcount_drop"},
};
std::string_view interleave_kind_name(InterleaveKind k)
{
	for (const auto &[kind, name] : interleave_names)
		if (kind == k)
			return name;
	return "?";
}
std::optional<InterleaveKind> interleave_kind_from_name(std::string_view name)
{
	for (const auto &[kind, n] : interleave_names)
		if (n == name)
			return kind;
	return std::nullopt;
}

std::optional<Variant> variant_from_name(std::string_view name)
{
	for (Variant v : every_variant())
		if (variant_name(v) == name)
			return v;
	return std::nullopt;
}

std::string_view path_name(Path p)
{
	switch (p) {
	case Path::none: return "none";
	case Path::hw: return "hw";
	case Path::sw: return "sw";
	}
	return "?";
}

std::string_view ops_name(Ops o)
{
	return o == Ops::direct_write ? "xfs_direct_write_iomap_ops" : "xfs_atomic_write_cow_iomap_ops";
}

static const std::pair<int, const char *> errnos[] = {
	{0, "ok"},	       {EIO, "EIO"},	     {EAGAIN, "EAGAIN"},	 {ENOMEM, "ENOMEM"},
	{EINVAL, "EINVAL"},    {ENOSPC, "ENOSPC"},   {EOPNOTSUPP, "EOPNOTSUPP"}, {ENOPROTOOPT, "ENOPROTOOPT"},
	{EFSCORRUPTED, "EFSCORRUPTED"},
};

std::string_view errno_name(int e)
{
	for (auto &[n, s] : errnos)
		if (n == e)
			return s;
	return "E?";
}

std::optional<int> errno_from_name(std::string_view name)
{
	for (auto &[n, s] : errnos)
		if (name == s)
			return n;
	return std::nullopt;
}

std::string_view iomap_type_name(IomapType t)
{
	switch (t) {
	case IomapType::HOLE: return "IOMAP_HOLE";
	case IomapType::DELALLOC: return "IOMAP_DELALLOC";
	case IomapType::MAPPED: return "IOMAP_MAPPED";
	case IomapType::UNWRITTEN: return "IOMAP_UNWRITTEN";
	}
	return "?";
}

static std::string flag_list(unsigned flags, std::initializer_list<std::pair<unsigned, const char *>> names)
{
	std::string s;
	for (auto &[bit, name] : names)
		if (flags & bit) {
			if (!s.empty())
				s.push_back('|');
			s.append(name);
		}
	return s.empty() ? "0" : s;
}

std::string iomap_flags_str(unsigned f)
{
	return flag_list(f, {{IOMAP_WRITE, "IOMAP_WRITE"},
			     {IOMAP_ZERO, "IOMAP_ZERO"},
			     {IOMAP_DIRECT, "IOMAP_DIRECT"},
			     {IOMAP_NOWAIT, "IOMAP_NOWAIT"},
			     {IOMAP_DAX, "IOMAP_DAX"},
			     {IOMAP_ATOMIC, "IOMAP_ATOMIC"},
			     {IOMAP_ATOMIC_COW, "IOMAP_ATOMIC_COW"}});
}

std::string iomap_fflags_str(unsigned f)
{
	return flag_list(f, {{IOMAP_F_NEW, "IOMAP_F_NEW"},
			     {IOMAP_F_DIRTY, "IOMAP_F_DIRTY"},
			     {IOMAP_F_SHARED, "IOMAP_F_SHARED"},
			     {IOMAP_F_ATOMIC_BIO, "IOMAP_F_ATOMIC_BIO"},
			     {IOMAP_F_ATOMIC_COW, "IOMAP_F_ATOMIC_COW"}});
}

std::string format_extent(const xfs_bmbt_irec &e)
{
	TextOnly text;
	std::ostringstream o;
	o << "[" << to_text(e.br_startoff) << "+" << to_text(e.br_blockcount) << " ";
	if (e.br_startblock == HOLESTARTBLOCK)
		o << "hole";
	else if (e.br_startblock == DELAYSTARTBLOCK)
		o << "delalloc";
	else
		o << "@" << to_text(e.br_startblock) << (e.br_state == XFS_EXT_UNWRITTEN ? " unwritten" : "");
	o << "]";
	return o.str();
}

std::string decision_signature(const Trace &t)
{
	std::string s;
	auto add = [&](const std::vector<Branch> &bs) {
		for (const auto &b : bs)
			s += std::string(b.func) + ":" + std::to_string(b.line) + ":" + (b.taken ? "1" : "0") + ";";
	};
	add(t.file_branches);
	for (const auto &c : t.calls)
		add(c.branches);
	return s;
}

// ------------------------------------------------------------------ running

static void init_inode(kern::xfs_inode &ip, const FileState &st, Trace &t)
{
	ip.geo = st.geo;
	ip.dev = st.dev;
	ip.i_df = st.data_fork;
	ip.i_cowfp = st.cow_fork;
	ip.refc = st.refcount;
	ip.env = st.env;
	ip.alloc.script = &st.alloc;
	ip.alloc.policy = st.alloc_policy;
	ip.trace = &t;
	ip.file_branches = &t.file_branches;
	ip.interleave = st.interleave.empty() ? nullptr : &st.interleave;
}

AtomicLimits atomic_write_limits(const FileState &st, Variant v)
{
	Trace t;
	t.variant = v;
	t.initial = st;
	kern::xfs_inode ip;
	init_inode(ip, st, t);
	return row(v).limits(&ip);
}

FileState run_other_actor(const FileState &st, const InterleaveAction &a)
{
	Trace t;
	t.initial = st;
	kern::xfs_inode ip;
	init_inode(ip, st, t);
	ip.other_actor = true;
	kern::xfs_other_actor(&ip, a);
	FileState out = st;
	out.data_fork = ip.i_df;
	out.cow_fork = ip.i_cowfp;
	out.refcount = ip.refc;
	return out;
}

Trace run_atomic_write(const FileState &st, const WriteReq &w, Variant v)
{
	Trace t;
	t.variant = v;
	t.write = w;
	t.initial = st;

	kern::xfs_inode ip;
	init_inode(ip, st, t);

	kern::ssize_ret ret = row(v).write_iter(&ip, w);
	if (!t.admitted)
		t.path = Path::none;
	t.result = -ret.error;
	t.bytes_written = ret.error ? 0 : ret.nbytes;
	t.final_state = st;
	t.final_state.data_fork = ip.i_df;
	t.final_state.cow_fork = ip.i_cowfp;
	t.final_state.refcount = ip.refc;
	return t;
}

} // namespace untorn
