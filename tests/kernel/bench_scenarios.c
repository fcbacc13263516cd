/*
 * bench_scenarios.c - the trace-heavy run of the Bochs benchmark (bench/run,
 * docs/performance.md): many small memory-management operations, each of
 * which writes its trace lines, so the run's cost is dominated by the trace.
 */
#include "layout.h"
#include "paging.h"
#include "pmm.h"
#include "scenario.h"

#define HEAVY_PAGES  256 /* pages allocated one by one, a round */
#define HEAVY_ROUNDS 8
#define HEAVY_MAPS   512 /* single-page maps, then one range unmap */

static paddr_t heavy_pages[HEAVY_PAGES];

/* Allocates and frees HEAVY_PAGES pages one by one; false at a failure. */
static bool alloc_free_round(void)
{
	for (int i = 0; i < HEAVY_PAGES; i++)
		if (!EXPECT_STATUS(pmm_alloc_page(PMM_TEST, &heavy_pages[i]),
				   STATUS_OK))
			return false;
	for (int i = 0; i < HEAVY_PAGES; i++)
		if (!EXPECT_STATUS(pmm_free_page(heavy_pages[i]), STATUS_OK))
			return false;
	return true;
}

/* Maps HEAVY_MAPS pages one by one onto one frame, then unmaps them all. */
static void map_unmap_round(void)
{
	vaddr_t va;
	paddr_t frame;
	if (!EXPECT_STATUS(vm_find_free(vm_kernel_pool, KALLOC_BASE, KALLOC_END,
					HEAVY_MAPS, 1, &va),
			   STATUS_OK) ||
	    !EXPECT_STATUS(pmm_alloc_page(PMM_TEST, &frame), STATUS_OK))
		return;
	for (int i = 0; i < HEAVY_MAPS; i++)
		if (!EXPECT_STATUS(vm_map(vm_kernel_pool, va + i * PAGE_SIZE,
					  frame, PTE_P | PTE_W | PTE_NX),
				   STATUS_OK))
			break;
	EXPECT_STATUS(vm_unmap(vm_kernel_pool, va, HEAVY_MAPS), STATUS_OK);
	EXPECT_STATUS(pmm_free_page(frame), STATUS_OK);
}

SCENARIO(bench_trace_heavy, "many small traced mm operations (bench/run)")
{
	for (int round = 0; round < HEAVY_ROUNDS; round++)
		if (!alloc_free_round())
			return;
	map_unmap_round();
}
