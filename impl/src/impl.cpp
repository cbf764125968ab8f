// impl/'s public entry points: geometry conversions, state validation, the
// run of one write under a variant, and the trace's readable form.
#include "untorn/impl.h"

#include "../variants/variants.h"
#include "xfs_kernel.h"

#include <algorithm>
#include <sstream>

namespace untorn {

uint32_t Geometry::agblklog() const
{
	uint32_t log = 0;
	while ((1ULL << log) < ag_blocks)
		log++;
	return log;
}

// XFS_FSB_TO_DADDR in fs blocks: agno * agblocks + agbno.
xfs_daddr_blk_t xfs_fsb_to_db(const Geometry &g, xfs_fsblock_t fsbno)
{
	return uint64_t(xfs_fsb_to_agno(g, fsbno)) * g.ag_blocks + xfs_fsb_to_agbno(g, fsbno);
}
uint32_t xfs_fsb_to_agno(const Geometry &g, xfs_fsblock_t fsbno) { return uint32_t(fsbno >> g.agblklog()); }
uint32_t xfs_fsb_to_agbno(const Geometry &g, xfs_fsblock_t fsbno)
{
	return uint32_t(fsbno & ((1ULL << g.agblklog()) - 1));
}
xfs_fsblock_t xfs_agb_to_fsb(const Geometry &g, uint32_t agno, uint32_t agbno)
{
	return (xfs_fsblock_t(agno) << g.agblklog()) | agbno;
}

std::string_view variant_name(Variant v)
{
	switch (v) {
	case Variant::rfc_v1: return "rfc-v1";
	case Variant::v6_16: return "v6.16";
	case Variant::v6_18: return "v6.18";
	}
	return "?";
}

std::optional<Variant> variant_from_name(std::string_view name)
{
	for (Variant v : all_variants)
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
	std::ostringstream o;
	o << "[" << e.br_startoff << "+" << e.br_blockcount << " ";
	if (e.br_startblock == HOLESTARTBLOCK)
		o << "hole";
	else if (e.br_startblock == DELAYSTARTBLOCK)
		o << "delalloc";
	else
		o << "@" << e.br_startblock << (e.br_state == XFS_EXT_UNWRITTEN ? " unwritten" : "");
	o << "]";
	return o.str();
}

// ------------------------------------------------------------ validation

namespace {
struct Validator {
	const FileState &st;
	std::vector<StateError> errs;

	void err(std::string path, std::string what) { errs.push_back({std::move(path), std::move(what)}); }

	bool inside_ags(xfs_fsblock_t start, xfs_filblks_t count, const std::string &path)
	{
		const Geometry &g = st.geo;
		const uint64_t agno = start >> g.agblklog(); // all of it: a uint32 agno would wrap
		const uint32_t agbno = xfs_fsb_to_agbno(g, start);
		if (agno >= g.ag_count || agbno >= g.ag_blocks) {
			err(path + ".startblock", "fsblock " + std::to_string(start) + " is outside the AGs (agno " +
							  std::to_string(agno) + ", agbno " + std::to_string(agbno) +
							  "; ag_count " + std::to_string(g.ag_count) + ", ag_blocks " +
							  std::to_string(g.ag_blocks) + ")");
			return false;
		}
		if (uint64_t(agbno) + count > g.ag_blocks) {
			err(path + ".blockcount", "extent runs past the end of AG " + std::to_string(agno) +
							  " (agbno " + std::to_string(agbno) + " + " +
							  std::to_string(count) + " > ag_blocks " +
							  std::to_string(g.ag_blocks) + ")");
			return false;
		}
		if (start == 0) {
			err(path + ".startblock", "fsblock 0 is the superblock, never file data");
			return false;
		}
		return true;
	}

	void fork(const std::vector<xfs_bmbt_irec> &f, const std::string &name, bool cow)
	{
		for (size_t i = 0; i < f.size(); i++) {
			const auto &e = f[i];
			std::string p = name + "[" + std::to_string(i) + "]";
			if (e.br_blockcount == 0)
				err(p + ".blockcount", "must be at least 1");
			if (e.br_startoff + e.br_blockcount < e.br_startoff || e.br_startoff + e.br_blockcount > (1ULL << 54))
				err(p + ".blockcount", "startoff + blockcount overflows the file offset range (2^54 blocks)");
			if (e.br_startblock == DELAYSTARTBLOCK) {
				if (!cow)
					err(p + ".state", "delalloc extents are only allowed in the CoW fork");
			} else if (e.br_blockcount) {
				inside_ags(e.br_startblock, e.br_blockcount, p);
			}
			if (i > 0 && f[i - 1].end() > e.br_startoff)
				err(p + ".startoff", "extents must be sorted by startoff and must not overlap (previous ends at " +
							     std::to_string(f[i - 1].end()) + ")");
		}
	}

