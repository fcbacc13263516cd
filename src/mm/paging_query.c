/*
 * paging_query.c - questions about a space: vm_translate, vm_range_state,
 * vm_find_free, vm_dump (paging.h). None of them changes a table.
 */
#include "paging.h"

#include "layout.h"
#include "paging_walk.h"
#include "trace.h"

/* LAB 3 begin: helpers */
/*
 * vm_translate the whole way: the checks in their order, the walk, the
 * answer. Out of line, so that vm_translate's usual case needs no frame.
 */
static __attribute__((noinline)) status_t
translate_walk(struct ptp *pool, vaddr_t va, paddr_t *pa, uint64_t *flags)
{
	TRACE_CALL_AS("vm_translate");
	status_t st = vm_check_range(pool, vm_align_down(va, PAGE_SIZE), 1,
				     PAGE_SIZE);
	if (st == STATUS_OK && !pa)
		st = trace_error(STATUS_INVALID_ARG, "as=%u va=%#lx pa=NULL",
				 pool->id, va);
	if (st != STATUS_OK)
		return st;
	int level;
	pte_t *e = vm_walk(pool, va, PT_LEVEL_PT, &level);
	if (!pte_present(*e))
		return trace_error(STATUS_NOT_MAPPED, "as=%u va=%#lx", pool->id,
				   va);
	*pa = pte_addr(*e) + (va & (PT_LEVEL_SIZE(level) - 1));
	if (flags)
		*flags = pte_flags(*e);
	return STATUS_OK;
}
/* LAB 3 end */

status_t vm_translate(struct ptp *pool, vaddr_t va, paddr_t *pa,
		      uint64_t *flags)
{
	/* LAB 3 begin: vm_translate */
	/*
	 * The usual question, answered with no call: a plain request whose
	 * 4 KiB page the walk cache finds mapped. Any other goes the whole
	 * way, which gives the same answer (and the err event of a failure).
	 */
	if (pa && vm_range_plainly_ok(pool, vm_align_down(va, PAGE_SIZE), 1,
				      PAGE_SIZE)) {
		pte_t *e = vm_walk_quick(pool, va);
		if (e && pte_present(*e)) {
			*pa = pte_addr(*e) + (va & (PAGE_SIZE - 1));
			if (flags)
				*flags = pte_flags(*e);
			return STATUS_OK;
		}
	}
	return translate_walk(pool, va, pa, flags);
	/* LAB 3 end */
}

/* LAB 3 begin: helpers */
/*
 * The 4K pages of [va, last] that the span's entries map. A page table's
 * entries are counted in one pass over the words (the P bit of each); a
 * leaf above (a 2 MiB page) counts for the part of it inside the range.
 */
static uint64_t vm_span_mapped(const struct vm_span *s, vaddr_t va,
			       vaddr_t last)
{
	uint64_t n = 0;
	if (s->level == PT_LEVEL_PT) {
		for (unsigned k = 0; k < s->n; k++)
			n += pte_present(s->entry[k]);
		return n;
	}
	uint64_t size = PT_LEVEL_SIZE(s->level);
	for (unsigned k = 0; k < s->n; k++) {
		if (!pte_present(s->entry[k]))
			continue;
		vaddr_t from = s->va + k * size, to = from + (size - 1);
		from = from < va ? va : from;
		to = to > last ? last : to;
		n += (to - from + 1) / PAGE_SIZE;
	}
	return n;
}
/* LAB 3 end */

status_t vm_range_state(struct ptp *pool, vaddr_t va, uint64_t pages,
			enum vm_range_state *out)
{
	/* LAB 3 begin: vm_range_state */
	TRACE_CALL();
	status_t st = vm_check_range(pool, va, pages, PAGE_SIZE);
	if (st == STATUS_OK && !out)
		st = trace_error(STATUS_INVALID_ARG, "as=%u va=%#lx out=NULL",
				 pool->id, va);
	if (st != STATUS_OK)
		return st;
	vaddr_t last = va + pages * PAGE_SIZE - 1;
	uint64_t mapped = 0;
	struct vm_span s;
	vm_span_start(&s, pool, va, last);
	while (vm_span_next(&s))
		mapped += vm_span_mapped(&s, va, last);
	*out = mapped == 0 ? VM_RANGE_NONE
	       : mapped == pages ? VM_RANGE_FULL : VM_RANGE_PARTIAL;
	return STATUS_OK;
	/* LAB 3 end */
}

/* LAB 4 begin: helpers */
/* The lowest multiple of align at or above va; false if it overflows. */
static bool vm_align_up(vaddr_t va, uint64_t align, vaddr_t *out)
{
	vaddr_t up = (va + align - 1) & ~(align - 1);
	*out = up;
	return up >= va;
}

