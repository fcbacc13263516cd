/*
 * cases_vm.c - the paging API (src/mm/paging.h): map and unmap of 1, 512
 * and 262,144 pages, translate, range state, and the free-region finder in
 * an empty and in a fragmented window.
 *
 * Every case starts from a fresh machine: 64 MiB of simulated memory, the
 * bitmap over it, and one sealed modifiable pool large enough for the
 * tables of 262,144 pages (512 page tables, a PD, a PDPT, the PML4). The
 * mappings go into the lower half from BENCH_VA, whose tables start out
 * empty: a map round creates its tables (pt.new, zeroed pool pages) and
 * the unmap round frees them again, as in a fresh address space.
 */
#include "bench.h"
#include "paging.h"
#include "pmm.h"
#include "ptp.h"

#define VM_CASE_MEMORY	 (64ull << 20)
#define LOW_MEMORY	 (1ull << 20)
#define BENCH_POOL_PAGES 1100
#define BENCH_VA	 0x40000000ull /* 1 GiB: one PDPT entry covers a 1 GiB map */
#define BENCH_PA	 0x200000ull /* mapped, never touched: any frame does */
#define BIG_PAGES	 262144ull   /* 1 GiB of 4 KiB pages */
#define MAP_FLAGS	 (PTE_P | PTE_W | PTE_NX)

static struct ptp *pool;

static void vm_machine(void)
{
	bench_machine(VM_CASE_MEMORY);
	struct pmm_region usable = {
	    .base = LOW_MEMORY,
	    .pages = (VM_CASE_MEMORY - LOW_MEMORY) / PAGE_SIZE,
	    .reason = PMM_ALLOC,
	};
	BENCH_REQUIRE(pmm_init(&usable, 1, NULL, 0) == STATUS_OK);
	BENCH_REQUIRE(ptp_create(BENCH_POOL_PAGES, PTP_MODIFIABLE, &pool) ==
		      STATUS_OK);
	ptp_seal(pool);
}

/* Pools are global and few (PTP_MAX_POOLS): each case gives its back. */
static void vm_fini(void)
{
	BENCH_REQUIRE(ptp_destroy(pool) == STATUS_OK);
	pool = NULL;
}

static void nothing(uint64_t size, uint64_t ops)
{
	(void)size;
	(void)ops;
}

/* Op i covers [va_of(size, i), + size pages): back to back. */
static vaddr_t va_of(uint64_t size, uint64_t i)
{
	return BENCH_VA + i * size * PAGE_SIZE;
}

/* --- map and unmap --- */

static void map_one(uint64_t size, uint64_t i)
{
	BENCH_REQUIRE(vm_map_range(pool, va_of(size, i), BENCH_PA, size,
				   MAP_FLAGS) == STATUS_OK);
}

static void unmap_one(uint64_t size, uint64_t i)
{
	BENCH_REQUIRE(vm_unmap(pool, va_of(size, i), size) == STATUS_OK);
}

static void map_all(uint64_t size, uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++)
		map_one(size, i);
}

static void unmap_all(uint64_t size, uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++)
		unmap_one(size, i);
}

#define MAP_CASES(n, rounds)                                                   \
	BENCH_CASE(vm_map_range_##n, .group = "vm", .size = n, .pages = n,     \
		   .ops = rounds, .init = vm_machine, .fini = vm_fini,         \
		   .prepare = nothing, .op = map_one, .cleanup = unmap_all);   \
	BENCH_CASE(vm_unmap_##n, .group = "vm", .size = n, .pages = n,         \
		   .ops = rounds, .init = vm_machine, .fini = vm_fini,         \
		   .prepare = map_all, .op = unmap_one, .cleanup = nothing)

MAP_CASES(1, 256);
MAP_CASES(512, 16);
MAP_CASES(262144, 1);

/* --- questions over a mapped gigabyte --- */

static void gigabyte_mapped(void)
{
	vm_machine();
	BENCH_REQUIRE(vm_map_range(pool, BENCH_VA, BENCH_PA, BIG_PAGES,
				   MAP_FLAGS) == STATUS_OK);
}

static void translate(uint64_t size, uint64_t i)
{
	(void)size;
	paddr_t pa;
	vaddr_t va = BENCH_VA + (i * 4099 % BIG_PAGES) * PAGE_SIZE;
	BENCH_REQUIRE(vm_translate(pool, va, &pa, NULL) == STATUS_OK);
}

BENCH_CASE(vm_translate, .group = "vm", .size = 1, .pages = 1, .ops = 4096,
	   .init = gigabyte_mapped, .fini = vm_fini, .prepare = nothing,
	   .op = translate, .cleanup = nothing);

static void range_state(uint64_t size, uint64_t i)
{
	(void)i;
	enum vm_range_state state;
	BENCH_REQUIRE(vm_range_state(pool, BENCH_VA, size, &state) ==
		      STATUS_OK);
	BENCH_REQUIRE(state == VM_RANGE_FULL);
}

#define STATE_CASE(n, rounds)                                                  \
	BENCH_CASE(vm_range_state_##n, .group = "vm", .size = n, .pages = n,   \
		   .ops = rounds, .init = gigabyte_mapped, .fini = vm_fini,    \
		   .prepare = nothing, .op = range_state, .cleanup = nothing)

STATE_CASE(1, 1024);
STATE_CASE(512, 64);
STATE_CASE(262144, 1);

/* --- the free-region finder --- */

#define WINDOW_PAGES	 (4 * BIG_PAGES) /* a 4 GiB window from BENCH_VA */
#define FRAGMENTED_PAGES 4096		 /* every other page mapped */

static void find_free(uint64_t size, uint64_t i)
{
	(void)i;
	vaddr_t va;
	BENCH_REQUIRE(vm_find_free(pool, BENCH_VA,
				   BENCH_VA + WINDOW_PAGES * PAGE_SIZE, size, 1,
				   &va) == STATUS_OK);
}

/* The first FRAGMENTED_PAGES of the window: mapped, hole, mapped, ... */
static void fragmented_window(void)
{
	vm_machine();
	for (uint64_t p = 0; p < FRAGMENTED_PAGES; p += 2)
		BENCH_REQUIRE(vm_map(pool, BENCH_VA + p * PAGE_SIZE, BENCH_PA,
				     MAP_FLAGS) == STATUS_OK);
}

#define FIND_CASES(n, rounds)                                                  \
	BENCH_CASE(vm_find_free_empty_##n, .group = "vm", .size = n,           \
		   .pages = n, .ops = rounds, .init = vm_machine,              \
		   .fini = vm_fini, .prepare = nothing, .op = find_free,       \
		   .cleanup = nothing);                                        \
	BENCH_CASE(vm_find_free_fragmented_##n, .group = "vm", .size = n,      \
		   .pages = n, .ops = rounds, .init = fragmented_window,       \
		   .fini = vm_fini, .prepare = nothing, .op = find_free,       \
		   .cleanup = nothing)

FIND_CASES(1, 256);
FIND_CASES(16, 64);
FIND_CASES(512, 16);
FIND_CASES(262144, 1);
