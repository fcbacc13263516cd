/*
 * cases_baseline.c - the reference the fast cases are measured against:
 * the same operations written as a textbook writes them (xv6's walk and
 * mappages, its kalloc free list), run in the same process on the same
 * simulated machine, so `make bench` can print each case's ratio to its
 * baseline (bench/run: the rows "baseline_<case>").
 *
 * Paging: four-level tables of their own (not a pool, no trace, no
 * all-or-nothing check: a map stops at the first page in the way), reached
 * through arch_phys_to_virt as xv6 reaches them through P2V. Every page is
 * an uncached walk from the root:
 *
 *   map        walk (creating tables) and write the entry, a page at a time
 *   unmap      walk, clear the entry if present, a page at a time; empty
 *              tables are left in place (as xv6's uvmunmap), the
 *              unmeasured cleanup frees them; one TLB flush at the end
 *   range      walk every page, count the present ones
 *   translate  one walk
 *   find free  first fit: walk every page of a candidate; a mapped page
 *              moves the candidate past it
 *
 * Physical pages: xv6's kalloc, a list threaded through the free pages
 * themselves (pop to allocate, push to free); the floor for one page.
 *
 * Only bench code uses this file: the kernel never runs it.
 */
#include "bench.h"
#include "paging.h"
#include "pmm.h"

#define BASE_MEMORY	 (64ull << 20)
#define LOW_MEMORY	 (1ull << 20)
#define BASE_TABLES	 1100	       /* like the fast cases' pool */
#define BASE_VA		 0x40000000ull /* where cases_vm.c maps */
#define BASE_PA		 0x200000ull
#define BIG_PAGES	 262144ull
#define MAP_FLAGS	 (PTE_P | PTE_W | PTE_NX)

/* ---- a free list of pages (xv6 kalloc) ------------------------------------ */

static paddr_t free_list; /* first free page; each holds the next's address */

static void list_push(paddr_t pa)
{
	*(paddr_t *)arch_phys_to_virt(pa) = free_list;
	free_list = pa;
}

static paddr_t list_pop(void)
{
	paddr_t pa = free_list;
	if (pa)
		free_list = *(paddr_t *)arch_phys_to_virt(pa);
	return pa;
}

/* ---- textbook paging ------------------------------------------------------ */

static paddr_t root; /* the PML4 */

static pte_t *table_at(paddr_t pa)
{
	return arch_phys_to_virt(pa);
}

static paddr_t table_alloc(void)
{
	paddr_t pa = list_pop();
	if (pa)
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			table_at(pa)[i].raw = 0;
	return pa;
}

/* The PT entry for va, from the root down; with alloc, missing tables are
 * created; without, NULL where a table is missing. */
static pte_t *base_walk(vaddr_t va, bool alloc)
{
	pte_t *table = table_at(root);
	for (int level = PT_LEVEL_PML4; level > PT_LEVEL_PT; level--) {
		pte_t *e = &table[PT_INDEX(va, level)];
		if (!pte_present(*e)) {
			paddr_t pa = alloc ? table_alloc() : 0;
			if (!pa)
				return NULL;
			*e = pte_make(pa, PTE_TABLE_FLAGS);
		}
		table = table_at(pte_addr(*e));
	}
	return &table[PT_INDEX(va, PT_LEVEL_PT)];
}

static bool base_map_range(vaddr_t va, paddr_t pa, uint64_t pages,
			   uint64_t flags)
{
	for (uint64_t i = 0; i < pages; i++) {
		pte_t *e = base_walk(va + i * PAGE_SIZE, true);
		if (!e || pte_present(*e))
			return false;
		*e = pte_make(pa + i * PAGE_SIZE, flags);
	}
	return true;
}

static uint64_t base_unmap(vaddr_t va, uint64_t pages)
{
	uint64_t cleared = 0;
	for (uint64_t i = 0; i < pages; i++) {
		pte_t *e = base_walk(va + i * PAGE_SIZE, false);
		if (e && pte_present(*e)) {
			e->raw = 0;
			cleared++;
		}
	}
	arch_flush_tlb_all();
	return cleared;
}

static uint64_t base_mapped(vaddr_t va, uint64_t pages)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i < pages; i++) {
		pte_t *e = base_walk(va + i * PAGE_SIZE, false);
		n += e && pte_present(*e);
	}
	return n;
}

