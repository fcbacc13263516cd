/*
 * ptp.c - page table pools (ptp.h, docs/ptp.md).
 */
#include "ptp.h"

#include "cmdline.h"
#include "layout.h"
#include "paging_walk.h"
#include "panic.h"
#include "pmm.h"
#include "string.h"
#include "trace.h"

#define BITS_PER_PAGE (PAGE_SIZE * 8)

static struct ptp pools[PTP_MAX_POOLS];

/* The pool's allocation bitmap: its last bitmap_pages pages. */
static uint64_t *ptp_bitmap(const struct ptp *pool)
{
	return (uint64_t *)(pool->base +
			    (pool->pages - pool->bitmap_pages) * PAGE_SIZE);
}

static bool bit_get(const uint64_t *map, uint64_t i)
{
	return map[i / 64] & (1ull << (i % 64));
}

static void bit_put(uint64_t *map, uint64_t i, bool value)
{
	if (value)
		map[i / 64] |= 1ull << (i % 64);
	else
		map[i / 64] &= ~(1ull << (i % 64));
}

bool ptp_contains(const struct ptp *pool, paddr_t pa)
{
	return pool->live && pa >= pool->pa &&
	       pa - pool->pa < pool->pages * PAGE_SIZE;
}

pte_t *ptp_table(paddr_t pa)
{
	for (unsigned i = 0; i < PTP_MAX_POOLS; i++)
		if (ptp_contains(&pools[i], pa))
			return (pte_t *)(pools[i].base + (pa - pools[i].pa));
	panic("table %#lx is in no page table pool", pa);
}

uint64_t ptp_free_pages(const struct ptp *pool)
{
	return pool->pages - pool->used;
}

/* The first pool slot not in use, or NULL. */
static struct ptp *ptp_free_slot(void)
{
	for (unsigned i = 0; i < PTP_MAX_POOLS; i++)
		if (!pools[i].live)
			return &pools[i];
	return NULL;
}

/*
 * Creates a pool (ptp.h). The whole pool is zeroed once, here, through the
 * physical window, so that a page handed out by the bump counter is zero.
 */
status_t ptp_create(uint64_t pages, enum ptp_kind kind, struct ptp **out)
{
	TRACE_CALL();
	if (pages < 2)
		return trace_error(STATUS_ZERO_COUNT, "pages=%lu", pages);
	if (pages > CMDLINE_POOL_MAX)
		return trace_error(STATUS_TOO_LARGE, "pages=%lu", pages);
	if (!out || (kind != PTP_MODIFIABLE && kind != PTP_UNMODIFIABLE))
		return trace_error(STATUS_INVALID_ARG, "pages=%lu", pages);
	struct ptp *pool = ptp_free_slot();
	if (!pool)
		return trace_error(STATUS_BUSY, "pages=%lu live=%u", pages,
				   PTP_MAX_POOLS);
	paddr_t pa;
	status_t st = pmm_alloc_contiguous(pages, 0, 1, PMM_POOL, &pa);
	if (st != STATUS_OK)
		return st; /* pmm wrote the err event */

	unsigned id = (unsigned)(pool - pools);
	*pool = (struct ptp){
		.id = id, .live = true, .pa = pa, .pages = pages,
		.window_va = POOL_WINDOW_VA(id),
		.base = arch_phys_to_virt(pa),
		.bitmap_pages = (pages + BITS_PER_PAGE - 1) / BITS_PER_PAGE,
	};
	pool->used = pool->bitmap_pages;
	memset(pool->base, 0, pages * PAGE_SIZE);
	trace_ptp_create(id, pa, pool->window_va, pages,
			 kind == PTP_MODIFIABLE ? "modifiable" : "unmodifiable");

	paddr_t pml4;
	st = ptp_alloc_page(pool, &pml4);
	ASSERT(st == STATUS_OK && pml4 == pa); /* the first page is the PML4 */
	trace_pt_new(pml4, PT_LEVEL_PML4, 0, 0); /* a root: no parent entry */
	*out = pool;
	return STATUS_OK;
}

status_t ptp_destroy(struct ptp *pool)
{
	TRACE_CALL();
	if (!pool || !pool->live)
		return trace_error(STATUS_INVALID_ARG, "id=-");
	if (arch_read_cr3() == pool->pa)
		return trace_error(STATUS_BUSY, "id=%u cr3=%#lx", pool->id,
				   pool->pa);
	trace_ptp_destroy(pool->id);
	pool->live = false;
	vm_walk_forget(); /* its tables go, and a new pool may take its place */
	status_t st = pmm_free_region(pool->pa, pool->pages);
	ASSERT(st == STATUS_OK); /* the pages were ours since ptp_create */
	return STATUS_OK;
}

