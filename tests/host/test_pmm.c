/*
 * test_pmm.c - the physical memory manager on simulated memory: every
 * function, every error status, and the trace lines they write.
 *
 * The machine: 16 MiB of simulated memory; usable RAM is 1 MiB..8 MiB and
 * 9 MiB..16 MiB (a hole of 1 MiB at 8 MiB); the "kernel" is reserved at
 * 1 MiB..1 MiB+64 KiB. The bitmap goes to the first free pages after it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "pmm.h"
#include "pmm_bitmap.h"
#include "trace.h"

#define MIB (1ull << 20)
#define KERNEL_PAGES 16
#define HOLE_BASE (8 * MIB)
#define HOLE_END (9 * MIB)
#define USABLE_PAGES ((7 * MIB + 7 * MIB) / PAGE_SIZE)

static const struct pmm_region usable[] = {
	{ 1 * MIB, 7 * MIB / PAGE_SIZE, 0 },
	{ 9 * MIB, 7 * MIB / PAGE_SIZE, 0 },
};
static const struct pmm_region kernel = { 1 * MIB, KERNEL_PAGES, PMM_KERNEL };
#define FIRST_FREE (1 * MIB + (KERNEL_PAGES + 1) * PAGE_SIZE) /* after bitmap */

static void machine(void)
{
	host_memory_init(16 * MIB);
	host_trace_start();
	cr_assert_eq(pmm_init(usable, 2, &kernel, 1), STATUS_OK);
}

static uint64_t free_pages(void)
{
	struct pmm_stats s;
	pmm_get_stats(&s);
	return s.free_pages;
}

/* A copy of the bitmap storage, to prove a failed call changed nothing. */
struct snapshot {
	void *bytes;
	size_t size;
	uint64_t free;
};

static struct snapshot snap(void)
{
	struct pmm_stats s;
	pmm_get_stats(&s);
	struct snapshot sn = { NULL, pmm_bitmap_bytes(s.total_pages),
			       s.free_pages };
	sn.bytes = malloc(sn.size);
	memcpy(sn.bytes, arch_phys_to_virt(pmm_bitmap_base()), sn.size);
	return sn;
}

/* Asserts the call failed with want, wrote one err event and nothing else
 * in pmm, and left the bitmap as the snapshot. */
static void assert_failed_cleanly(status_t got, status_t want,
				  struct snapshot sn, const char *fn)
{
	char needle[80];
	cr_assert_eq(got, want, "got %s want %s", status_name(got),
		     status_name(want));
	snprintf(needle, sizeof needle, " err.%s fn=%s ", status_name(want), fn);
	cr_assert_eq(host_trace_count(" err."), 1, "trace:\n%s",
		     host_trace_text());
	cr_assert_eq(host_trace_count(needle), 1, "trace:\n%s",
		     host_trace_text());
	cr_assert_eq(host_trace_count(" pmm."), 0);
	cr_assert_eq(memcmp(sn.bytes, arch_phys_to_virt(pmm_bitmap_base()),
			    sn.size), 0, "bitmap changed");
	cr_assert_eq(free_pages(), sn.free);
	free(sn.bytes);
}

#define EXPECT_FAIL(call, want, fn)                       \
	do {                                              \
		struct snapshot sn_ = snap();             \
		host_trace_clear();                       \
		assert_failed_cleanly((call), want, sn_, fn); \
		host_trace_clear();                       \
	} while (0)

/* ---- init ------------------------------------------------------------------ */

Test(pmm, init_frees_usable_ram_and_reserves_kernel_and_bitmap)
{
	machine();
	struct pmm_stats s;
	pmm_get_stats(&s);
	cr_assert_eq(s.total_pages, 16 * MIB / PAGE_SIZE);
	cr_assert_eq(s.usable_pages, USABLE_PAGES);
	cr_assert_eq(s.reserved_pages, KERNEL_PAGES + 1);
	cr_assert_eq(s.free_pages, USABLE_PAGES - KERNEL_PAGES - 1);
	cr_assert_eq(s.used_pages, KERNEL_PAGES + 1);
	cr_assert_eq(pmm_bitmap_base(), 1 * MIB + KERNEL_PAGES * PAGE_SIZE);
	const char *t = host_trace_text();
	cr_assert(strstr(t, "1 pmm.init pages=4096 bitmap=0x110000 "
			    "bitmap_pages=1\n"), "%s", t);
	cr_assert(strstr(t, "2 pmm.clear pa=0x100000 n=1792 why=usable\n"));
	cr_assert(strstr(t, "3 pmm.clear pa=0x900000 n=1792 why=usable\n"));
	cr_assert(strstr(t, "4 pmm.set pa=0x100000 n=16 why=kernel\n"));
	cr_assert(strstr(t, "5 pmm.set pa=0x110000 n=1 why=bitmap\n"));
}

