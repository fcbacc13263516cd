/* test_vrange.c - VA ranges (src/mm/vrange.c): first fit, search windows,
 * coalescing, the min/max request and every refusal. */
#include "alloc_fixture.h"

#include "aspace.h"

#define LO    0x10000000ull
#define P(n)  ((n)*PAGE_SIZE)
#define OWNER 7

static struct vrange vr;
static struct vrange_extent ext[8];

/* 64 pages at LO, in a fresh trace. */
static void fresh(void)
{
	host_trace_start();
	cr_assert_eq(vrange_init(&vr, 3, LO, LO + P(64), ext, 8), STATUS_OK);
	host_trace_clear();
}

static vaddr_t take(uint64_t pages)
{
	vaddr_t va;
	cr_assert_eq(vrange_alloc(&vr, pages, OWNER, &va), STATUS_OK);
	return va;
}

Test(vrange, first_fit_takes_the_lowest_free_run_that_fits)
{
	fresh();
	vaddr_t a = take(4), b = take(8), c = take(4);
	cr_assert_eq(a, LO);
	cr_assert_eq(b, LO + P(4));
	cr_assert_eq(c, LO + P(12));
	cr_assert_eq(vrange_free(&vr, b, 8, OWNER), STATUS_OK);
	cr_assert_eq(take(9), LO + P(16), "the 8-page hole is too small");
	cr_assert_eq(take(5), LO + P(4), "a 5-page request fits the hole");
	cr_assert_eq(host_trace_count("kalloc.reserve as=3 va=0x10000000 n=4"),
		     1);
}

Test(vrange, a_search_window_limits_where_the_run_is_found)
{
	fresh();
	vaddr_t va;
	cr_assert_eq(vrange_find(&vr, 2, LO + P(10), LO + P(13), &va),
		     STATUS_OK);
	cr_assert_eq(va, LO + P(10));
	vrange_take(&vr, va, 2, OWNER, 0);
	cr_assert_eq(vr.count, 3, "free head, taken, free tail");
	cr_assert_eq(vrange_find(&vr, 2, LO + P(10), LO + P(13), &va),
		     STATUS_NOT_FOUND);
	fix_one_error("not_found", "-");
}

Test(vrange, free_merges_with_both_free_neighbours)
{
	fresh();
	vaddr_t a = take(2), b = take(2), c = take(2);
	cr_assert_eq(vr.count, 4);
	cr_assert_eq(vrange_free(&vr, a, 2, OWNER), STATUS_OK);
	cr_assert_eq(vrange_free(&vr, c, 2, OWNER), STATUS_OK);
	cr_assert_eq(vr.count, 3, "c merged with the free tail");
	cr_assert_eq(vrange_free(&vr, b, 2, OWNER), STATUS_OK);
	cr_assert_eq(vr.count, 1, "one free extent again");
	cr_assert_eq(vr.ext[0].pages, 64);
	struct vrange_stats s;
	vrange_get_stats(&vr, &s);
	cr_assert_eq(s.taken_extents, 0);
	cr_assert_eq(s.largest_free, 64);
}

Test(vrange, a_free_that_is_not_exactly_one_allocation_changes_nothing)
{
	fresh();
	vaddr_t a = take(4);
	struct vrange_extent before[8];
	memcpy(before, ext, sizeof ext);
	cr_assert_eq(vrange_free(&vr, a + P(1), 3, OWNER),
		     STATUS_NOT_ALLOCATED);
	fix_one_error("not_allocated", "vrange_free");
	cr_assert_eq(vrange_free(&vr, LO + P(20), 1, OWNER),
		     STATUS_NOT_ALLOCATED);
	fix_one_error("not_allocated", "vrange_free");
	cr_assert_eq(vrange_free(&vr, a, 3, OWNER), STATUS_SIZE_MISMATCH);
	fix_one_error("size_mismatch", "vrange_free");
	cr_assert_eq(vrange_free(&vr, a, 4, OWNER + 1), STATUS_BAD_POINTER);
	fix_one_error("bad_pointer", "vrange_free");
	cr_assert_eq(memcmp(before, ext, sizeof ext), 0);
	cr_assert_eq(vr.taken_pages, 4);
}

Test(vrange, between_takes_max_where_a_run_holds_it_else_the_largest_run)
{
	fresh();
	vaddr_t a = take(3), b = take(1), c = take(5), d = take(1);
	(void)d;
	vrange_free(&vr, a, 3, OWNER);
	vrange_free(&vr, c, 5, OWNER);
	vaddr_t va;
	uint64_t got;
	cr_assert_eq(vrange_alloc_between(&vr, 2, 4, OWNER, &va, &got),
		     STATUS_OK);
	cr_assert_eq(va, c, "the first run holding 4 pages");
	cr_assert_eq(got, 4);
	cr_assert_eq(vrange_alloc_between(&vr, 2, 100, OWNER, &va, &got),
		     STATUS_OK);
	cr_assert_eq(got, 64 - 10, "the largest run: the tail");
	cr_assert_eq(vrange_alloc_between(&vr, 2, 100, OWNER, &va, &got),
		     STATUS_OK);
	cr_assert_eq(va, LO);
	cr_assert_eq(got, 3);
	cr_assert_eq(vrange_alloc_between(&vr, 2, 2, OWNER, &va, &got),
		     STATUS_NOT_FOUND);
	fix_one_error("not_found", "vrange_alloc_between");
	cr_assert_eq(vrange_alloc_between(&vr, 3, 2, OWNER, &va, &got),
		     STATUS_INVALID_ARG);
	fix_one_error("invalid_arg", "vrange_alloc_between");
	(void)b;
}