/*
 * vm_find_free's search through a page table's span when any page may
 * start the free stretch (no alignment), counted in entries. `end` is the
 * entry just past the last page the candidate needs (the candidate is
 * then entry end - pages, which may lie in an earlier table: the stretch
 * began there); entries from the candidate up to k are known free. The
 * plain way reads every entry from k on: a free entry just before end
 * completes the stretch, a mapped entry j moves the candidate to j + 1.
 *
 * This one reads the entries up to end (or the table's end) from the last
 * one down: the first mapped entry met, j - 1, rules out every candidate
 * up to it at once (each of their stretches holds it), so the candidate
 * becomes j without reading the entries below j - 1; the entries read
 * above it are free. In a table with a page mapped every few pages, most
 * entries are never read. Each entry is read at most once. The caller
 * checks that the candidate still fits below hi (the span is cut at hi,
 * so inside it a candidate too close to hi is never completed).
 * Returns true if found at *cand; false: go on with the next span.
 */
static bool vm_find_in_table(const struct vm_span *s, vaddr_t *cand,
			     uint64_t pages)
{
	uint64_t k = *cand > s->va ? (*cand - s->va) >> PAGE_SHIFT : 0;
	uint64_t end = (*cand + pages * PAGE_SIZE - s->va) >> PAGE_SHIFT;
	const pte_t *entry = s->entry;
	bool found = false;
	for (;;) {
		uint64_t last = end < s->n ? end : s->n; /* read [k, last) */
		uint64_t j = last;
		while (j > k && !pte_present(entry[j - 1]))
			j--;
		if (j == k) { /* all free: complete, or on to the next span */
			found = last == end;
			break;
		}
		/* [j, last) is free and shorter than a stretch (end - k <=
		 * pages): the candidate is j, its stretch not yet complete. */
		k = last;
		end = j + pages;
	}
	*cand = s->va + ((end - pages) << PAGE_SHIFT);
	return found;
}
/* LAB 4 end */

/*
 * First fit, in one pass along the tables: the candidate is the lowest
 * aligned va not yet ruled out. The spans from it are read in address
 * order; an absent entry extends the free stretch from the candidate
 * (found once it holds `pages` pages), a mapped leaf moves the candidate
 * to the first aligned address past it. So every page of what is returned
 * has been seen unmapped, whatever the size or alignment, and each entry
 * is read once: a mapped page costs a step along its table, an absent
 * table is skipped whole.
 */
status_t vm_find_free(struct ptp *pool, vaddr_t lo, vaddr_t hi,
		      uint64_t pages, uint64_t align_pages, vaddr_t *out)
{
	/* LAB 4 begin: vm_find_free */
	TRACE_CALL();
	uint64_t align = (align_pages > 1 ? align_pages : 1) * PAGE_SIZE;
	status_t st = STATUS_OK;
	if (!out || (align_pages > 1 && (align_pages & (align_pages - 1))) ||
	    align_pages > (1ull << (VA_BITS - PAGE_SHIFT)) || hi <= lo)
		st = trace_error(STATUS_INVALID_ARG,
				 "as=%u lo=%#lx hi=%#lx n=%lu align=%lu",
				 pool ? pool->id : 0, lo, hi, pages, align_pages);
	if (st == STATUS_OK)
		st = vm_check_range(pool, lo, (hi - lo) >> PAGE_SHIFT, PAGE_SIZE);
	if (st == STATUS_OK && pages == 0)
		st = trace_error(STATUS_ZERO_COUNT, "as=%u lo=%#lx hi=%#lx n=0",
				 pool->id, lo, hi);
	if (st != STATUS_OK)
		return st;

	uint64_t size = pages * PAGE_SIZE;
	vaddr_t cand;
	bool ok = pages <= (hi - lo) >> PAGE_SHIFT &&
		  vm_align_up(lo, align, &cand) && cand - lo <= (hi - lo) - size;
	struct vm_span s;
	if (ok)
		vm_span_start(&s, pool, cand, hi - 1);
	while (ok && vm_span_next(&s)) {
		if (s.level == PT_LEVEL_PT && align == PAGE_SIZE) {
			if (vm_find_in_table(&s, &cand, pages)) {
				*out = cand;
				return STATUS_OK;
			}
			/* as below: a candidate that no longer fits ends it */
			ok = cand >= lo && cand - lo <= (hi - lo) - size;
			continue;
		}
		uint64_t step = PT_LEVEL_SIZE(s.level);
		vaddr_t va = s.va;
		for (unsigned k = 0; k < s.n; k++, va += step) {
			vaddr_t last = va + (step - 1);
			if (last < cand)
				continue; /* before the candidate */
			if (!pte_present(s.entry[k])) {
				if (last - cand >= size - 1) {
					*out = cand;
					return STATUS_OK;
				}
				continue;
			}
			ok = last + 1 > last && vm_align_up(last + 1, align, &cand) &&
			     cand >= lo && cand - lo <= (hi - lo) - size;
			if (!ok)
				break;
			if (cand > vm_span_last(&s)) { /* the alignment jumps on */
				vm_span_skip(&s, cand);
				break;
			}
		}
	}
	return trace_error(STATUS_NOT_FOUND, "as=%u lo=%#lx hi=%#lx n=%lu align=%lu",
			   pool->id, lo, hi, pages, align_pages);
	/* LAB 4 end */
}

void vm_dump(const struct ptp *pool)
{
	trace_stat_vm(pool->id, pool->mapped_pages,
		      pool->used - pool->bitmap_pages);
}
