/*
 * mm_diff_pmm.c - the physical allocator's calls of the mm_diff fuzz
 * target (fuzz_mm_diff.c), against a model of every physical page: used
 * or free, ever handed out, held by the program. pmm allocates first fit
 * from the lowest page, so the model predicts every address a call
 * returns, and every status of a free (pmm.h's rules).
 */
#include <stdbool.h>

#include "mm_diff.h"
#include "pmm_bitmap.h"

/* The model's first fit: the lowest page p, a multiple of align, with
 * [p, p + n) free and below limit; 0 if none (page 0 is never RAM). */
static uint64_t model_first_fit(uint64_t n, uint64_t limit, uint64_t align)
{
	for (uint64_t p = RAM_FIRST; p + n <= limit; p++) {
		uint64_t k = 0;
		while (p % align == 0 && k < n && !phys[p + k].used)
			k++;
		if (k == n && p % align == 0)
			return p;
	}
	return 0;
}

uint64_t model_free_count(void)
{
	uint64_t n = 0;
	for (uint64_t p = RAM_FIRST; p < PHYS_PAGES; p++)
		n += !phys[p].used;
	return n;
}

/* What freeing the page at pa returns, by the model (pmm.h's rules). */
static status_t model_free_status(paddr_t pa)
{
	if (pa % PAGE_SIZE)
		return STATUS_UNALIGNED;
	uint64_t p = pa / PAGE_SIZE;
	if (p < RAM_FIRST || p >= PHYS_PAGES)
		return STATUS_OUT_OF_RANGE;
	if (phys[p].used)
		return phys[p].handed ? STATUS_OK : STATUS_RESERVED;
	return phys[p].handed ? STATUS_DOUBLE_FREE : STATUS_NOT_ALLOCATED;
}

static void model_take(uint64_t p, uint64_t n)
{
	for (uint64_t k = p; k < p + n; k++) {
		if (pmm_is_used(k * PAGE_SIZE) != 1)
			FAIL("pmm handed out %#lx but it is free", pmm_page_pa(k));
		phys[k].used = phys[k].handed = phys[k].held = 1;
	}
}

/* A physical page the program may name in a free: one it holds, a free
 * one, a reserved one, or an address outside RAM or unaligned. Pages that
 * belong to the pool or to a mapping are never named (pmm cannot tell who
 * holds a page: freeing another owner's page is a caller's bug). */
static paddr_t decode_free_pa(int *nameable)
{
	uint64_t v = take(2);
	paddr_t pa = (v % (PHYS_PAGES + 64)) * PAGE_SIZE + (v & 0x8000 ? 8 : 0);
	uint64_t p = pa / PAGE_SIZE;
	*nameable = p >= PHYS_PAGES || p < RAM_FIRST || pa % PAGE_SIZE ||
		  !phys[p].used || phys[p].held || !phys[p].handed;
	return pa;
}

