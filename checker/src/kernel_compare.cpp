// Block-by-block comparison of kernel and model layouts.
#include "kernel_compare.h"

#include <map>

namespace untorn::kcompare
{

const char *kind_name(Kind k)
{
	return k == Kind::hole ? "hole" : k == Kind::unwritten ? "unwritten" : "written";
}

static bool refcounted(const std::vector<xfs_refcount_irec> &rc, xfs_fsblock_t b)
{
	for (const auto &r : rc)
		if (b >= r.rc_startblock && b < r.rc_startblock + r.rc_blockcount)
			return r.rc_refcount > 1;
	return false;
}

std::vector<BlockView> blocks_of(const FileState &st, uint64_t nblocks)
{
	std::vector<BlockView> v(nblocks);
	for (const auto &e : st.data_fork)
		for (xfs_filblks_t k = 0; k < e.br_blockcount && e.br_startoff + k < nblocks; ++k) {
			BlockView &b = v[e.br_startoff + k];
			b.kind = e.br_state == XFS_EXT_UNWRITTEN ? Kind::unwritten : Kind::norm;
			b.fsbno = e.br_startblock + k;
			b.shared = refcounted(st.refcount, b.fsbno);
		}
	return v;
}

void RunList::add(uint64_t blk, const std::string &what)
{
	if (!runs.empty() && runs.back().first.second + 1 == blk && runs.back().second == what)
		runs.back().first.second = blk;
	else
		runs.push_back({{blk, blk}, what});
}

std::string RunList::str() const
{
	std::string s;
	for (const auto &[r, what] : runs) {
		if (!s.empty())
			s += "; ";
		s += "block" +
		     std::string(r.first == r.second ? " " + std::to_string(r.first)
		                                     : "s " + std::to_string(r.first) + "-" +
		                                           std::to_string(r.second)) +
		     ": " + what;
	}
	return s;
}

ForkDiff diff_forks(const std::vector<BlockView> &kb, const std::vector<BlockView> &ka,
                    const std::vector<BlockView> &mb, const std::vector<BlockView> &ma)
{
	ForkDiff d;
	std::map<xfs_fsblock_t, xfs_fsblock_t> m2k, k2m; // new blocks, up to renaming
	for (uint64_t b = 0; b < ka.size(); ++b) {
		if (ka[b].kind != ma[b].kind) {
			d.forks.add(b, std::string("kernel ") + kind_name(ka[b].kind) + ", model " +
			                   kind_name(ma[b].kind));
			continue;
		}
		if (ka[b].kind == Kind::hole)
			continue;
		if (ka[b].shared != ma[b].shared)
			d.sharing.add(b, std::string("kernel ") +
			                     (ka[b].shared ? "shared" : "not shared") + ", model " +
			                     (ma[b].shared ? "shared" : "not shared"));
		const bool moved_k = kb[b].kind == Kind::hole || kb[b].fsbno != ka[b].fsbno;
		const bool moved_m = mb[b].kind == Kind::hole || mb[b].fsbno != ma[b].fsbno;
		if (moved_k != moved_m) {
			d.forks.add(b, std::string("kernel ") +
			                   (moved_k ? "moved it" : "left it in place") +
			                   ", model " +
			                   (moved_m ? "moved it" : "left it in place"));
			continue;
		}
		if (!moved_k)
			continue;
		const auto i = m2k.emplace(ma[b].fsbno, ka[b].fsbno).first;
		const auto j = k2m.emplace(ka[b].fsbno, ma[b].fsbno).first;
		if (i->second != ka[b].fsbno || j->second != ma[b].fsbno)
			d.forks.add(b, "new blocks not matched one to one (kernel fsbno " +
			                   std::to_string(ka[b].fsbno) + ", model " +
			                   std::to_string(ma[b].fsbno) + ")");
	}
	return d;
}

std::string result_name(int64_t r)
{
	return r >= 0 ? std::string("ok") : std::string(errno_name(int(-r)));
}

Outcome outcome_of(const Trace &t)
{
	Outcome o;
	o.ret = t.result ? -int64_t(t.result) : int64_t(t.bytes_written);
	for (const auto &c : t.calls)
		if (c.ops == Ops::atomic_write_cow)
			o.calls.push_back({c.pos, c.length});
	return o;
}

std::string calls_str(const std::vector<std::pair<uint64_t, uint64_t>> &c)
{
	std::string s;
	for (const auto &[pos, len] : c)
		s += (s.empty() ? "" : ", ") + std::string("(") + std::to_string(pos) + "," +
		     std::to_string(len) + ")";
	return "[" + s + "]";
}

} // namespace untorn::kcompare
