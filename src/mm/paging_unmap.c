/*
 * paging_unmap.c - vm_unmap, vm_protect, vm_unpin (paging.h).
 *
 * Unmapping goes one 2 MiB-aligned chunk at a time (never more than one
 * page table's worth of leaves), in an order that is safe for the CPU and
 * that the trace shows as it happens:
 *   1. clear the chunk's leaf entries (vm.unmap per run of entries);
 *   2. detach every table the chunk emptied, going up (pt.free): its entry
 *      in the parent is cleared, so no walk can reach it any more;
 *   3. invalidate the TLB for the chunk (tlb.invlpg or tlb.flush): this
 *      also drops what the CPU cached of the detached tables;
 *   4. only now, when no CPU can still use them, free the owned pages to
 *      pmm (pmm.clear; a frame that fork shared only loses a reference,
 *      frame.h) and the detached tables to the pool (ptp.free).
 */
#include "paging.h"

#include "frame.h"
#include "layout.h"
#include "paging_change.h"
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

/* LAB 4 begin: helpers */
/*
 * True if no entry of the table is in use: a scan of all 512. Before it,
 * the two neighbours of the entry just cleared (`from`): a table that
 * stays usually has one in use (a page unmapped from a run), and then one
 * or two reads answer instead of a scan from entry 0 to the first in use.
 */
static bool vm_table_empty(const pte_t *table, unsigned from)
{
	if ((from + 1 < PT_ENTRIES && table[from + 1].raw) ||
	    (from > 0 && table[from - 1].raw))
		return false;
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		if (table[i].raw)
			return false;
	return true;
}
/* LAB 4 end */

/*
 * Step 2: starting at the deepest table that holds va, detaches every
 * table left empty, going up; never the PML4, never a kernel-half PDPT
 * (shared by every address space). Puts the detached tables' addresses in
 * out and returns how many.
 */
static unsigned vm_unhook_empty(struct vm_walk *w, vaddr_t va,
				paddr_t out[PT_LEVELS])
{
	/* LAB 4 begin: vm_unhook_empty, stub returns 0 */
	int level;
	unsigned n = 0;
	vm_walk_lookup(w, va, PT_LEVEL_PT, &level);
	for (; level < PT_LEVEL_PML4; level++) {
		if (level == PT_LEVEL_PDPT && !vm_is_user(va))
			break;
		if (!vm_table_empty(w->table[level], PT_INDEX(va, level)))
			break;
		out[n++] = w->table_pa[level];
		vm_table_detach(w->table[level + 1], w->table_pa[level + 1],
				PT_INDEX(va, level + 1), level);
	}
	return n;
	/* LAB 4 end */
}

/* The size of a leaf at level: 4 KiB or 2 MiB. */
static uint64_t vm_unit(int level)
{
	return PT_LEVEL_SIZE(level);
}

/* True if the leaf found by it continues the run of run_n entries from
 * run (at run_va): the next entry of the same table, the next VA. */
static bool vm_run_continues(const pte_t *run, vaddr_t run_va, uint64_t run_n,
			     uint64_t unit, const struct vm_leaves *it)
{
	return run && it->entry == run + run_n &&
	       it->va == run_va + run_n * unit &&
	       PT_INDEX(it->va, it->level) != 0;
}

/*
 * Steps 2 to 4 for a chunk whose leaves are cleared (step 1) and whose
 * owned pages are in owned[]: pages 4K pages from first, the first
 * cleared leaf, to the end of the last one; w is the walk that found
 * them.
 */
static void vm_chunk_finish(struct ptp *pool, struct vm_walk *w,
			    vaddr_t first, uint64_t pages)
{
	paddr_t empty[PT_LEVELS];
	unsigned emptied = vm_unhook_empty(w, first, empty);        /* 2 */
	vm_invalidate(first, pages);                                /* 3 */
	for (unsigned i = 0; i < owned_count; i++)                   /* 4 */
		frame_release_run(owned[i].pa, owned[i].n);
	for (unsigned i = 0; i < emptied; i++) {
		status_t st = ptp_free_page(pool, empty[i]);
		ASSERT(st == STATUS_OK);
	}
}

