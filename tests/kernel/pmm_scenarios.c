/*
 * pmm_scenarios.c - the physical memory manager in the emulator.
 * Expectations: tests/scenarios/pmm_*.test and mmap_*.test (the mmap_ ones
 * boot pmm_machine on a map given with mmap=SPEC).
 */
#include "pmm.h"
#include "scenario.h"
#include "trace.h"

#define KIB 1024ull
#define MIB (1024 * KIB)

static uint64_t free_now(void)
{
	struct pmm_stats s;
	pmm_get_stats(&s);
	return s.free_pages;
}

SCENARIO(pmm_tour, "pages, batches, runs and every kind of bad free")
{
	uint64_t free0 = free_now();
	paddr_t a, b;
	EXPECT_STATUS(pmm_alloc_page(PMM_TEST, &a), STATUS_OK);
	EXPECT_STATUS(pmm_alloc_page(PMM_TEST, &b), STATUS_OK);
	EXPECT(a != b && pmm_is_used(a) && pmm_is_used(b));
	EXPECT_STATUS(pmm_free_page(a), STATUS_OK);
	EXPECT(!pmm_is_used(a));

	/* Each bad free has its own status and changes nothing. */
	EXPECT_STATUS(pmm_free_page(a), STATUS_DOUBLE_FREE);
	EXPECT_STATUS(pmm_free_page(b + 8), STATUS_UNALIGNED);
	EXPECT_STATUS(pmm_free_page(b + PAGE_SIZE), STATUS_NOT_ALLOCATED);
	EXPECT_STATUS(pmm_free_page(1 * MIB), STATUS_RESERVED); /* kernel */
	EXPECT_STATUS(pmm_free_page(0xf0000), STATUS_OUT_OF_RANGE); /* BIOS */
	EXPECT_STATUS(pmm_free_page(4096 * MIB), STATUS_OUT_OF_RANGE);

	paddr_t batch[8];
	EXPECT_STATUS(pmm_alloc_batch(PMM_TEST, batch, 8), STATUS_OK);
	EXPECT_STATUS(pmm_free_batch(batch, 8), STATUS_OK);

	/* 16 pages, 64 KiB aligned, ending at or below 16 MiB. */
	paddr_t run;
	EXPECT_STATUS(pmm_alloc_contiguous(16, 16 * MIB, 16, PMM_TEST, &run),
		      STATUS_OK);
	EXPECT(run % (64 * KIB) == 0 && run + 16 * PAGE_SIZE <= 16 * MIB);
	EXPECT_STATUS(pmm_free_region(run + 8 * PAGE_SIZE, 8), STATUS_OK);
	EXPECT_STATUS(pmm_free_region(run, 9), STATUS_DOUBLE_FREE);
	EXPECT_STATUS(pmm_free_region(run, 8), STATUS_OK);

	paddr_t some;
	uint64_t got;
	EXPECT_STATUS(pmm_alloc_between(4, 32, PMM_TEST, &some, &got),
		      STATUS_OK);
	EXPECT(got == 32);
	EXPECT_STATUS(pmm_free_region(some, got), STATUS_OK);
	EXPECT_STATUS(pmm_alloc_contiguous(free0 + 1, 0, 0, PMM_TEST, &run),
		      STATUS_NO_MEMORY);
	EXPECT_STATUS(pmm_free_page(b), STATUS_OK);
	EXPECT(free_now() == free0);
	pmm_dump();
}

#define MACHINE_MAX_RUNS 256

/*
 * Takes every free page, run by run (largest first), counts them, checks
 * that nothing is left, and gives them back: the bitmap's free count is
 * exactly the memory that can be handed out, whatever the machine's size.
 */
SCENARIO(pmm_machine, "every free page is handed out once, then returned")
{
	static struct {
		paddr_t pa;
		uint64_t pages;
	} runs[MACHINE_MAX_RUNS];
	uint64_t free0 = free_now(), taken = 0;
	size_t n = 0;
	pmm_dump();
	while (n < MACHINE_MAX_RUNS && taken < free0) {
		if (!EXPECT_STATUS(pmm_alloc_between(1, free0, PMM_TEST,
						     &runs[n].pa, &runs[n].pages),
				   STATUS_OK))
			break;
		taken += runs[n++].pages;
	}
	EXPECT(taken == free0);
	EXPECT(free_now() == 0);
	paddr_t pa;
	EXPECT_STATUS(pmm_alloc_page(PMM_TEST, &pa), STATUS_NO_MEMORY);
	for (size_t i = 0; i < n; i++)
		EXPECT_STATUS(pmm_free_region(runs[i].pa, runs[i].pages),
			      STATUS_OK);
	EXPECT(free_now() == free0);
	pmm_dump();
}