	struct Range {
		uint64_t s, e; // [s, e) physical
		std::string path;
	};
	static std::vector<Range> sorted(std::vector<Range> v)
	{
		// stable: among equal starts, the case's own order decides what is reported
		std::stable_sort(v.begin(), v.end(), [](const Range &a, const Range &b) { return a.s < b.s; });
		return v;
	}
	// The first pair of overlapping ranges within one sorted list.
	static const Range *overlap_within(const std::vector<Range> &v, const Range **other)
	{
		const Range *reach = nullptr; // the range reaching furthest so far
		for (const auto &r : v) {
			if (reach && r.s < reach->e) {
				*other = reach;
				return &r;
			}
			if (!reach || r.e > reach->e)
				reach = &r;
		}
		return nullptr;
	}
	// The first range of a that overlaps a range of b (both sorted).
	static const Range *overlap_between(const std::vector<Range> &a, const std::vector<Range> &b, const Range **other)
	{
		size_t j = 0;
		for (const auto &r : a) {
			while (j < b.size() && b[j].e <= r.s)
				j++;
			for (size_t k = j; k < b.size() && b[k].s < r.e; k++)
				if (b[k].e > r.s) {
					*other = &b[k];
					return &r;
				}
		}
		return nullptr;
	}
	Range fork_range(const std::vector<xfs_bmbt_irec> &f, size_t i, const char *name)
	{
		return {f[i].br_startblock, f[i].br_startblock + f[i].br_blockcount,
			std::string(name) + "[" + std::to_string(i) + "]"};
	}

	// Blocks owned by this file's forks and the allocator's answers never
	// overlap; shared ranges cover written data-fork blocks only.  Sorted
	// sweeps: linear after sorting, whatever the number of extents.
	void physical_overlaps()
	{
		std::vector<Range> owned, not_shareable, shared;
		for (size_t i = 0; i < st.data_fork.size(); i++)
			if (!isnullstartblock(st.data_fork[i].br_startblock)) {
				owned.push_back(fork_range(st.data_fork, i, "data_fork"));
				if (st.data_fork[i].br_state == XFS_EXT_UNWRITTEN)
					not_shareable.push_back(owned.back());
			}
		for (size_t i = 0; i < st.cow_fork.size(); i++)
			if (!isnullstartblock(st.cow_fork[i].br_startblock)) {
				owned.push_back(fork_range(st.cow_fork, i, "cow_fork"));
				not_shareable.push_back(owned.back());
			}
		for (size_t i = 0; i < st.alloc.size(); i++) {
			owned.push_back({st.alloc[i].startblock, st.alloc[i].startblock + st.alloc[i].blockcount,
					 "alloc[" + std::to_string(i) + "]"});
			not_shareable.push_back(owned.back());
		}
		for (size_t i = 0; i < st.refcount.size(); i++)
			shared.push_back({st.refcount[i].rc_startblock,
					  st.refcount[i].rc_startblock + st.refcount[i].rc_blockcount,
					  "refcount[" + std::to_string(i) + "]"});
		const Range *other = nullptr;
		auto o = sorted(owned);
		if (const Range *r = overlap_within(o, &other))
			err(r->path + ".startblock", "physical blocks overlap " + other->path);
		auto sh = sorted(shared), ns = sorted(not_shareable);
		if (const Range *r = overlap_between(sh, ns, &other))
			err(r->path, "a shared range overlaps " + other->path +
					     " (only written data-fork blocks can be shared; unwritten extents never are)");
	}

