/*
 * paging.h - the paging API over a page table pool (docs/paging.md).
 *
 * Every function takes the pool that holds the address space's tables.
 * Addresses are virtual (va) and physical (pa); counts are in 4 KiB pages,
 * also for 2 MiB mappings (then a multiple of 512). flags are PTE_* bits
 * (pte.h): P must be set to map; PS asks for 2 MiB pages; OWN makes the
 * pages the mapping's (freed to pmm on unmap); PIN makes unmap and protect
 * refuse them.
 *
 * Every call happens entirely or not at all: before it changes a table it
 * checks the whole request (present pages met, tables the pool cannot
 * supply, non-canonical, unaligned or wrapping addresses, pinned pages,
 * 2 MiB pages that would be split); a failing call returns a distinct
 * status, writes one err.* event and leaves every table as it was.
 *
 * Range operations walk once per table and then step an entry pointer
 * along it (paging_walk.h: the spans of a range): a few instructions a
 * page.
 * Every entry is written by the choke point (paging_change.h), which
 * writes each change's event right after it. Unmap clears entries, detaches
 * the tables that became empty, invalidates the TLB (invlpg each page, or
 * one full flush past VM_INVLPG_THRESHOLD pages), and only then frees owned
 * pages and the detached tables. Kernel-half entries of the top level are
 * never freed: every address space shares them.
 */
#ifndef VITRINE_PAGING_H
#define VITRINE_PAGING_H

#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "pte.h"
#include "ptp.h"
#include "status.h"

/* Past this many pages in one operation, one full flush beats invlpg. */
#define VM_INVLPG_THRESHOLD 32

/* Maps one 4 KiB page va -> pa. */
status_t vm_map(struct ptp *pool, vaddr_t va, paddr_t pa, uint64_t flags);

/* Maps `pages` pages va.. -> pa.. (2 MiB pages if flags has PTE_PS). */
status_t vm_map_range(struct ptp *pool, vaddr_t va, paddr_t pa,
		      uint64_t pages, uint64_t flags);

/* Maps `count` 4 KiB pages from va to the physical pages pas[0..count). */
status_t vm_map_pages(struct ptp *pool, vaddr_t va, const paddr_t *pas,
		      uint64_t count, uint64_t flags);

/* Allocates `pages` physical pages (pmm, reason why) and maps them OWN
 * from va: NO_MEMORY and nothing changed if memory runs out. */
status_t vm_map_new(struct ptp *pool, vaddr_t va, uint64_t pages,
		    uint64_t flags, enum pmm_reason why);

/*
 * Unmaps the mapped pages of [va, va + pages*4K); holes are skipped.
 * NOT_MAPPED if none is mapped, PINNED if one is pinned, HUGE_PAGE if a
 * 2 MiB page sticks out of the range.
 */
status_t vm_unmap(struct ptp *pool, vaddr_t va, uint64_t pages);

/* The physical address va maps to, and the leaf's flags (flags may be
 * NULL). NOT_MAPPED if absent. */
status_t vm_translate(struct ptp *pool, vaddr_t va, paddr_t *pa,
		      uint64_t *flags);

/* How much of a range is mapped: an answer, not an error. */
enum vm_range_state { VM_RANGE_NONE, VM_RANGE_PARTIAL, VM_RANGE_FULL };
status_t vm_range_state(struct ptp *pool, vaddr_t va, uint64_t pages,
			enum vm_range_state *out);

/*
 * Gives every page of the range the new flags, keeping each page's own
 * OWN bit (never its neighbour's). Flags without P unmap the range.
 * Every page must be mapped (NOT_MAPPED) and unpinned (PINNED); flags may
 * not ask for OWN or PS (INVALID_ARG); PIN may be added.
 */
status_t vm_protect(struct ptp *pool, vaddr_t va, uint64_t pages,
		    uint64_t flags);

/*
 * The mapped 4K page at va maps pa with flags instead (P required; not PS,
 * PIN), then va is invalidated: vm.remap, tlb.invlpg. The old frame is
 * not freed: the caller decides (a copy-on-write copy drops one of its
 * references). NOT_MAPPED if va is absent, HUGE_PAGE in a 2 MiB page,
 * PINNED if pinned.
 */
status_t vm_remap(struct ptp *pool, vaddr_t va, paddr_t pa, uint64_t flags);
/* Clears PIN on every page of a fully mapped range. */
status_t vm_unpin(struct ptp *pool, vaddr_t va, uint64_t pages);

/*
 * Finds the lowest va in [lo, hi) with va + pages*4K <= hi, va a multiple
 * of align_pages pages (0 or 1: any page; else a power of two), such that
 * no page of [va, va + pages*4K) is mapped. NOT_FOUND if none.
 */
status_t vm_find_free(struct ptp *pool, vaddr_t lo, vaddr_t hi,
		      uint64_t pages, uint64_t align_pages, vaddr_t *out);

/* Writes stat.vm for the pool's space. */
void vm_dump(const struct ptp *pool);

/* The kernel's pool once vm_kernel_init has run (NULL before). */
extern struct ptp *vm_kernel_pool;

/* What the kernel bring-up needs to know about the kernel image. */
struct vm_kernel_layout {
	paddr_t phys_base;                 /* physical address of text_start */
	vaddr_t text_start, text_end;      /* R+X */
	vaddr_t rodata_start, rodata_end;  /* R, NX */
	vaddr_t data_start, data_end;      /* RW, NX (data and bss) */
	vaddr_t stack_guard;               /* one page inside data, unmapped */
	const struct pmm_region *ram;      /* usable RAM, for the direct map */
	size_t ram_count;
	uint64_t pool_pages;
};

/*
 * Builds the kernel's pool and switches to it (docs/paging.md, "bring-up"):
 * the kernel half's top-level entries, the recursive slot, the kernel
 * image with its rights (guard page left out), the direct map of usable
 * RAM at HHDM_BASE, the pool window; then seals the pool, loads CR3 and
 * from then on edits tables through the window. The bootstrap tables are
 * no longer used.
 */
status_t vm_kernel_init(const struct vm_kernel_layout *layout);

#endif
