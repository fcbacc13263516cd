/*
 * cases_pmm.c - the physical allocator (src/mm/pmm.h): single pages, batches
 * and contiguous runs, one row per size so the growth shows.
 *
 * Every case starts from a fresh bitmap over 64 MiB of simulated memory
 * (the first MiB not usable), the state the kernel has after boot. The
 * measured loop allocates (or frees) into a stash; the unmeasured part
 * gives everything back, so each round starts from the same bitmap.
 */
#include "bench.h"
#include "pmm.h"

#define PMM_CASE_MEMORY (64ull << 20)
#define LOW_MEMORY	(1ull << 20)
#define STASH_PAGES	(PMM_CASE_MEMORY / PAGE_SIZE)

static paddr_t stash[STASH_PAGES];

static void pmm_machine(void)
{
	bench_machine(PMM_CASE_MEMORY);
	struct pmm_region usable = {
	    .base = LOW_MEMORY,
	    .pages = (PMM_CASE_MEMORY - LOW_MEMORY) / PAGE_SIZE,
	    .reason = PMM_ALLOC,
	};
	BENCH_REQUIRE(pmm_init(&usable, 1, NULL, 0) == STATUS_OK);
}

static void nothing(uint64_t size, uint64_t ops)
{
	(void)size;
	(void)ops;
}

/* --- single pages --------------------------------------------------------- */

static void alloc_page(uint64_t size, uint64_t i)
{
	(void)size;
	BENCH_REQUIRE(pmm_alloc_page(PMM_ALLOC, &stash[i]) == STATUS_OK);
}

static void free_page(uint64_t size, uint64_t i)
{
	(void)size;
	BENCH_REQUIRE(pmm_free_page(stash[i]) == STATUS_OK);
}

static void alloc_pages(uint64_t size, uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++)
		alloc_page(size, i);
}

static void free_pages(uint64_t size, uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++)
		free_page(size, i);
}

BENCH_CASE(pmm_alloc_page, .group = "pmm", .size = 1, .pages = 1, .ops = 1024,
	   .init = pmm_machine, .prepare = nothing, .op = alloc_page,
	   .cleanup = free_pages);
BENCH_CASE(pmm_free_page, .group = "pmm", .size = 1, .pages = 1, .ops = 1024,
	   .init = pmm_machine, .prepare = alloc_pages, .op = free_page,
	   .cleanup = nothing);

/* --- batches: size pages, not necessarily contiguous ---------------------- */

static void alloc_batch(uint64_t size, uint64_t i)
{
	BENCH_REQUIRE(pmm_alloc_batch(PMM_ALLOC, &stash[i * size], size) ==
		      STATUS_OK);
}

static void free_batch(uint64_t size, uint64_t i)
{
	BENCH_REQUIRE(pmm_free_batch(&stash[i * size], size) == STATUS_OK);
}

static void alloc_batches(uint64_t size, uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++)
		alloc_batch(size, i);
}

static void free_batches(uint64_t size, uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++)
		free_batch(size, i);
}

#define BATCH_CASES(n, rounds)                                                 \
	BENCH_CASE(pmm_alloc_batch_##n, .group = "pmm", .size = n, .pages = n, \
		   .ops = rounds, .init = pmm_machine, .prepare = nothing,     \
		   .op = alloc_batch, .cleanup = free_batches);                \
	BENCH_CASE(pmm_free_batch_##n, .group = "pmm", .size = n, .pages = n,  \
		   .ops = rounds, .init = pmm_machine,                         \
		   .prepare = alloc_batches, .op = free_batch,                 \
		   .cleanup = nothing)

BATCH_CASES(16, 256);
BATCH_CASES(512, 16);
BATCH_CASES(8192, 1);

/* --- contiguous runs: first fit, any alignment ---------------------------- */

static void alloc_run(uint64_t size, uint64_t i)
{
	BENCH_REQUIRE(pmm_alloc_contiguous(size, 0, 1, PMM_ALLOC, &stash[i]) ==
		      STATUS_OK);
}

static void free_run(uint64_t size, uint64_t i)
{
	BENCH_REQUIRE(pmm_free_region(stash[i], size) == STATUS_OK);
}

static void alloc_runs(uint64_t size, uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++)
		alloc_run(size, i);
}

static void free_runs(uint64_t size, uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++)
		free_run(size, i);
}

#define RUN_CASES(n, rounds)                                                   \
	BENCH_CASE(pmm_alloc_contiguous_##n, .group = "pmm", .size = n,        \
		   .pages = n, .ops = rounds, .init = pmm_machine,             \
		   .prepare = nothing, .op = alloc_run, .cleanup = free_runs); \
	BENCH_CASE(pmm_free_region_##n, .group = "pmm", .size = n, .pages = n, \
		   .ops = rounds, .init = pmm_machine, .prepare = alloc_runs,  \
		   .op = free_run, .cleanup = nothing)

RUN_CASES(1, 256);
RUN_CASES(512, 16);
RUN_CASES(8192, 1);

/*
 * A contiguous run in fragmented memory: the first 4096 usable pages are
 * taken as one run and then every other one of them is freed, so first fit
 * has to walk past 2048 one-page holes before it finds 16 free pages.
 */
#define FRAGMENTED_PAGES 4096

static void fragment(void)
{
	pmm_machine();
	paddr_t base;
	BENCH_REQUIRE(pmm_alloc_contiguous(FRAGMENTED_PAGES, 0, 1, PMM_TEST,
					   &base) == STATUS_OK);
	for (uint64_t i = 0; i < FRAGMENTED_PAGES; i += 2)
		BENCH_REQUIRE(pmm_free_page(base + i * PAGE_SIZE) == STATUS_OK);
}

BENCH_CASE(pmm_alloc_contiguous_fragmented_16, .group = "pmm", .size = 16,
	   .pages = 16, .ops = 16, .init = fragment, .prepare = nothing,
	   .op = alloc_run, .cleanup = free_runs);