/* Unmaps the leaves of [start, last], all inside one 2 MiB chunk. */
static void vm_clear_chunk(struct ptp *pool, vaddr_t start, vaddr_t last)
{
	struct vm_leaves it;
	pte_t *run = NULL;         /* first entry of the run being gathered */
	vaddr_t run_va = 0, first = 0, end = 0;
	uint64_t run_n = 0, unit = PAGE_SIZE;
	owned_count = 0;
	vm_leaves_start(&it, pool, start, last);
	while (vm_leaves_next(&it)) {
		ASSERT(!(it.entry->raw & PTE_PIN)); /* checked or unpinned */
		if (it.entry->raw & PTE_OWN)
			vm_owned_add(pte_addr(*it.entry),
				     (it.last - it.va + 1) / PAGE_SIZE);
		if (run && !vm_run_continues(run, run_va, run_n, unit, &it)) {
			vm_leaves_clear(pool, run, run_va, run_n, unit);
			run = NULL;
		}
		if (!run) {
			run = it.entry;
			run_va = it.va;
			run_n = 0;
			unit = vm_unit(it.level);
		}
		run_n++;
		if (!end)
			first = it.va;
		end = it.last + 1;
	}
	if (!run)
		return;
	vm_leaves_clear(pool, run, run_va, run_n, unit);

	vm_chunk_finish(pool, &it.walk, first, (end - first) / PAGE_SIZE);
}

/*
 * The same four steps for the chunk that is one page table's span: its
 * entries are stepped through with a pointer (the walk found the table
 * once), each run of present entries cleared by the choke point. The
 * events are those vm_clear_chunk writes for the same chunk. Returns
 * false if the span had no present entry (nothing changed).
 */
static bool vm_clear_table(struct ptp *pool, struct vm_walk *w,
			   const struct vm_span *s)
{
	pte_t *e = s->entry;
	unsigned n = s->n, k = 0, first = n, end = 0;
	owned_count = 0;
	while (k < n) {
		if (!pte_present(e[k])) {
			k++;
			continue;
		}
		unsigned run = k; /* a run of present entries: one vm.unmap */
		for (; k < n && pte_present(e[k]); k++) {
			ASSERT(!(e[k].raw & PTE_PIN)); /* checked or unpinned */
			if (e[k].raw & PTE_OWN)
				vm_owned_add(pte_addr(e[k]), 1);
		}
		vm_leaves_clear(pool, e + run, s->va + run * PAGE_SIZE, k - run,
				PAGE_SIZE);
		if (first == n)
			first = run;
		end = k;
	}
	if (first == n)
		return false;
	vm_chunk_finish(pool, w, s->va + first * PAGE_SIZE, end - first);
	return true;
}

/*
 * A span at a time: a page table's span is one chunk (vm_clear_table); in
 * a span above (holes and 2 MiB leaves), the 2 MiB chunk of its first leaf
 * goes through the leaf iterator (vm_clear_chunk). Tables may have gone
 * with a chunk, so the spans start afresh after one.
 */
void vm_clear(struct ptp *pool, vaddr_t va, uint64_t pages)
{
	vaddr_t last = va + pages * PAGE_SIZE - 1;
	struct vm_span s;
	vm_span_start(&s, pool, va, last);
	while (vm_span_next(&s)) {
		vaddr_t cleared; /* the chunk's last byte */
		if (s.level == PT_LEVEL_PT) {
			if (!vm_clear_table(pool, &s.walk, &s))
				continue;
			cleared = vm_span_last(&s);
		} else {
			unsigned k = 0; /* the span's first leaf */
			while (k < s.n && !pte_present(s.entry[k]))
				k++;
			if (k == s.n)
				continue; /* holes only */
			vaddr_t start = s.va + k * PT_LEVEL_SIZE(s.level);
			start = start > va ? start : va;
			cleared = vm_align_down(start, PAGE_SIZE_2M) +
				  PAGE_SIZE_2M - 1;
			cleared = cleared < last ? cleared : last;
			vm_clear_chunk(pool, start, cleared);
		}
		if (cleared >= last)
			break;
		vm_span_start(&s, pool, cleared + 1, last);
	}
}

/*
 * Checks the mapped leaves of a range: with `full`, no hole (NOT_MAPPED);
 * none sticking out of it (HUGE_PAGE); none pinned unless pins are allowed
 * (PINNED, reported only if nothing else is wrong). *mapped gets the
 * number of mapped 4K pages.
 *
 * A span at a time: a page table's span with every entry present and none
 * pinned (the common case) is one pass over its words, or-ing them; any
 * other span goes leaf by leaf (vm_check_leaf), as the rules read.
 */
