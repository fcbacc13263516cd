/*
 * alloc_fixture.h - a booted kernel space (paging_fixture.h) with the
 * kernel allocators up: kalloc's window and the heap.
 */
#ifndef VITRINE_ALLOC_FIXTURE_H
#define VITRINE_ALLOC_FIXTURE_H

#include "paging_fixture.h"

#include "heap.h"
#include "kalloc.h"
#include "trace.h"
#include "vrange.h"

static inline struct ptp *fix_alloc(uint64_t pool_pages)
{
	struct ptp *pool = fix_kernel(pool_pages);
	cr_assert_eq(kalloc_init(), STATUS_OK);
	cr_assert_eq(heap_init(), STATUS_OK);
	host_trace_clear();
	return pool;
}

/* The byte at kernel VA va, through the simulated page it maps to. */
static inline uint8_t *fix_byte(vaddr_t va)
{
	uint8_t *p = kalloc_ptr(va);
	cr_assert_not_null(p, "va %#lx is not mapped", va);
	return p;
}

/* Takes free physical pages (reason test) until only `left` remain. */
static inline void fix_eat_pmm(uint64_t left)
{
	while (fix_pmm_free() > left) {
		paddr_t pa;
		uint64_t got;
		cr_assert_eq(pmm_alloc_between(1, fix_pmm_free() - left,
					       PMM_TEST, &pa, &got),
			     STATUS_OK);
	}
}

/* A copy of the kernel window's extents, to compare before/after. */
struct fix_vrange_copy {
	size_t count;
	uint64_t taken, pages;
	struct vrange_extent ext[KALLOC_EXTENTS];
};

static inline struct fix_vrange_copy *fix_vrange_snapshot(void)
{
	struct fix_vrange_copy *c = malloc(sizeof *c);
	c->count = kalloc_space.count;
	c->taken = kalloc_space.taken_extents;
	c->pages = kalloc_space.taken_pages;
	memcpy(c->ext, kalloc_space.ext, c->count * sizeof c->ext[0]);
	return c;
}

static inline void fix_vrange_unchanged(struct fix_vrange_copy *c)
{
	cr_assert_eq(kalloc_space.count, c->count, "extents changed");
	cr_assert_eq(kalloc_space.taken_extents, c->taken);
	cr_assert_eq(kalloc_space.taken_pages, c->pages);
	cr_assert_eq(
	    memcmp(c->ext, kalloc_space.ext, c->count * sizeof c->ext[0]), 0,
	    "extents changed");
	free(c);
}

/* Asserts that the trace holds exactly one err event, err.<name>
 * fn=<fn>, and forgets the trace. */
static inline void fix_one_error(const char *name, const char *fn)
{
	char want[96];
	snprintf(want, sizeof want, "err.%s fn=%s ", name, fn);
	cr_assert_eq(host_trace_count(" err."), 1, "one err event:\n%s",
		     host_trace_text());
	cr_assert_not_null(strstr(host_trace_text(), want), "%s in:\n%s", want,
			   host_trace_text());
	host_trace_clear();
}

#endif
