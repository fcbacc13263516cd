/*
 * vrange.h - virtual address ranges: which pages of a window of VA are
 * taken, by whom (docs/alloc.md, "VA ranges").
 *
 * A vrange manages one window [lo, hi) of one address space: the kernel's
 * big-allocation window KALLOC_BASE..KALLOC_END (kalloc.h), or a user
 * window inside USER_BASE..USER_END. It only does bookkeeping: it never
 * maps a page. The window is cut into extents, sorted by address, that
 * cover it without gap or overlap; each extent is free or taken by an
 * owner (a small number the caller chooses, never VRANGE_FREE):
 *
 *   lo                                                            hi
 *   | taken (owner 1) | free | taken (owner 2) |       free        |
 *
 * Allocation is first fit: the lowest free extent where the request fits.
 * A free gives an extent back and merges it with free neighbours
 * (coalescing), so two free extents are never adjacent. The extents live in
 * an array the caller provides (the kernel has no heap below this layer);
 * an allocation can need up to two more entries, a free none.
 *
 * Every function that fails returns a distinct status, writes one err.*
 * event and changes nothing. Changes are kalloc.reserve / kalloc.release.
 */
#ifndef VITRINE_VRANGE_H
#define VITRINE_VRANGE_H

#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "status.h"

#define VRANGE_FREE 0 /* the owner of a free extent */

struct vrange_extent {
	vaddr_t va;
	uint64_t pages;
	uint32_t owner;	 /* VRANGE_FREE, or who took it */
	uint64_t cookie; /* the owner's word about it (the heap: bytes asked) */
};

struct vrange {
	unsigned as;		   /* the address space, for as= */
	vaddr_t lo, hi;		   /* the window */
	struct vrange_extent *ext; /* sorted, covering [lo, hi) */
	size_t count, cap;	   /* extents in use, array size */
	uint64_t taken_extents;	   /* extents with an owner */
	uint64_t taken_pages;	   /* pages in them */
};

struct vrange_stats {
	uint64_t taken_extents, taken_pages;
	uint64_t free_extents, largest_free; /* largest free extent, pages */
};

/*
 * Starts managing [lo, hi) of space `as` with the array ext[0..cap) (at
 * least 1 entry): one free extent. Writes kalloc.init. INVALID_ARG (NULL,
 * cap 0, hi <= lo), UNALIGNED (lo or hi not page aligned).
 */
status_t vrange_init(struct vrange *vr, unsigned as, vaddr_t lo, vaddr_t hi,
		     struct vrange_extent *ext, size_t cap);

/*
 * First fit, without changing anything: the lowest va in [lo, hi) (a
 * search window inside the vrange's) with `pages` free pages from it.
 * ZERO_COUNT, UNALIGNED, INVALID_ARG (hi <= lo, NULL), OUT_OF_RANGE
 * (window outside the vrange's), TOO_LARGE (more pages than the window),
 * NOT_FOUND (no free run fits), TABLE_FULL (it fits, but the extent array
 * cannot hold the split).
 */
status_t vrange_find(const struct vrange *vr, uint64_t pages,
		     vaddr_t lo, vaddr_t hi, vaddr_t *out);

/*
 * Takes [va, va + pages) for owner, after vrange_find said it is free
 * (panics otherwise: a broken invariant). Writes kalloc.reserve.
 */
void vrange_take(struct vrange *vr, vaddr_t va, uint64_t pages, uint32_t owner,
		 uint64_t cookie);

/* vrange_find over the whole window, then vrange_take. */
status_t vrange_alloc(struct vrange *vr, uint64_t pages, uint32_t owner,
		      vaddr_t *out);

/*
 * marionette's request: at least min_pages, at most max_pages contiguous
 * pages: the first free extent that holds max_pages, else the largest
 * (lowest of equals) that holds min_pages; *got says how many were taken.
 * Fails like vrange_find (INVALID_ARG if max_pages < min_pages).
 */
status_t vrange_alloc_between(struct vrange *vr, uint64_t min_pages,
			      uint64_t max_pages, uint32_t owner, vaddr_t *out,
			      uint64_t *got);

/*
 * Checks, without changing anything, that [va, va + pages) is exactly one
 * extent taken by owner: NOT_ALLOCATED (no taken extent starts at va),
 * SIZE_MISMATCH (it has another size), BAD_POINTER (another owner).
 */
status_t vrange_check(const struct vrange *vr, vaddr_t va,
		      uint64_t pages, uint32_t owner);

/* vrange_check, then gives the extent back and merges it with free
 * neighbours. Writes kalloc.release. */
status_t vrange_free(struct vrange *vr, vaddr_t va, uint64_t pages,
		     uint32_t owner);

/* The extent holding va, or NULL if va is outside the window (an answer:
 * writes nothing). */
const struct vrange_extent *vrange_lookup(const struct vrange *vr, vaddr_t va);

/* Replaces the cookie of the taken extent starting at va (panics if none). */
void vrange_set_cookie(struct vrange *vr, vaddr_t va, uint64_t cookie);

void vrange_get_stats(const struct vrange *vr, struct vrange_stats *out);

/* Writes stat.vrange. */
void vrange_dump(const struct vrange *vr);

#endif