void do_pmm_alloc(void)
{
	unsigned kind = take(1) % 4;
	uint64_t n = 1 + take(1) % 48, align = 1ull << take(1) % 5;
	uint64_t limit = kind == 2 && take(1) & 1 ? PHYS_PAGES / 2 : PHYS_PAGES;
	paddr_t pa = 0, batch[48];
	uint64_t got = 0, want = 0, free = model_free_count();
	status_t st;
	if (kind == 0) {
		st = pmm_alloc_page(PMM_TEST, &pa);
		want = model_first_fit(1, PHYS_PAGES, 1), got = 1;
	} else if (kind == 1) {
		st = pmm_alloc_batch(PMM_TEST, batch, n);
		if (st == STATUS_OK)
			pa = batch[0], got = n;
		want = n <= free ? model_first_fit(1, PHYS_PAGES, 1) : 0;
	} else if (kind == 2) {
		st = pmm_alloc_contiguous(n, limit == PHYS_PAGES ? 0 : limit * PAGE_SIZE,
					  align, PMM_TEST, &pa);
		want = model_first_fit(n, limit, align), got = n;
		if (!want)
			return expect(st, n > free ? STATUS_NO_MEMORY : STATUS_NOT_FOUND,
				      STATUS_NOT_FOUND, "pmm_alloc_contiguous");
	} else {
		uint64_t min = 1 + n / 4;
		st = pmm_alloc_between(min, n, PMM_TEST, &pa, &got);
		uint64_t m = n; /* the first run of n, else the largest */
		while (m >= min && !(want = model_first_fit(m, PHYS_PAGES, 1)))
			m--;
		if (!want)
			return expect(st, min > free ? STATUS_NO_MEMORY : STATUS_NOT_FOUND,
				      STATUS_NOT_FOUND, "pmm_alloc_between");
		if (st == STATUS_OK && got != m)
			FAIL("alloc_between(%lu, %lu) got %lu, the model %lu",
			     min, n, got, m);
	}
	if (!want)
		return expect(st, STATUS_NO_MEMORY, STATUS_NO_MEMORY, "pmm_alloc");
	expect(st, STATUS_OK, STATUS_OK, "pmm_alloc");
	if (pa != want * PAGE_SIZE)
		FAIL("pmm alloc kind %u gave %#lx, the model %#lx", kind, pa,
		     pmm_page_pa(want));
	if (kind != 1)
		return model_take(want, got);
	for (uint64_t i = 0; i < n; i++) { /* the n lowest free pages */
		uint64_t p = model_first_fit(1, PHYS_PAGES, 1);
		if (batch[i] != p * PAGE_SIZE)
			FAIL("batch[%lu] is %#lx, the model %#lx", i, batch[i],
			     pmm_page_pa(p));
		model_take(p, 1);
	}
}

static void model_release(paddr_t pa, uint64_t n)
{
	for (uint64_t p = pa / PAGE_SIZE; p < pa / PAGE_SIZE + n; p++)
		phys[p].used = phys[p].held = 0;
}

void do_pmm_free(void)
{
	unsigned kind = take(1) % 3;
	int nameable;
	paddr_t pa = decode_free_pa(&nameable);
	if (!nameable)
		return;
	if (kind == 0) {
		status_t want = model_free_status(pa);
		expect(pmm_free_page(pa), want, want, "pmm_free_page");
		return want == STATUS_OK ? model_release(pa, 1) : (void)0;
	}
	if (kind == 1) { /* pa and the held pages after it, one maybe twice */
		paddr_t list[8];
		uint64_t n = 0, twice = take(1);
		status_t want = model_free_status(pa);
		list[n++] = pa;
		for (uint64_t p = pa / PAGE_SIZE + 1; p < PHYS_PAGES && n < 7; p++)
			if (phys[p].held)
				list[n++] = p * PAGE_SIZE;
		if (twice % 4 == 0) {
			list[n] = list[twice / 4 % n];
			n++;
		}
		for (uint64_t i = 1; i < n && want == STATUS_OK; i++)
			want = model_free_status(list[i]);
		if (want == STATUS_OK && twice % 4 == 0)
			want = STATUS_DOUBLE_FREE;
		expect(pmm_free_batch(list, n), want, want, "pmm_free_batch");
		for (uint64_t i = 0; want == STATUS_OK && i < n; i++)
			model_release(list[i], 1);
		return;
	}
	uint64_t n = 1 + take(1) % 16; /* a region: every page must be freeable */
	status_t want = model_free_status(pa);
	if (pa % PAGE_SIZE == 0 && pa / PAGE_SIZE >= RAM_FIRST &&
	    pa / PAGE_SIZE + n > PHYS_PAGES)
		want = STATUS_OUT_OF_RANGE;
	for (uint64_t i = 1; i < n && want == STATUS_OK; i++) {
		uint64_t p = pa / PAGE_SIZE + i;
		if (phys[p].used && phys[p].handed && !phys[p].held)
			return; /* another owner's page: not ours to name */
		want = model_free_status(pa + i * PAGE_SIZE);
	}
	expect(pmm_free_region(pa, n), want, want, "pmm_free_region");
	if (want == STATUS_OK)
		model_release(pa, n);
}