Test(pmm, init_marks_holes_and_low_memory_used)
{
	machine();
	cr_assert(pmm_is_used(0));
	cr_assert(pmm_is_used(MIB - PAGE_SIZE));
	cr_assert(pmm_is_used(HOLE_BASE));
	cr_assert(pmm_is_used(HOLE_END - PAGE_SIZE));
	cr_assert(!pmm_is_used(HOLE_END));
	cr_assert(!pmm_is_used(FIRST_FREE));
	cr_assert(pmm_is_used(16 * MIB), "beyond the bitmap counts as used");
}

Test(pmm, init_reserves_only_the_usable_part_of_a_reservation)
{
	host_memory_init(16 * MIB);
	host_trace_start();
	/* "low" spans 0..2 MiB but only 1..2 MiB is usable; two reservations
	 * overlap: each page is set once. */
	struct pmm_region res[] = { { 0, 512, PMM_FIRST_MIB },
				    { 1 * MIB, 512, PMM_KERNEL } };
	cr_assert_eq(pmm_init(usable, 2, res, 2), STATUS_OK);
	cr_assert_eq(host_trace_count(" pmm.set pa=0x100000 n=256 why=low"), 1,
		     "%s", host_trace_text());
	cr_assert_eq(host_trace_count("why=kernel"), 1);
	cr_assert_eq(host_trace_count(" pmm.set pa=0x200000 n=256 why=kernel"),
		     1, "%s", host_trace_text());
	cr_assert_eq(pmm_bitmap_base(), 3 * MIB, "bitmap after reservations");
}

Test(pmm, init_places_the_bitmap_in_the_first_gap_that_holds_it)
{
	host_memory_init(64 * MIB);
	host_trace_start();
	/* 16384 pages: 2 maps * 256 words * 8 bytes = 4 KiB: one page. The
	 * 1-page gap between the two reservations holds it. */
	struct pmm_region ram = { 1 * MIB, 63 * MIB / PAGE_SIZE, 0 };
	struct pmm_region res[] = { { 1 * MIB + 2 * PAGE_SIZE, 4, PMM_MODULE },
				    { 1 * MIB, 1, PMM_KERNEL } };
	cr_assert_eq(pmm_init(&ram, 1, res, 2), STATUS_OK);
	cr_assert_eq(pmm_bitmap_base(), 1 * MIB + PAGE_SIZE);
}

Test(pmm, init_rejects_bad_region_lists_and_keeps_the_previous_state)
{
	machine();
	struct pmm_region one = { 1 * MIB, 16, 0 };
	struct pmm_region unaligned = { 1 * MIB + 1, 16, 0 };
	struct pmm_region empty = { 1 * MIB, 0, 0 };
	struct pmm_region wrap = { ~0ull - PAGE_MASK, 2, 0 };
	struct pmm_region far = { 1ull << 40, 16, 0 };
	struct pmm_region unsorted[] = { { 4 * MIB, 16, 0 }, { 1 * MIB, 16, 0 } };
	struct pmm_region overlap[] = { { 1 * MIB, 512, 0 }, { 1 * MIB + 4096, 1, 0 } };
	struct pmm_region bad_why = { 1 * MIB, 1, PMM_REASON_COUNT };
	struct pmm_region many[PMM_MAX_REGIONS + 1];
	for (int i = 0; i <= PMM_MAX_REGIONS; i++)
		many[i] = (struct pmm_region){ (i + 1) * 2 * PAGE_SIZE, 1, 0 };
	EXPECT_FAIL(pmm_init(NULL, 1, NULL, 0), STATUS_INVALID_ARG, "pmm_init");
	EXPECT_FAIL(pmm_init(&one, 0, NULL, 0), STATUS_ZERO_COUNT, "pmm_init");
	EXPECT_FAIL(pmm_init(many, PMM_MAX_REGIONS + 1, NULL, 0),
		    STATUS_TOO_LARGE, "pmm_init");
	EXPECT_FAIL(pmm_init(&unaligned, 1, NULL, 0), STATUS_UNALIGNED,
		    "pmm_init");
	EXPECT_FAIL(pmm_init(&empty, 1, NULL, 0), STATUS_ZERO_COUNT, "pmm_init");
	EXPECT_FAIL(pmm_init(&wrap, 1, NULL, 0), STATUS_WRAP, "pmm_init");
	EXPECT_FAIL(pmm_init(&far, 1, NULL, 0), STATUS_OUT_OF_RANGE, "pmm_init");
	EXPECT_FAIL(pmm_init(unsorted, 2, NULL, 0), STATUS_BAD_MMAP, "pmm_init");
	EXPECT_FAIL(pmm_init(overlap, 2, NULL, 0), STATUS_BAD_MMAP, "pmm_init");
	EXPECT_FAIL(pmm_init(&one, 1, NULL, 1), STATUS_INVALID_ARG, "pmm_init");
	EXPECT_FAIL(pmm_init(&one, 1, &bad_why, 1), STATUS_INVALID_ARG,
		    "pmm_init");
	EXPECT_FAIL(pmm_init(&one, 1, &unaligned, 1), STATUS_UNALIGNED,
		    "pmm_init");
	/* The previous bitmap still works. */
	paddr_t pa;
	cr_assert_eq(pmm_alloc_page(PMM_TEST, &pa), STATUS_OK);
	cr_assert_eq(pa, FIRST_FREE);
}

