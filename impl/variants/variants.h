// Internal to impl/: the entry points of each kernel version, the v6.16
// pieces that v6.18 inherits unchanged, and the rows of the table of
// variants.
#pragma once

#include "../src/xfs_kernel.h"

namespace untorn::kern {

namespace rfc_v1 {
ssize_ret xfs_file_write_iter(xfs_inode *ip, const WriteReq &w);
void xfs_configure_limits(xfs_inode *ip);
AtomicLimits atomic_write_limits(xfs_inode *ip);
} // namespace rfc_v1

namespace v6_16 {
int xfs_direct_write_iomap_begin(xfs_inode *ip, xfs_off_t offset, xfs_off_t length, unsigned flags,
				 Iomap *iomap, std::optional<Iomap> *srcmap);
int xfs_atomic_write_cow_iomap_begin(xfs_inode *ip, xfs_off_t offset, xfs_off_t length, unsigned flags,
				     Iomap *iomap, std::optional<Iomap> *srcmap);
// xfs_file_write_iter with the CoW ops the caller's version provides.
ssize_ret xfs_file_write_iter(xfs_inode *ip, const WriteReq &w, iomap_begin_fn atomic_write_cow_begin);
void xfs_configure_limits(xfs_inode *ip);
// What xfs_configure_limits computes, term by term (atomic_write_limits()).
AtomicLimits atomic_write_limits(xfs_inode *ip);
} // namespace v6_16

namespace v6_18 {
int xfs_atomic_write_cow_iomap_begin(xfs_inode *ip, xfs_off_t offset, xfs_off_t length, unsigned flags,
				     Iomap *iomap, std::optional<Iomap> *srcmap);
ssize_ret xfs_file_write_iter(xfs_inode *ip, const WriteReq &w);
} // namespace v6_18

// One row of the table of variants (variants.cmake, which generates
// variant_table.cpp), indexed by Variant.
struct VariantRow {
	const char *name;
	Variant base;       // itself for a kernel version
	const char *source; // repository path: impl/variants/X.cpp, or the .patch
	const char *origin; // what it mirrors, one line
	AtomicBioRule atomic_bio_rule;
	ssize_ret (*write_iter)(xfs_inode *ip, const WriteReq &w);
	AtomicLimits (*limits)(xfs_inode *ip);
};
extern const VariantRow variant_rows[];
extern const size_t variant_row_count;

} // namespace untorn::kern
