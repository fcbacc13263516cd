/*
 * pmm.c - physical memory: init and the allocators over the page bitmap
 * (pmm_bitmap.h holds the bitmap; docs/pmm.md has the picture).
 *
 * Allocation is lowest-address first everywhere, so a trace is the same on
 * every run and a student can predict the next address.
 */
#include "pmm.h"

#include "pmm_bitmap.h"
#include "trace.h"

/* What pmm_init learnt; the bitmap itself is pmm_bitmap. */
static struct {
	paddr_t bitmap_pa;
	uint64_t bitmap_pages;
	uint64_t usable_pages;
	uint64_t reserved_pages;
	struct pmm_region usable[PMM_MAX_REGIONS];
	size_t usable_count;
} pmm;

const char *pmm_reason_name(enum pmm_reason why)
{
	return trace_reason_name(why);
}

/* Index of the usable region holding page, or -1. */
static int usable_index(uint64_t page)
{
	for (size_t i = 0; i < pmm.usable_count; i++) {
		uint64_t first = pmm.usable[i].base / PAGE_SIZE;
		if (page >= first && page - first < pmm.usable[i].pages)
			return (int)i;
	}
	return -1;
}

/* True if every page of [first, first + n) is usable RAM. */
static bool range_usable(uint64_t first, uint64_t n)
{
	uint64_t end = first + n;
	while (first < end) {
		int i = usable_index(first);
		if (i < 0)
			return false;
		first = pmm.usable[i].base / PAGE_SIZE + pmm.usable[i].pages;
	}
	return true;
}

/*
 * Why page (inside usable RAM) cannot be freed, or STATUS_OK. Reads the
 * bitmap and the handed map; writes nothing.
 */
static status_t free_check(uint64_t page)
{
	bool used = pmm_bitmap_is_used(page);
	bool handed = pmm_bitmap_is_handed(page);
	if (used)
		return handed ? STATUS_OK : STATUS_RESERVED;
	return handed ? STATUS_DOUBLE_FREE : STATUS_NOT_ALLOCATED;
}

/* Status of freeing the page holding pa, address checks included. */
static status_t free_check_pa(paddr_t pa)
{
	if (pa & PAGE_MASK)
		return STATUS_UNALIGNED;
	uint64_t page = pa / PAGE_SIZE;
	if (page >= pmm_bitmap.pages || usable_index(page) < 0)
		return STATUS_OUT_OF_RANGE;
	return free_check(pa / PAGE_SIZE);
}

/* ---- init ------------------------------------------------------------------ */

/* Checks one region's shape (shared by usable and reserved regions). */
static status_t region_check(const struct pmm_region *r, const char *kind)
{
	status_t st = STATUS_OK;
	if (r->base & PAGE_MASK)
		st = STATUS_UNALIGNED;
	else if (r->pages == 0)
		st = STATUS_ZERO_COUNT;
	else if (r->pages > (~0ull - r->base) / PAGE_SIZE)
		st = STATUS_WRAP;
	if (st != STATUS_OK)
		return trace_error(st, "kind=%s base=%#lx pages=%lu",
				   kind, r->base, r->pages);
	return STATUS_OK;
}

static status_t usable_check(const struct pmm_region *usable, size_t count)
{
	if (!usable)
		return trace_error(STATUS_INVALID_ARG, "usable=null");
	if (count == 0)
		return trace_error(STATUS_ZERO_COUNT, "usable=0");
	if (count > PMM_MAX_REGIONS)
		return trace_error(STATUS_TOO_LARGE, "usable=%zu max=%d", count, PMM_MAX_REGIONS);
	paddr_t end = 0;
	for (size_t i = 0; i < count; i++) {
		const struct pmm_region *r = &usable[i];
		status_t st = region_check(r, "usable");
		if (st != STATUS_OK)
			return st;
		if (r->base < end)
			return trace_error(STATUS_BAD_MMAP, "base=%#lx why=unsorted", r->base);
		end = r->base + r->pages * PAGE_SIZE;
		if (end > pmm_page_pa(PMM_MAX_PAGES))
			return trace_error(STATUS_OUT_OF_RANGE, "end=%#lx max=%#lx", end,
					   pmm_page_pa(PMM_MAX_PAGES));
	}
	return STATUS_OK;
}

static status_t reserved_check(const struct pmm_region *reserved, size_t count)
{
	if (count > 0 && !reserved)
		return trace_error(STATUS_INVALID_ARG, "reserved=null");
	for (size_t i = 0; i < count; i++) {
		if ((unsigned)reserved[i].reason >= PMM_REASON_COUNT)
			return trace_error(STATUS_INVALID_ARG, "base=%#lx why=%u", reserved[i].base,
					   (unsigned)reserved[i].reason);
		status_t st = region_check(&reserved[i], "reserved");
		if (st != STATUS_OK)
			return st;
	}
	return STATUS_OK;
}