Test(pmm, init_fails_with_no_memory_when_nothing_can_hold_the_bitmap)
{
	machine();
	struct pmm_region ram = { 1 * MIB, 16, 0 };
	struct pmm_region all = { 1 * MIB, 16, PMM_KERNEL };
	EXPECT_FAIL(pmm_init(&ram, 1, &all, 1), STATUS_NO_MEMORY, "pmm_init");
}

/* ---- single pages ------------------------------------------------------------ */

Test(pmm, alloc_page_returns_the_lowest_free_page_and_traces_it)
{
	machine();
	paddr_t a, b;
	cr_assert_eq(pmm_alloc_page(PMM_ALLOC, &a), STATUS_OK);
	cr_assert_eq(pmm_alloc_page(PMM_HEAP, &b), STATUS_OK);
	cr_assert_eq(a, FIRST_FREE);
	cr_assert_eq(b, FIRST_FREE + PAGE_SIZE);
	cr_assert(pmm_is_used(a) && pmm_is_used(b));
	cr_assert_str_eq(host_trace_last("pmm.set"),
			 "7 pmm.set pa=0x112000 n=1 why=heap");
	cr_assert_eq(free_pages(), USABLE_PAGES - KERNEL_PAGES - 3);
}

Test(pmm, alloc_page_skips_pages_a_contiguous_allocation_took)
{
	machine();
	paddr_t run, one;
	cr_assert_eq(pmm_alloc_contiguous(100, 0, 0, PMM_TEST, &run), STATUS_OK);
	cr_assert_eq(run, FIRST_FREE);
	cr_assert_eq(pmm_alloc_page(PMM_TEST, &one), STATUS_OK);
	cr_assert_eq(one, FIRST_FREE + 100 * PAGE_SIZE);
	cr_assert_eq(pmm_free_page(run + 7 * PAGE_SIZE), STATUS_OK);
	cr_assert_eq(pmm_alloc_page(PMM_TEST, &one), STATUS_OK);
	cr_assert_eq(one, run + 7 * PAGE_SIZE, "the freed page comes back");
}

/* pmm_alloc_page looks first at the word of pmm_bitmap.low_word ("every
 * word below is full"): a run or batch free in any word below it, the
 * word just below included, must move the hint down. */
Test(pmm, alloc_page_takes_pages_a_run_or_batch_free_gave_back_below_it)
{
	machine();
	paddr_t first, pa;
	cr_assert_eq(pmm_alloc_page(PMM_TEST, &first), STATUS_OK);
	/* Fill up to three words past the first page, one page at a time. */
	for (int i = 1; i < 3 * PMM_WORD_BITS; i++)
		cr_assert_eq(pmm_alloc_page(PMM_TEST, &pa), STATUS_OK);
	uint64_t hint = pmm_bitmap.low_word;
	cr_assert_eq(hint, (pa / PAGE_SIZE) / PMM_WORD_BITS, "hint moved up");
	/* Two pages of the word just below the hint's, as one run. */
	paddr_t below = pmm_page_pa(hint * PMM_WORD_BITS - 4);
	cr_assert_eq(pmm_free_region(below, 2), STATUS_OK);
	cr_assert_eq(pmm_alloc_page(PMM_TEST, &pa), STATUS_OK);
	cr_assert_eq(pa, below, "the run's first page comes back");
	cr_assert_eq(pmm_alloc_page(PMM_TEST, &pa), STATUS_OK);
	cr_assert_eq(pa, below + PAGE_SIZE, "then its second");
	/* A batch of two pages further down, the first page among them. */
	paddr_t batch[2] = { first, first + PAGE_SIZE };
	cr_assert_eq(pmm_free_batch(batch, 2), STATUS_OK);
	cr_assert_eq(pmm_alloc_page(PMM_TEST, &pa), STATUS_OK);
	cr_assert_eq(pa, first, "the batch's lowest page comes back");
}

Test(pmm, alloc_page_crosses_the_hole_and_then_runs_out)
{
	machine();
	uint64_t n = free_pages();
	paddr_t pa = 0, last = 0;
	for (uint64_t i = 0; i < n; i++) {
		cr_assert_eq(pmm_alloc_page(PMM_TEST, &pa), STATUS_OK);
		cr_assert(pa < HOLE_BASE || pa >= HOLE_END);
		cr_assert(i == 0 || pa > last, "lowest first, each page once");
		last = pa;
	}
	cr_assert_eq(last, 16 * MIB - PAGE_SIZE);
	EXPECT_FAIL(pmm_alloc_page(PMM_TEST, &pa), STATUS_NO_MEMORY,
		    "pmm_alloc_page");
}

Test(pmm, alloc_page_rejects_null_out_and_unknown_reason)
{
	machine();
	paddr_t pa;
	EXPECT_FAIL(pmm_alloc_page(PMM_TEST, NULL), STATUS_INVALID_ARG,
		    "pmm_alloc_page");
	EXPECT_FAIL(pmm_alloc_page(PMM_REASON_COUNT, &pa), STATUS_INVALID_ARG,
		    "pmm_alloc_page");
}