struct vm_leaf_check {
	vaddr_t va, last;   /* the range */
	bool pins_ok, full;
	vaddr_t expect;     /* where the next leaf must start (full) */
	uint64_t mapped;
	bool any_pinned;
	vaddr_t pinned;     /* the first pinned leaf */
	vaddr_t at;         /* the leaf an error names */
};

/* One present leaf [lva, llast] with entry raw, in address order: false
 * if a hole comes before it (full: stop there); HUGE_PAGE if it sticks
 * out of the range. */
static status_t vm_check_leaf(struct vm_leaf_check *c, vaddr_t lva,
			      vaddr_t llast, uint64_t raw, bool *hole)
{
	*hole = c->full && lva > c->expect;
	if (*hole)
		return STATUS_OK;
	if (!c->pins_ok && (raw & PTE_PIN) && !c->any_pinned) {
		c->any_pinned = true; /* a hole or a split page comes first */
		c->pinned = lva;
	}
	if (lva < c->va || llast > c->last) {
		c->at = lva;
		return STATUS_HUGE_PAGE;
	}
	c->mapped += (llast - lva + 1) / PAGE_SIZE;
	c->expect = llast + 1;
	return STATUS_OK;
}

/* The span's leaves through vm_check_leaf; *hole as there. */
static status_t vm_check_span(struct vm_leaf_check *c,
			      const struct vm_span *s, bool *hole)
{
	uint64_t size = PT_LEVEL_SIZE(s->level), all = ~0ull;
	const pte_t *e = s->entry;
	if (s->level == PT_LEVEL_PT && (!c->full || s->va == c->expect)) {
		uint64_t any = 0;
		for (unsigned k = 0; k < s->n; k++) {
			all &= e[k].raw;
			any |= e[k].raw;
		}
		if ((all & PTE_P) && (c->pins_ok || !(any & PTE_PIN))) {
			*hole = false; /* what the leaf by leaf pass finds */
			c->mapped += s->n;
			c->expect = s->va + s->n * size;
			return STATUS_OK;
		}
	}
	for (unsigned k = 0; k < s->n; k++) {
		if (!pte_present(e[k]))
			continue;
		vaddr_t lva = s->va + k * size;
		status_t st = vm_check_leaf(c, lva, lva + (size - 1), e[k].raw,
					    hole);
		if (st != STATUS_OK || *hole)
			return st;
	}
	*hole = false;
	return STATUS_OK;
}

static status_t vm_check_leaves(struct ptp *pool, vaddr_t va, uint64_t pages,
				bool pins_ok, bool full, uint64_t *mapped)
{
	struct vm_leaf_check c = {
		.va = va, .last = va + pages * PAGE_SIZE - 1,
		.pins_ok = pins_ok, .full = full, .expect = va,
	};
	struct vm_span s;
	bool hole = false;
	vm_span_start(&s, pool, va, c.last);
	while (!hole && vm_span_next(&s)) {
		status_t st = vm_check_span(&c, &s, &hole);
		if (st != STATUS_OK)
			return trace_error(st, "as=%u va=%#lx n=%lu at=%#lx",
					   pool->id, va, pages, c.at);
	}
	*mapped = c.mapped;
	if (full && c.mapped != pages)
		return trace_error(STATUS_NOT_MAPPED, "as=%u va=%#lx n=%lu at=%#lx",
				   pool->id, va, pages, c.expect);
	if (c.any_pinned)
		return trace_error(STATUS_PINNED, "as=%u va=%#lx n=%lu at=%#lx",
				   pool->id, va, pages, c.pinned);
	return STATUS_OK;
}

status_t vm_unmap(struct ptp *pool, vaddr_t va, uint64_t pages)
{
	/* LAB 3 begin: vm_unmap */
	TRACE_CALL();
	uint64_t mapped;
	status_t st = vm_check_range(pool, va, pages, PAGE_SIZE);
	if (st == STATUS_OK)
		st = vm_check_leaves(pool, va, pages, false, false, &mapped);
	if (st == STATUS_OK && mapped == 0)
		st = trace_error(STATUS_NOT_MAPPED, "as=%u va=%#lx n=%lu",
				 pool->id, va, pages);
	if (st != STATUS_OK)
		return st;
	vm_clear(pool, va, pages);
	return STATUS_OK;
	/* LAB 3 end */
}

/*
 * Rewrites every leaf of a checked range: keeps the address and each
 * leaf's own OWN and PS bits; the rest becomes `flags`. With unpin, only
 * pinned leaves change, to their old flags without PIN. The leaves are
 * rewritten in runs (consecutive entries of one table whose new flags are
 * equal), each by the choke point with its vm.protect; then the TLB.
 */