/* The first reserved region that overlaps [base, end), or NULL. */
static const struct pmm_region *
overlapping(paddr_t base, paddr_t end, const struct pmm_region *reserved,
	    size_t count)
{
	for (size_t i = 0; i < count; i++) {
		paddr_t rb = reserved[i].base;
		paddr_t re = rb + reserved[i].pages * PAGE_SIZE;
		if (rb < end && base < re)
			return &reserved[i];
	}
	return NULL;
}

/*
 * Where the bitmap goes: the lowest page-aligned run of `pages` pages inside
 * one usable region that no reserved region touches. Returns PMM_NONE if none.
 * Runs before the bitmap exists, so it works on the region lists.
 */
static paddr_t bitmap_place(const struct pmm_region *usable, size_t ucount,
			    const struct pmm_region *reserved, size_t rcount,
			    uint64_t pages)
{
	for (size_t i = 0; i < ucount; i++) {
		paddr_t at = usable[i].base;
		paddr_t end = at + usable[i].pages * PAGE_SIZE;
		while (end - at >= pages * PAGE_SIZE) {
			const struct pmm_region *r = overlapping(
				at, at + pages * PAGE_SIZE, reserved, rcount);
			if (!r)
				return at;
			at = r->base + r->pages * PAGE_SIZE;
			if (at >= end)
				break;
		}
	}
	return PMM_NONE;
}

/* Marks the free pages of [first, first + n) used, one event per run. */
static void reserve_free_runs(uint64_t first, uint64_t n,
			      enum pmm_reason why)
{
	uint64_t end = first + n < pmm_bitmap.pages ? first + n : pmm_bitmap.pages;
	uint64_t page = pmm_bitmap_next_free(first);
	while (page != PMM_NONE && page < end) {
		uint64_t used = pmm_bitmap_next_used(page, end);
		pmm_bitmap_set_run(page, used - page, why);
		page = pmm_bitmap_next_free(used);
	}
}

status_t pmm_init(const struct pmm_region *usable, size_t usable_count,
		  const struct pmm_region *reserved, size_t reserved_count)
{
	TRACE_CALL();
	status_t st = usable_check(usable, usable_count);
	if (st == STATUS_OK)
		st = reserved_check(reserved, reserved_count);
	if (st != STATUS_OK)
		return st;

	const struct pmm_region *last = &usable[usable_count - 1];
	uint64_t total = last->base / PAGE_SIZE + last->pages;
	uint64_t bytes = pmm_bitmap_bytes(total);
	uint64_t pages = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
	paddr_t at = bitmap_place(usable, usable_count, reserved,
				  reserved_count, pages);
	if (at == PMM_NONE)
		return trace_error(STATUS_NO_MEMORY, "bitmap_pages=%lu", pages);

	pmm.bitmap_pa = at;
	pmm.bitmap_pages = pages;
	pmm.usable_count = usable_count;
	pmm.usable_pages = 0;
	for (size_t i = 0; i < usable_count; i++) {
		pmm.usable[i] = usable[i];
		pmm.usable_pages += usable[i].pages;
	}
	pmm_bitmap_reset(arch_phys_to_virt(at), total);
	trace_pmm_init(total, at, pages);
	for (size_t i = 0; i < usable_count; i++)
		pmm_bitmap_clear_run(usable[i].base / PAGE_SIZE, usable[i].pages,
				     "usable");
	for (size_t i = 0; i < reserved_count; i++)
		reserve_free_runs(reserved[i].base / PAGE_SIZE, reserved[i].pages,
				  reserved[i].reason);
	pmm_bitmap_set_run(at / PAGE_SIZE, pages, PMM_BITMAP);
	pmm.reserved_pages = pmm.usable_pages - pmm_bitmap.free;
	return STATUS_OK;
}

/* ---- single pages and batches ---------------------------------------------- */

/* Takes n free pages from first for why: bitmap, handed map, one event. */
static void take_run(uint64_t first, uint64_t n, enum pmm_reason why)
{
	pmm_bitmap_set_run(first, n, why);
	pmm_bitmap_hand_out(first, n);
}

/*
 * The single-page calls are leaves: nothing they call writes an err event,
 * so they name themselves in their own (trace_error_in, the same line as
 * under TRACE_CALL) and spare every call TRACE_CALL's save and restore of
 * the current call's name: they are the pmm's most frequent calls.
 */
