/*
 * paging_walk.h - finding entries: the plain walk, the cached walk, the
 * iterator over the leaves of a range, and the checks every paging call
 * shares (private to src/mm/: not part of the paging API).
 *
 * Read them in this order. The plain walk is the textbook one: from the
 * PML4 down, one table a level. The cached walk gives the same answers but
 * remembers the tables it went through for the last va: for the next va,
 * the table at level L is still the right one if the indices of every
 * level above L are unchanged, so stepping through a range costs one table
 * read per page, plus one per crossed table boundary. The leaf iterator
 * uses the cached walk to visit every mapped leaf of a range in order,
 * skipping absent subtrees whole (protect, the 2 MiB cases of unmap).
 *
 * The span iterator is the fast way through a range: it walks once per
 * table, not once per page, and hands the caller the run of entries of
 * that table that the range covers; the caller then steps an entry
 * pointer along the table (range_state, find_free, the checks of map and
 * unmap, unmap's clear). A span of a page table is one pointer and a
 * count: checking 512 pages is a loop over 512 words.
 */
#ifndef VITRINE_PAGING_WALK_H
#define VITRINE_PAGING_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"
#include "paging.h"

static inline vaddr_t vm_align_down(vaddr_t va, uint64_t size)
{
	return va & ~(size - 1);
}

static inline bool vm_is_user(vaddr_t va)
{
	return !(va >> (VA_BITS - 1));
}

/* A leaf maps memory itself: a PT entry, or a PD/PDPT entry with PS. */
static inline bool vm_entry_is_leaf(pte_t e, int level)
{
	return level == PT_LEVEL_PT ||
	       (level <= PT_LEVEL_PDPT && (e.raw & PTE_PS));
}

/*
 * The table at physical address pa. A walk's tables are in its own pool
 * but for the kernel half of another space's PML4 (in the kernel's pool),
 * so the pool is tried first: one subtraction instead of ptp_table's
 * search of every pool.
 */
static inline bool vm_table_in_window(const struct ptp *pool, paddr_t pa)
{
	return pa - pool->pa < pool->pages * PAGE_SIZE;
}

static inline pte_t *vm_table(const struct ptp *pool, paddr_t pa)
{
	if (vm_table_in_window(pool, pa))
		return (pte_t *)(pool->base + (pa - pool->pa));
	return ptp_table(pa);
}

/*
 * The plain walk: the entry for va at the deepest level reached, walking
 * no lower than stop. That is a present leaf, a non-present entry (then
 * the region of PT_LEVEL_SIZE(*level) around va has no mapping), or the
 * entry at stop.
 */
pte_t *vm_walk_plain(struct ptp *pool, vaddr_t va, int stop, int *level);

/*
 * vm_walk: the plain walk's answer, shortened by a cache of one entry a
 * pool, pool->walk_cache: the page directory of the 1 GiB region of the
 * last plain walk that went through one. A walk to a page-table entry in
 * the same region, under a directory entry that points to a page table in
 * the pool's window, starts at that page directory (two table reads
 * instead of four); any other walk (an absent or 2 MiB directory entry
 * included) is the plain one. The cache is
 * no truth: a page directory's place changes only when a table is
 * detached (vm_table_detach), a PML4's kernel half is shared again or a
 * pool is created, destroyed or seen through another window; each of
 * those calls vm_walk_forget, which makes every pool's cache stale at once
 * by counting vm_walk_generation up.
 */
#define VM_PD_REGION_SHIFT PT_LEVEL_SHIFT(PT_LEVEL_PDPT) /* 1 GiB */

extern uint64_t vm_walk_generation; /* starts at 1: a zeroed cache is stale */

static inline void vm_walk_forget(void)
{
	vm_walk_generation++;
}

/* True if the pool's cache holds the page directory of va's 1 GiB region. */
static inline bool vm_walk_cache_holds(const struct ptp *pool, vaddr_t va)
{
	return pool->walk_cache.generation == vm_walk_generation &&
	       pool->walk_cache.region == va >> VM_PD_REGION_SHIFT;
}

/*
 * The cache's answer, with no call: va's page-table entry, when the cache
 * holds va's region and that page-directory entry points to a page table
 * in the pool's window; else NULL (the plain walk must answer). With it a
 * fast path can answer without building a frame (vm_translate).
 */
static inline pte_t *vm_walk_quick(const struct ptp *pool, vaddr_t va)
{
	if (!vm_walk_cache_holds(pool, va))
		return NULL;
	pte_t e = pool->walk_cache.pd[PT_INDEX(va, PT_LEVEL_PD)];
	if (!pte_present(e) || vm_entry_is_leaf(e, PT_LEVEL_PD) ||
	    !vm_table_in_window(pool, pte_addr(e)))
		return NULL;
	return &vm_table(pool, pte_addr(e))[PT_INDEX(va, PT_LEVEL_PT)];
}

static inline pte_t *vm_walk(struct ptp *pool, vaddr_t va, int stop,
			     int *level)
{
	pte_t *e = stop == PT_LEVEL_PT ? vm_walk_quick(pool, va) : NULL;
	if (e) {
		*level = PT_LEVEL_PT;
		return e;
	}
	/* (through a local: the caller's level then needs no memory) */
	int plain_level;
	e = vm_walk_plain(pool, va, stop, &plain_level);
	*level = plain_level;
	return e;
}

/* The cached walk: same answers as vm_walk, with the cache described at
 * the top of this file (a walk of its own, for range operations). */
struct vm_walk {
	struct ptp *pool;
	vaddr_t va;                        /* what the cache describes */
	int low;                           /* table[low..4] are valid for va */
	paddr_t table_pa[PT_LEVELS + 1];   /* table_pa[L]: the table at level L */
	pte_t *table[PT_LEVELS + 1];
};