static void vm_rewrite(struct ptp *pool, vaddr_t va, uint64_t pages,
		       uint64_t flags, bool unpin)
{
	const uint64_t keep = PTE_OWN | PTE_PS;
	struct vm_leaves it;
	pte_t *run = NULL;
	vaddr_t run_va = 0, first = 0, end = 0;
	uint64_t run_n = 0, run_flags = 0, unit = PAGE_SIZE;
	vm_leaves_start(&it, pool, va, va + pages * PAGE_SIZE - 1);
	while (vm_leaves_next(&it)) {
		bool change = !unpin || (it.entry->raw & PTE_PIN);
		uint64_t f = unpin ? pte_flags(*it.entry) & ~(PTE_PIN | keep)
				   : flags;
		uint64_t now = f | (it.entry->raw & keep);
		if (run && (!change ||
			    !vm_run_continues(run, run_va, run_n, unit, &it) ||
			    (run_flags | (run->raw & keep)) != now)) {
			vm_leaves_protect(pool, run, run_va, run_n, unit,
					  run_flags, keep);
			run = NULL;
		}
		if (!change)
			continue;
		if (!run) {
			run = it.entry;
			run_va = it.va;
			run_n = 0;
			run_flags = f;
			unit = vm_unit(it.level);
		}
		run_n++;
		if (!end)
			first = it.va;
		end = it.last + 1;
	}
	if (run)
		vm_leaves_protect(pool, run, run_va, run_n, unit, run_flags, keep);
	if (end) /* nothing changed: nothing stale */
		vm_invalidate(first, (end - first) / PAGE_SIZE);
}

status_t vm_protect(struct ptp *pool, vaddr_t va, uint64_t pages,
		    uint64_t flags)
{
	TRACE_CALL();
	if (!(flags & PTE_P) && pool && pool->live)
		return vm_unmap(pool, va, pages);
	uint64_t mapped;
	status_t st = vm_check_range(pool, va, pages, PAGE_SIZE);
	if (st == STATUS_OK &&
	    (flags & ~PTE_CALLER_FLAGS || flags & (PTE_OWN | PTE_PS)))
		st = trace_error(STATUS_INVALID_ARG, "as=%u va=%#lx flags=%#lx",
				 pool->id, va, flags);
	if (st == STATUS_OK)
		st = vm_check_leaves(pool, va, pages, false, true, &mapped);
	if (st != STATUS_OK)
		return st;
	vm_rewrite(pool, va, pages, flags, false);
	return STATUS_OK;
}

status_t vm_remap(struct ptp *pool, vaddr_t va, paddr_t pa, uint64_t flags)
{
	TRACE_CALL();
	status_t st = vm_check_range(pool, va, 1, PAGE_SIZE);
	if (st != STATUS_OK)
		return st;
	if (!(flags & PTE_P) || flags & ~PTE_CALLER_FLAGS ||
	    flags & (PTE_PS | PTE_PIN) || pa & PAGE_MASK)
		return trace_error(STATUS_INVALID_ARG,
				   "as=%u va=%#lx pa=%#lx flags=%#lx", pool->id,
				   va, pa, flags);
	int level;
	pte_t *e = vm_walk(pool, va, PT_LEVEL_PT, &level);
	if (!pte_present(*e))
		return trace_error(STATUS_NOT_MAPPED, "as=%u va=%#lx", pool->id,
				   va);
	if (level != PT_LEVEL_PT)
		return trace_error(STATUS_HUGE_PAGE, "as=%u va=%#lx", pool->id,
				   va);
	if (e->raw & PTE_PIN)
		return trace_error(STATUS_PINNED, "as=%u va=%#lx", pool->id, va);
	vm_leaf_remap(pool, e, va, pa, flags);
	vm_invalidate(va, 1);
	return STATUS_OK;
}

status_t vm_unpin(struct ptp *pool, vaddr_t va, uint64_t pages)
{
	TRACE_CALL();
	uint64_t mapped;
	status_t st = vm_check_range(pool, va, pages, PAGE_SIZE);
	if (st == STATUS_OK)
		st = vm_check_leaves(pool, va, pages, true, true, &mapped);
	if (st != STATUS_OK)
		return st;
	vm_rewrite(pool, va, pages, 0, true);
	return STATUS_OK;
}

void vm_unpin_all(struct ptp *pool, vaddr_t va, uint64_t pages)
{
	vm_rewrite(pool, va, pages, 0, true);
}
