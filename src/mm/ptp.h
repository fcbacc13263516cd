/*
 * ptp.h - page table pools (docs/ptp.md).
 *
 * A pool is a run of pages contiguous physically and virtually, taken from
 * the physical allocator (reason "pool"), out of which every page table of
 * one address space is allocated. Its first page is the PML4, so the pool's
 * physical base is the CR3 value.
 *
 *   pool pa                                            pool pa + pages*4K
 *   | PML4 | PDPT | PD | PT | ... free ... | allocation bitmap |
 *     ^ bump counter while building ->       (last page(s))
 *
 * Any table of the pool is reached at  base + (pa - pool pa),  where base
 * is the one place the pool is visible now: arch_phys_to_virt(pool pa)
 * while the pool is being built, then its window (POOL_WINDOW_VA(id),
 * mapped read-write, no-execute, into the kernel's space) once the window
 * is live. A *modifiable* pool (the kernel's) is mapped into itself; an
 * *unmodifiable* one (another address space's) only into the kernel's.
 *
 * Pages come from a bump counter while the pool is built (ptp_seal not yet
 * called), then from a bitmap, kept in the pool's last page(s) and seeded
 * from the counter. Every page handed out is zeroed.
 */
#ifndef VITRINE_PTP_H
#define VITRINE_PTP_H

#include <stdbool.h>
#include <stdint.h>

#include "arch.h"
#include "pte.h"
#include "status.h"

#define PTP_MAX_POOLS 16 /* live pools at once: the kernel's + 15 spaces */

enum ptp_kind { PTP_MODIFIABLE, PTP_UNMODIFIABLE };

struct ptp {
	unsigned id;          /* trace as=/id=; 0 is the first (the kernel's) */
	bool live;
	paddr_t pa;           /* physical base = the PML4 = the CR3 value */
	uint64_t pages;       /* total pages, bitmap pages included */
	vaddr_t window_va;    /* where the kernel sees it: POOL_WINDOW_VA(id) */
	uint8_t *base;        /* where it is visible now (see above) */
	uint64_t bump;        /* pages handed out by the bump counter */
	bool sealed;          /* the bitmap allocator has taken over */
	uint64_t bitmap_pages;/* at the end of the pool */
	uint64_t used;        /* pages in use, bitmap pages included */
	uint64_t hint;        /* where the next bitmap search starts */
	bool shares_kernel_half; /* PML4 256..511 are the kernel's */
	uint64_t mapped_pages;/* 4K pages mapped through this pool (stat.vm) */
	struct {              /* vm_walk's cache (paging_walk.h); no truth */
		uint64_t generation; /* valid while vm_walk_generation equals it */
		vaddr_t region;      /* va >> VM_PD_REGION_SHIFT of the last walk */
		pte_t *pd;           /* the page directory of that 1 GiB region */
	} walk_cache;
};

/*
 * Creates a pool of `pages` pages (at least 2: the PML4 and one bitmap
 * page) from the physical allocator, zeroed, and allocates its PML4.
 * Writes ptp.create, ptp.alloc and pt.new (level 4). Fails with
 * ZERO_COUNT/TOO_LARGE (pages outside 2..CMDLINE_POOL_MAX), BUSY (all
 * PTP_MAX_POOLS pools live), NO_MEMORY (no contiguous run).
 */
status_t ptp_create(uint64_t pages, enum ptp_kind kind, struct ptp **out);

/*
 * Gives every page back to the physical allocator (ptp.destroy, then
 * pmm.clear). Fails with BUSY if the pool is in CR3 now, INVALID_ARG if it
 * is not live. The caller has unmapped its window first.
 */
status_t ptp_destroy(struct ptp *pool);

/* Hands out one zeroed page: bump counter, or bitmap once sealed.
 * POOL_EXHAUSTED when none is left. Writes ptp.alloc. */
status_t ptp_alloc_page(struct ptp *pool, paddr_t *out);

/* Hands out n pages in one run from the bump counter (ptp.alloc with n=):
 * for building a pool (the kernel half's tables), so INVALID_ARG once the
 * pool is sealed; POOL_EXHAUSTED if fewer than n pages are left. */
status_t ptp_alloc_run(struct ptp *pool, uint64_t n, paddr_t *out);

/* Gives a page back: NOT_POOL_PAGE (outside, unaligned, the PML4 or the
 * bitmap), DOUBLE_FREE (free already). The first free seals the pool (the
 * bump counter cannot take pages back). Writes ptp.free. */
status_t ptp_free_page(struct ptp *pool, paddr_t pa);

/* Pages still available. */
uint64_t ptp_free_pages(const struct ptp *pool);

/* Ends the bump phase: seeds the bitmap with the pages the counter
 * handed out (ptp.seal). Idempotent. */
void ptp_seal(struct ptp *pool);

/* The pool is now visible at ptr (its live window); writes nothing. */
void ptp_set_base(struct ptp *pool, void *ptr);

/* True if pa is a page of the pool. */
bool ptp_contains(const struct ptp *pool, paddr_t pa);

/* The table page at pa, through the window of whichever live pool holds
 * it (an address space's PML4 points into the kernel's pool). Panics if no
 * pool holds pa: a table outside every pool is a broken invariant. */
pte_t *ptp_table(paddr_t pa);

/* Writes stat.ptp. */
void ptp_dump(const struct ptp *pool);

#endif
