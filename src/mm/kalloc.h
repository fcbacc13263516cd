/*
 * kalloc.h - kernel allocations of whole pages (docs/alloc.md).
 *
 * A kernel allocation is three things made at once: physical pages (pmm,
 * not necessarily contiguous), a contiguous run of VA in the kernel's
 * window KALLOC_BASE..KALLOC_END (a vrange, vrange.h) and the mapping
 * between them (paging, pages OWN so unmapping frees them):
 *
 *   kalloc(n)  ->  vrange_find  ->  vm_map_new (pmm pages, tables)
 *              ->  vrange_take (kalloc.reserve)  ->  kalloc.alloc
 *
 * The VA is checked first and taken last, so when physical memory or
 * table pages run out halfway (vm_map_new undoes itself) nothing is left:
 * bitmap, tables and VA ranges end as they began. A free checks that the
 * region is exactly one live allocation and fully mapped before it touches
 * anything. kvmalloc/kvfree are the pointer form, for page-sized,
 * page-aligned objects (marionette's kvmalloc).
 *
 * Pages are not zeroed. Every failing call returns a distinct status,
 * writes one err.* event and changes nothing.
 */
#ifndef VITRINE_KALLOC_H
#define VITRINE_KALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "pmm.h"
#include "pte.h"
#include "status.h"
#include "vrange.h"

/* Who holds a region of the kernel's window (vrange owners). */
enum kalloc_owner {
	KALLOC_OWNER_PAGES = 1, /* kalloc, kalloc_ext, kvmalloc */
	KALLOC_OWNER_SLAB,	/* a heap slab page (heap.c) */
	KALLOC_OWNER_LARGE,	/* a large heap object (heap.c) */
};

#define KALLOC_FLAGS   (PTE_P | PTE_W | PTE_NX) /* kalloc's mapping */
#define KALLOC_EXTENTS 2048 /* bookkeeping entries of the kernel's window */
/* The largest request: more pages than the bitmap can ever hold is a
 * bug, not a wish. */
#define KALLOC_MAX_PAGES PMM_MAX_PAGES

/* The kernel's window, live after kalloc_init. */
extern struct vrange kalloc_space;

/*
 * Starts the kernel's window (kalloc.init) over KALLOC_BASE..KALLOC_END,
 * forgetting any earlier state (host tests call it once per machine).
 * INVALID_ARG before vm_kernel_init.
 */
status_t kalloc_init(void);

/* `pages` fresh pages, mapped KALLOC_FLAGS at the lowest free VA. */
status_t kalloc(uint64_t pages, vaddr_t *out);

/*
 * The extended form: mapping flags (P required; W, NX, G, PCD, PWT
 * allowed: never U, PS, OWN or PIN, else INVALID_ARG) and a VA search
 * window [lo, hi) inside KALLOC_BASE..KALLOC_END. Fails like vrange_find,
 * vm_map_new (NO_MEMORY, POOL_EXHAUSTED, ALREADY_MAPPED) or with TOO_LARGE
 * past KALLOC_MAX_PAGES.
 */
status_t kalloc_ext(uint64_t pages, uint64_t flags, vaddr_t lo, vaddr_t hi,
		    vaddr_t *out);

/*
 * Frees a kalloc region: [va, va + pages) must be exactly one (UNALIGNED,
 * NOT_ALLOCATED, SIZE_MISMATCH, BAD_POINTER if the heap's) and still fully
 * mapped (NOT_MAPPED). Unmaps it (pages back to pmm), then gives the VA
 * back (kalloc.free, vm.unmap..., kalloc.release).
 */
status_t kalloc_free(vaddr_t va, uint64_t pages);

/* ceil(bytes / 4K) pages from kalloc; *out is page aligned. ZERO_COUNT for
 * 0 bytes, TOO_LARGE past KALLOC_MAX_PAGES pages. */
status_t kvmalloc(size_t bytes, void **out);

/* Frees what kvmalloc (or kalloc) returned; the size is remembered. */
status_t kvfree(void *p);

/* The layer under the heap: kalloc_ext with the pmm reason and vrange
 * owner and cookie given */
status_t kalloc_region(uint64_t pages, uint64_t flags,
		       enum pmm_reason why, uint32_t owner, uint64_t cookie,
		       vaddr_t *out);

/* kalloc_free for owner's region */
status_t kalloc_release(vaddr_t va, uint64_t pages,
			uint32_t owner);

/*
 * A pointer through which the CPU reaches va, a mapped kernel address: va
 * itself in the kernel; on the host (no MMU) the simulated page it maps
 * to, so valid only up to the end of va's page. NULL if not mapped.
 */
void *kalloc_ptr(vaddr_t va);

/* Copies / zeroes n bytes of kernel-mapped VA, a page at a time. */
void kalloc_copy(vaddr_t dst, vaddr_t src, size_t n);
void kalloc_zero(vaddr_t va, size_t n);

/* Writes stat.vrange for the kernel's window. */
void kalloc_dump(void);

#endif