static bool base_translate(vaddr_t va, paddr_t *pa)
{
	pte_t *e = base_walk(va, false);
	if (!e || !pte_present(*e))
		return false;
	*pa = pte_addr(*e) + (va & PAGE_MASK);
	return true;
}

static bool base_find_free(vaddr_t lo, vaddr_t hi, uint64_t pages,
			   vaddr_t *out)
{
	vaddr_t cand = lo;
	while (hi - cand >= pages * PAGE_SIZE) {
		uint64_t i = 0;
		while (i < pages && !base_mapped(cand + i * PAGE_SIZE, 1))
			i++;
		if (i == pages) {
			*out = cand;
			return true;
		}
		cand += (i + 1) * PAGE_SIZE; /* past the mapped page */
	}
	return false;
}

/* Frees every table below the root (level > PT: its entries are tables). */
static void free_tables(paddr_t table, int level)
{
	pte_t *t = table_at(table);
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		if (!pte_present(t[i]))
			continue;
		if (level > PT_LEVEL_PD)
			free_tables(pte_addr(t[i]), level - 1);
		list_push(pte_addr(t[i]));
		t[i].raw = 0;
	}
}

/* ---- the machine ---------------------------------------------------------- */

static void base_machine(void)
{
	bench_machine(BASE_MEMORY);
	struct pmm_region usable = {
	    .base = LOW_MEMORY,
	    .pages = (BASE_MEMORY - LOW_MEMORY) / PAGE_SIZE,
	    .reason = PMM_ALLOC,
	};
	BENCH_REQUIRE(pmm_init(&usable, 1, NULL, 0) == STATUS_OK);
	free_list = 0;
	for (unsigned i = 0; i < BASE_TABLES + 1; i++) {
		paddr_t pa;
		BENCH_REQUIRE(pmm_alloc_page(PMM_TEST, &pa) == STATUS_OK);
		list_push(pa);
	}
	root = table_alloc();
}

static void nothing(uint64_t size, uint64_t ops)
{
	(void)size;
	(void)ops;
}

static vaddr_t va_of(uint64_t size, uint64_t i)
{
	return BASE_VA + i * size * PAGE_SIZE;
}

static void map_one(uint64_t size, uint64_t i)
{
	BENCH_REQUIRE(base_map_range(va_of(size, i), BASE_PA, size, MAP_FLAGS));
}

static void unmap_one(uint64_t size, uint64_t i)
{
	BENCH_REQUIRE(base_unmap(va_of(size, i), size) == size);
}

static void map_all(uint64_t size, uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++)
		map_one(size, i);
}

static void unmap_all_and_free(uint64_t size, uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++)
		unmap_one(size, i);
	free_tables(root, PT_LEVEL_PML4);
}

static void free_all(uint64_t size, uint64_t ops)
{
	(void)size;
	(void)ops;
	free_tables(root, PT_LEVEL_PML4);
}

#define BASE_MAP_CASES(n, rounds)                                              \
	BENCH_CASE(baseline_vm_map_range_##n, .group = "baseline", .size = n,  \
		   .pages = n, .ops = rounds, .init = base_machine,            \
		   .prepare = nothing, .op = map_one,                          \
		   .cleanup = unmap_all_and_free);                             \
	BENCH_CASE(baseline_vm_unmap_##n, .group = "baseline", .size = n,      \
		   .pages = n, .ops = rounds, .init = base_machine,            \
		   .prepare = map_all, .op = unmap_one, .cleanup = free_all)

BASE_MAP_CASES(1, 256);
BASE_MAP_CASES(512, 16);
BASE_MAP_CASES(262144, 1);

static void gigabyte_mapped(void)
{
	base_machine();
	BENCH_REQUIRE(base_map_range(BASE_VA, BASE_PA, BIG_PAGES, MAP_FLAGS));
}

static void translate(uint64_t size, uint64_t i)
{
	(void)size;
	paddr_t pa;
	vaddr_t va = BASE_VA + (i * 4099 % BIG_PAGES) * PAGE_SIZE;
	BENCH_REQUIRE(base_translate(va, &pa));
}

BENCH_CASE(baseline_vm_translate, .group = "baseline", .size = 1, .pages = 1,
	   .ops = 4096, .init = gigabyte_mapped, .prepare = nothing,
	   .op = translate, .cleanup = nothing);

