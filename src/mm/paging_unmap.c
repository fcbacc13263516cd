/*
 * paging_unmap.c - vm_unmap, vm_protect, vm_unpin (paging.h).
 *
 * Unmapping goes one 2 MiB-aligned chunk at a time, two-phase:
 *   1. clear the chunk's leaf entries, then every table the chunk emptied
 *      (its entry in the parent is cleared: the table is unreachable);
 *   2. invalidate the TLB for the chunk;
 *   3. only now, when no CPU can still use them, free the owned pages to
 *      pmm and the emptied tables to the pool.
 * A chunk never holds more than one page table's worth of pages, so the
 * list of pages to free has a fixed size.
 */
#include "paging.h"

#include "format.h"
#include "layout.h"
#include "paging_walk.h"
#include "panic.h"
#include "trace.h"

/* Owned pages of the chunk being unmapped, as runs of contiguous pages. */
struct vm_free_run {
	paddr_t pa;
	uint64_t n;
};
static struct vm_free_run owned[PAGES_PER_2M];
static unsigned owned_count;

static void vm_owned_add(paddr_t pa, uint64_t n)
{
	if (owned_count) {
		struct vm_free_run *r = &owned[owned_count - 1];
		if (r->pa + r->n * PAGE_SIZE == pa) {
			r->n += n;
			return;
		}
	}
	ASSERT(owned_count < PAGES_PER_2M);
	owned[owned_count++] = (struct vm_free_run){ pa, n };
}

/* A table emptied by the chunk, to free after the invalidation. */
struct vm_empty_table {
	paddr_t pa, parent;
	int level;
	unsigned index;
};

/* LAB 4 begin: helpers */
static bool vm_table_empty(const pte_t *table)
{
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		if (table[i].raw)
			return false;
	return true;
}
/* LAB 4 end */

/*
 * Phase 1b: starting at the deepest table that holds va, unhooks every
 * table left empty, going up; never the PML4, never a kernel-half PDPT
 * (shared by every address space). Returns how many it put in out.
 */
static unsigned vm_unhook_empty(struct vm_walk *w, vaddr_t va,
				struct vm_empty_table out[PT_LEVELS])
{
	/* LAB 4 begin: vm_unhook_empty, stub returns 0 */
	int level;
	unsigned n = 0;
	vm_walk_lookup(w, va, PT_LEVEL_PT, &level);
	for (; level < PT_LEVEL_PML4; level++) {
		if (level == PT_LEVEL_PDPT && !vm_is_user(va))
			break;
		if (!vm_table_empty(w->table[level]))
			break;
		unsigned index = PT_INDEX(va, level + 1);
		out[n++] = (struct vm_empty_table){ w->table_pa[level],
						    w->table_pa[level + 1],
						    level, index };
		w->table[level + 1][index].raw = 0;
	}
	return n;
	/* LAB 4 end */
}

static void vm_unmap_event(unsigned as, vaddr_t va, uint64_t n)
{
	if (n)
		trace_event(TRACE_VM, "unmap", "as=%u va=%#lx n=%lu", as, va, n);
}

/* Unmaps the leaves of [start, last], all inside one 2 MiB chunk. */
static void vm_clear_chunk(struct ptp *pool, vaddr_t start, vaddr_t last)
{
	struct vm_walk w;
	vm_walk_init(&w, pool);
	vaddr_t cur = start, leaf, leaf_last, run_va = 0;
	vaddr_t first = 0, end = 0; /* span of cleared pages */
	uint64_t run_n = 0, cleared = 0;
	pte_t *e;
	owned_count = 0;
	while (vm_next_mapped(&w, cur, last, &leaf, &leaf_last, &e)) {
		ASSERT(!(e->raw & PTE_PIN)); /* checked or unpinned by callers */
		uint64_t n = (leaf_last - leaf + 1) / PAGE_SIZE;
		if (e->raw & PTE_OWN)
			vm_owned_add(pte_addr(*e), n);
		if (run_n && run_va + run_n * PAGE_SIZE != leaf) {
			vm_unmap_event(pool->id, run_va, run_n);
			run_n = 0;
		}
		if (!run_n)
			run_va = leaf;
		run_n += n;
		if (!cleared)
			first = leaf;
		end = leaf_last + 1;
		cleared += n;
		e->raw = 0;
		if (leaf_last >= last)
			break;
		cur = leaf_last + 1;
	}
	vm_unmap_event(pool->id, run_va, run_n);
	if (!cleared)
		return;
	pool->mapped_pages -= cleared;
	struct vm_empty_table empty[PT_LEVELS];
	unsigned emptied = vm_unhook_empty(&w, first, empty);

	vm_invalidate(first, (end - first) / PAGE_SIZE); /* phase 2 */

	for (unsigned i = 0; i < owned_count; i++) /* phase 3 */
		pmm_free_region(owned[i].pa, owned[i].n);
	for (unsigned i = 0; i < emptied; i++) {
		trace_event(TRACE_PT, "free", "pa=%#lx level=%d parent=%#lx index=%u",
			    empty[i].pa, empty[i].level, empty[i].parent,
			    empty[i].index);
		status_t st = ptp_free_page(pool, empty[i].pa);
		ASSERT(st == STATUS_OK);
	}
}

