/*
 * vrange.c - virtual address ranges (vrange.h, docs/alloc.md).
 *
 * The extents are a sorted array: a lookup is a binary search, a first-fit
 * search a scan, a split or a merge a memmove of the entries after it.
 * Invariants, checked by vrange_take and the host tests: the extents cover
 * [lo, hi) in order without gap, and no two free extents are neighbours.
 */
#include "vrange.h"

#include "panic.h"
#include "pmm.h"
#include "string.h"
#include "trace.h"

static vaddr_t ext_end(const struct vrange_extent *e)
{
	return e->va + e->pages * PAGE_SIZE;
}

/* Index of the extent holding va (va inside [lo, hi)). */
static size_t vrange_index(const struct vrange *vr, vaddr_t va)
{
	size_t a = 0, b = vr->count;
	while (b - a > 1) {
		size_t mid = a + (b - a) / 2;
		if (vr->ext[mid].va <= va)
			a = mid;
		else
			b = mid;
	}
	return a;
}

static void vrange_insert(struct vrange *vr, size_t at, struct vrange_extent e)
{
	ASSERT(vr->count < vr->cap);
	memmove(&vr->ext[at + 1], &vr->ext[at],
		(vr->count - at) * sizeof vr->ext[0]);
	vr->ext[at] = e;
	vr->count++;
}

static void vrange_remove(struct vrange *vr, size_t at)
{
	memmove(&vr->ext[at], &vr->ext[at + 1],
		(vr->count - at - 1) * sizeof vr->ext[0]);
	vr->count--;
}

status_t vrange_init(struct vrange *vr, unsigned as, vaddr_t lo, vaddr_t hi,
		     struct vrange_extent *ext, size_t cap)
{
	TRACE_CALL();
	if (!vr || !ext || cap == 0 || hi <= lo)
		return trace_error(STATUS_INVALID_ARG, "as=%u lo=%#lx hi=%#lx cap=%lu", as, lo, hi,
				   cap);
	if ((lo | hi) & PAGE_MASK)
		return trace_error(STATUS_UNALIGNED, "as=%u lo=%#lx hi=%#lx", as, lo, hi);
	*vr = (struct vrange){
	    .as = as, .lo = lo, .hi = hi, .ext = ext, .count = 1, .cap = cap};
	ext[0] =
	    (struct vrange_extent){lo, (hi - lo) / PAGE_SIZE, VRANGE_FREE, 0};
	trace_kalloc_init(as, lo, hi);
	return STATUS_OK;
}

/* The request's own checks: everything but "does it fit". */
static status_t vrange_check_request(const struct vrange *vr,
				     uint64_t pages, vaddr_t lo, vaddr_t hi,
				     const void *out)
{
	unsigned as = vr ? vr->as : 0;
	if (!vr || !out || hi <= lo)
		return trace_error(STATUS_INVALID_ARG, "as=%u n=%lu lo=%#lx hi=%#lx", as, pages, lo,
				   hi);
	if (pages == 0)
		return trace_error(STATUS_ZERO_COUNT, "as=%u n=0", as);
	if ((lo | hi) & PAGE_MASK)
		return trace_error(STATUS_UNALIGNED, "as=%u lo=%#lx hi=%#lx", as, lo, hi);
	if (lo < vr->lo || hi > vr->hi)
		return trace_error(STATUS_OUT_OF_RANGE, "as=%u lo=%#lx hi=%#lx window=%#lx-%#lx", as,
				   lo, hi, vr->lo, vr->hi);
	if (pages > (hi - lo) / PAGE_SIZE)
		return trace_error(STATUS_TOO_LARGE, "as=%u n=%lu lo=%#lx hi=%#lx", as, pages, lo,
				   hi);
	return STATUS_OK;
}

/* Pages of extent e usable inside [lo, hi), from *start on. */
static uint64_t vrange_room(const struct vrange_extent *e, vaddr_t lo,
			    vaddr_t hi, vaddr_t *start)
{
	vaddr_t a = e->va > lo ? e->va : lo;
	vaddr_t b = ext_end(e) < hi ? ext_end(e) : hi;
	*start = a;
	return e->owner == VRANGE_FREE && b > a ? (b - a) / PAGE_SIZE : 0;
}

