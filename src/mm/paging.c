/*
 * paging.c - mapping: vm_map, vm_map_range, vm_map_pages, vm_map_new
 * (paging.h). Unmapping and protecting are in paging_unmap.c, questions in
 * paging_query.c, the kernel's bring-up in paging_kernel.c.
 *
 * Every map is checked whole before the first entry is written: no present
 * entry in the way, and enough free pages in the pool for every table the
 * map will create. After that, nothing can fail, so a map happens entirely
 * or not at all.
 */
#include "paging.h"

#include "format.h"
#include "paging_walk.h"
#include "panic.h"
#include "trace.h"

/* One vm.map line for a run of pages contiguous in VA and PA. */
struct vm_run {
	unsigned as;
	vaddr_t va;
	paddr_t pa;
	uint64_t n, unit;
	pte_t first;
};

static void vm_run_flush(struct vm_run *run)
{
	if (run->n == 0)
		return;
	char flags[PTE_FLAGS_NAME_MAX];
	if (trace_enabled(TRACE_VM)) /* naming flags costs, even unseen */
		trace_event(TRACE_VM, "map", "as=%u va=%#lx pa=%#lx n=%lu "
			    "size=%s flags=%s pte=%#lx", run->as, run->va,
			    run->pa, run->n, run->unit == PAGE_SIZE ? "4K" : "2M",
			    pte_flags_name(pte_flags(run->first), flags,
					   sizeof flags),
			    run->first.raw);
	run->n = 0;
}

static void vm_run_add(struct vm_run *run, vaddr_t va, paddr_t pa, pte_t e)
{
	if (run->n && va == run->va + run->n * run->unit &&
	    pa == run->pa + run->n * run->unit && pte_flags(e) == pte_flags(run->first)) {
		run->n++;
		return;
	}
	vm_run_flush(run);
	run->va = va;
	run->pa = pa;
	run->first = e;
	run->n = 1;
}

static const char *const flag_names[64] = {
	[0] = "P", [1] = "W", [2] = "U", [3] = "PWT", [4] = "PCD", [5] = "A",
	[6] = "D", [7] = "PS", [8] = "G", [9] = "OWN", [10] = "PIN", [63] = "NX",
};

char *pte_flags_name(uint64_t flags, char *buf, unsigned cap)
{
	size_t len = 0;
	buf[0] = '\0';
	for (unsigned bit = 0; bit < 64; bit++) {
		if (!(flags & (1ull << bit)))
			continue;
		const char *name = flag_names[bit] ? flag_names[bit] : "?";
		len += format(buf + len, cap - len, "%s%s", len ? "|" : "", name);
	}
	if (len == 0)
		format(buf, cap, "-");
	return buf;
}

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
 * above, and counts in *need the tables a map would create.
 */
static status_t vm_check_free(const char *fn, struct ptp *pool, vaddr_t va,
			      uint64_t pages, int leaf, uint64_t *need)
{
	struct vm_walk w;
	vm_walk_init(&w, pool);
	vaddr_t cur = va, last = va + pages * PAGE_SIZE - 1;
	*need = 0;
	for (;;) {
		int l;
		pte_t *e = vm_walk_lookup(&w, cur, leaf, &l);
		if (pte_present(*e))
			return trace_error(STATUS_ALREADY_MAPPED, fn,
					   "as=%u va=%#lx n=%lu at=%#lx pte=%#lx",
					   pool->id, va, pages, cur, e->raw);
		vaddr_t region_last = vm_align_down(cur, PT_LEVEL_SIZE(l)) +
				      PT_LEVEL_SIZE(l) - 1;
		vaddr_t part_last = region_last < last ? region_last : last;
		*need += vm_tables_under(cur, part_last, l, leaf);
		if (region_last >= last)
			break;
		cur = region_last + 1;
	}
	if (*need > ptp_free_pages(pool))
		return trace_error(STATUS_POOL_EXHAUSTED, fn,
				   "as=%u va=%#lx n=%lu need=%lu free=%lu",
				   pool->id, va, pages, *need,
				   ptp_free_pages(pool));
	return STATUS_OK;
}

/* Checks flags for a map: P set, nothing a caller may not ask for. */
static status_t vm_check_flags(const char *fn, struct ptp *pool, vaddr_t va,
			       uint64_t flags)
{
	if (!(flags & PTE_P) || (flags & ~PTE_CALLER_FLAGS))
		return trace_error(STATUS_INVALID_ARG, fn,
				   "as=%u va=%#lx flags=%#lx", pool->id, va,
				   flags);
	return STATUS_OK;
}

/* Checks physical page pa (unit-aligned, below the 52-bit limit). */
static status_t vm_check_pa(const char *fn, struct ptp *pool, vaddr_t va,
			    paddr_t pa, uint64_t bytes, uint64_t unit)
{
	if (pa & (unit - 1))
		return trace_error(STATUS_UNALIGNED, fn, "as=%u va=%#lx pa=%#lx",
				   pool->id, va, pa);
	if (pa + bytes < pa || pa + bytes > (1ull << PTE_PHYS_BITS))
		return trace_error(STATUS_OUT_OF_RANGE, fn,
				   "as=%u va=%#lx pa=%#lx", pool->id, va, pa);
	return STATUS_OK;
}

