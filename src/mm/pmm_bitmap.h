/*
 * pmm_bitmap.h - the page bitmap and what is derived from it; private to
 * the physical memory manager (pmm.c is its only user; docs/pmm.md).
 *
 * The bitmap (one bit a page, 1 = in use) is the only truth about which
 * page is used. Two things are derived from it and updated with every word
 * that changes, so they can never disagree with it:
 *
 *   - a three-level summary: level 1 has one bit per bitmap word, set if the
 *     word has a free page; level 2 one bit per level-1 word, set if that
 *     word is not zero; level 3 the same one level up. The lowest free page
 *     is three find-first-set steps away whatever the size of memory and
 *     whatever contiguous or batch allocations took before: O(1), never a
 *     scan from page 0 (64^4 pages reachable: PMM_MAX_PAGES);
 *   - the count of free pages.
 *
 * Next to it lives the "handed" map: 1 if an allocator handed the page out
 * since init. It never decides whether a page is free; it only tells apart
 * the errors of a free (reserved / double free / never allocated).
 */
#ifndef VITRINE_PMM_BITMAP_H
#define VITRINE_PMM_BITMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "panic.h"
#include "pmm.h"
#include "trace.h"

#define PMM_NONE (~0ull) /* "no such page" from the searches */
#define PMM_WORD_BITS 64  /* pages a word of the maps covers */

struct pmm_bitmap {
	uint64_t *used;   /* the bitmap: bit set = page in use */
	uint64_t *handed; /* bit set = handed out since init */
	uint64_t pages;   /* pages covered, from physical 0 */
	uint64_t words;   /* 64-bit words of each map */
	uint64_t free;    /* clear bits of used */
	uint64_t low_word; /* a hint: no word below it has a free page */
};

extern struct pmm_bitmap pmm_bitmap;

/* The physical address of a page number. */
static inline paddr_t pmm_page_pa(uint64_t page)
{
	return (paddr_t)page << PAGE_SHIFT;
}

/* Bytes of storage (both maps) for a bitmap of `pages` pages. */
uint64_t pmm_bitmap_bytes(uint64_t pages);

/* Starts a bitmap of `pages` pages in `storage` (pmm_bitmap_bytes long):
 * every page used, none handed out, summary empty. No trace. */
void pmm_bitmap_reset(uint64_t *storage, uint64_t pages);

/* The bit of page in the bitmap, and in the handed map (inline: a batch
 * free asks them for every page). */
static inline bool pmm_bitmap_is_used(uint64_t page)
{
	return (pmm_bitmap.used[page / PMM_WORD_BITS] >> (page % PMM_WORD_BITS)) & 1;
}

static inline bool pmm_bitmap_is_handed(uint64_t page)
{
	return (pmm_bitmap.handed[page / PMM_WORD_BITS] >>
		(page % PMM_WORD_BITS)) & 1;
}

/*
 * The bitmap's choke point: the only way a bit of the bitmap changes.
 * Marks n free pages used with one pmm.set event (why=), or n used pages
 * free with one pmm.clear event, the change made before its event. Panics
 * if a page was not as expected.
 */
void pmm_bitmap_set_run(uint64_t first, uint64_t n, enum pmm_reason why);
void pmm_bitmap_clear_run(uint64_t first, uint64_t n, const char *why);

/*
 * The single-page calls' short path, with a run's check and event. Plainly,
 * taking the lowest free page is
 *
 *         page = pmm_bitmap_next_free(0);
 *         pmm_bitmap_set_run(page, 1, why);
 *         pmm_bitmap_hand_out(page, 1);
 *
 * and freeing one is pmm_bitmap_clear_run(page, 1, why). These do the same,
 * inline in pmm_alloc_page and pmm_free_page (their most frequent calls):
 * one word, one bit, the summary only when the word turns full or stops
 * being full, the same check, the same event, the change made before it.
 *
 * The lowest free page's word is found through low_word, a hint the
 * summary keeps (pmm_bitmap_summary_update): every word below it is full,
 * so if its own word has a free page, that word is the lowest with one and
 * the summary's three levels need not be read; else pmm_bitmap_lowest_word
 * reads them and moves the hint up.
 */

/* Word k of the bitmap turned full or stopped being full: brings the
 * summary levels above it and low_word in step (the set and clear paths
 * call it; nothing else changes the summary). */
void pmm_bitmap_summary_update(uint64_t k);

/* The lowest word with a free page, through the summary (the bitmap has a
 * free page); low_word becomes it. */
uint64_t pmm_bitmap_lowest_word(void);

/* The lowest free page, marked used for why (one pmm.set) and handed out;
 * PMM_NONE, changing nothing, if no page is free. */
static inline uint64_t pmm_bitmap_take_lowest(enum pmm_reason why)
{
	if (pmm_bitmap.free == 0)
		return PMM_NONE;
	uint64_t k = pmm_bitmap.low_word;
	uint64_t old = pmm_bitmap.used[k];
	if (old == ~0ull) { /* the hint's word is full: ask the summary */
		k = pmm_bitmap_lowest_word();
		old = pmm_bitmap.used[k];
	}
	uint64_t bit = ~old & (old + 1); /* the word's lowest clear bit */
	uint64_t page = k * PMM_WORD_BITS + (uint64_t)__builtin_ctzll(bit);
	pmm_bitmap.handed[k] |= bit; /* no traced change: before the event */
	pmm_bitmap.used[k] = old | bit;
	if ((old | bit) == ~0ull)
		pmm_bitmap_summary_update(k); /* the word's last free page went */
	pmm_bitmap.free--;
	trace_pmm_set(pmm_page_pa(page), 1, why);
	return page;
}

/* pmm_bitmap_clear_run of one page. */
static inline void pmm_bitmap_clear_page(uint64_t page, const char *why)
{
	uint64_t k = page / PMM_WORD_BITS, bit = 1ull << (page % PMM_WORD_BITS);
	uint64_t old = pmm_bitmap.used[k];
	ASSERT(old & bit); /* the page was used */
	pmm_bitmap.used[k] = old & ~bit;
	if (old == ~0ull)
		pmm_bitmap_summary_update(k); /* the word has a free page again */
	pmm_bitmap.free++;
	trace_pmm_clear(pmm_page_pa(page), 1, why);
}

/* Marks n pages as handed out, or not (the handed map only; no event:
 * it is the allocator's own bookkeeping, not the truth about use). */
void pmm_bitmap_hand_out(uint64_t first, uint64_t n);
void pmm_bitmap_unhand(uint64_t first, uint64_t n);

/* One page's handed mark, set or cleared: pmm_bitmap_hand_out or
 * pmm_bitmap_unhand of one page, inline for the batch free's loops. */
static inline void pmm_bitmap_mark(uint64_t page, bool handed)
{
	uint64_t *word = &pmm_bitmap.handed[page / PMM_WORD_BITS];
	uint64_t bit = 1ull << (page % PMM_WORD_BITS);
	*word = handed ? *word | bit : *word & ~bit;
}

/* True if every bit of [first, first + n) is set in map (pmm_bitmap.used
 * or pmm_bitmap.handed): a word at a time, for a batch free's runs. */
bool pmm_bitmap_all_set(const uint64_t *map, uint64_t first, uint64_t n);

/* The lowest free page >= page, or PMM_NONE. O(1). */
uint64_t pmm_bitmap_next_free(uint64_t page);

/* The lowest used page in [page, limit), or limit if all are free. */
uint64_t pmm_bitmap_next_used(uint64_t page, uint64_t limit);

#endif