Test(pmm, free_page_makes_the_page_free_with_one_clear_event)
{
	machine();
	paddr_t pa;
	cr_assert_eq(pmm_alloc_page(PMM_TEST, &pa), STATUS_OK);
	uint64_t before = free_pages();
	cr_assert_eq(pmm_free_page(pa), STATUS_OK);
	cr_assert(!pmm_is_used(pa));
	cr_assert_eq(free_pages(), before + 1);
	cr_assert_str_eq(host_trace_last("pmm.clear"),
			 "7 pmm.clear pa=0x111000 n=1 why=free");
}

Test(pmm, free_page_tells_each_bad_page_apart)
{
	machine();
	paddr_t pa;
	cr_assert_eq(pmm_alloc_page(PMM_TEST, &pa), STATUS_OK);
	cr_assert_eq(pmm_free_page(pa), STATUS_OK);
	EXPECT_FAIL(pmm_free_page(pa), STATUS_DOUBLE_FREE, "pmm_free_page");
	EXPECT_FAIL(pmm_free_page(pa + PAGE_SIZE), STATUS_NOT_ALLOCATED,
		    "pmm_free_page");
	EXPECT_FAIL(pmm_free_page(1 * MIB), STATUS_RESERVED, "pmm_free_page");
	EXPECT_FAIL(pmm_free_page(pmm_bitmap_base()), STATUS_RESERVED,
		    "pmm_free_page");
	EXPECT_FAIL(pmm_free_page(pa + 8), STATUS_UNALIGNED, "pmm_free_page");
	EXPECT_FAIL(pmm_free_page(HOLE_BASE), STATUS_OUT_OF_RANGE,
		    "pmm_free_page");
	EXPECT_FAIL(pmm_free_page(0), STATUS_OUT_OF_RANGE, "pmm_free_page");
	EXPECT_FAIL(pmm_free_page(64 * MIB), STATUS_OUT_OF_RANGE,
		    "pmm_free_page");
}

Test(pmm, calls_before_init_fail_cleanly)
{
	host_memory_init(1 * MIB);
	host_trace_start();
	paddr_t pa;
	cr_assert_eq(pmm_alloc_page(PMM_TEST, &pa), STATUS_NO_MEMORY);
	cr_assert_eq(pmm_free_page(0x1000), STATUS_OUT_OF_RANGE);
	cr_assert_eq(pmm_alloc_contiguous(1, 0, 0, PMM_TEST, &pa),
		     STATUS_NO_MEMORY);
	cr_assert_eq(host_trace_count(" err."), 3);
}

/* ---- batches ------------------------------------------------------------------- */

Test(pmm, alloc_batch_takes_runs_with_one_event_each)
{
	machine();
	paddr_t hole;
	cr_assert_eq(pmm_alloc_contiguous(3, 0, 0, PMM_TEST, &hole), STATUS_OK);
	cr_assert_eq(pmm_free_page(hole + PAGE_SIZE), STATUS_OK);
	host_trace_clear();
	paddr_t pages[5];
	cr_assert_eq(pmm_alloc_batch(PMM_ALLOC, pages, 5), STATUS_OK);
	cr_assert_eq(pages[0], hole + PAGE_SIZE);
	for (int i = 1; i < 5; i++)
		cr_assert_eq(pages[i], hole + (i + 2) * PAGE_SIZE);
	cr_assert_eq(host_trace_count(" pmm.set"), 2, "%s", host_trace_text());
	cr_assert_eq(host_trace_count("pmm.set pa=0x114000 n=4 why=alloc"), 1);
}

Test(pmm, alloc_batch_is_all_or_nothing)
{
	machine();
	paddr_t *pages = malloc((USABLE_PAGES + 1) * sizeof *pages);
	uint64_t n = free_pages();
	EXPECT_FAIL(pmm_alloc_batch(PMM_TEST, pages, n + 1), STATUS_NO_MEMORY,
		    "pmm_alloc_batch");
	EXPECT_FAIL(pmm_alloc_batch(PMM_TEST, pages, 0), STATUS_ZERO_COUNT,
		    "pmm_alloc_batch");
	EXPECT_FAIL(pmm_alloc_batch(PMM_TEST, NULL, 1), STATUS_INVALID_ARG,
		    "pmm_alloc_batch");
	cr_assert_eq(pmm_alloc_batch(PMM_TEST, pages, n), STATUS_OK);
	cr_assert_eq(free_pages(), 0);
	cr_assert_eq(host_trace_count(" pmm.set"), 2, "one run each side of the hole");
	free(pages);
}

