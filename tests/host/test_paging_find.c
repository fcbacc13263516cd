/* test_paging_find.c - vm_find_free, the region finder (paging_query.c).
 * The cases the seeds got wrong: requests of 512 pages and more over
 * mapped pages, alignment in an empty top-level slot. */
#include "paging_fixture.h"

#define B 0x40000000ull          /* in PML4 slot 0, populated below */
#define S1 0x8000000000ull       /* PML4 slot 1: empty */
#define GIB (1ull << 30)

static vaddr_t find(struct ptp *pool, vaddr_t lo, vaddr_t hi, uint64_t n,
		    uint64_t align)
{
	vaddr_t va = 0;
	cr_assert_eq(vm_find_free(pool, lo, hi, n, align, &va), STATUS_OK,
		     "n=%lu align=%lu", n, align);
	enum vm_range_state s;
	vm_range_state(pool, va, n, &s);
	cr_assert_eq(s, VM_RANGE_NONE, "n=%lu align=%lu: %#lx has a mapped page",
		     n, align, va);
	cr_assert(va >= lo && va + n * PAGE_SIZE <= hi);
	if (align > 1)
		cr_assert_eq(va % (align * PAGE_SIZE), 0);
	return va;
}

static struct ptp *populated(void)
{
	struct ptp *pool = fix_pool(256);
	cr_assert_eq(vm_map(pool, B, 0x1000000, PTE_P), STATUS_OK);
	cr_assert_eq(vm_map(pool, B + 0x201000, 0x1000000, PTE_P), STATUS_OK);
	return pool;
}

Test(find, requests_of_every_size_never_cover_a_mapped_page)
{
	struct ptp *pool = populated();
	vaddr_t hi = B + 8 * GIB;
	cr_assert_eq(find(pool, B, hi, 1, 0), B + 0x1000);
	cr_assert_eq(find(pool, B, hi, 511, 0), B + 0x1000);
	cr_assert_eq(find(pool, B, hi, 512, 0), B + 0x1000);
	cr_assert_eq(find(pool, B, hi, 513, 0), B + 0x202000);
	cr_assert_eq(find(pool, B, hi, 262144, 0), B + 0x202000);
}

Test(find, aligned_requests_in_a_populated_slot_skip_to_the_next_boundary)
{
	struct ptp *pool = populated();
	vaddr_t hi = B + 8 * GIB;
	cr_assert_eq(find(pool, B, hi, 1, 512), B + 0x200000);
	cr_assert_eq(find(pool, B, hi, 511, 512), B + 0x400000);
	cr_assert_eq(find(pool, B, hi, 512, 512), B + 0x400000);
	cr_assert_eq(find(pool, B, hi, 513, 512), B + 0x400000);
	cr_assert_eq(find(pool, B, hi, 262144, 512), B + 0x400000);
	cr_assert_eq(find(pool, B, hi, 262144, 262144), B + GIB);
}

Test(find, a_window_starting_in_an_empty_slot_still_honours_alignment)
{
	struct ptp *pool = populated();
	vaddr_t hi = S1 + 8 * GIB;
	uint64_t sizes[] = { 1, 511, 512, 513, 262144 };
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(find(pool, S1 + 0x1000, hi, sizes[i], 0), S1 + 0x1000);
		cr_assert_eq(find(pool, S1 + 0x1000, hi, sizes[i], 512),
			     S1 + 0x200000);
	}
	cr_assert_eq(vm_map(pool, S1 + 0x300000, 0x1000000, PTE_P), STATUS_OK);
	cr_assert_eq(find(pool, S1 + 0x1000, hi, 1024, 512), S1 + 0x400000);
	cr_assert_eq(find(pool, S1 + 0x1000, hi, 1024, 0), S1 + 0x301000);
}

Test(find, a_window_that_crosses_top_level_slots_is_searched_across_them)
{
	struct ptp *pool = fix_pool(256);
	/* fill the last 2 MiB of slot 0 but one page at its very end */
	vm_map(pool, S1 - PAGE_SIZE, 0x1000000, PTE_P);
	cr_assert_eq(find(pool, S1 - 0x2000, S1 + GIB, 2, 0), S1);
	cr_assert_eq(find(pool, S1 - 0x2000, S1 + GIB, 1, 0), S1 - 0x2000);
}

Test(find, errors_are_distinct)
{
	struct ptp *pool = populated();
	vaddr_t va;
	cr_assert_eq(vm_find_free(pool, B, B + 0x1000, 1, 0, &va), STATUS_NOT_FOUND);
	cr_assert_eq(vm_find_free(pool, B, B + 0x3000, 3, 0, &va), STATUS_NOT_FOUND);
	cr_assert_eq(vm_find_free(pool, B, B + GIB, 1, 3, &va), STATUS_INVALID_ARG);
	cr_assert_eq(vm_find_free(pool, B, B + GIB, 0, 0, &va), STATUS_ZERO_COUNT);
	cr_assert_eq(vm_find_free(pool, B + GIB, B, 1, 0, &va), STATUS_INVALID_ARG);
	cr_assert_eq(vm_find_free(pool, 0x00007FFFFFFFF000ull,
				  0xFFFF800000001000ull, 1, 0, &va),
		     STATUS_NON_CANONICAL);
	cr_assert_eq(host_trace_count("err."), 6);
}

/* The first aligned va in [lo, hi) with n unmapped pages, candidate by
 * candidate; 0 if none. */
static vaddr_t brute_force_first_fit(struct ptp *pool, vaddr_t lo, vaddr_t hi,
				     uint64_t n, uint64_t align)
{
	for (vaddr_t c = lo; c + n * PAGE_SIZE <= hi; c += align * PAGE_SIZE) {
		enum vm_range_state s;
		vm_range_state(pool, c, n, &s);
		if (s == VM_RANGE_NONE)
			return c;
	}
	return 0;
}