/* Extents a take of [va, va + pages) adds: a free head, a free tail. */
static size_t vrange_split_cost(const struct vrange *vr, vaddr_t va,
				uint64_t pages)
{
	const struct vrange_extent *e = &vr->ext[vrange_index(vr, va)];
	return (va > e->va) + (va + pages * PAGE_SIZE < ext_end(e));
}

static status_t vrange_fits(const struct vrange *vr, vaddr_t va,
			    uint64_t pages, vaddr_t *out)
{
	if (vr->count + vrange_split_cost(vr, va, pages) > vr->cap)
		return trace_error(STATUS_TABLE_FULL, "as=%u va=%#lx n=%lu extents=%lu", vr->as,
				   va, pages, vr->cap);
	*out = va;
	return STATUS_OK;
}

status_t vrange_find(const struct vrange *vr, uint64_t pages,
		     vaddr_t lo, vaddr_t hi, vaddr_t *out)
{
	status_t st = vrange_check_request(vr, pages, lo, hi, out);
	if (st != STATUS_OK)
		return st;
	for (size_t i = vrange_index(vr, lo); i < vr->count; i++) {
		vaddr_t start;
		if (vr->ext[i].va >= hi)
			break;
		if (vrange_room(&vr->ext[i], lo, hi, &start) >= pages)
			return vrange_fits(vr, start, pages, out);
	}
	return trace_error(STATUS_NOT_FOUND, "as=%u n=%lu lo=%#lx hi=%#lx",
			   vr->as, pages, lo, hi);
}

void vrange_take(struct vrange *vr, vaddr_t va, uint64_t pages, uint32_t owner,
		 uint64_t cookie)
{
	size_t i = vrange_index(vr, va);
	struct vrange_extent e = vr->ext[i];
	vaddr_t end = va + pages * PAGE_SIZE;
	ASSERT(owner != VRANGE_FREE && e.owner == VRANGE_FREE && va >= e.va &&
	       end <= ext_end(&e));
	vr->ext[i] = (struct vrange_extent){va, pages, owner, cookie};
	if (end < ext_end(&e))
		vrange_insert(
		    vr, i + 1,
		    (struct vrange_extent){end, (ext_end(&e) - end) / PAGE_SIZE,
					   VRANGE_FREE, 0});
	if (va > e.va)
		vrange_insert(vr, i,
			      (struct vrange_extent){e.va,
						     (va - e.va) / PAGE_SIZE,
						     VRANGE_FREE, 0});
	vr->taken_extents++;
	vr->taken_pages += pages;
	trace_kalloc_reserve(vr->as, va, pages);
}

status_t vrange_alloc(struct vrange *vr, uint64_t pages, uint32_t owner,
		      vaddr_t *out)
{
	TRACE_CALL();
	if (!vr || owner == VRANGE_FREE)
		return trace_error(STATUS_INVALID_ARG, "n=%lu owner=%u", pages, owner);
	status_t st = vrange_find(vr, pages, vr->lo, vr->hi, out);
	if (st == STATUS_OK)
		vrange_take(vr, *out, pages, owner, 0);
	return st;
}

/* The extent vrange_alloc_between takes: first with max pages, else the
 * largest with at least min (lowest of equals); count = vr->count if none. */
static size_t vrange_best(const struct vrange *vr, uint64_t min_pages,
			  uint64_t max_pages)
{
	size_t best = vr->count;
	for (size_t i = 0; i < vr->count; i++) {
		const struct vrange_extent *e = &vr->ext[i];
		if (e->owner != VRANGE_FREE || e->pages < min_pages)
			continue;
		if (e->pages >= max_pages)
			return i;
		if (best == vr->count || e->pages > vr->ext[best].pages)
			best = i;
	}
	return best;
}