void vm_clear(struct ptp *pool, vaddr_t va, uint64_t pages)
{
	struct vm_walk w;
	vm_walk_init(&w, pool);
	vaddr_t last = va + pages * PAGE_SIZE - 1, cur = va, leaf, leaf_last;
	pte_t *e;
	while (vm_next_mapped(&w, cur, last, &leaf, &leaf_last, &e)) {
		vaddr_t start = leaf > cur ? leaf : cur;
		vaddr_t chunk_last = vm_align_down(start, PAGE_SIZE_2M) +
				     PAGE_SIZE_2M - 1;
		if (chunk_last > last)
			chunk_last = last;
		vm_clear_chunk(pool, start, chunk_last);
		vm_walk_init(&w, pool); /* tables may have been freed */
		if (chunk_last >= last)
			break;
		cur = chunk_last + 1;
	}
}

/*
 * Checks the mapped leaves of a range: with `full`, no hole (NOT_MAPPED);
 * none sticking out of it (HUGE_PAGE); none pinned unless pins are allowed
 * (PINNED, reported only if nothing else is wrong). *mapped gets the
 * number of mapped 4K pages.
 */
static status_t vm_check_leaves(const char *fn, struct ptp *pool, vaddr_t va,
				uint64_t pages, bool pins_ok, bool full,
				uint64_t *mapped)
{
	struct vm_walk w;
	vm_walk_init(&w, pool);
	vaddr_t last = va + pages * PAGE_SIZE - 1, cur = va, leaf, leaf_last;
	pte_t *e;
	vaddr_t pinned = 0;
	bool any_pinned = false;
	*mapped = 0;
	for (;;) {
		bool found = vm_next_mapped(&w, cur, last, &leaf, &leaf_last, &e);
		if (full && (!found || (leaf > cur)))
			return trace_error(STATUS_NOT_MAPPED, fn,
					   "as=%u va=%#lx n=%lu at=%#lx",
					   pool->id, va, pages, cur);
		if (!found)
			break;
		if (!pins_ok && (e->raw & PTE_PIN) && !any_pinned) {
			any_pinned = true; /* a hole or a split page comes first */
			pinned = leaf;
		}
		if (leaf < va || leaf_last > last)
			return trace_error(STATUS_HUGE_PAGE, fn,
					   "as=%u va=%#lx n=%lu at=%#lx",
					   pool->id, va, pages, leaf);
		*mapped += (leaf_last - leaf + 1) / PAGE_SIZE;
		if (leaf_last >= last)
			break;
		cur = leaf_last + 1;
	}
	if (any_pinned)
		return trace_error(STATUS_PINNED, fn, "as=%u va=%#lx n=%lu at=%#lx",
				   pool->id, va, pages, pinned);
	return STATUS_OK;
}

status_t vm_unmap(struct ptp *pool, vaddr_t va, uint64_t pages)
{
	/* LAB 3 begin: vm_unmap */
	uint64_t mapped;
	status_t st = vm_check_range(__func__, pool, va, pages, PAGE_SIZE);
	if (st == STATUS_OK)
		st = vm_check_leaves(__func__, pool, va, pages, false, false,
				     &mapped);
	if (st == STATUS_OK && mapped == 0)
		st = trace_error(STATUS_NOT_MAPPED, __func__,
				 "as=%u va=%#lx n=%lu", pool->id, va, pages);
	if (st != STATUS_OK)
		return st;
	vm_clear(pool, va, pages);
	return STATUS_OK;
	/* LAB 3 end */
}

