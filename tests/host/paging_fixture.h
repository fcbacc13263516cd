/*
 * paging_fixture.h - a machine for the paging host tests: 64 MiB of
 * simulated memory, pmm over it, and a pool or a booted kernel space.
 */
#ifndef VITRINE_PAGING_FIXTURE_H
#define VITRINE_PAGING_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "layout.h"
#include "paging.h"
#include "pmm.h"
#include "ptp.h"

#define FIX_MEMORY (64ull << 20)
#define FIX_RAM_BASE 0x100000ull
#define FIX_RAM_PAGES ((FIX_MEMORY - FIX_RAM_BASE) / PAGE_SIZE)

static inline void fix_machine(void)
{
	host_memory_init(FIX_MEMORY);
	host_trace_start();
	struct pmm_region ram = { FIX_RAM_BASE, FIX_RAM_PAGES, 0 };
	cr_assert_eq(pmm_init(&ram, 1, NULL, 0), STATUS_OK);
}

/* A fresh machine with one modifiable pool of `pages` pages, sealed (the
 * bitmap allocator has taken over, as after bring-up). */
static inline struct ptp *fix_pool(uint64_t pages)
{
	fix_machine();
	struct ptp *pool;
	cr_assert_eq(ptp_create(pages, PTP_MODIFIABLE, &pool), STATUS_OK);
	ptp_seal(pool);
	return pool;
}

/* Free physical pages now. */
static inline uint64_t fix_pmm_free(void)
{
	struct pmm_stats s;
	pmm_get_stats(&s);
	return s.free_pages;
}

/* A copy of every page of the pool, to compare before/after a call. */
static inline void *fix_snapshot(const struct ptp *pool)
{
	size_t bytes = pool->pages * PAGE_SIZE;
	void *copy = malloc(bytes);
	memcpy(copy, arch_phys_to_virt(pool->pa), bytes);
	return copy;
}

static inline void fix_assert_unchanged(const struct ptp *pool, void *before)
{
	cr_assert_eq(memcmp(before, arch_phys_to_virt(pool->pa),
			    pool->pages * PAGE_SIZE), 0,
		     "the pool's pages changed");
	free(before);
}

/* A fake kernel image in the simulated memory, booted with
 * vm_kernel_init: 4 text, 2 rodata, 6 data pages (guard = data page 1). */
#define FIX_KPHYS 0x200000ull
#define FIX_TEXT KERNEL_VMA
#define FIX_RODATA (KERNEL_VMA + 4 * PAGE_SIZE)
#define FIX_DATA (KERNEL_VMA + 6 * PAGE_SIZE)
#define FIX_GUARD (FIX_DATA + PAGE_SIZE)
#define FIX_END (FIX_DATA + 6 * PAGE_SIZE)

static inline struct ptp *fix_kernel(uint64_t pool_pages)
{
	host_memory_init(FIX_MEMORY);
	host_trace_start();
	struct pmm_region ram = { FIX_RAM_BASE, FIX_RAM_PAGES, 0 };
	struct pmm_region image = { FIX_KPHYS, 12, PMM_KERNEL };
	cr_assert_eq(pmm_init(&ram, 1, &image, 1), STATUS_OK);
	struct vm_kernel_layout k = {
		.phys_base = FIX_KPHYS,
		.text_start = FIX_TEXT, .text_end = FIX_RODATA,
		.rodata_start = FIX_RODATA, .rodata_end = FIX_DATA,
		.data_start = FIX_DATA, .data_end = FIX_END,
		.stack_guard = FIX_GUARD,
		.ram = &ram, .ram_count = 1,
		.pool_pages = pool_pages,
	};
	cr_assert_eq(vm_kernel_init(&k), STATUS_OK);
	return vm_kernel_pool;
}

/*
 * What the MMU would do: walk va from the PML4 at cr3, reading tables
 * through physical memory only (no pool window, no paging code). Returns
 * the physical address, or ~0 if not mapped.
 */
static inline paddr_t fix_mmu_walk(paddr_t cr3, vaddr_t va)
{
	paddr_t table = cr3;
	for (int level = PT_LEVEL_PML4; level >= PT_LEVEL_PT; level--) {
		pte_t e = ((pte_t *)arch_phys_to_virt(table))[PT_INDEX(va, level)];
		if (!pte_present(e))
			return ~0ull;
		if (level == PT_LEVEL_PT || (level <= PT_LEVEL_PDPT && (e.raw & PTE_PS)))
			return pte_addr(e) + (va & (PT_LEVEL_SIZE(level) - 1));
		table = pte_addr(e);
	}
	return ~0ull;
}

#endif