Test(vrange, a_full_extent_array_is_table_full_and_nothing_changes)
{
	fresh();
	for (int i = 0; i < 7; i++)
		take(1);
	cr_assert_eq(vr.count, 8);
	vaddr_t va;
	uint64_t got;
	cr_assert_eq(vrange_alloc(&vr, 1, OWNER, &va), STATUS_TABLE_FULL);
	fix_one_error("table_full", "vrange_alloc");
	cr_assert_eq(vrange_alloc(&vr, 57, OWNER, &va), STATUS_OK,
		     "the exact tail needs no new entry");
	cr_assert_eq(vrange_free(&vr, LO + P(1), 1, OWNER), STATUS_OK);
	cr_assert_eq(vrange_alloc_between(&vr, 1, 1, OWNER, &va, &got),
		     STATUS_OK);
	cr_assert_eq(va, LO + P(1));
}

Test(vrange, bad_requests_are_refused_each_with_its_status)
{
	fresh();
	vaddr_t va;
	cr_assert_eq(vrange_find(&vr, 0, LO, LO + P(4), &va),
		     STATUS_ZERO_COUNT);
	fix_one_error("zero_count", "-");
	cr_assert_eq(vrange_find(&vr, 1, LO + 1, LO + P(4), &va),
		     STATUS_UNALIGNED);
	fix_one_error("unaligned", "-");
	cr_assert_eq(vrange_find(&vr, 1, LO - P(1), LO + P(4), &va),
		     STATUS_OUT_OF_RANGE);
	fix_one_error("out_of_range", "-");
	cr_assert_eq(vrange_find(&vr, 5, LO, LO + P(4), &va),
		     STATUS_TOO_LARGE);
	fix_one_error("too_large", "-");
	cr_assert_eq(vrange_find(&vr, 1, LO + P(4), LO, &va),
		     STATUS_INVALID_ARG);
	fix_one_error("invalid_arg", "-");
	cr_assert_eq(vrange_alloc(&vr, 1, VRANGE_FREE, &va),
		     STATUS_INVALID_ARG);
	fix_one_error("invalid_arg", "vrange_alloc");
	cr_assert_eq(vr.count, 1);
}

Test(vrange, init_refuses_an_empty_or_unaligned_window)
{
	host_trace_start();
	cr_assert_eq(vrange_init(&vr, 0, LO, LO, ext, 8), STATUS_INVALID_ARG);
	fix_one_error("invalid_arg", "vrange_init");
	cr_assert_eq(vrange_init(&vr, 0, LO, LO + P(1), ext, 0),
		     STATUS_INVALID_ARG);
	fix_one_error("invalid_arg", "vrange_init");
	cr_assert_eq(vrange_init(&vr, 0, LO + 8, LO + P(1), ext, 8),
		     STATUS_UNALIGNED);
	fix_one_error("unaligned", "vrange_init");
}

Test(vrange, lookup_answers_which_extent_holds_an_address)
{
	fresh();
	vaddr_t a = take(2);
	vrange_set_cookie(&vr, a, 42);
	const struct vrange_extent *e = vrange_lookup(&vr, a + P(1) + 5);
	cr_assert_eq(e->va, a);
	cr_assert_eq(e->owner, OWNER);
	cr_assert_eq(e->cookie, 42);
	cr_assert_eq(vrange_lookup(&vr, a + P(2))->owner, VRANGE_FREE);
	cr_assert_null(vrange_lookup(&vr, LO + P(64)));
	cr_assert_null(vrange_lookup(&vr, LO - 1));
	cr_assert_eq(host_trace_count(" err."), 0);
}

Test(vrange, a_user_window_hands_out_ranges_an_address_space_maps)
{
	fix_alloc(512);
	struct aspace as;
	cr_assert_eq(aspace_create(0, &as), STATUS_OK);
	static struct vrange_extent user_ext[16];
	struct vrange user;
	cr_assert_eq(
	    vrange_init(&user, as.pool->id, USER_BASE, USER_END, user_ext, 16),
	    STATUS_OK);
	vaddr_t va;
	cr_assert_eq(vrange_alloc(&user, 3, OWNER, &va), STATUS_OK);
	cr_assert_eq(va, USER_BASE);
	cr_assert_eq(vm_map_new(as.pool, va, 3, PTE_P | PTE_W | PTE_U | PTE_NX,
				PMM_ALLOC),
		     STATUS_OK);
	cr_assert_neq(fix_mmu_walk(as.pool->pa, va + P(2)), ~0ull);
	cr_assert_eq(vm_unmap(as.pool, va, 3), STATUS_OK);
	cr_assert_eq(vrange_free(&user, va, 3, OWNER), STATUS_OK);
	cr_assert_eq(aspace_destroy(&as), STATUS_OK);
}
