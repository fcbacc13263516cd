/*
 * pmm.h - physical memory: the page bitmap and the allocators on top of it.
 *
 * The bitmap (one bit a page, 1 = in use) is the single source of truth about
 * which physical page is used. Everything else here (the free stack that makes
 * single-page allocation O(1), the statistics) is derived from it and kept in
 * step with it. Every change to the bitmap is one trace event, a run of pages
 * in one line, with the reason it changed (docs/trace-format.md, docs/pmm.md).
 *
 * Every function that fails returns a distinct status, writes one err.* event
 * and leaves the bitmap exactly as it was.
 */
#ifndef VITRINE_PMM_H
#define VITRINE_PMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "status.h"
#include "trace_schema.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ull << PAGE_SHIFT)
#define PAGE_MASK (PAGE_SIZE - 1)

/*
 * The bitmap's reach: pmm.c finds a free page through three summary levels of
 * 64 bits above the bitmap's 64-bit words, so it covers 64^4 pages (64 GiB).
 */
#define PMM_MAX_PAGES (1ull << (6 * 4))
/* Usable regions pmm_init keeps (the memory map analysis merges ranges). */
#define PMM_MAX_REGIONS 64

/* Why a run of pages is in use; shown in the trace as why=<name>. The
 * reasons are declared in the trace schema (src/lib/trace.schema): firmware,
 * low (the first MiB), kernel, bootinfo, module, bitmap, pool, alloc,
 * kalloc, heap, test. */
enum pmm_reason {
#define PMM_REASON_ENUM(sym, name) PMM_##sym,
	TRACE_REASON_LIST(PMM_REASON_ENUM)
#undef PMM_REASON_ENUM
	PMM_REASON_COUNT
};

/* A run of pages: [base, base + pages * PAGE_SIZE). */
struct pmm_region {
	paddr_t base;
	uint64_t pages;
	enum pmm_reason reason; /* for reserved regions */
};

struct pmm_stats {
	uint64_t total_pages;    /* pages the bitmap covers (0 .. highest) */
	uint64_t usable_pages;   /* usable RAM according to the memory map */
	uint64_t reserved_pages; /* usable RAM taken at init (kernel, ...) */
	uint64_t used_pages;     /* bits set among usable pages, reserved incl. */
	uint64_t free_pages;     /* usable_pages - used_pages */
};

/*
 * Builds the bitmap. usable: sorted, page-aligned, non-overlapping ranges of
 * RAM (from the memory map analysis); everything else is marked used as
 * "firmware". reserved: ranges inside usable RAM that are already taken
 * (first MiB, kernel, boot information); marked used with their reason. The
 * bitmap is sized from the highest usable address and placed in the first
 * free usable pages that can hold it (reason "bitmap"). Fails with
 * NO_MEMORY if no free range can hold it; may be called again (tests).
 */
status_t pmm_init(const struct pmm_region *usable, size_t usable_count,
		  const struct pmm_region *reserved, size_t reserved_count);

/* One page, O(1). */
status_t pmm_alloc_page(enum pmm_reason why, paddr_t *out);
status_t pmm_free_page(paddr_t pa);

/* The run of free pages at the lowest free page, cut at max pages: one
 * pmm.set. *got says how many (at least 1). O(1) to find. */
status_t pmm_alloc_run(enum pmm_reason why, uint64_t max, paddr_t *out,
		       uint64_t *got);

/* count pages, not necessarily contiguous, all or nothing. */
status_t pmm_alloc_batch(enum pmm_reason why, paddr_t *out, size_t count);
status_t pmm_free_batch(const paddr_t *pages, size_t count);

/*
 * count contiguous pages, first fit, whose last byte is below max_address
 * (0: no limit) and whose base is a multiple of align_pages pages (0 or 1:
 * any page).
 */
status_t pmm_alloc_contiguous(uint64_t count, paddr_t max_address,
			      uint64_t align_pages, enum pmm_reason why,
			      paddr_t *out);

/*
 * marionette's request: at least min_pages and at most max_pages contiguous
 * pages, as many as the largest fitting free run allows; *got says how many.
 */
status_t pmm_alloc_between(uint64_t min_pages, uint64_t max_pages,
			   enum pmm_reason why, paddr_t *out, uint64_t *got);

/* Frees count pages starting at pa; all must be in use (else nothing). */
status_t pmm_free_region(paddr_t pa, uint64_t count);

/* Physical address of the bitmap (valid after pmm_init). */
paddr_t pmm_bitmap_base(void);

/* True if the bitmap marks the page holding pa as used; true also for an
 * address beyond the bitmap (not RAM the pmm manages, never allocatable). */
bool pmm_is_used(paddr_t pa);

void pmm_get_stats(struct pmm_stats *out);

/* Writes a stat.pmm event and the bitmap as runs (pmm.run events). */
void pmm_dump(void);

const char *pmm_reason_name(enum pmm_reason why);

#endif
