/*
 * test_pmm_property.c - 100,000 random pmm operations against a model.
 *
 * The model is one state per page, kept the dumbest way (an array, linear
 * scans), and a count of its free pages that set() keeps. After every
 * operation the pmm's status must be the one the model predicts, every
 * page handed out must have been free, and the free count must match;
 * every 1,000 operations the whole bitmap is compared page by page, and
 * the model's count with a count of its array. At the end everything is
 * freed and allocated again one page at a time: every usable, unreserved
 * page must come back exactly once.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "host.h"
#include "pmm.h"
#include "trace.h"

#define MIB (1ull << 20)
#define PAGES (16 * MIB / PAGE_SIZE)
#define OPS 100000

enum page_state { NOT_RAM, RESERVED, NEVER, OWNED, FREED };

static enum page_state model[PAGES];
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(uint64_t n)
{
	return host_random(&rng, n);
}

static bool is_free(uint64_t p)
{
	return p < PAGES && (model[p] == NEVER || model[p] == FREED);
}

/* The model's free pages, counted page by page. */
static uint64_t model_free(void)
{
	uint64_t n = 0;
	for (uint64_t p = 0; p < PAGES; p++)
		n += is_free(p);
	return n;
}

/* What freeing page p should answer. */
static status_t expect_free(uint64_t p)
{
	if (p >= PAGES || model[p] == NOT_RAM)
		return STATUS_OUT_OF_RANGE;
	switch (model[p]) {
	case RESERVED: return STATUS_RESERVED;
	case NEVER: return STATUS_NOT_ALLOCATED;
	case FREED: return STATUS_DOUBLE_FREE;
	default: return STATUS_OK;
	}
}

/* The model's free pages as set() keeps them: one count per change, so
 * that every operation can be checked against it without a scan. */
static uint64_t free_count;

static void set(uint64_t p, enum page_state state)
{
	free_count += (state == FREED) - is_free(p);
	model[p] = state;
}

static void take(paddr_t pa, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t p = pa / PAGE_SIZE + i;
		cr_assert(is_free(p), "page %#lx handed out twice (rng %#lx)",
			  p * PAGE_SIZE, rng);
		set(p, OWNED);
	}
}

static void op_alloc_page(void)
{
	paddr_t pa;
	status_t st = pmm_alloc_page(PMM_TEST, &pa);
	cr_assert_eq(st, free_count ? STATUS_OK : STATUS_NO_MEMORY);
	if (st == STATUS_OK) {
		take(pa, 1);
		for (uint64_t p = 0; p < pa / PAGE_SIZE; p += 61)
			cr_assert(!is_free(p), "not the lowest free page");
	}
}

static void op_free_page(void)
{
	uint64_t p = rnd(PAGES + 16);
	status_t want = expect_free(p);
	cr_assert_eq(pmm_free_page(p * PAGE_SIZE), want, "page %#lx", p);
	if (want == STATUS_OK)
		set(p, FREED);
}

static void op_alloc_batch(void)
{
	paddr_t pages[8];
	size_t n = 1 + rnd(8);
	status_t st = pmm_alloc_batch(PMM_TEST, pages, n);
	cr_assert_eq(st, n <= free_count ? STATUS_OK : STATUS_NO_MEMORY);
	for (size_t i = 0; st == STATUS_OK && i < n; i++)
		take(pages[i], 1);
}

/* A random owned page, or a random page if the dice say so. */
static uint64_t some_page(void)
{
	uint64_t start = rnd(PAGES);
	if (rnd(10) == 0)
		return start;
	for (uint64_t i = 0; i < PAGES; i++)
		if (model[(start + i) % PAGES] == OWNED)
			return (start + i) % PAGES;
	return start;
}

