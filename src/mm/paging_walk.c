/*
 * paging_walk.c - the plain walk, the cached walk, the leaf iterator and
 * the range checks (paging_walk.h).
 */
#include "paging_walk.h"

#include "layout.h"
#include "paging_change.h"
#include "panic.h"
#include "trace.h"

uint64_t vm_walk_generation = 1;

pte_t *vm_walk_plain(struct ptp *pool, vaddr_t va, int stop, int *level)
{
	pte_t *table = vm_table(pool, pool->pa);
	int l = PT_LEVEL_PML4;
	/* At most three steps down: the compiler unrolls them, so each
	 * level's shift and leaf test are constants (a one-page call's walk
	 * is most of its cost). */
#pragma GCC unroll 4
	for (; l > stop; l--) {
		pte_t e = table[PT_INDEX(va, l)];
		if (!pte_present(e) || vm_entry_is_leaf(e, l))
			break; /* nothing below: this entry is the answer */
		table = vm_table(pool, pte_addr(e));
		if (l - 1 == PT_LEVEL_PD) { /* for vm_walk's cache */
			pool->walk_cache.generation = vm_walk_generation;
			pool->walk_cache.region = va >> VM_PD_REGION_SHIFT;
			pool->walk_cache.pd = table;
		}
	}
	*level = l;
	return &table[PT_INDEX(va, l)];
}

/* ---- the cached walk ------------------------------------------------------ */

void vm_walk_init(struct vm_walk *w, struct ptp *pool)
{
	w->pool = pool;
	w->va = 0;
	w->low = PT_LEVEL_PML4;
	w->table_pa[PT_LEVEL_PML4] = pool->pa;
	w->table[PT_LEVEL_PML4] = vm_table(pool, pool->pa);
}

/* The lowest level whose cached table is still the table for va. */
static int vm_walk_reuse(const struct vm_walk *w, vaddr_t va)
{
	int level = PT_LEVEL_PML4;
	while (level - 1 >= w->low &&
	       PT_INDEX(va, level) == PT_INDEX(w->va, level))
		level--;
	return level;
}

pte_t *vm_walk_lookup(struct vm_walk *w, vaddr_t va, int stop, int *level)
{
	int l = vm_walk_reuse(w, va);
	w->va = va;
	for (;;) {
		pte_t *e = &w->table[l][PT_INDEX(va, l)];
		if (l == stop || !pte_present(*e) || vm_entry_is_leaf(*e, l)) {
			w->low = l;
			*level = l;
			return e;
		}
		w->table_pa[l - 1] = pte_addr(*e);
		w->table[l - 1] = vm_table(w->pool, pte_addr(*e));
		l--;
	}
}

pte_t *vm_walk_create(struct vm_walk *w, vaddr_t va, int level)
{
	int l;
	pte_t *e = vm_walk_lookup(w, va, level, &l);
	while (l > level) {
		ASSERT(!pte_present(*e)); /* a leaf in the way: not checked */
		paddr_t pa;
		status_t st = ptp_alloc_page(w->pool, &pa);
		ASSERT(st == STATUS_OK); /* the caller counted the pages */
		vm_tables_install(w->table[l], w->table_pa[l], PT_INDEX(va, l), 1,
				  l - 1, pa, PTE_TABLE_FLAGS |
				  (vm_is_user(va) ? PTE_U : 0));
		w->table_pa[l - 1] = pa;
		w->table[l - 1] = vm_table(w->pool, pa);
		l--;
		w->low = l;
		e = &w->table[l][PT_INDEX(va, l)];
	}
	return e;
}

/* ---- the leaves of a range ------------------------------------------------ */

void vm_leaves_start(struct vm_leaves *it, struct ptp *pool, vaddr_t va,
		     vaddr_t last)
{
	vm_walk_init(&it->walk, pool);
	it->next = va;
	it->end = last;
	it->done = false;
}

bool vm_leaves_next(struct vm_leaves *it)
{
	while (!it->done) {
		int l;
		pte_t *e = vm_walk_lookup(&it->walk, it->next, PT_LEVEL_PT, &l);
		vaddr_t start = vm_align_down(it->next, PT_LEVEL_SIZE(l));
		vaddr_t last = start + PT_LEVEL_SIZE(l) - 1;
		if (last >= it->end)
			it->done = true; /* (also where last + 1 would wrap) */
		else
			it->next = last + 1;
		if (pte_present(*e)) {
			it->va = start;
			it->last = last;
			it->entry = e;
			it->level = l;
			return true;
		}
	}
	return false;
}

/* ---- the spans of a range ------------------------------------------------- */

void vm_span_start(struct vm_span *s, struct ptp *pool, vaddr_t va,
		   vaddr_t last)
{
	vm_walk_init(&s->walk, pool);
	s->next = va;
	s->end = last;
	s->done = false;
}

bool vm_span_next(struct vm_span *s)
{
	if (s->done)
		return false;
	int l;
	pte_t *e = vm_walk_lookup(&s->walk, s->next, PT_LEVEL_PT, &l);
	vaddr_t start = vm_align_down(s->next, PT_LEVEL_SIZE(l));
	/* Entries up to the one holding the range's last byte, or to the
	 * table's end; above PT, up to the next one that points to a table. */
	uint64_t to_last = ((s->end - start) >> PT_LEVEL_SHIFT(l)) + 1;
	unsigned n = PT_ENTRIES - PT_INDEX(start, l);
	if (to_last < n)
		n = (unsigned)to_last;
	if (l > PT_LEVEL_PT) {
		unsigned k = 1; /* e[0] is absent or a leaf: the walk stopped */
		while (k < n && (!pte_present(e[k]) || vm_entry_is_leaf(e[k], l)))
			k++;
		n = k;
	}
	s->va = start;
	s->entry = e;
	s->n = n;
	s->level = l;
	vaddr_t last = vm_span_last(s);
	if (last >= s->end)
		s->done = true; /* (also where last + 1 would wrap) */
	else
		s->next = last + 1;
	return true;
}

/* ---- checks --------------------------------------------------------------- */

status_t vm_check_range_in_order(struct ptp *pool, vaddr_t va,
				 uint64_t pages, uint64_t unit)
{
	unsigned as = pool ? pool->id : 0;
	if (!pool || !pool->live)
		return trace_error(STATUS_INVALID_ARG, "as=- va=%#lx n=%lu", va,
				   pages);
	if (pages == 0)
		return trace_error(STATUS_ZERO_COUNT, "as=%u va=%#lx n=0", as, va);
	if (va & (unit - 1) || (pages * PAGE_SIZE) & (unit - 1))
		return trace_error(STATUS_UNALIGNED, "as=%u va=%#lx n=%lu", as,
				   va, pages);
	if (!VA_IS_CANONICAL(va))
		return trace_error(STATUS_NON_CANONICAL, "as=%u va=%#lx n=%lu",
				   as, va, pages);
	vaddr_t last = va + pages * PAGE_SIZE - 1;
	if (pages > (~0ull >> PAGE_SHIFT) || last < va)
		return trace_error(STATUS_WRAP, "as=%u va=%#lx n=%lu", as, va,
				   pages);
	if (!VA_IS_CANONICAL(last) || vm_is_user(va) != vm_is_user(last))
		return trace_error(STATUS_NON_CANONICAL, "as=%u va=%#lx n=%lu",
				   as, va, pages);
	if (vm_in_recursive_slot(va, last) ||
	    (pool->shares_kernel_half && !vm_is_user(va)))
		return trace_error(STATUS_OUT_OF_RANGE, "as=%u va=%#lx n=%lu",
				   as, va, pages);
	return STATUS_OK;
}