Test(pmm, free_batch_frees_all_with_one_event_per_run)
{
	machine();
	paddr_t pages[6];
	cr_assert_eq(pmm_alloc_batch(PMM_TEST, pages, 6), STATUS_OK);
	paddr_t order[6] = { pages[0], pages[1], pages[4], pages[5], pages[2],
			     pages[3] };
	uint64_t before = free_pages();
	host_trace_clear();
	cr_assert_eq(pmm_free_batch(order, 6), STATUS_OK);
	cr_assert_eq(free_pages(), before + 6);
	cr_assert_eq(host_trace_count(" pmm.clear"), 3);
	cr_assert_eq(host_trace_count(" n=2 why=free"), 3);
}

Test(pmm, free_batch_with_one_bad_page_frees_nothing)
{
	machine();
	paddr_t pages[4];
	cr_assert_eq(pmm_alloc_batch(PMM_TEST, pages, 3), STATUS_OK);
	pages[3] = pages[1]; /* listed twice */
	EXPECT_FAIL(pmm_free_batch(pages, 4), STATUS_DOUBLE_FREE,
		    "pmm_free_batch");
	pages[3] = 1 * MIB; /* reserved */
	EXPECT_FAIL(pmm_free_batch(pages, 4), STATUS_RESERVED, "pmm_free_batch");
	pages[3] = pages[2] + PAGE_SIZE; /* never allocated */
	EXPECT_FAIL(pmm_free_batch(pages, 4), STATUS_NOT_ALLOCATED,
		    "pmm_free_batch");
	EXPECT_FAIL(pmm_free_batch(pages, 0), STATUS_ZERO_COUNT,
		    "pmm_free_batch");
	EXPECT_FAIL(pmm_free_batch(NULL, 2), STATUS_INVALID_ARG,
		    "pmm_free_batch");
	for (int i = 0; i < 3; i++)
		cr_assert(pmm_is_used(pages[i]));
	cr_assert_eq(pmm_free_batch(pages, 3), STATUS_OK);
}

/*
 * pmm_free_batch checks, unmarks and frees a run of consecutive addresses
 * at a time; the plain algorithm does it page by page. Random lists of
 * runs, some crossing into bad pages (freed, reserved, never allocated,
 * the hole, past the end, unaligned, listed twice), must get the plain
 * algorithm's answer, computed here from what each page is: the same
 * status and the same err line (the first bad page in list order), and a
 * failure must leave the maps as they were.
 */
#define BLOCK_PAGES 256 /* allocated from FIRST_FREE; some freed again */

static bool in_block(paddr_t pa)
{
	return pa >= FIRST_FREE && pa < FIRST_FREE + BLOCK_PAGES * PAGE_SIZE;
}

/* What free_check_pa says of one page, from the machine's layout. */
static status_t plain_page_status(paddr_t pa, const bool *freed)
{
	if (pa & (PAGE_SIZE - 1))
		return STATUS_UNALIGNED;
	if (pa < 1 * MIB || pa >= 16 * MIB || (pa >= HOLE_BASE && pa < HOLE_END))
		return STATUS_OUT_OF_RANGE;
	if (pa < FIRST_FREE)
		return STATUS_RESERVED; /* the kernel and the bitmap */
	if (!in_block(pa))
		return STATUS_NOT_ALLOCATED;
	return freed[(pa - FIRST_FREE) / PAGE_SIZE] ? STATUS_DOUBLE_FREE
						      : STATUS_OK;
}

/* A run's first address: mostly in the block, sometimes elsewhere. */
static paddr_t some_run_start(unsigned r)
{
	switch (r % 10) {
	case 0: return 1 * MIB + (r / 10 % 20) * PAGE_SIZE; /* reserved */
	case 1: return HOLE_BASE - (r / 10 % 4) * PAGE_SIZE; /* into the hole */
	case 2: return 16 * MIB - (r / 10 % 3) * PAGE_SIZE;  /* past the end */
	case 3: return FIRST_FREE + (r / 10 % BLOCK_PAGES) * PAGE_SIZE + 8;
	case 4: return FIRST_FREE + (BLOCK_PAGES - 2 + r / 10 % 3) * PAGE_SIZE;
	default: return FIRST_FREE + (r / 10 % BLOCK_PAGES) * PAGE_SIZE;
	}
}