status_t pmm_alloc_page(enum pmm_reason why, paddr_t *out)
{
	if (!out || (unsigned)why >= PMM_REASON_COUNT)
		return trace_error_in(STATUS_INVALID_ARG, __func__, "why=%u",
				      (unsigned)why);
	/* take_run(pmm_bitmap_next_free(0), 1, why), inline (pmm_bitmap.h) */
	uint64_t page = pmm_bitmap_take_lowest(why);
	if (page == PMM_NONE)
		return trace_error_in(STATUS_NO_MEMORY, __func__, "free=0");
	*out = pmm_page_pa(page);
	return STATUS_OK;
}

status_t pmm_alloc_run(enum pmm_reason why, uint64_t max, paddr_t *out,
		       uint64_t *got)
{
	TRACE_CALL();
	if (!out || !got || (unsigned)why >= PMM_REASON_COUNT)
		return trace_error(STATUS_INVALID_ARG, "why=%u", (unsigned)why);
	if (max == 0)
		return trace_error(STATUS_ZERO_COUNT, "n=0");
	uint64_t page = pmm_bitmap_next_free(0);
	if (page == PMM_NONE)
		return trace_error(STATUS_NO_MEMORY, "free=0");
	uint64_t limit = max < pmm_bitmap.pages - page ? page + max
						       : pmm_bitmap.pages;
	uint64_t end = pmm_bitmap_next_used(page, limit);
	take_run(page, end - page, why);
	*out = pmm_page_pa(page);
	*got = end - page;
	return STATUS_OK;
}

/*
 * True only if free_check_pa(pa) is STATUS_OK, without its search of the
 * usable regions: a page the bitmap marks used that an allocator handed
 * out is usable RAM (the allocators take free pages only, and only usable
 * pages are ever free). A false answer proves nothing: the checks then run
 * in their order, so a failure gets its own status.
 */
static inline bool free_plainly_ok(paddr_t pa)
{
	uint64_t page = pa / PAGE_SIZE;
	return !(pa & PAGE_MASK) && page < pmm_bitmap.pages &&
	       pmm_bitmap_is_used(page) && pmm_bitmap_is_handed(page);
}

status_t pmm_free_page(paddr_t pa)
{
	if (!free_plainly_ok(pa)) { /* the usual free: the quick answer */
		status_t st = free_check_pa(pa); /* a leaf, as pmm_alloc_page */
		if (st != STATUS_OK)
			return trace_error_in(st, __func__, "pa=%#lx", pa);
	}
	pmm_bitmap_clear_page(pa / PAGE_SIZE, "free");
	return STATUS_OK;
}

status_t pmm_alloc_batch(enum pmm_reason why, paddr_t *out, size_t count)
{
	/* LAB 2 begin: pmm_alloc_batch */
	TRACE_CALL();
	if (!out || (unsigned)why >= PMM_REASON_COUNT)
		return trace_error(STATUS_INVALID_ARG, "why=%u",
				   (unsigned)why);
	if (count == 0)
		return trace_error(STATUS_ZERO_COUNT, "n=0");
	if (count > pmm_bitmap.free)
		return trace_error(STATUS_NO_MEMORY, "n=%zu free=%lu",
				   count, pmm_bitmap.free);
	size_t done = 0;
	while (done < count) {
		uint64_t page = pmm_bitmap_next_free(0);
		uint64_t end = pmm_bitmap_next_used(page, page + (count - done));
		take_run(page, end - page, why);
		while (page < end)
			out[done++] = pmm_page_pa(page++);
	}
	return STATUS_OK;
	/* LAB 2 end */
}

/* LAB 2 begin: helpers */
/*
 * A batch is handled a run at a time: the entries from pages[i] on whose
 * addresses go up one page at a time (pages[i], pages[i] + 4K, ...). Its
 * length, at least 1 and at most count - i.
 */
static size_t batch_run(const paddr_t *pages, size_t i, size_t count)
{
	size_t n = 1;
	while (i + n < count && pages[i + n] == pages[i] + n * PAGE_SIZE)
		n++;
	return n;
}

/*
 * True if each of the n pages from pa is freeable alone: what
 * free_check_pa says of each page, asked of the whole run at once (its
 * region, then its bitmap and handed words, 64 pages a word). False sends
 * the caller to the page-by-page check, which names the first bad page.
 */
static bool run_freeable(paddr_t pa, size_t n)
{
	uint64_t first = pa / PAGE_SIZE;
	return !(pa & PAGE_MASK) && first < pmm_bitmap.pages &&
	       n <= pmm_bitmap.pages - first && range_usable(first, n) &&
	       pmm_bitmap_all_set(pmm_bitmap.used, first, n) &&
	       pmm_bitmap_all_set(pmm_bitmap.handed, first, n);
}

