/*
 * cases_heap.c - the kernel allocators (src/mm/heap.h, kalloc.h): kmalloc
 * and kfree of one object of each size class and of a large object, and
 * kalloc/kalloc_free of one page.
 *
 * Every case starts from a booted kernel space on a fresh machine: 64 MiB
 * of simulated memory, the bitmap, vm_kernel_init over a fake kernel image
 * (as in the host tests), kalloc's window and an empty heap. A kmalloc
 * round takes `ops` objects of one size (the first of each slab grows the
 * heap: a kalloc of one page), the kfree round gives them back (the last
 * of each slab shrinks it), so both costs include their share of slab
 * pages coming and going, as the kernel pays it.
 */
#include "bench.h"
#include "heap.h"
#include "kalloc.h"
#include "layout.h"
#include "paging.h"
#include "pmm.h"

#define HEAP_CASE_MEMORY (64ull << 20)
#define RAM_BASE	 (1ull << 20)
#define KERNEL_PHYS	 0x200000ull
#define KERNEL_PAGES	 8
#define POOL_PAGES	 512
#define MAX_OPS		 1024

static void *objects[MAX_OPS];
static vaddr_t regions[MAX_OPS];

static void heap_machine(void)
{
	bench_machine(HEAP_CASE_MEMORY);
	static struct pmm_region ram = {
	    RAM_BASE, (HEAP_CASE_MEMORY - RAM_BASE) / PAGE_SIZE, PMM_ALLOC};
	struct pmm_region image = {KERNEL_PHYS, KERNEL_PAGES, PMM_KERNEL};
	BENCH_REQUIRE(pmm_init(&ram, 1, &image, 1) == STATUS_OK);
	struct vm_kernel_layout k = {
	    .phys_base = KERNEL_PHYS,
	    .text_start = KERNEL_VMA,
	    .text_end = KERNEL_VMA + 2 * PAGE_SIZE,
	    .rodata_start = KERNEL_VMA + 2 * PAGE_SIZE,
	    .rodata_end = KERNEL_VMA + 4 * PAGE_SIZE,
	    .data_start = KERNEL_VMA + 4 * PAGE_SIZE,
	    .data_end = KERNEL_VMA + KERNEL_PAGES * PAGE_SIZE,
	    .stack_guard = KERNEL_VMA + 5 * PAGE_SIZE,
	    .ram = &ram,
	    .ram_count = 1,
	    .pool_pages = POOL_PAGES,
	};
	BENCH_REQUIRE(vm_kernel_init(&k) == STATUS_OK);
	BENCH_REQUIRE(kalloc_init() == STATUS_OK);
	BENCH_REQUIRE(heap_init() == STATUS_OK);
}

/* Pools are global and few: the kernel's goes back, after the simulated
 * CPU has left it (CR3 0), like every other case's pool. */
static void heap_fini(void)
{
	arch_write_cr3(0);
	BENCH_REQUIRE(ptp_destroy(vm_kernel_pool) == STATUS_OK);
	vm_kernel_pool = NULL;
}

static void nothing(uint64_t size, uint64_t ops)
{
	(void)size;
	(void)ops;
}

static void alloc_one(uint64_t size, uint64_t i)
{
	BENCH_REQUIRE(kmalloc(size, &objects[i]) == STATUS_OK);
}

static void free_one(uint64_t size, uint64_t i)
{
	(void)size;
	BENCH_REQUIRE(kfree(objects[i]) == STATUS_OK);
}

static void alloc_all(uint64_t size, uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++)
		alloc_one(size, i);
}

static void free_all(uint64_t size, uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++)
		free_one(size, i);
}

#define HEAP_CASES(n, rounds)                                                  \
	BENCH_CASE(kmalloc_##n, .group = "heap", .size = n, .pages = 0,        \
		   .ops = rounds, .init = heap_machine, .fini = heap_fini,     \
		   .prepare = nothing, .op = alloc_one, .cleanup = free_all);  \
	BENCH_CASE(kfree_##n, .group = "heap", .size = n, .pages = 0,          \
		   .ops = rounds, .init = heap_machine, .fini = heap_fini,     \
		   .prepare = alloc_all, .op = free_one, .cleanup = nothing)

HEAP_CASES(16, 1024);
HEAP_CASES(32, 1024);
HEAP_CASES(64, 1024);
HEAP_CASES(128, 1024);
HEAP_CASES(256, 1024);
HEAP_CASES(512, 512);
HEAP_CASES(1024, 256);
HEAP_CASES(8192, 64);

/* --- kalloc: one page, mapped and unmapped --- */

static void kalloc_one(uint64_t size, uint64_t i)
{
	BENCH_REQUIRE(kalloc(size, &regions[i]) == STATUS_OK);
}

static void kalloc_free_one(uint64_t size, uint64_t i)
{
	BENCH_REQUIRE(kalloc_free(regions[i], size) == STATUS_OK);
}

static void kalloc_all(uint64_t size, uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++)
		kalloc_one(size, i);
}

static void kalloc_free_all(uint64_t size, uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++)
		kalloc_free_one(size, i);
}

BENCH_CASE(kalloc_1, .group = "heap", .size = 1, .pages = 1, .ops = 256,
	   .init = heap_machine, .fini = heap_fini, .prepare = nothing,
	   .op = kalloc_one, .cleanup = kalloc_free_all);
BENCH_CASE(kalloc_free_1, .group = "heap", .size = 1, .pages = 1, .ops = 256,
	   .init = heap_machine, .fini = heap_fini, .prepare = kalloc_all,
	   .op = kalloc_free_one, .cleanup = nothing);