Test(pmm, free_batch_by_runs_answers_as_page_by_page)
{
	srand(17);
	for (int trial = 0; trial < 400; trial++) {
		machine();
		paddr_t base;
		cr_assert_eq(pmm_alloc_contiguous(BLOCK_PAGES, 0, 1, PMM_TEST,
						  &base), STATUS_OK);
		cr_assert_eq(base, FIRST_FREE);
		bool freed[BLOCK_PAGES] = { false };
		for (int k = 0; k < 3; k++) { /* a few pages freed already */
			unsigned at = (unsigned)rand() % BLOCK_PAGES;
			if (!freed[at])
				cr_assert_eq(pmm_free_page(base + at * PAGE_SIZE),
					     STATUS_OK);
			freed[at] = true;
		}
		bool clean = trial % 2 == 0; /* half the lists from good runs */
		paddr_t list[48];
		size_t n = 0;
		while (n < 40) {
			unsigned r = (unsigned)rand();
			paddr_t pa = clean ? base + (r / 10 % BLOCK_PAGES) * PAGE_SIZE
					   : some_run_start(r);
			size_t len = 1 + (unsigned)rand() % 8;
			for (size_t j = 0; j < len && n < 40; j++)
				list[n++] = pa + j * PAGE_SIZE;
		}
		if (clean) { /* keep only pages that can be freed, once each */
			size_t m = 0;
			for (size_t i = 0; i < n; i++) {
				bool dup = false;
				for (size_t j = 0; j < m; j++)
					dup |= list[j] == list[i];
				if (!dup && plain_page_status(list[i], freed) == STATUS_OK)
					list[m++] = list[i];
			}
			n = m;
			if (trial % 4 == 0 && n > 2)
				{ list[n] = list[n / 2]; n++; } /* one listed twice */
		}
		if (n == 0)
			continue;
		status_t want = STATUS_OK;
		size_t at = 0;
		for (size_t i = 0; want == STATUS_OK && i < n; i++)
			if ((want = plain_page_status(list[i], freed)) != STATUS_OK)
				at = i;
		for (size_t i = 0; want == STATUS_OK && i < n; i++)
			for (size_t j = 0; j < i && want == STATUS_OK; j++)
				if (list[i] == list[j]) {
					want = STATUS_DOUBLE_FREE;
					at = i;
				}
		if (want == STATUS_OK) {
			uint64_t before = free_pages();
			cr_assert_eq(pmm_free_batch(list, n), STATUS_OK);
			cr_assert_eq(free_pages(), before + n);
			for (size_t i = 0; i < n; i++)
				cr_assert(!pmm_is_used(list[i]));
			continue;
		}
		EXPECT_FAIL(pmm_free_batch(list, n), want, "pmm_free_batch");
		char line[120];
		snprintf(line, sizeof line, "err.%s fn=pmm_free_batch pa=%#lx index=%zu",
			 status_name(want), list[at], at);
		host_trace_clear();
		pmm_free_batch(list, n);
		const char *got = host_trace_last(" err.");
		cr_assert(got && strstr(got, line) &&
			  strlen(strstr(got, line)) == strlen(line) +
			  (got[strlen(got) - 1] == '\n'),
			  "trial %d: want %s, got %s", trial, line, got);
	}
}

/* ---- contiguous -------------------------------------------------------------- */

Test(pmm, alloc_contiguous_is_first_fit_and_honours_alignment)
{
	machine();
	paddr_t a, b;
	cr_assert_eq(pmm_alloc_contiguous(4, 0, 16, PMM_TEST, &a), STATUS_OK);
	cr_assert_eq(a, 1 * MIB + 32 * PAGE_SIZE, "first 64 KiB-aligned run");
	cr_assert_eq(pmm_alloc_contiguous(4, 0, 0, PMM_TEST, &b), STATUS_OK);
	cr_assert_eq(b, FIRST_FREE, "the gap below the aligned run");
	cr_assert_eq(pmm_alloc_contiguous(512, 0, 512, PMM_TEST, &a), STATUS_OK);
	cr_assert_eq(a, 2 * MIB);
	cr_assert_eq(host_trace_count("pmm.set pa=0x200000 n=512 why=test"), 1);
}

Test(pmm, alloc_contiguous_never_spans_the_hole)
{
	machine();
	paddr_t a;
	/* Take 1 MiB+ so the rest below the hole is 1000 pages at most. */
	cr_assert_eq(pmm_alloc_contiguous(1792 - 17 - 1000, 0, 0, PMM_TEST, &a),
		     STATUS_OK);
	cr_assert_eq(pmm_alloc_contiguous(1001, 0, 0, PMM_TEST, &a), STATUS_OK);
	cr_assert_eq(a, HOLE_END);
}

Test(pmm, alloc_contiguous_stays_below_max_address)
{
	machine();
	paddr_t a;
	cr_assert_eq(pmm_alloc_contiguous(16, 2 * MIB, 0, PMM_TEST, &a),
		     STATUS_OK);
	cr_assert(a + 16 * PAGE_SIZE <= 2 * MIB);
	EXPECT_FAIL(pmm_alloc_contiguous(300, 2 * MIB, 0, PMM_TEST, &a),
		    STATUS_NOT_FOUND, "pmm_alloc_contiguous");
	uint64_t below = (2 * MIB - FIRST_FREE) / PAGE_SIZE - 16;
	cr_assert_eq(pmm_alloc_contiguous(below, 2 * MIB, 0, PMM_TEST, &a),
		     STATUS_OK, "a run ending exactly at max_address fits");
}