/* Marks the first n pages of a batch handed out again: pmm_free_batch
 * clears those marks to spot a page listed twice. Only the handed map is
 * touched, never the bitmap, so nothing here is a traced change. */
static void batch_remark(const paddr_t *pages, size_t n)
{
	for (size_t i = 0, k; i < n; i += k) {
		k = batch_run(pages, i, n);
		pmm_bitmap_hand_out(pages[i] / PAGE_SIZE, k);
	}
}
/* LAB 2 end */

/*
 * The plain algorithm checks every listed page alone (free_check_pa), then
 * clears and restores each page's handed mark to spot a page listed twice,
 * then frees each run of consecutive addresses with one pmm.clear. This one
 * does each of those steps a run at a time: a list of 8192 pages that are
 * mostly consecutive costs a few word operations a run instead of ~70
 * instructions a page. A run that fails the quick test is checked page by
 * page, so the error names the same page (the first bad one in list order)
 * as the plain algorithm.
 */
status_t pmm_free_batch(const paddr_t *pages, size_t count)
{
	/* LAB 2 begin: pmm_free_batch */
	TRACE_CALL();
	if (!pages)
		return trace_error(STATUS_INVALID_ARG, "pages=null");
	if (count == 0)
		return trace_error(STATUS_ZERO_COUNT, "n=0");
	for (size_t i = 0, n; i < count; i += n) {
		n = batch_run(pages, i, count);
		if (run_freeable(pages[i], n))
			continue;
		for (size_t j = i; j < i + n; j++) {
			status_t st = free_check_pa(pages[j]);
			if (st != STATUS_OK)
				return trace_error(st, "pa=%#lx index=%zu",
						   pages[j], j);
		}
	}
	/* Every page is freeable alone. A page listed twice: clear each
	 * run's handed marks as it is met; a page met without its mark was
	 * listed before (a run holds no page twice: its addresses go up).
	 * The marks are restored either way. */
	for (size_t i = 0, n; i < count; i += n) {
		n = batch_run(pages, i, count);
		uint64_t first = pages[i] / PAGE_SIZE;
		if (!pmm_bitmap_all_set(pmm_bitmap.handed, first, n)) {
			size_t j = i;
			while (pmm_bitmap_is_handed(pages[j] / PAGE_SIZE))
				j++;
			batch_remark(pages, i);
			return trace_error(STATUS_DOUBLE_FREE, "pa=%#lx index=%zu",
					   pages[j], j);
		}
		pmm_bitmap_unhand(first, n);
	}
	/* One pmm.clear per run, its handed marks restored. */
	for (size_t i = 0, n; i < count; i += n) {
		n = batch_run(pages, i, count);
		pmm_bitmap_hand_out(pages[i] / PAGE_SIZE, n);
		pmm_bitmap_clear_run(pages[i] / PAGE_SIZE, n, "free");
	}
	return STATUS_OK;
	/* LAB 2 end */
}

/* ---- contiguous runs -------------------------------------------------------- */

/*
 * First fit: the lowest page p, a multiple of align, such that
 * [p, p + count) is free and ends at or below limit. PMM_NONE if none.
 */
static uint64_t first_fit(uint64_t count, uint64_t limit, uint64_t align)
{
	uint64_t page = pmm_bitmap_next_free(0);
	while (page != PMM_NONE) {
		page = (page + align - 1) / align * align;
		if (page >= limit || limit - page < count)
			return PMM_NONE;
		uint64_t used = pmm_bitmap_next_used(page, page + count);
		if (used == page + count)
			return page;
		page = pmm_bitmap_next_free(used + 1);
	}
	return PMM_NONE;
}

status_t pmm_alloc_contiguous(uint64_t count, paddr_t max_address,
			      uint64_t align_pages, enum pmm_reason why,
			      paddr_t *out)
{
	TRACE_CALL();
	if (!out || (unsigned)why >= PMM_REASON_COUNT ||
	    (align_pages & (align_pages - 1)))
		return trace_error(STATUS_INVALID_ARG, "why=%u align=%lu", (unsigned)why,
				   align_pages);
	if (count == 0)
		return trace_error(STATUS_ZERO_COUNT, "n=0");
	if (count > pmm_bitmap.free)
		return trace_error(STATUS_NO_MEMORY, "n=%lu free=%lu",
				   count, pmm_bitmap.free);
	uint64_t limit = pmm_bitmap.pages;
	if (max_address != 0 && max_address / PAGE_SIZE < limit)
		limit = max_address / PAGE_SIZE;
	uint64_t page = first_fit(count, limit, align_pages ? align_pages : 1);
	if (page == PMM_NONE)
		return trace_error(STATUS_NOT_FOUND, "n=%lu max=%#lx align=%lu", count,
				   max_address, align_pages);
	take_run(page, count, why);
	*out = pmm_page_pa(page);
	return STATUS_OK;
}

