/*
 * frame.c - reference counts of user frames (frame.h).
 */
#include "frame.h"

#include "kalloc.h"
#include "panic.h"
#include "pmm.h"
#include "trace.h"

static uint16_t *refs;  /* refs[pa / 4K], NULL before frame_init */
static uint64_t frames; /* entries of refs */

/* The count of frame i, in refs: kvmalloc memory, reached through
 * kalloc_ptr, which works on the machine and on the host tests' simulated
 * one alike (there a kernel address is not a pointer). */
static uint16_t *frame_slot(uint64_t i)
{
	return kalloc_ptr((vaddr_t)(refs + i));
}

status_t frame_init(void)
{
	if (refs)
		return STATUS_OK;
	struct pmm_stats s;
	pmm_get_stats(&s);
	void *p;
	status_t st = kvmalloc(s.total_pages * sizeof *refs, &p);
	if (st != STATUS_OK)
		return st;
	refs = p;
	frames = s.total_pages;
	kalloc_zero((vaddr_t)refs, frames * sizeof *refs);
	return STATUS_OK;
}

status_t frame_fini(void)
{
	TRACE_CALL();
	if (!refs)
		return STATUS_OK;
	for (uint64_t i = 0; i < frames; i++)
		if (*frame_slot(i))
			return trace_error(STATUS_BUSY, "pa=%#lx count=%u",
					   (paddr_t)(i * PAGE_SIZE), *frame_slot(i));
	/* Forget the array first: unmapping it asks frame_count about its
	 * own pages, which must not read the array being unmapped. */
	uint16_t *array = refs;
	frame_reset();
	return kvfree(array);
}

void frame_reset(void)
{
	refs = NULL;
	frames = 0;
}

uint64_t frame_count(paddr_t pa)
{
	uint64_t i = pa / PAGE_SIZE;
	return refs && i < frames ? *frame_slot(i) : 0;
}

static void frame_set(paddr_t pa, uint64_t count)
{
	*frame_slot(pa / PAGE_SIZE) = (uint16_t)count;
	trace_cow_ref(pa, count);
}

status_t frame_share(paddr_t pa)
{
	TRACE_CALL();
	/* LAB 6 begin: frame_share */
	if (!refs || pa / PAGE_SIZE >= frames)
		return trace_error(STATUS_INVALID_ARG, "pa=%#lx", pa);
	uint64_t n = frame_count(pa);
	if (n >= FRAME_MAX_REFS)
		return trace_error(STATUS_TOO_LARGE, "pa=%#lx count=%lu", pa, n);
	frame_set(pa, n ? n + 1 : 2);
	return STATUS_OK;
	/* LAB 6 end */
}

uint64_t frame_unshare(paddr_t pa)
{
	/* LAB 6 begin: frame_unshare, stub returns 0 */
	uint64_t n = frame_count(pa);
	ASSERT(n >= 1);
	frame_set(pa, n - 1);
	return n - 1;
	/* LAB 6 end */
}

void frame_release_run(paddr_t pa, uint64_t n)
{
	uint64_t i = 0;
	while (i < n) {
		/* A run of pages whose last mapping went: free them together. */
		uint64_t run = 0;
		while (i + run < n && frame_count(pa + (i + run) * PAGE_SIZE) <= 1) {
			if (frame_count(pa + (i + run) * PAGE_SIZE) == 1)
				frame_set(pa + (i + run) * PAGE_SIZE, 0);
			run++;
		}
		if (run) {
			pmm_free_region(pa + i * PAGE_SIZE, run); /* its own err.* */
			i += run;
			continue;
		}
		frame_unshare(pa + i * PAGE_SIZE); /* still shared: keep it */
		i++;
	}
}
