// The trace builder: a Trace built by hand, event by event, for judging by
// the specification without running the implementation -- the way to show
// that an invariant breaks on exactly the trace it forbids.
//
// Defaults: v6.16, geo_1024 (bs 4096, 4 AGs of 1024 blocks, so in AG 0 the
// disk block equals the fsbno), reflink; device atomic write unit [4 KiB,
// 64 KiB]; inode limits [4 KiB, 64 KiB]; the write is admitted and succeeds
// on the hardware path unless a test says otherwise.
#pragma once

#include "layout.h"
#include "untorn/impl.h"

#include <optional>
#include <string>
#include <utility>

namespace untorn_test
{

using namespace untorn;

inline constexpr unsigned ATOMIC_DIO = IOMAP_WRITE | IOMAP_DIRECT | IOMAP_ATOMIC;

// Builds a Trace event by event, in timeline order.  Transactions carry the
// full forks after them (unchanged forks are carried over), bios record how
// many transactions committed before their submission, and the final state
// is the last transaction's forks unless overridden.
class TB
{
public:
	TB(xfs_fileoff_t first_block, xfs_filblks_t nblocks, Variant v = Variant::v6_16)
	{
		t_.variant = v;
		t_.initial.geo = geo_1024();
		t_.initial.geo.max_atomic_ioend = 4096;
		t_.initial.dev.awu_min = 4096;
		t_.initial.dev.awu_max = 65536;
		t_.write.offset = first_block * BS;
		t_.write.length = nblocks * BS;
		t_.admitted = true;
		t_.awu_min = 4096;
		t_.awu_max = 65536;
		t_.result = 0;
		t_.bytes_written = t_.write.length;
		t_.path = Path::hw;
	}
	TB &ag_blocks(uint32_t n)
	{
		t_.initial.geo.ag_blocks = n;
		return *this;
	}
	TB &device(uint32_t mn, uint32_t mx)
	{
		t_.initial.dev.awu_min = mn;
		t_.initial.dev.awu_max = mx;
		return *this;
	}
	TB &limits(uint32_t mn, uint32_t mx)
	{
		t_.awu_min = mn;
		t_.awu_max = mx;
		return *this;
	}
	TB &write_bytes(uint64_t offset, uint64_t length)
	{
		t_.write.offset = offset;
		t_.write.length = length;
		t_.bytes_written = length;
		return *this;
	}
	TB &data(Fork f)
	{
		t_.initial.data_fork = std::move(f);
		return *this;
	}
	TB &cow(Fork f)
	{
		t_.initial.cow_fork = std::move(f);
		return *this;
	}
	TB &shared(xfs_fsblock_t start, xfs_filblks_t n)
	{
		xfs_refcount_irec r;
		r.rc_startblock = start;
		r.rc_blockcount = n;
		r.rc_refcount = 2;
		t_.initial.refcount.push_back(r);
		return *this;
	}
	// Rejected before any mapping (admission).
	TB &rejected(int err)
	{
		t_.admitted = false;
		t_.result = err;
		t_.bytes_written = 0;
		t_.path = Path::none;
		return *this;
	}
	TB &fails(int err)
	{
		t_.result = err;
		t_.bytes_written = 0;
		return *this;
	}
	TB &path(Path p)
	{
		t_.path = p;
		return *this;
	}
	// One ->iomap_begin call; the iomap covers file blocks [off, off+len).
	TB &call(Ops ops, IomapType type, xfs_bmbt_irec irec, xfs_fileoff_t off, xfs_filblks_t len,
	         unsigned fflags, int error = 0)
	{
		IomapBeginCall c;
		c.ops = ops;
		c.pos = t_.write.offset;
		c.length = t_.write.length;
		c.flags =
		    ATOMIC_DIO | (t_.variant == Variant::rfc_v1 && ops == Ops::atomic_write_cow
		                      ? unsigned(IOMAP_ATOMIC_COW)
		                      : 0u);
		c.error = error;
		if (!error) {
			c.iomap.type = type;
			c.iomap.flags = fflags;
			c.iomap.offset = off * BS;
			c.iomap.length = len * BS;
			c.iomap.irec = irec;
		}
		t_.calls.push_back(c);
		t_.timeline.push_back({TraceEvent::call, int(t_.calls.size() - 1)});
		return *this;
	}
	// xfs_direct_write_iomap_begin handing out [off, off+len) of irec for REQ_ATOMIC.
	TB &hw_call(IomapType type, xfs_bmbt_irec irec, unsigned fflags = IOMAP_F_ATOMIC_BIO)
	{
		return call(Ops::direct_write, type, irec, irec.br_startoff, irec.br_blockcount,
		            fflags);
	}
	// xfs_atomic_write_cow_iomap_begin returning a CoW mapping.
	TB &sw_call(xfs_bmbt_irec irec, IomapType type = IomapType::MAPPED,
	            unsigned fflags = IOMAP_F_SHARED)
	{
		return call(Ops::atomic_write_cow, type, irec, irec.br_startoff, irec.br_blockcount,
		            fflags);
	}
	TB &bio(xfs_fileoff_t file_off, xfs_fsblock_t fsbno, xfs_filblks_t n, bool req_atomic,
	        int status = 0, Payload payload = Payload::new_data)
	{
		Bio b;
		b.file_off = file_off;
		b.fsbno = fsbno;
		b.daddr = xfs_fsb_to_db(t_.initial.geo, fsbno);
		b.nblocks = n;
		b.req_atomic = req_atomic;
		b.payload = payload;
		b.status = status;
		b.txns_before = unsigned(t_.txns.size());
		b.call = int(t_.calls.size()) - 1;
		t_.bios.push_back(b);
		t_.timeline.push_back({TraceEvent::bio, int(t_.bios.size() - 1)});
		return *this;
	}
	// An in-core change that commits nothing (xfs_reflink_convert_cow_locked):
	// a note in the timeline, no crash point.
	TB &note(std::string s)
	{
		t_.notes.push_back(std::move(s));
		t_.timeline.push_back({TraceEvent::note, int(t_.notes.size() - 1)});
		return *this;
	}
	// A committed transaction; forks not given are carried over unchanged.
	TB &txn(const char *name, std::optional<Fork> data_fork,
	        std::optional<Fork> cow_fork = std::nullopt)
	{
		Transaction x;
		x.name = name;
		x.what = name;
		x.data_fork = data_fork ? *data_fork : cur_data();
		x.cow_fork = cow_fork ? *cow_fork : cur_cow();
		x.refcount = t_.initial.refcount;
		t_.txns.push_back(std::move(x));
		t_.timeline.push_back({TraceEvent::txn, int(t_.txns.size() - 1)});
		return *this;
	}
	// A transaction of another actor at a drop point (x_interleave) that
	// remapped `mapped` into the data fork: its committed data.
	TB &other_txn(const char *name, Fork data_fork, xfs_bmbt_irec mapped)
	{
		txn(name, std::move(data_fork));
		t_.txns.back().other = true;
		t_.others_mapped.push_back(mapped);
		t_.others_mapped_at.push_back(unsigned(t_.txns.size()));
		return *this;
	}
	TB &final_cow(Fork f)
	{
		final_cow_ = std::move(f);
		return *this;
	}
	Trace build() const
	{
		Trace t = t_;
		t.final_state = t.initial;
		t.final_state.data_fork = cur_data();
		t.final_state.cow_fork = final_cow_ ? *final_cow_ : cur_cow();
		return t;
	}

private:
	const Fork &cur_data() const
	{
		return t_.txns.empty() ? t_.initial.data_fork : t_.txns.back().data_fork;
	}
	const Fork &cur_cow() const
	{
		return t_.txns.empty() ? t_.initial.cow_fork : t_.txns.back().cow_fork;
	}
	Trace t_;
	std::optional<Fork> final_cow_;
};

} // namespace untorn_test
