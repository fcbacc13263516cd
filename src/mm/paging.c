/*
 * paging.c - mapping: vm_map, vm_map_range, vm_map_pages, vm_map_new
 * (paging.h). Unmapping and protecting are in paging_unmap.c, questions in
 * paging_query.c, the kernel's bring-up in paging_kernel.c.
 *
 * Every map is checked whole before the first entry is written: no present
 * entry in the way, and enough free pages in the pool for every table the
 * map will create. After that, nothing can fail, so a map happens entirely
 * or not at all. The entries are then written one page table at a time:
 * the walk finds (or installs) the table for the first page, and the
 * entries of that table are written in one go by the choke point
 * (paging_change.h), which writes their vm.map right after them.
 */
#include "paging.h"

#include "paging_change.h"
#include "paging_walk.h"
#include "panic.h"
#include "trace.h"

/*
 * The tables a map of [first, last] creates below an absent entry at
 * `level`: at each level k from level-1 down to leaf, one table for every
 * entry of level k+1 that the range touches.
 */
static uint64_t vm_tables_under(vaddr_t first, vaddr_t last, int level,
				int leaf)
{
	uint64_t n = 0;
	for (int k = level - 1; k >= leaf; k--)
		n += (last >> PT_LEVEL_SHIFT(k + 1)) -
		     (first >> PT_LEVEL_SHIFT(k + 1)) + 1;
	return n;
}

/*
 * Checks that [va, va + pages*4K) has no present entry at `leaf` level or
 * above, and counts in *need the tables a map would create. Where the
 * tables reach the leaf level, the entries of that table the range covers
 * are checked in one pass along the table; above, each absent entry
 * stands for the whole region below it. w is the map's walk: its cache
 * then serves the writes (nothing changes in between).
 */
static status_t vm_check_free(struct vm_walk *w, vaddr_t va, uint64_t pages,
			      int leaf, uint64_t *need)
{
	struct ptp *pool = w->pool;
	vaddr_t cur = va, last = va + pages * PAGE_SIZE - 1;
	*need = 0;
	for (;;) {
		int l;
		pte_t *e = vm_walk_lookup(w, cur, leaf, &l);
		vaddr_t region_last;
		if (l == leaf) { /* cur is aligned to the leaf size */
			uint64_t to_last = ((last - cur) >> PT_LEVEL_SHIFT(l)) + 1;
			uint64_t n = PT_ENTRIES - PT_INDEX(cur, l), k = 0;
			n = to_last < n ? to_last : n;
			while (k < n && !pte_present(e[k]))
				k++;
			region_last = cur + n * PT_LEVEL_SIZE(l) - 1;
			if (k < n) { /* the first present one */
				cur += k * PT_LEVEL_SIZE(l);
				e += k;
			}
		} else {
			region_last = vm_align_down(cur, PT_LEVEL_SIZE(l)) +
				      PT_LEVEL_SIZE(l) - 1;
		}
		if (pte_present(*e))
			return trace_error(STATUS_ALREADY_MAPPED,
					   "as=%u va=%#lx n=%lu at=%#lx pte=%#lx",
					   pool->id, va, pages, cur, e->raw);
		vaddr_t part_last = region_last < last ? region_last : last;
		*need += vm_tables_under(cur, part_last, l, leaf);
		if (region_last >= last)
			break;
		cur = region_last + 1;
	}
	if (*need > ptp_free_pages(pool))
		return trace_error(STATUS_POOL_EXHAUSTED,
				   "as=%u va=%#lx n=%lu need=%lu free=%lu",
				   pool->id, va, pages, *need,
				   ptp_free_pages(pool));
	return STATUS_OK;
}

/* Checks flags for a map: P set, nothing a caller may not ask for. */
static status_t vm_check_flags(struct ptp *pool, vaddr_t va, uint64_t flags)
{
	if (!(flags & PTE_P) || (flags & ~PTE_CALLER_FLAGS))
		return trace_error(STATUS_INVALID_ARG, "as=%u va=%#lx flags=%#lx",
				   pool->id, va, flags);
	return STATUS_OK;
}

