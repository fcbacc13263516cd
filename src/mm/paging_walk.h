/*
 * paging_walk.h - the cached walk and the checks shared by paging*.c
 * (private to src/mm/: not part of the paging API).
 *
 * A walk remembers the tables it went through for the last va. For the
 * next va, the table at level L is still the right one if the indices of
 * every level above L are unchanged, so only the levels below the highest
 * changed index are walked again: stepping through a range page by page
 * costs one table read per page, plus one per crossed table boundary.
 */
#ifndef VITRINE_PAGING_WALK_H
#define VITRINE_PAGING_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"
#include "paging.h"

struct vm_walk {
	struct ptp *pool;
	vaddr_t va;                        /* what the cache describes */
	int low;                           /* table[low..4] are valid for va */
	paddr_t table_pa[PT_LEVELS + 1];   /* table_pa[L]: the table at level L */
	pte_t *table[PT_LEVELS + 1];
};

void vm_walk_init(struct vm_walk *w, struct ptp *pool);

/*
 * The entry for va at the deepest level reached, walking no lower than
 * stop: a present leaf, a non-present entry (then the region of
 * PT_LEVEL_SIZE(*level) around va has no mapping), or the entry at stop.
 */
pte_t *vm_walk_lookup(struct vm_walk *w, vaddr_t va, int stop, int *level);

/*
 * The entry for va at `level`, creating missing tables from the pool
 * (pt.new). The caller has checked that the pool has enough pages and that
 * no leaf is in the way.
 */
pte_t *vm_walk_create(struct vm_walk *w, vaddr_t va, int level);

/*
 * The first mapped leaf that overlaps [from, last] (last inclusive, so a
 * range may end at the top of the space; from <= last): true and the
 * leaf's bounds (the whole leaf: it may start before `from`), or false.
 * Absent subtrees are skipped whole.
 */
bool vm_next_mapped(struct vm_walk *w, vaddr_t from, vaddr_t last,
		    vaddr_t *leaf_va, vaddr_t *leaf_last, pte_t **entry);

/*
 * Checks a range request (pool live, count, alignment to `unit` bytes,
 * canonical, no wrap, not the recursive slot, user half only for a pool
 * that borrows the kernel half). Writes the err event of the first
 * failure.
 */
status_t vm_check_range(const char *fn, struct ptp *pool, vaddr_t va,
			uint64_t pages, uint64_t unit);

/* Unmaps [va, va + pages*4K) two-phase. No checks: callers have checked
 * the request, and no page in it is pinned. */
void vm_clear(struct ptp *pool, vaddr_t va, uint64_t pages);

/* Unpins every pinned page of the range (holes allowed; vm.protect). */
void vm_unpin_all(struct ptp *pool, vaddr_t va, uint64_t pages);

/* Invalidates n 4K pages from va: invlpg each, or a full flush past the
 * threshold (tlb.invlpg / tlb.flush). */
void vm_invalidate(vaddr_t va, uint64_t n);

static inline vaddr_t vm_align_down(vaddr_t va, uint64_t size)
{
	return va & ~(size - 1);
}

static inline bool vm_is_user(vaddr_t va)
{
	return !(va >> (VA_BITS - 1));
}

#endif