status_t vrange_alloc_between(struct vrange *vr, uint64_t min_pages,
			      uint64_t max_pages, uint32_t owner, vaddr_t *out,
			      uint64_t *got)
{
	TRACE_CALL();
	if (!vr || !got || owner == VRANGE_FREE || max_pages < min_pages)
		return trace_error(STATUS_INVALID_ARG, "min=%lu max=%lu owner=%u", min_pages,
				   max_pages, owner);
	status_t st =
	    vrange_check_request(vr, min_pages, vr->lo, vr->hi, out);
	if (st != STATUS_OK)
		return st;
	size_t i = vrange_best(vr, min_pages, max_pages);
	if (i == vr->count)
		return trace_error(STATUS_NOT_FOUND, "as=%u min=%lu max=%lu", vr->as, min_pages,
				   max_pages);
	uint64_t n =
	    vr->ext[i].pages < max_pages ? vr->ext[i].pages : max_pages;
	st = vrange_fits(vr, vr->ext[i].va, n, out);
	if (st != STATUS_OK)
		return st;
	vrange_take(vr, *out, n, owner, 0);
	*got = n;
	return STATUS_OK;
}

const struct vrange_extent *vrange_lookup(const struct vrange *vr, vaddr_t va)
{
	if (!vr || va < vr->lo || va >= vr->hi)
		return NULL;
	return &vr->ext[vrange_index(vr, va)];
}

status_t vrange_check(const struct vrange *vr, vaddr_t va,
		      uint64_t pages, uint32_t owner)
{
	const struct vrange_extent *e = vrange_lookup(vr, va);
	unsigned as = vr ? vr->as : 0;
	if (!e || e->owner == VRANGE_FREE || e->va != va)
		return trace_error(STATUS_NOT_ALLOCATED, "as=%u va=%#lx n=%lu", as, va, pages);
	if (e->owner != owner)
		return trace_error(STATUS_BAD_POINTER, "as=%u va=%#lx owner=%u", as, va, e->owner);
	if (e->pages != pages)
		return trace_error(STATUS_SIZE_MISMATCH, "as=%u va=%#lx n=%lu has=%lu", as, va, pages,
				   e->pages);
	return STATUS_OK;
}

/* Merges extent i with extent i + 1 if both are free. */
static void vrange_merge_next(struct vrange *vr, size_t i)
{
	if (i + 1 >= vr->count || vr->ext[i].owner != VRANGE_FREE ||
	    vr->ext[i + 1].owner != VRANGE_FREE)
		return;
	vr->ext[i].pages += vr->ext[i + 1].pages;
	vrange_remove(vr, i + 1);
}

status_t vrange_free(struct vrange *vr, vaddr_t va, uint64_t pages,
		     uint32_t owner)
{
	TRACE_CALL();
	status_t st = vrange_check(vr, va, pages, owner);
	if (st != STATUS_OK)
		return st;
	size_t i = vrange_index(vr, va);
	vr->ext[i].owner = VRANGE_FREE;
	vr->ext[i].cookie = 0;
	vr->taken_extents--;
	vr->taken_pages -= pages;
	vrange_merge_next(vr, i);
	if (i > 0)
		vrange_merge_next(vr, i - 1);
	trace_kalloc_release(vr->as, va, pages);
	return STATUS_OK;
}

void vrange_set_cookie(struct vrange *vr, vaddr_t va, uint64_t cookie)
{
	struct vrange_extent *e = &vr->ext[vrange_index(vr, va)];
	ASSERT(e->va == va && e->owner != VRANGE_FREE);
	e->cookie = cookie;
}

void vrange_get_stats(const struct vrange *vr, struct vrange_stats *out)
{
	*out = (struct vrange_stats){.taken_extents = vr->taken_extents,
				     .taken_pages = vr->taken_pages};
	for (size_t i = 0; i < vr->count; i++) {
		if (vr->ext[i].owner != VRANGE_FREE)
			continue;
		out->free_extents++;
		if (vr->ext[i].pages > out->largest_free)
			out->largest_free = vr->ext[i].pages;
	}
}

void vrange_dump(const struct vrange *vr)
{
	struct vrange_stats s;
	vrange_get_stats(vr, &s);
	trace_stat_vrange(vr->as, s.taken_extents, s.taken_pages, s.free_extents, s.largest_free);
}