/*
 * The one map: pages 4K pages from va, to pa.. (pas == NULL) or to
 * pas[0..pages). With PTE_PS in flags, 2 MiB pages (pas must be NULL).
 */
static status_t vm_map_core(const char *fn, struct ptp *pool, vaddr_t va,
			    paddr_t pa, const paddr_t *pas, uint64_t pages,
			    uint64_t flags)
{
	uint64_t unit = (flags & PTE_PS) ? PAGE_SIZE_2M : PAGE_SIZE;
	int leaf = (flags & PTE_PS) ? PT_LEVEL_PD : PT_LEVEL_PT;
	status_t st = STATUS_OK;
	if (pas && (flags & PTE_PS)) /* an array of 4K pages only */
		st = trace_error(STATUS_INVALID_ARG, fn, "as=%u va=%#lx flags=PS",
				 pool ? pool->id : 0, va);
	if (st == STATUS_OK)
		st = vm_check_range(fn, pool, va, pages, unit);
	if (st == STATUS_OK)
		st = vm_check_flags(fn, pool, va, flags);
	if (st == STATUS_OK && !pas)
		st = vm_check_pa(fn, pool, va, pa, pages * PAGE_SIZE, unit);
	for (uint64_t i = 0; st == STATUS_OK && pas && i < pages; i++)
		st = vm_check_pa(fn, pool, va + i * PAGE_SIZE, pas[i],
				 PAGE_SIZE, PAGE_SIZE);
	uint64_t need;
	if (st == STATUS_OK)
		st = vm_check_free(fn, pool, va, pages, leaf, &need);
	if (st != STATUS_OK)
		return st;

	struct vm_walk w;
	vm_walk_init(&w, pool);
	struct vm_run run = { .as = pool->id, .unit = unit };
	uint64_t units = pages * PAGE_SIZE / unit;
	for (uint64_t i = 0; i < units; i++) {
		vaddr_t v = va + i * unit;
		paddr_t p = pas ? pas[i] : pa + i * unit;
		pte_t *e = vm_walk_create(&w, v, leaf);
		*e = pte_make(p, flags);
		vm_run_add(&run, v, p, *e);
	}
	vm_run_flush(&run);
	pool->mapped_pages += pages;
	return STATUS_OK;
}

status_t vm_map(struct ptp *pool, vaddr_t va, paddr_t pa, uint64_t flags)
{
	if (flags & PTE_PS)
		return trace_error(STATUS_INVALID_ARG, __func__,
				   "as=%u va=%#lx flags=PS", pool ? pool->id : 0, va);
	return vm_map_core(__func__, pool, va, pa, NULL, 1, flags);
}

status_t vm_map_range(struct ptp *pool, vaddr_t va, paddr_t pa,
		      uint64_t pages, uint64_t flags)
{
	return vm_map_core(__func__, pool, va, pa, NULL, pages, flags);
}

status_t vm_map_pages(struct ptp *pool, vaddr_t va, const paddr_t *pas,
		      uint64_t count, uint64_t flags)
{
	if (!pas)
		return trace_error(STATUS_INVALID_ARG, __func__,
				   "as=%u va=%#lx pas=NULL", pool ? pool->id : 0, va);
	return vm_map_core(__func__, pool, va, 0, pas, count, flags);
}

/*
 * Fresh pages, one at a time, each mapped as it comes. If memory runs out
 * halfway, what was mapped is unmapped again (its pages freed, its tables
 * returned): the space and the allocator end as they began.
 */
status_t vm_map_new(struct ptp *pool, vaddr_t va, uint64_t pages,
		    uint64_t flags, enum pmm_reason why)
{
	status_t st = vm_check_range(__func__, pool, va, pages, PAGE_SIZE);
	if (st == STATUS_OK && (flags & PTE_PS))
		st = trace_error(STATUS_INVALID_ARG, __func__,
				 "as=%u va=%#lx flags=PS", pool->id, va);
	if (st == STATUS_OK)
		st = vm_check_flags(__func__, pool, va, flags);
	uint64_t need;
	if (st == STATUS_OK)
		st = vm_check_free(__func__, pool, va, pages, PT_LEVEL_PT, &need);
	if (st != STATUS_OK)
		return st;
	/* Enough free pages, asked before any is taken: running out halfway
	 * and giving back would leave the pages marked handed out (pmm.h). */
	struct pmm_stats free;
	pmm_get_stats(&free);
	if (free.free_pages < pages)
		return trace_error(STATUS_NO_MEMORY, __func__,
				   "as=%u va=%#lx n=%lu free=%lu", pool->id, va,
				   pages, free.free_pages);

	struct vm_walk w;
	vm_walk_init(&w, pool);
	struct vm_run run = { .as = pool->id, .unit = PAGE_SIZE };
	for (uint64_t i = 0; i < pages; i++) {
		paddr_t p;
		st = pmm_alloc_page(why, &p);
		ASSERT(st == STATUS_OK); /* the pages were counted above */
		pte_t *e = vm_walk_create(&w, va + i * PAGE_SIZE, PT_LEVEL_PT);
		*e = pte_make(p, flags | PTE_OWN);
		vm_run_add(&run, va + i * PAGE_SIZE, p, *e);
	}
	vm_run_flush(&run);
	pool->mapped_pages += pages;
	return STATUS_OK;
}
