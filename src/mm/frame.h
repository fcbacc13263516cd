/*
 * frame.h - reference counts of user frames, for copy-on-write (docs/faults.md).
 *
 * A physical page mapped OWN by one user page needs no count: its one
 * mapping owns it, and unmapping frees it, as everywhere in Vitrine. Fork
 * makes a frame shared: then its count is the number of pages (in all
 * address spaces) that map it, and unmapping one of them only drops the
 * count. The counts live in one array of 16-bit numbers beside the bitmap,
 * one per physical page, made at the first fork (kvmalloc: 64 KiB for
 * 128 MiB of RAM) and given back when the last process has ended.
 *
 *   count 0   not counted: not shared (one owner) or not a user frame
 *   count k   shared by k pages (k >= 2), or k = 1 once the others let go
 *
 * Every change is one cow.ref event with the new count, written right
 * after it; a count that drops to 0 on an unmap is written before the
 * frame's pmm.clear.
 */
#ifndef VITRINE_FRAME_H
#define VITRINE_FRAME_H

#include <stdint.h>

#include "arch.h"
#include "status.h"

/* The most pages that may share one frame. */
#define FRAME_MAX_REFS 0xFFFFu

/* Makes the count array (once). NO_MEMORY if it cannot be had. */
status_t frame_init(void);

/* The frame's count (0 when not counted, or before frame_init). */
uint64_t frame_count(paddr_t pa);

/* One more page maps the frame: 0 counts as 1, so the first share makes 2.
 * TOO_LARGE at FRAME_MAX_REFS; INVALID_ARG before frame_init. */
status_t frame_share(paddr_t pa);

/* One page stops mapping the frame: the count drops by one (cow.ref).
 * Returns the new count; a frame left with count <= 1 has one owner. */
uint64_t frame_unshare(paddr_t pa);

/*
 * The unmap of n owned pages from pa is done (paging_unmap.c): every page
 * still shared by others only loses a reference; the others (count 0 or
 * 1: their last mapping went) are freed to pmm, in runs.
 */
void frame_release_run(paddr_t pa, uint64_t n);

/* Gives the count array back (kvfree) once no frame is counted: BUSY
 * while one still is. The next frame_init makes it again. */
status_t frame_fini(void);

/* Forgets every count (host tests start a new machine). */
void frame_reset(void);

#endif