/* Random mappings in a 4 MiB window; the answer must be the first fit a
 * brute-force scan finds. */
Test(find, agrees_with_a_brute_force_first_fit)
{
	struct ptp *pool = fix_pool(256);
	host_trace_off();
	srand(7);
	for (int round = 0; round < 200; round++) {
		vaddr_t va = B + (uint64_t)(rand() % 1024) * PAGE_SIZE;
		vm_map(pool, va, 0x1000000, PTE_P);
		uint64_t n = 1 + rand() % 40, align = 1u << (rand() % 5);
		vaddr_t got;
		status_t st = vm_find_free(pool, B, B + 0x400000, n, align, &got);
		vaddr_t want = brute_force_first_fit(pool, B, B + 0x400000, n,
						     align);
		if (!want)
			cr_assert_eq(st, STATUS_NOT_FOUND);
		else
			cr_assert_eq(got, want, "round %d n=%lu align=%lu", round,
				     n, align);
	}
}

/* Unaligned requests take their own loop through a page table's entries
 * (vm_find_in_table): windows that start and end inside tables, stretches
 * that run on into the next table or stop at hi, 2 MiB pages and absent
 * tables on the way; the answer must be a brute-force scan's first fit. */
Test(find, unaligned_requests_agree_with_a_brute_force_first_fit)
{
	struct ptp *pool = fix_pool(256);
	host_trace_off();
	srand(11);
	/* A 2 MiB page at B + 6 MiB: a leaf above the page tables. */
	cr_assert_eq(vm_map_range(pool, B + 0x600000, 0x200000, 512,
				  PTE_P | PTE_PS), STATUS_OK);
	for (int round = 0; round < 400; round++) {
		vaddr_t va = B + (uint64_t)(rand() % 2048) * PAGE_SIZE;
		if (round % 3 == 0)
			vm_unmap(pool, va, 1);
		else if (va < B + 0x600000)
			vm_map(pool, va, 0x1000000, PTE_P);
		vaddr_t lo = B + (uint64_t)(rand() % 1500) * PAGE_SIZE;
		vaddr_t hi = lo + (uint64_t)(1 + rand() % 2600) * PAGE_SIZE;
		uint64_t n = 1 + (round % 7 == 0 ? rand() % 700 : rand() % 12);
		vaddr_t got = 0;
		status_t st = vm_find_free(pool, lo, hi, n, round % 2, &got);
		vaddr_t want = brute_force_first_fit(pool, lo, hi, n, 1);
		if (!want)
			cr_assert_eq(st, STATUS_NOT_FOUND, "round %d: got %#lx",
				     round, got);
		else
			cr_assert_eq(got, want, "round %d lo=%#lx hi=%#lx n=%lu: got %#lx want %#lx",
				     round, lo, hi, n, got, want);
	}
}

/* A page mapped near hi at the end of a page table, and no table after
 * it: the candidate past that page does not fit below hi, so it must not
 * be completed by the absent table beyond (whose entry reaches past hi). */
Test(find, a_candidate_past_hi_is_not_completed_by_an_absent_table)
{
	struct ptp *pool = fix_pool(64);
	vaddr_t t = B + 0x200000; /* the end of the page table of B */
	cr_assert_eq(vm_map(pool, t - 2 * PAGE_SIZE, 0x1000000, PTE_P),
		     STATUS_OK);
	vaddr_t got = 0;
	cr_assert_eq(vm_find_free(pool, t - 4 * PAGE_SIZE, t + 2 * PAGE_SIZE,
				  4, 1, &got), STATUS_NOT_FOUND, "got %#lx", got);
	cr_assert_eq(vm_find_free(pool, t - 4 * PAGE_SIZE, t + 3 * PAGE_SIZE,
				  4, 1, &got), STATUS_OK);
	cr_assert_eq(got, t - PAGE_SIZE);
}

/* vm_find_in_table reads a window's entries from its last one down and
 * jumps past the first mapped one it meets: regular patterns (a page
 * mapped every `period` pages, gaps of every length up to period - 1)
 * across two page tables, requests that fit a gap exactly, miss it by one,
 * or span the tables' border; each answer must be the brute-force scan's
 * first fit. */
Test(find, unaligned_requests_in_regularly_fragmented_tables_agree_with_a_brute_force_first_fit)
{
	for (uint64_t period = 2; period <= 6; period++) {
		struct ptp *pool = fix_pool(64);
		host_trace_off();
		/* 1000 pages from B + 40 pages: into the second page table. */
		for (uint64_t p = 0; p < 1000; p += period)
			cr_assert_eq(vm_map(pool, B + (40 + p) * PAGE_SIZE,
					    0x1000000, PTE_P), STATUS_OK);
		for (uint64_t n = 1; n <= 2 * period + 1; n++)
			for (uint64_t off = 0; off < 2 * period; off++) {
				vaddr_t lo = B + (40 + off) * PAGE_SIZE;
				vaddr_t hi = lo + 1100 * PAGE_SIZE;
				vaddr_t got = 0;
				status_t st = vm_find_free(pool, lo, hi, n, 1, &got);
				vaddr_t want = brute_force_first_fit(pool, lo, hi,
								     n, 1);
				cr_assert_neq(want, 0);
				cr_assert_eq(st, STATUS_OK);
				cr_assert_eq(got, want,
					     "period %lu n=%lu lo=%#lx: got %#lx want %#lx",
					     period, n, lo, got, want);
			}
	}
}
