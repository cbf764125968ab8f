// The trace's readable form (`untorn run`); concrete only.
#include "untorn/impl.h"

#include <algorithm>
#include <sstream>

namespace untorn {
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
		  << "  [" << (b.file ? b.file : "?") << ":" << b.line << "]\n";
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