/* The index of a free page from the bitmap, starting at the hint. */
static uint64_t ptp_bitmap_find(struct ptp *pool)
{
	const uint64_t *map = ptp_bitmap(pool);
	uint64_t words = (pool->pages + 63) / 64;
	for (uint64_t n = 0; n < words; n++) {
		uint64_t w = (pool->hint / 64 + n) % words;
		if (map[w] == ~0ull)
			continue;
		for (unsigned b = 0; b < 64; b++)
			if (w * 64 + b < pool->pages && !bit_get(map, w * 64 + b))
				return w * 64 + b;
	}
	panic("pool %u: used=%lu of %lu but no free bit", pool->id,
	      pool->used, pool->pages);
}

status_t ptp_alloc_page(struct ptp *pool, paddr_t *out)
{
	TRACE_CALL();
	if (!pool || !pool->live || !out)
		return trace_error(STATUS_INVALID_ARG, "id=-");
	if (ptp_free_pages(pool) == 0)
		return trace_error(STATUS_POOL_EXHAUSTED, "id=%u pages=%lu",
				   pool->id, pool->pages);
	uint64_t index;
	if (!pool->sealed) {
		index = pool->bump++;
	} else {
		index = ptp_bitmap_find(pool);
		bit_put(ptp_bitmap(pool), index, true);
		pool->hint = index + 1;
		memset(pool->base + index * PAGE_SIZE, 0, PAGE_SIZE);
	}
	pool->used++;
	*out = pool->pa + index * PAGE_SIZE;
	trace_ptp_alloc(pool->id, *out);
	return STATUS_OK;
}

status_t ptp_alloc_run(struct ptp *pool, uint64_t n, paddr_t *out)
{
	TRACE_CALL();
	if (!pool || !pool->live || !out || pool->sealed)
		return trace_error(STATUS_INVALID_ARG, "id=- n=%lu", n);
	if (n == 0)
		return trace_error(STATUS_ZERO_COUNT, "id=%u n=0", pool->id);
	if (ptp_free_pages(pool) < n)
		return trace_error(STATUS_POOL_EXHAUSTED, "id=%u pages=%lu n=%lu",
				   pool->id, pool->pages, n);
	*out = pool->pa + pool->bump * PAGE_SIZE;
	pool->bump += n;
	pool->used += n;
	trace_ptp_alloc_n(pool->id, *out, n);
	return STATUS_OK;
}

status_t ptp_free_page(struct ptp *pool, paddr_t pa)
{
	TRACE_CALL();
	if (!pool || !pool->live)
		return trace_error(STATUS_INVALID_ARG, "pa=%#lx", pa);
	uint64_t index = (pa - pool->pa) / PAGE_SIZE;
	if (!ptp_contains(pool, pa) || (pa & PAGE_MASK) || index == 0 ||
	    index >= pool->pages - pool->bitmap_pages)
		return trace_error(STATUS_NOT_POOL_PAGE, "id=%u pa=%#lx",
				   pool->id, pa);
	ptp_seal(pool); /* the first free ends the bump phase */
	if (!bit_get(ptp_bitmap(pool), index))
		return trace_error(STATUS_DOUBLE_FREE, "id=%u pa=%#lx", pool->id,
				   pa);
	bit_put(ptp_bitmap(pool), index, false);
	pool->used--;
	if (index < pool->hint)
		pool->hint = index;
	trace_ptp_free(pool->id, pa);
	return STATUS_OK;
}

void ptp_seal(struct ptp *pool)
{
	if (pool->sealed)
		return;
	uint64_t *map = ptp_bitmap(pool);
	for (uint64_t i = 0; i < pool->bump; i++)
		bit_put(map, i, true);
	for (uint64_t i = pool->pages - pool->bitmap_pages; i < pool->pages; i++)
		bit_put(map, i, true);
	pool->sealed = true;
	pool->hint = pool->bump;
	trace_ptp_seal(pool->id, pool->used);
}

void ptp_set_base(struct ptp *pool, void *ptr)
{
	pool->base = ptr;
	vm_walk_forget(); /* cached table pointers are through the old base */
}

void ptp_dump(const struct ptp *pool)
{
	trace_stat_ptp(pool->id, pool->pages, pool->used);
}