/* Checks physical page pa (unit-aligned, below the 52-bit limit). */
static status_t vm_check_pa(struct ptp *pool, vaddr_t va, paddr_t pa,
			    uint64_t bytes, uint64_t unit)
{
	if (pa & (unit - 1))
		return trace_error(STATUS_UNALIGNED, "as=%u va=%#lx pa=%#lx",
				   pool->id, va, pa);
	if (pa + bytes < pa || pa + bytes > (1ull << PTE_PHYS_BITS))
		return trace_error(STATUS_OUT_OF_RANGE, "as=%u va=%#lx pa=%#lx",
				   pool->id, va, pa);
	return STATUS_OK;
}

/*
 * Writes the entries of a checked map, one page table at a time: for the
 * first unit of each table, the walk finds or installs the table; then
 * every entry of the request that falls in that table is written at once.
 * With fresh (vm_map_new), the pages are taken from pmm for each table just
 * before its entries are written, a run of free pages at a time.
 */
static void vm_map_checked(struct vm_walk *w, vaddr_t va, paddr_t pa,
			   const paddr_t *pas, uint64_t units, uint64_t unit,
			   uint64_t flags, const enum pmm_reason *fresh)
{
	static paddr_t taken[PT_ENTRIES]; /* vm_map_new's pages for one table */
	int leaf = unit == PAGE_SIZE ? PT_LEVEL_PT : PT_LEVEL_PD;
	uint64_t i = 0;
	while (i < units) {
		vaddr_t v = va + i * unit;
		pte_t *e = vm_walk_create(w, v, leaf);
		uint64_t n = PT_ENTRIES - PT_INDEX(v, leaf); /* room in the table */
		if (n > units - i)
			n = units - i;
		const paddr_t *to = pas ? pas + i : NULL;
		for (uint64_t k = 0; fresh && k < n;) { /* a pmm.set per run */
			paddr_t p;
			uint64_t got;
			status_t st = pmm_alloc_run(*fresh, n - k, &p, &got);
			ASSERT(st == STATUS_OK); /* counted by the caller */
			while (got--) {
				taken[k++] = p;
				p += PAGE_SIZE;
			}
			to = taken;
		}
		vm_leaves_write(w->pool, e, v, pa + i * unit, to, n, unit, flags);
		i += n;
	}
}

/*
 * The single page's short way: the entry for a 4K page at va if its page
 * table exists and the entry is absent (then nothing is in the way and
 * no table is needed: the map is checked whole). NULL otherwise: the
 * general path checks, reports and creates.
 */
static pte_t *vm_map_slot(struct ptp *pool, vaddr_t va)
{
	int level;
	pte_t *e = vm_walk(pool, va, PT_LEVEL_PT, &level);
	return level == PT_LEVEL_PT && !pte_present(*e) ? e : NULL;
}

/*
 * The one map: pages 4K pages from va, to pa.. (pas == NULL) or to
 * pas[0..pages). With PTE_PS in flags, 2 MiB pages (pas must be NULL).
 */