	void refcounts()
	{
		for (size_t i = 0; i < st.refcount.size(); i++) {
			const auto &r = st.refcount[i];
			std::string p = "refcount[" + std::to_string(i) + "]";
			if (r.rc_blockcount == 0)
				err(p + ".blockcount", "must be at least 1");
			else
				inside_ags(r.rc_startblock, r.rc_blockcount, p);
			if (r.rc_refcount < 2)
				err(p + ".refcount", "records list shared blocks: refcount must be at least 2");
			if (i > 0 && st.refcount[i - 1].rc_startblock + st.refcount[i - 1].rc_blockcount > r.rc_startblock)
				err(p + ".startblock", "records must be sorted and must not overlap");
		}
	}
};
} // namespace

std::vector<StateError> validate_state(const FileState &st, const WriteReq &w)
{
	Validator v{st, {}};
	const Geometry &g = st.geo;
	if (g.block_size < 512 || g.block_size > 65536 || (g.block_size & (g.block_size - 1)))
		v.err("geometry.block_size", "a power of two from 512 to 65536");
	if (g.ag_blocks < 2 || g.ag_blocks > (1u << 31))
		v.err("geometry.ag_blocks", "an integer from 2 to 2^31");
	if (g.ag_count < 1 || g.ag_count > 1024)
		v.err("geometry.ag_count", "an integer from 1 to 1024");
	// xfs_inode_validate_cowextsize: a hint above half an AG is refused
	if (g.cowextsize > g.ag_blocks / 2)
		v.err("geometry.cowextsize", "at most ag_blocks / 2 = " + std::to_string(g.ag_blocks / 2) +
						     " (xfs_inode_validate_cowextsize refuses larger hints)");
	if (g.max_atomic_ioend < 1)
		v.err("geometry.x_max_atomic_ioend", "at least 1 block");
	const DeviceLimits &d = st.dev;
	if ((d.awu_min == 0) != (d.awu_max == 0))
		v.err("device", "awu_min and awu_max are both 0 (no hardware atomics) or both non-zero");
	// a block device's atomic write units are powers of two of at least one
	// logical block (512 bytes)
	if (d.awu_min && (d.awu_min < 512 || (d.awu_min & (d.awu_min - 1))))
		v.err("device.awu_min", "0, or a power of two of at least 512 (bytes)");
	if (d.awu_max && (d.awu_max < 512 || (d.awu_max & (d.awu_max - 1))))
		v.err("device.awu_max", "0, or a power of two of at least 512 (bytes)");
	if (d.awu_min > d.awu_max)
		v.err("device.awu_min", "at most awu_max");
	if (!v.errs.empty())
		return v.errs; // the rest needs a sane geometry
	v.fork(st.data_fork, "data_fork", false);
	v.fork(st.cow_fork, "cow_fork", true);
	if (!g.reflink && !st.cow_fork.empty())
		v.err("cow_fork", "a CoW fork needs geometry.reflink");
	if (!g.reflink && !st.refcount.empty())
		v.err("refcount", "shared blocks need geometry.reflink");
	v.refcounts();
	for (size_t i = 0; i < st.alloc.size(); i++) {
		std::string p = "alloc[" + std::to_string(i) + "]";
		if (st.alloc[i].blockcount == 0)
			v.err(p + ".blockcount", "must be at least 1");
		else
			v.inside_ags(st.alloc[i].startblock, st.alloc[i].blockcount, p);
	}
	if (v.errs.empty())
		v.physical_overlaps();
	if (w.length == 0)
		v.err("write.length", "at least 1 byte");
	if (w.offset + w.length < w.offset || w.offset + w.length > (1ULL << 62))
		v.err("write.length", "offset + length overflows (must stay below 2^62 bytes)");
	return v.errs;
}

// ------------------------------------------------------------------ running

Trace run_atomic_write(const FileState &st, const WriteReq &w, Variant v)
{
	Trace t;
	t.variant = v;
	t.write = w;
	t.initial = st;

	kern::xfs_inode ip;
	ip.geo = st.geo;
	ip.dev = st.dev;
	ip.i_df = st.data_fork;
	ip.i_cowfp = st.cow_fork;
	ip.refc = st.refcount;
	ip.alloc.script = &st.alloc;
	ip.trace = &t;
	ip.file_branches = &t.file_branches;

	int64_t ret = 0;
	switch (v) {
	case Variant::rfc_v1: ret = kern::rfc_v1::xfs_file_write_iter(&ip, w); break;
	case Variant::v6_16:
		ret = kern::v6_16::xfs_file_write_iter(&ip, w, kern::v6_16::xfs_atomic_write_cow_iomap_begin);
		break;
	case Variant::v6_18: ret = kern::v6_18::xfs_file_write_iter(&ip, w); break;
	}
	if (!t.admitted)
		t.path = Path::none;
	t.result = ret < 0 ? int(-ret) : 0;
	t.bytes_written = ret > 0 ? uint64_t(ret) : 0;
	t.final_state = st;
	t.final_state.data_fork = ip.i_df;
	t.final_state.cow_fork = ip.i_cowfp;
	t.final_state.refcount = ip.refc;
	return t;
}

// ------------------------------------------------------------------ printing

static void print_fork(std::ostringstream &o, const char *name, const std::vector<xfs_bmbt_irec> &f)
{
	o << "  " << name << ":";
	if (f.empty())
		o << " (empty)";
	for (const auto &e : f)
		o << " " << format_extent(e);
	o << "\n";
}

static void print_refcount(std::ostringstream &o, const std::vector<xfs_refcount_irec> &r)
{
	o << "  refcount:";
	if (r.empty())
		o << " (nothing shared)";
	for (const auto &x : r)
		o << " [@" << x.rc_startblock << "+" << x.rc_blockcount << " x" << x.rc_refcount << "]";
	o << "\n";
}

static void print_branches(std::ostringstream &o, const std::vector<Branch> &bs, const char *indent)
{
	for (const auto &b : bs)
		o << indent << b.func << ": if (" << b.cond << ") -> " << (b.taken ? "taken" : "not taken")
		  << "  [line " << b.line << "]\n";
}

std::string format_trace(const Trace &t)
{
	std::ostringstream o;
	const auto &g = t.initial.geo;
	o << "variant " << variant_name(t.variant) << ": RWF_ATOMIC pwrite offset " << t.write.offset << " length "
	  << t.write.length << " (blocks [" << t.write.offset / g.block_size << ", "
	  << (t.write.offset + t.write.length + g.block_size - 1) / g.block_size << "))\n";
	o << "geometry: bs " << g.block_size << ", ag_blocks " << g.ag_blocks << " (agblklog " << g.agblklog()
	  << "), ag_count " << g.ag_count << ", reflink " << (g.reflink ? "yes" : "no") << ", cowextsize "
	  << g.cowextsize << "; device awu [" << t.initial.dev.awu_min << ", " << t.initial.dev.awu_max
	  << "]; inode atomic write limits [" << t.awu_min << ", " << t.awu_max << "]\n";
	o << "before:\n";
	print_fork(o, "data fork", t.initial.data_fork);
	print_fork(o, "cow fork ", t.initial.cow_fork);
	print_refcount(o, t.initial.refcount);
	o << "file-level decisions:\n";
	print_branches(o, t.file_branches, "  ");
	o << "timeline:\n";
	for (const auto &ev : t.timeline) {
		switch (ev.kind) {
		case TraceEvent::call: {
			const auto &c = t.calls[size_t(ev.index)];
			o << "  " << ops_name(c.ops) << "->iomap_begin(pos " << c.pos << ", len " << c.length << ", "
			  << iomap_flags_str(c.flags) << ")\n";
			print_branches(o, c.branches, "      ");
			if (c.error)
				o << "    = -" << errno_name(c.error) << "\n";
			else {
				o << "    = " << iomap_type_name(c.iomap.type) << " " << format_extent(c.iomap.irec)
				  << " bytes [" << c.iomap.offset << ", " << c.iomap.offset + c.iomap.length << ") flags "
				  << iomap_fflags_str(c.iomap.flags) << "\n";
				if (c.srcmap)
					o << "      srcmap " << iomap_type_name(c.srcmap->type) << " "
					  << format_extent(c.srcmap->irec) << "\n";
			}
			break;
		}
		case TraceEvent::bio: {
			const auto &b = t.bios[size_t(ev.index)];
			o << "  bio: file blocks [" << b.file_off << ", " << b.file_off + b.nblocks << ") -> fsbno "
			  << b.fsbno << " (disk block " << b.daddr << ") x" << b.nblocks
			  << (b.req_atomic ? " REQ_ATOMIC" : "")
			  << (b.payload == Payload::old_copy ? " (unshare copy of old data)" : "");
			if (b.status)
				o << " -> BLK_STS error " << errno_name(b.status);
			o << "\n";
			break;
		}
		case TraceEvent::txn: {
			const auto &x = t.txns[size_t(ev.index)];
			o << "  transaction " << ev.index << " (" << x.name << "): " << x.what << "\n";
			break;
		}
		case TraceEvent::note: o << "  note: " << t.notes[size_t(ev.index)] << "\n"; break;
		}
	}
	o << "after:\n";
	print_fork(o, "data fork", t.final_state.data_fork);
	print_fork(o, "cow fork ", t.final_state.cow_fork);
	print_refcount(o, t.final_state.refcount);
	o << "result: " << (t.result ? std::string(errno_name(t.result)) : "ok (" + std::to_string(t.bytes_written) + " bytes)")
	  << ", path " << path_name(t.path) << "\n";
	return o.str();
}

} // namespace untorn