static void op_free_batch(void)
{
	paddr_t pages[6];
	size_t n = 1 + rnd(6);
	status_t want = STATUS_OK;
	for (size_t i = 0; i < n; i++) {
		pages[i] = some_page() * PAGE_SIZE;
		if (want == STATUS_OK)
			want = expect_free(pages[i] / PAGE_SIZE);
	}
	for (size_t i = 0; want == STATUS_OK && i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (pages[i] == pages[j])
				want = STATUS_DOUBLE_FREE;
	cr_assert_eq(pmm_free_batch(pages, n), want);
	for (size_t i = 0; want == STATUS_OK && i < n; i++)
		set(pages[i] / PAGE_SIZE, FREED);
}

/* The model's first fit: lowest aligned base with n free pages below limit. */
static uint64_t model_first_fit(uint64_t n, uint64_t limit, uint64_t align)
{
	for (uint64_t p = 0; p + n <= limit; p += align) {
		uint64_t i = 0;
		while (i < n && is_free(p + i))
			i++;
		if (i == n)
			return p;
	}
	return ~0ull;
}

static void op_alloc_contiguous(void)
{
	static const uint64_t aligns[] = { 0, 1, 2, 4, 8, 16 };
	uint64_t n = 1 + rnd(24);
	uint64_t align = aligns[rnd(6)];
	paddr_t max = rnd(3) ? 0 : rnd(PAGES) * PAGE_SIZE;
	uint64_t limit = max ? max / PAGE_SIZE : PAGES;
	uint64_t want = model_first_fit(n, limit, align ? align : 1);
	paddr_t pa;
	status_t st = pmm_alloc_contiguous(n, max, align, PMM_TEST, &pa);
	if (n > free_count)
		cr_assert_eq(st, STATUS_NO_MEMORY);
	else if (want == ~0ull)
		cr_assert_eq(st, STATUS_NOT_FOUND);
	else {
		cr_assert_eq(st, STATUS_OK);
		cr_assert_eq(pa, want * PAGE_SIZE, "first fit");
		take(pa, n);
	}
}

static void op_free_region(void)
{
	uint64_t first = some_page(), n = 1 + rnd(6);
	status_t want = STATUS_OK;
	for (uint64_t p = first; p < first + n; p++)
		if (p >= PAGES || model[p] == NOT_RAM)
			want = STATUS_OUT_OF_RANGE;
	for (uint64_t p = first; want == STATUS_OK && p < first + n; p++)
		want = expect_free(p);
	cr_assert_eq(pmm_free_region(first * PAGE_SIZE, n), want);
	for (uint64_t p = first; want == STATUS_OK && p < first + n; p++)
		set(p, FREED);
}

static void op_alloc_between(void)
{
	uint64_t min = 1 + rnd(4), max = min + rnd(40);
	uint64_t best = 0, best_n = 0;
	for (uint64_t p = 0; p < PAGES && best_n < max;) {
		uint64_t e = p;
		while (e < PAGES && is_free(e))
			e++;
		if (e - p > best_n) {
			best = p;
			best_n = e - p;
		}
		p = e + 1;
	}
	paddr_t pa;
	uint64_t got;
	status_t st = pmm_alloc_between(min, max, PMM_TEST, &pa, &got);
	if (min > free_count)
		cr_assert_eq(st, STATUS_NO_MEMORY);
	else if (best_n < min)
		cr_assert_eq(st, STATUS_NOT_FOUND);
	else {
		cr_assert_eq(st, STATUS_OK);
		cr_assert_eq(pa, best * PAGE_SIZE);
		cr_assert_eq(got, best_n < max ? best_n : max);
		take(pa, got);
	}
}

static void check_bitmap(void)
{
	struct pmm_stats s;
	pmm_get_stats(&s);
	cr_assert_eq(free_count, model_free(), "the model's own count");
	cr_assert_eq(s.free_pages, free_count);
	for (uint64_t p = 0; p < PAGES; p++)
		cr_assert_eq(pmm_is_used(p * PAGE_SIZE), !is_free(p),
			     "page %#lx", p * PAGE_SIZE);
}

static void machine(void)
{
	static const struct pmm_region usable[] = {
		{ 1 * MIB, 2 * MIB / PAGE_SIZE, 0 },
		{ 5 * MIB, 7 * MIB / PAGE_SIZE, 0 },
		{ 12 * MIB + 64 * PAGE_SIZE, 4 * MIB / PAGE_SIZE - 64, 0 },
	};
	static const struct pmm_region reserved[] = {
		{ 1 * MIB, 40, PMM_KERNEL },
		{ 6 * MIB - 8 * PAGE_SIZE, 16, PMM_MODULE },
	};
	host_memory_init(16 * MIB);
	host_trace_start();
	cr_assert_eq(pmm_init(usable, 3, reserved, 2), STATUS_OK);
	host_trace_off();
	for (uint64_t p = 0; p < PAGES; p++)
		model[p] = pmm_is_used(p * PAGE_SIZE) ? NOT_RAM : NEVER;
	for (size_t i = 0; i < 3; i++)
		for (uint64_t k = 0; k < usable[i].pages; k++)
			if (model[usable[i].base / PAGE_SIZE + k] == NOT_RAM)
				model[usable[i].base / PAGE_SIZE + k] = RESERVED;
}

Test(pmm_property, random_operations_agree_with_a_simple_model, .timeout = 60)
{
	machine();
	void (*const ops[])(void) = { op_alloc_page, op_alloc_page, op_free_page,
				      op_alloc_batch, op_free_batch,
				      op_free_batch, op_alloc_contiguous,
				      op_free_region, op_free_region,
				      op_alloc_between };
	free_count = model_free();
	for (int i = 0; i < OPS; i++) {
		ops[rnd(sizeof ops / sizeof ops[0])]();
		struct pmm_stats s;
		pmm_get_stats(&s);
		cr_assert_eq(s.free_pages, free_count, "op %d", i);
		cr_assert_eq(s.used_pages + s.free_pages, s.usable_pages);
		if (i % 1000 == 0)
			check_bitmap();
	}
	check_bitmap();

	/* Give everything back, then every free page must be reachable. */
	for (uint64_t p = 0; p < PAGES; p++)
		if (model[p] == OWNED) {
			cr_assert_eq(pmm_free_page(p * PAGE_SIZE), STATUS_OK);
			set(p, FREED);
		}
	uint64_t want = free_count, got = 0;
	cr_assert_eq(want, model_free());
	paddr_t pa;
	while (pmm_alloc_page(PMM_TEST, &pa) == STATUS_OK) {
		take(pa, 1);
		got++;
	}
	cr_assert_eq(got, want);
	struct pmm_stats s;
	pmm_get_stats(&s);
	cr_assert_eq(s.free_pages, 0);
	cr_assert_eq(s.used_pages, s.usable_pages);
}