static void range_state(uint64_t size, uint64_t i)
{
	(void)i;
	BENCH_REQUIRE(base_mapped(BASE_VA, size) == size);
}

#define BASE_STATE_CASE(n, rounds)                                             \
	BENCH_CASE(baseline_vm_range_state_##n, .group = "baseline",           \
		   .size = n, .pages = n, .ops = rounds,                       \
		   .init = gigabyte_mapped, .prepare = nothing,                \
		   .op = range_state, .cleanup = nothing)

BASE_STATE_CASE(1, 1024);
BASE_STATE_CASE(512, 64);
BASE_STATE_CASE(262144, 1);

/* The free-region finder over cases_vm.c's windows. */
#define WINDOW_PAGES	 (4 * BIG_PAGES)
#define FRAGMENTED_PAGES 4096

static void find_free(uint64_t size, uint64_t i)
{
	(void)i;
	vaddr_t va;
	BENCH_REQUIRE(base_find_free(BASE_VA, BASE_VA + WINDOW_PAGES * PAGE_SIZE,
				     size, &va));
}

static void fragmented_window(void)
{
	base_machine();
	for (uint64_t p = 0; p < FRAGMENTED_PAGES; p += 2)
		BENCH_REQUIRE(base_map_range(BASE_VA + p * PAGE_SIZE, BASE_PA, 1,
					     MAP_FLAGS));
}

#define BASE_FIND_CASES(n, rounds)                                             \
	BENCH_CASE(baseline_vm_find_free_empty_##n, .group = "baseline",       \
		   .size = n, .pages = n, .ops = rounds, .init = base_machine, \
		   .prepare = nothing, .op = find_free, .cleanup = nothing);   \
	BENCH_CASE(baseline_vm_find_free_fragmented_##n, .group = "baseline",  \
		   .size = n, .pages = n, .ops = rounds,                       \
		   .init = fragmented_window, .prepare = nothing,              \
		   .op = find_free, .cleanup = nothing)

BASE_FIND_CASES(1, 256);
BASE_FIND_CASES(16, 64);
BASE_FIND_CASES(512, 16);
BASE_FIND_CASES(262144, 1);

/* ---- physical pages: the free list ---------------------------------------- */

static paddr_t stash[BASE_MEMORY / PAGE_SIZE];

/* Every usable page on the list, lowest address first off it (no pmm:
 * the list is the allocator). */
static void list_machine(void)
{
	bench_machine(BASE_MEMORY);
	free_list = 0;
	for (paddr_t pa = BASE_MEMORY - PAGE_SIZE; pa >= LOW_MEMORY;
	     pa -= PAGE_SIZE)
		list_push(pa);
}

static void alloc_page(uint64_t size, uint64_t i)
{
	(void)size;
	stash[i] = list_pop();
	BENCH_REQUIRE(stash[i] != 0);
}

static void free_page(uint64_t size, uint64_t i)
{
	(void)size;
	list_push(stash[i]);
}

static void alloc_pages(uint64_t size, uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++)
		alloc_page(size, i);
}

static void free_pages(uint64_t size, uint64_t ops)
{
	for (uint64_t i = ops; i-- > 0;)
		free_page(size, i);
}

BENCH_CASE(baseline_pmm_alloc_page, .group = "baseline", .size = 1,
	   .pages = 1, .ops = 1024, .init = list_machine, .prepare = nothing,
	   .op = alloc_page, .cleanup = free_pages);
BENCH_CASE(baseline_pmm_free_page, .group = "baseline", .size = 1,
	   .pages = 1, .ops = 1024, .init = list_machine,
	   .prepare = alloc_pages, .op = free_page, .cleanup = nothing);

static void free_batch(uint64_t size, uint64_t i)
{
	for (uint64_t k = 0; k < size; k++)
		list_push(stash[i * size + k]);
}

static void alloc_batches(uint64_t size, uint64_t ops)
{
	alloc_pages(1, size * ops);
}

#define BASE_BATCH_CASE(n, rounds)                                             \
	BENCH_CASE(baseline_pmm_free_batch_##n, .group = "baseline",           \
		   .size = n, .pages = n, .ops = rounds, .init = list_machine, \
		   .prepare = alloc_batches, .op = free_batch,                 \
		   .cleanup = nothing)

BASE_BATCH_CASE(16, 256);
BASE_BATCH_CASE(512, 16);
BASE_BATCH_CASE(8192, 1);
