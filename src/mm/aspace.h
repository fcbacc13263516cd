/*
 * aspace.h - address spaces (docs/paging.md, "address spaces").
 *
 * An address space is an unmodifiable page table pool (ptp.h) whose window
 * is mapped only into the kernel's space. Its PML4's kernel half (entries
 * 256..511) holds the kernel's own entries, which point to the kernel's
 * PDPTs; the kernel pre-allocates all of them at bring-up and never frees
 * them, so the kernel half is identical in every space at all times. The
 * one exception is the recursive slot (RECURSIVE_SLOT), which in every
 * space points to that space's own PML4. The user half (0..255) is its own.
 */
#ifndef VITRINE_ASPACE_H
#define VITRINE_ASPACE_H

#include <stdint.h>

#include "ptp.h"
#include "status.h"

#define ASPACE_DEFAULT_POOL 64 /* pages of page tables for a new space */

struct aspace {
	struct ptp *pool; /* its tables; pool->id is its as= number */
};

/*
 * Creates a space with a pool of pool_pages pages (0: ASPACE_DEFAULT_POOL)
 * mapped into the kernel at POOL_WINDOW_VA(id). Writes as.create. Fails
 * like ptp_create, or INVALID_ARG before vm_kernel_init; nothing is left.
 */
status_t aspace_create(uint64_t pool_pages, struct aspace *out);

/* Loads the space's PML4 into CR3 (tlb.cr3); NULL: the kernel's. */
status_t aspace_switch(const struct aspace *as);

/*
 * Unmaps every user page (owned ones back to pmm, pinned ones too),
 * returns every table to the pool, unmaps the window and gives the pool
 * back (as.destroy). BUSY if the space is in CR3 now.
 */
status_t aspace_destroy(struct aspace *as);

#endif