/* One vm.protect line for pages contiguous in VA with the same new entry
 * flags. */
static void vm_protect_event(unsigned as, vaddr_t va, uint64_t n, pte_t first)
{
	char flags[PTE_FLAGS_NAME_MAX];
	if (n && trace_enabled(TRACE_VM))
		trace_event(TRACE_VM, "protect", "as=%u va=%#lx n=%lu flags=%s pte=%#lx",
			    as, va, n,
			    pte_flags_name(pte_flags(first), flags, sizeof flags),
			    first.raw);
}

/*
 * Rewrites every leaf of a checked range: keeps the address and each
 * leaf's own OWN and PS bits; the rest becomes `flags`. With unpin, only
 * pinned leaves change, to their old flags without PIN.
 */
static void vm_rewrite(struct ptp *pool, vaddr_t va, uint64_t pages,
		       uint64_t flags, bool unpin)
{
	struct vm_walk w;
	vm_walk_init(&w, pool);
	vaddr_t last = va + pages * PAGE_SIZE - 1, cur = va, leaf, leaf_last;
	vaddr_t run_va = va;
	uint64_t run_n = 0;
	vaddr_t changed_first = ~0ull, changed_last = 0;
	pte_t run_first = { 0 }, *e;
	while (vm_next_mapped(&w, cur, last, &leaf, &leaf_last, &e)) {
		if (unpin && !(e->raw & PTE_PIN)) {
			vm_protect_event(pool->id, run_va, run_n, run_first);
			run_n = 0;
			if (leaf_last >= last)
				break;
			cur = leaf_last + 1;
			continue;
		}
		uint64_t keep = e->raw & (PTE_OWN | PTE_PS);
		uint64_t f = unpin ? pte_flags(*e) & ~PTE_PIN : flags | keep;
		pte_t next = pte_make(pte_addr(*e), f);
		if (run_n && (pte_flags(next) != pte_flags(run_first) ||
			      leaf != run_va + run_n * PAGE_SIZE)) {
			vm_protect_event(pool->id, run_va, run_n, run_first);
			run_n = 0;
		}
		if (!run_n) {
			run_va = leaf;
			run_first = next;
		}
		run_n += (leaf_last - leaf + 1) / PAGE_SIZE;
		*e = next;
		if (leaf < changed_first)
			changed_first = leaf;
		changed_last = leaf_last - PAGE_SIZE + 1;
		if (leaf_last >= last)
			break;
		cur = leaf_last + 1;
	}
	vm_protect_event(pool->id, run_va, run_n, run_first);
	if (changed_first <= changed_last) /* nothing changed: nothing stale */
		vm_invalidate(changed_first,
			      (changed_last - changed_first) / PAGE_SIZE + 1);
}

status_t vm_protect(struct ptp *pool, vaddr_t va, uint64_t pages,
		    uint64_t flags)
{
	if (!(flags & PTE_P) && pool && pool->live)
		return vm_unmap(pool, va, pages);
	uint64_t mapped;
	status_t st = vm_check_range(__func__, pool, va, pages, PAGE_SIZE);
	if (st == STATUS_OK &&
	    (flags & ~PTE_CALLER_FLAGS || flags & (PTE_OWN | PTE_PS)))
		st = trace_error(STATUS_INVALID_ARG, __func__,
				 "as=%u va=%#lx flags=%#lx", pool->id, va, flags);
	if (st == STATUS_OK)
		st = vm_check_leaves(__func__, pool, va, pages, false, true,
				     &mapped);
	if (st != STATUS_OK)
		return st;
	vm_rewrite(pool, va, pages, flags, false);
	return STATUS_OK;
}

status_t vm_unpin(struct ptp *pool, vaddr_t va, uint64_t pages)
{
	uint64_t mapped;
	status_t st = vm_check_range(__func__, pool, va, pages, PAGE_SIZE);
	if (st == STATUS_OK)
		st = vm_check_leaves(__func__, pool, va, pages, true, true,
				     &mapped);
	if (st != STATUS_OK)
		return st;
	vm_rewrite(pool, va, pages, 0, true);
	return STATUS_OK;
}

void vm_unpin_all(struct ptp *pool, vaddr_t va, uint64_t pages)
{
	vm_rewrite(pool, va, pages, 0, true);
}