Test(pmm, alloc_contiguous_rejects_bad_requests)
{
	machine();
	paddr_t a;
	EXPECT_FAIL(pmm_alloc_contiguous(0, 0, 0, PMM_TEST, &a),
		    STATUS_ZERO_COUNT, "pmm_alloc_contiguous");
	EXPECT_FAIL(pmm_alloc_contiguous(4, 0, 3, PMM_TEST, &a),
		    STATUS_INVALID_ARG, "pmm_alloc_contiguous");
	EXPECT_FAIL(pmm_alloc_contiguous(4, 0, 0, PMM_TEST, NULL),
		    STATUS_INVALID_ARG, "pmm_alloc_contiguous");
	EXPECT_FAIL(pmm_alloc_contiguous(USABLE_PAGES, 0, 0, PMM_TEST, &a),
		    STATUS_NO_MEMORY, "pmm_alloc_contiguous");
	EXPECT_FAIL(pmm_alloc_contiguous(1793, 0, 0, PMM_TEST, &a),
		    STATUS_NOT_FOUND, "pmm_alloc_contiguous");
}

Test(pmm, alloc_between_takes_the_first_run_that_is_large_enough)
{
	machine();
	paddr_t a, got_pa;
	uint64_t got;
	/* Fragment: free 3 pages, then 10 pages, in the low run. */
	cr_assert_eq(pmm_alloc_contiguous(40, 0, 0, PMM_TEST, &a), STATUS_OK);
	cr_assert_eq(pmm_free_region(a + PAGE_SIZE, 3), STATUS_OK);
	cr_assert_eq(pmm_free_region(a + 10 * PAGE_SIZE, 10), STATUS_OK);
	cr_assert_eq(pmm_alloc_between(2, 5, PMM_TEST, &got_pa, &got), STATUS_OK);
	cr_assert_eq(got_pa, a + 10 * PAGE_SIZE);
	cr_assert_eq(got, 5);
	cr_assert_eq(pmm_alloc_between(1, 2, PMM_TEST, &got_pa, &got), STATUS_OK);
	cr_assert_eq(got_pa, a + PAGE_SIZE);
	cr_assert_eq(got, 2);
}

Test(pmm, alloc_between_settles_for_the_largest_run)
{
	machine();
	paddr_t pa;
	uint64_t got;
	cr_assert_eq(pmm_alloc_between(1, 100000, PMM_TEST, &pa, &got),
		     STATUS_OK);
	cr_assert_eq(pa, HOLE_END, "above the hole is the largest run");
	cr_assert_eq(got, 1792);
	cr_assert_eq(pmm_alloc_between(1, 100000, PMM_TEST, &pa, &got),
		     STATUS_OK);
	cr_assert_eq(pa, FIRST_FREE);
	cr_assert_eq(got, 1792 - 17);
	EXPECT_FAIL(pmm_alloc_between(1, 2, PMM_TEST, &pa, &got),
		    STATUS_NO_MEMORY, "pmm_alloc_between");
}

Test(pmm, alloc_between_rejects_bad_requests)
{
	machine();
	paddr_t pa;
	uint64_t got;
	EXPECT_FAIL(pmm_alloc_between(0, 4, PMM_TEST, &pa, &got),
		    STATUS_ZERO_COUNT, "pmm_alloc_between");
	EXPECT_FAIL(pmm_alloc_between(5, 4, PMM_TEST, &pa, &got),
		    STATUS_INVALID_ARG, "pmm_alloc_between");
	EXPECT_FAIL(pmm_alloc_between(1, 4, PMM_TEST, &pa, NULL),
		    STATUS_INVALID_ARG, "pmm_alloc_between");
	EXPECT_FAIL(pmm_alloc_between(2000, 3000, PMM_TEST, &pa, &got),
		    STATUS_NOT_FOUND, "pmm_alloc_between");
}

/* ---- regions ----------------------------------------------------------------- */

Test(pmm, free_region_frees_part_of_a_run_with_one_event)
{
	machine();
	paddr_t a;
	cr_assert_eq(pmm_alloc_contiguous(8, 0, 0, PMM_TEST, &a), STATUS_OK);
	cr_assert_eq(pmm_free_region(a + 2 * PAGE_SIZE, 4), STATUS_OK);
	cr_assert_str_eq(host_trace_last("pmm.clear"),
			 "7 pmm.clear pa=0x113000 n=4 why=free");
	cr_assert(pmm_is_used(a + PAGE_SIZE) && !pmm_is_used(a + 2 * PAGE_SIZE));
	cr_assert(pmm_is_used(a + 6 * PAGE_SIZE));
}

Test(pmm, free_region_checks_every_page_first)
{
	machine();
	paddr_t a;
	cr_assert_eq(pmm_alloc_contiguous(8, 0, 0, PMM_TEST, &a), STATUS_OK);
	cr_assert_eq(pmm_free_page(a + 5 * PAGE_SIZE), STATUS_OK);
	EXPECT_FAIL(pmm_free_region(a, 8), STATUS_DOUBLE_FREE, "pmm_free_region");
	EXPECT_FAIL(pmm_free_region(a, 9), STATUS_DOUBLE_FREE, "pmm_free_region");
	EXPECT_FAIL(pmm_free_region(a + 6 * PAGE_SIZE, 3), STATUS_NOT_ALLOCATED,
		    "pmm_free_region");
	EXPECT_FAIL(pmm_free_region(a - PAGE_SIZE, 2), STATUS_RESERVED,
		    "pmm_free_region");
	EXPECT_FAIL(pmm_free_region(a + 1, 2), STATUS_UNALIGNED,
		    "pmm_free_region");
	EXPECT_FAIL(pmm_free_region(a, 0), STATUS_ZERO_COUNT, "pmm_free_region");
	EXPECT_FAIL(pmm_free_region(a, ~0ull / PAGE_SIZE), STATUS_WRAP,
		    "pmm_free_region");
	EXPECT_FAIL(pmm_free_region(HOLE_BASE - PAGE_SIZE, 2),
		    STATUS_OUT_OF_RANGE, "pmm_free_region");
	EXPECT_FAIL(pmm_free_region(16 * MIB - PAGE_SIZE, 2),
		    STATUS_OUT_OF_RANGE, "pmm_free_region");
	cr_assert_eq(pmm_free_region(a, 5), STATUS_OK);
}