void vm_walk_init(struct vm_walk *w, struct ptp *pool);
pte_t *vm_walk_lookup(struct vm_walk *w, vaddr_t va, int stop, int *level);

/*
 * The entry for va at `level`, installing missing tables from the pool
 * (ptp.alloc, pt.new). The caller has checked that the pool has enough
 * pages and that no leaf is in the way.
 */
pte_t *vm_walk_create(struct vm_walk *w, vaddr_t va, int level);

/*
 * The mapped leaves of [va, last] (last inclusive, so a range may end at
 * the top of the space), in order:
 *
 *   struct vm_leaves it;
 *   vm_leaves_start(&it, pool, va, last);
 *   while (vm_leaves_next(&it))
 *           ... it.va, it.last, it.entry, it.level ...
 *
 * it.va..it.last are the whole leaf's bounds: a 2 MiB leaf may start
 * before va or end after last. The caller may rewrite it.entry, but not
 * free or detach tables while iterating (start again after that).
 */
struct vm_leaves {
	struct vm_walk walk;
	vaddr_t next, end;  /* where the search goes on; the range's last byte */
	bool done;
	vaddr_t va, last;   /* the leaf found */
	pte_t *entry;
	int level;
};

void vm_leaves_start(struct vm_leaves *it, struct ptp *pool, vaddr_t va,
		     vaddr_t last);
bool vm_leaves_next(struct vm_leaves *it);

/*
 * The spans of [va, last] (last inclusive), in order:
 *
 *   struct vm_span s;
 *   vm_span_start(&s, pool, va, last);
 *   while (vm_span_next(&s))
 *           for (unsigned k = 0; k < s.n; k++)
 *                   ... s.entry[k] maps s.va + k * PT_LEVEL_SIZE(s.level) ...
 *
 * A span is the run of consecutive entries of one table that covers the
 * next part of the range, at the deepest level the tables reach there:
 * at level PT, page-table entries (4 KiB each, present or not) cut to the
 * range; at a higher level, entries with no table below them (absent: a
 * hole of PT_LEVEL_SIZE(level); or a leaf: a 2 MiB page), up to the next
 * entry that points to a table. A span covers whole entries: its first
 * entry may start before va, its last may end after last. The caller may
 * rewrite entries but not free or detach tables while iterating; it may
 * move on to a later va with vm_span_skip (the walk's cache is kept).
 */
struct vm_span {
	struct vm_walk walk;
	vaddr_t next, end;  /* where the next span starts; the range's last byte */
	bool done;
	vaddr_t va;         /* the span: where entry[0]'s region starts */
	pte_t *entry;
	unsigned n;         /* entries, at least 1 */
	int level;
};

void vm_span_start(struct vm_span *s, struct ptp *pool, vaddr_t va,
		   vaddr_t last);
bool vm_span_next(struct vm_span *s);

/* The last byte the span covers (its entries' regions). */
static inline vaddr_t vm_span_last(const struct vm_span *s)
{
	return s->va + ((uint64_t)s->n << PT_LEVEL_SHIFT(s->level)) - 1;
}

/* The next span starts at va (later than where it would), still no
 * further than the range's last byte. */
static inline void vm_span_skip(struct vm_span *s, vaddr_t va)
{
	s->next = va;
	s->done = va > s->end;
}

/*
 * Checks a range request (pool live, count, alignment to `unit` bytes,
 * canonical, no wrap, not the recursive slot, user half only for a pool
 * that borrows the kernel half). Writes the err event of the first
 * failure, naming the current call (TRACE_CALL).
 */
status_t vm_check_range_in_order(struct ptp *pool, vaddr_t va,
				 uint64_t pages, uint64_t unit);

static inline bool vm_in_recursive_slot(vaddr_t va, vaddr_t last)
{
	vaddr_t lo = RECURSIVE_BASE, hi = RECURSIVE_BASE + PML4_SLOT_SIZE - 1;
	return va <= hi && last >= lo;
}

/*
 * True only if every check of vm_check_range_in_order passes: the usual
 * request, answered with a few tests instead of a dozen (inline, so a
 * call's constant count and unit fold away). Given no wrap (last >= va),
 * "va and last canonical and in one half" is "last below USER_END" for
 * the user half and "va at or above the kernel half's start" for the
 * kernel's. A false answer proves nothing: the checks then run in their
 * order, so a failure gets its own status and err event.
 */
static inline bool vm_range_plainly_ok(const struct ptp *pool, vaddr_t va,
				       uint64_t pages, uint64_t unit)
{
	vaddr_t last = va + pages * PAGE_SIZE - 1;
	if (!pool || !pool->live || pages == 0 ||
	    pages > (~0ull >> PAGE_SHIFT) || last < va ||
	    ((va | pages * PAGE_SIZE) & (unit - 1)))
		return false;
	if (vm_is_user(va))
		return last < USER_END;
	return va >= ~(USER_END - 1) && !pool->shares_kernel_half &&
	       !vm_in_recursive_slot(va, last);
}

/* The checks every paging call makes of its range: the quick answer,
 * else the checks in order. */
static inline status_t vm_check_range(struct ptp *pool, vaddr_t va,
				      uint64_t pages, uint64_t unit)
{
	if (vm_range_plainly_ok(pool, va, pages, unit))
		return STATUS_OK;
	return vm_check_range_in_order(pool, va, pages, unit);
}

/* Unmaps [va, va + pages*4K) (paging_unmap.c). No checks: callers have
 * checked the request, and no page in it is pinned. */
void vm_clear(struct ptp *pool, vaddr_t va, uint64_t pages);

/* Unpins every pinned page of the range (holes allowed; vm.protect). */
void vm_unpin_all(struct ptp *pool, vaddr_t va, uint64_t pages);

#endif