static status_t vm_map_core(struct ptp *pool, vaddr_t va, paddr_t pa,
			    const paddr_t *pas, uint64_t pages, uint64_t flags)
{
	uint64_t unit = (flags & PTE_PS) ? PAGE_SIZE_2M : PAGE_SIZE;
	int leaf = (flags & PTE_PS) ? PT_LEVEL_PD : PT_LEVEL_PT;
	status_t st = STATUS_OK;
	if (pas && (flags & PTE_PS)) /* an array of 4K pages only */
		st = trace_error(STATUS_INVALID_ARG, "as=%u va=%#lx flags=PS",
				 pool ? pool->id : 0, va);
	if (st == STATUS_OK)
		st = vm_check_range(pool, va, pages, unit);
	if (st == STATUS_OK)
		st = vm_check_flags(pool, va, flags);
	if (st == STATUS_OK && !pas)
		st = vm_check_pa(pool, va, pa, pages * PAGE_SIZE, unit);
	for (uint64_t i = 0; st == STATUS_OK && pas && i < pages; i++)
		st = vm_check_pa(pool, va + i * PAGE_SIZE, pas[i], PAGE_SIZE,
				 PAGE_SIZE);
	if (st != STATUS_OK)
		return st;
	pte_t *slot = pages == 1 && !(flags & PTE_PS) ? vm_map_slot(pool, va)
						       : NULL;
	if (slot) { /* one page, its table there: all checked */
		vm_leaves_write(pool, slot, va, pas ? pas[0] : pa, NULL, 1,
				PAGE_SIZE, flags);
		return STATUS_OK;
	}
	uint64_t need;
	struct vm_walk w; /* the check's walk, reused by the writes */
	vm_walk_init(&w, pool);
	st = vm_check_free(&w, va, pages, leaf, &need);
	if (st != STATUS_OK)
		return st;
	vm_map_checked(&w, va, pa, pas, pages * PAGE_SIZE / unit, unit, flags,
		       NULL);
	return STATUS_OK;
}

status_t vm_map(struct ptp *pool, vaddr_t va, paddr_t pa, uint64_t flags)
{
	TRACE_CALL();
	if (flags & PTE_PS)
		return trace_error(STATUS_INVALID_ARG, "as=%u va=%#lx flags=PS",
				   pool ? pool->id : 0, va);
	return vm_map_core(pool, va, pa, NULL, 1, flags);
}

status_t vm_map_range(struct ptp *pool, vaddr_t va, paddr_t pa,
		      uint64_t pages, uint64_t flags)
{
	TRACE_CALL();
	return vm_map_core(pool, va, pa, NULL, pages, flags);
}

status_t vm_map_pages(struct ptp *pool, vaddr_t va, const paddr_t *pas,
		      uint64_t count, uint64_t flags)
{
	TRACE_CALL();
	if (!pas)
		return trace_error(STATUS_INVALID_ARG, "as=%u va=%#lx pas=NULL",
				   pool ? pool->id : 0, va);
	return vm_map_core(pool, va, 0, pas, count, flags);
}

/*
 * Fresh pages, taken for each page table just before its entries are
 * written (pmm.set per run of free pages, then vm.map per run). Whether pmm has enough free pages is
 * asked before any is taken, so nothing can fail halfway.
 */
status_t vm_map_new(struct ptp *pool, vaddr_t va, uint64_t pages,
		    uint64_t flags, enum pmm_reason why)
{
	TRACE_CALL();
	status_t st = vm_check_range(pool, va, pages, PAGE_SIZE);
	if (st == STATUS_OK && (flags & PTE_PS))
		st = trace_error(STATUS_INVALID_ARG, "as=%u va=%#lx flags=PS",
				 pool->id, va);
	if (st == STATUS_OK)
		st = vm_check_flags(pool, va, flags);
	uint64_t need;
	struct vm_walk w; /* the check's walk, reused by the writes */
	if (st == STATUS_OK) {
		vm_walk_init(&w, pool);
		st = vm_check_free(&w, va, pages, PT_LEVEL_PT, &need);
	}
	if (st != STATUS_OK)
		return st;
	struct pmm_stats free;
	pmm_get_stats(&free);
	if (free.free_pages < pages)
		return trace_error(STATUS_NO_MEMORY, "as=%u va=%#lx n=%lu free=%lu",
				   pool->id, va, pages, free.free_pages);
	vm_map_checked(&w, va, 0, NULL, pages, PAGE_SIZE, flags | PTE_OWN,
		       &why);
	return STATUS_OK;
}