status_t pmm_alloc_between(uint64_t min_pages, uint64_t max_pages,
			   enum pmm_reason why, paddr_t *out, uint64_t *got)
{
	/* LAB 2 begin: pmm_alloc_between */
	TRACE_CALL();
	if (!out || !got || (unsigned)why >= PMM_REASON_COUNT ||
	    min_pages > max_pages)
		return trace_error(STATUS_INVALID_ARG, "min=%lu max=%lu", min_pages, max_pages);
	if (min_pages == 0)
		return trace_error(STATUS_ZERO_COUNT, "min=0");
	if (min_pages > pmm_bitmap.free)
		return trace_error(STATUS_NO_MEMORY, "min=%lu free=%lu", min_pages,
				   pmm_bitmap.free);
	/* The first run of at least max_pages, else the largest run. */
	uint64_t best = PMM_NONE, best_n = 0;
	uint64_t page = pmm_bitmap_next_free(0);
	while (page != PMM_NONE && best_n < max_pages) {
		uint64_t end = pmm_bitmap_next_used(page, pmm_bitmap.pages);
		if (end - page > best_n) {
			best = page;
			best_n = end - page;
		}
		page = pmm_bitmap_next_free(end);
	}
	if (best_n < min_pages)
		return trace_error(STATUS_NOT_FOUND, "min=%lu max=%lu largest=%lu", min_pages,
				   max_pages, best_n);
	*got = best_n < max_pages ? best_n : max_pages;
	take_run(best, *got, why);
	*out = pmm_page_pa(best);
	return STATUS_OK;
	/* LAB 2 end */
}

status_t pmm_free_region(paddr_t pa, uint64_t count)
{
	TRACE_CALL();
	if (pa & PAGE_MASK)
		return trace_error(STATUS_UNALIGNED, "pa=%#lx", pa);
	if (count == 0)
		return trace_error(STATUS_ZERO_COUNT, "pa=%#lx n=0",
				   pa);
	uint64_t first = pa / PAGE_SIZE;
	if (count > PMM_NONE / PAGE_SIZE - first)
		return trace_error(STATUS_WRAP, "pa=%#lx n=%lu", pa,
				   count);
	if (first + count > pmm_bitmap.pages || !range_usable(first, count))
		return trace_error(STATUS_OUT_OF_RANGE, "pa=%#lx n=%lu", pa, count);
	for (uint64_t page = first; page < first + count; page++) {
		status_t st = free_check(page);
		if (st != STATUS_OK)
			return trace_error(st, "pa=%#lx n=%lu at=%#lx",
					   pa, count, pmm_page_pa(page));
	}
	pmm_bitmap_clear_run(first, count, "free");
	return STATUS_OK;
}

/* ---- questions -------------------------------------------------------------- */

bool pmm_is_used(paddr_t pa)
{
	if (pa / PAGE_SIZE >= pmm_bitmap.pages)
		return true; /* not RAM the bitmap manages: never allocatable */
	return pmm_bitmap_is_used(pa / PAGE_SIZE);
}

void pmm_get_stats(struct pmm_stats *out)
{
	if (!out)
		return;
	out->total_pages = pmm_bitmap.pages;
	out->usable_pages = pmm.usable_pages;
	out->reserved_pages = pmm.reserved_pages;
	out->free_pages = pmm_bitmap.free;
	out->used_pages = pmm.usable_pages - pmm_bitmap.free;
}

paddr_t pmm_bitmap_base(void)
{
	return pmm.bitmap_pa;
}

void pmm_dump(void)
{
	struct pmm_stats s;
	pmm_get_stats(&s);
	trace_stat_pmm(s.total_pages, s.usable_pages, s.used_pages, s.free_pages, s.reserved_pages);
	uint64_t page = 0;
	while (page < pmm_bitmap.pages) {
		uint64_t free = pmm_bitmap_next_free(page);
		uint64_t used_end = free == PMM_NONE ? pmm_bitmap.pages : free;
		if (used_end > page)
			trace_pmm_run(pmm_page_pa(page), used_end - page, "used");
		if (free == PMM_NONE)
			break;
		page = pmm_bitmap_next_used(free, pmm_bitmap.pages);
		trace_pmm_run(pmm_page_pa(free), page - free, "free");
	}
}