/* ---- stats and dump ---------------------------------------------------------- */

Test(pmm, dump_writes_stats_and_the_bitmap_as_runs)
{
	machine();
	paddr_t a;
	cr_assert_eq(pmm_alloc_contiguous(3, 0, 0, PMM_TEST, &a), STATUS_OK);
	host_trace_clear();
	pmm_dump();
	const char *t = host_trace_text();
	cr_assert(strstr(t, "stat.pmm total=4096 usable=3584 used=20 free=3564 "
			    "reserved=17\n"), "%s", t);
	cr_assert(strstr(t, "pmm.run pa=0x0 n=276 state=used\n"), "%s", t);
	cr_assert(strstr(t, "pmm.run pa=0x114000 n=1772 state=free\n"), "%s", t);
	cr_assert(strstr(t, "pmm.run pa=0x800000 n=256 state=used\n"), "%s", t);
	cr_assert(strstr(t, "pmm.run pa=0x900000 n=1792 state=free\n"), "%s", t);
	cr_assert_eq(host_trace_count("pmm.run"), 4);
}

Test(pmm, reason_names_match_the_trace_vocabulary)
{
	cr_assert_str_eq(pmm_reason_name(PMM_FIRST_MIB), "low");
	cr_assert_str_eq(pmm_reason_name(PMM_POOL), "pool");
	cr_assert_str_eq(pmm_reason_name(PMM_REASON_COUNT), "?");
}

/* ---- the summary levels on a large, sparse machine ---------------------------- */

/*
 * RAM at 1 MiB, just below 1 GiB, at 2 GiB and at the top of 4 GiB: the
 * holes between span many words of every summary level, so finding the next
 * free page must climb to level 3 and back down. The pmm never touches free
 * pages, so 2 MiB of simulated memory (which holds the bitmap) is enough.
 */
Test(pmm, alloc_page_finds_free_pages_across_huge_holes)
{
	host_memory_init(2 * MIB);
	host_trace_start();
	static const struct pmm_region ram[] = {
		{ 1 * MIB, 256, 0 },
		{ (1ull << 30) - 3 * PAGE_SIZE, 5, 0 },
		{ 2ull << 30, 64, 0 },
		{ (4ull << 30) - 2 * PAGE_SIZE, 2, 0 },
	};
	cr_assert_eq(pmm_init(ram, 4, NULL, 0), STATUS_OK);
	struct pmm_stats s;
	pmm_get_stats(&s);
	cr_assert_eq(s.total_pages, 1ull << 20);
	uint64_t bitmap_pages = pmm_bitmap_bytes(1ull << 20) / PAGE_SIZE;
	cr_assert_eq(s.free_pages, 256 + 5 + 64 + 2 - bitmap_pages);
	host_trace_off();
	paddr_t pa, last = 0;
	uint64_t got = 0;
	while (pmm_alloc_page(PMM_TEST, &pa) == STATUS_OK) {
		int in = 0;
		for (int i = 0; i < 4; i++)
			in |= pa >= ram[i].base &&
			      pa < ram[i].base + ram[i].pages * PAGE_SIZE;
		cr_assert(in, "%#lx is not RAM", pa);
		cr_assert(got == 0 || pa > last);
		last = pa;
		got++;
	}
	cr_assert_eq(got, 256 + 5 + 64 + 2 - bitmap_pages);
	cr_assert_eq(last, (4ull << 30) - PAGE_SIZE);
	/* Free one page in each far region: they come back lowest first. */
	cr_assert_eq(pmm_free_page((4ull << 30) - PAGE_SIZE), STATUS_OK);
	cr_assert_eq(pmm_free_page(2ull << 30), STATUS_OK);
	cr_assert_eq(pmm_alloc_page(PMM_TEST, &pa), STATUS_OK);
	cr_assert_eq(pa, 2ull << 30);
	cr_assert_eq(pmm_alloc_page(PMM_TEST, &pa), STATUS_OK);
	cr_assert_eq(pa, (4ull << 30) - PAGE_SIZE);
	cr_assert_eq(pmm_alloc_contiguous(1, 0, 0, PMM_TEST, &pa),
		     STATUS_NO_MEMORY);
}
