/*
 * pmm_bitmap.c - the page bitmap, its summary and its searches
 * (pmm_bitmap.h says what is derived from what).
 */
#include "pmm_bitmap.h"

#include "panic.h"
#include "trace.h"

#define BITS_PER_WORD PMM_WORD_BITS
#define SUMMARY_LEVELS 3
#define MAX_WORDS (PMM_MAX_PAGES / BITS_PER_WORD)

struct pmm_bitmap pmm_bitmap;

static uint64_t summary1[MAX_WORDS / BITS_PER_WORD];
static uint64_t summary2[MAX_WORDS / BITS_PER_WORD / BITS_PER_WORD];
static uint64_t summary3[1];
static uint64_t *const summary[SUMMARY_LEVELS + 1] = { NULL, summary1, summary2,
						       summary3 };
static const uint64_t summary_words[SUMMARY_LEVELS + 1] = {
	0, sizeof summary1 / 8, sizeof summary2 / 8, sizeof summary3 / 8
};

uint64_t pmm_bitmap_bytes(uint64_t pages)
{
	uint64_t words = (pages + BITS_PER_WORD - 1) / BITS_PER_WORD;
	return 2 * words * sizeof(uint64_t); /* used + handed */
}

void pmm_bitmap_reset(uint64_t *storage, uint64_t pages)
{
	struct pmm_bitmap *b = &pmm_bitmap;
	b->pages = pages;
	b->words = (pages + BITS_PER_WORD - 1) / BITS_PER_WORD;
	b->used = storage;
	b->handed = storage + b->words;
	b->free = 0;
	b->low_word = 0;
	for (uint64_t k = 0; k < b->words; k++) {
		b->used[k] = ~0ull;
		b->handed[k] = 0;
	}
	for (int level = 1; level <= SUMMARY_LEVELS; level++)
		for (uint64_t w = 0; w < summary_words[level]; w++)
			summary[level][w] = 0;
}

static uint64_t popcount(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (x * 0x0101010101010101ull) >> 56;
}

/* Bits first..first+n-1 of one word (n >= 1, first + n <= 64). */
static uint64_t word_mask(uint64_t first, uint64_t n)
{
	uint64_t low = n == BITS_PER_WORD ? ~0ull : (1ull << n) - 1;
	return low << first;
}

/*
 * Bitmap word k changed: bring the summary levels above it in step. The
 * climb stops at a level whose word's "not zero" answer did not change.
 * A word that gets a free page below the hint moves the hint down to it
 * (a word that turns full never breaks "every word below is full").
 */
void pmm_bitmap_summary_update(uint64_t k)
{
	bool has_free = pmm_bitmap.used[k] != ~0ull;
	if (has_free && k < pmm_bitmap.low_word)
		pmm_bitmap.low_word = k;
	for (int level = 1; level <= SUMMARY_LEVELS; level++) {
		uint64_t w = k / BITS_PER_WORD;
		uint64_t bit = 1ull << (k % BITS_PER_WORD);
		uint64_t old = summary[level][w];
		uint64_t now = has_free ? old | bit : old & ~bit;
		summary[level][w] = now;
		if ((old != 0) == (now != 0))
			return;
		has_free = now != 0;
		k = w;
	}
}

/* Sets or clears n bits of map from first, word by word; returns how many
 * bits changed; if map is the bitmap, brings the summary in step for each
 * word whose "has a free page" answer changed (only those: the summary
 * holds nothing else). */
static uint64_t map_write(uint64_t *map, uint64_t first, uint64_t n, bool set)
{
	uint64_t changed = 0;
	while (n > 0) {
		uint64_t k = first / BITS_PER_WORD;
		uint64_t shift = first % BITS_PER_WORD;
		uint64_t take = BITS_PER_WORD - shift;
		if (take > n)
			take = n;
		uint64_t mask = word_mask(shift, take);
		uint64_t old = map[k];
		map[k] = set ? old | mask : old & ~mask;
		changed += popcount(old ^ map[k]);
		if (map == pmm_bitmap.used && (old == ~0ull) != (map[k] == ~0ull))
			pmm_bitmap_summary_update(k);
		first += take;
		n -= take;
	}
	return changed;
}

/* Sets or clears n bits of the bitmap from page first, without an event:
 * only pmm_bitmap_set_run and pmm_bitmap_clear_run call it. Keeps summary
 * and count in step; returns how many bits changed. */
static uint64_t pmm_bitmap_write(uint64_t first, uint64_t n, bool used)
{
	uint64_t changed = map_write(pmm_bitmap.used, first, n, used);
	if (used)
		pmm_bitmap.free -= changed;
	else
		pmm_bitmap.free += changed;
	return changed;
}

/* Marks free page `page` used for why: pmm_bitmap_set_run's run of one. */
static void set_page(uint64_t page, enum pmm_reason why)
{
	uint64_t k = page / BITS_PER_WORD, bit = 1ull << (page % BITS_PER_WORD);
	uint64_t old = pmm_bitmap.used[k];
	ASSERT(!(old & bit)); /* the page was free */
	pmm_bitmap.used[k] = old | bit;
	if ((old | bit) == ~0ull)
		pmm_bitmap_summary_update(k); /* the word's last free page went */
	pmm_bitmap.free--;
	trace_pmm_set(pmm_page_pa(page), 1, why);
}

/* Straight down the summary: each level's lowest set bit names the word of
 * the level below that has a free page. */
uint64_t pmm_bitmap_lowest_word(void)
{
	ASSERT(summary3[0] != 0); /* the caller saw a free page */
	uint64_t k = __builtin_ctzll(summary3[0]);
	k = k * BITS_PER_WORD + __builtin_ctzll(summary2[k]);
	k = k * BITS_PER_WORD + __builtin_ctzll(summary1[k]);
	pmm_bitmap.low_word = k;
	return k;
}

void pmm_bitmap_set_run(uint64_t first, uint64_t n, enum pmm_reason why)
{
	if (n == 1) {
		set_page(first, why);
		return;
	}
	uint64_t changed = pmm_bitmap_write(first, n, true);
	ASSERT(changed == n); /* every page of the run was free */
	trace_pmm_set(pmm_page_pa(first), n, why);
}

void pmm_bitmap_clear_run(uint64_t first, uint64_t n, const char *why)
{
	if (n == 1) {
		pmm_bitmap_clear_page(first, why);
		return;
	}
	uint64_t changed = pmm_bitmap_write(first, n, false);
	ASSERT(changed == n); /* every page of the run was used */
	trace_pmm_clear(pmm_page_pa(first), n, why);
}

void pmm_bitmap_hand_out(uint64_t first, uint64_t n)
{
	if (n == 1)
		pmm_bitmap_mark(first, true);
	else
		map_write(pmm_bitmap.handed, first, n, true);
}

void pmm_bitmap_unhand(uint64_t first, uint64_t n)
{
	if (n == 1)
		pmm_bitmap_mark(first, false);
	else
		map_write(pmm_bitmap.handed, first, n, false);
}

bool pmm_bitmap_all_set(const uint64_t *map, uint64_t first, uint64_t n)
{
	while (n > 0) {
		uint64_t shift = first % BITS_PER_WORD;
		uint64_t take = BITS_PER_WORD - shift;
		if (take > n)
			take = n;
		uint64_t mask = word_mask(shift, take);
		if ((map[first / BITS_PER_WORD] & mask) != mask)
			return false;
		first += take;
		n -= take;
	}
	return true;
}

/* First index >= i whose bit is set at summary level `level`, or PMM_NONE. */
static uint64_t summary_next(int level, uint64_t i)
{
	uint64_t w = i / BITS_PER_WORD;
	if (w >= summary_words[level])
		return PMM_NONE;
	uint64_t m = summary[level][w] & (~0ull << (i % BITS_PER_WORD));
	if (m)
		return w * BITS_PER_WORD + __builtin_ctzll(m);
	if (level == SUMMARY_LEVELS)
		return PMM_NONE;
	uint64_t next = summary_next(level + 1, w + 1);
	if (next == PMM_NONE)
		return PMM_NONE;
	return next * BITS_PER_WORD + __builtin_ctzll(summary[level][next]);
}

uint64_t pmm_bitmap_next_free(uint64_t page)
{
	const uint64_t *used = pmm_bitmap.used;
	if (page >= pmm_bitmap.pages)
		return PMM_NONE;
	uint64_t k = page / BITS_PER_WORD;
	uint64_t m = ~used[k] & (~0ull << (page % BITS_PER_WORD));
	if (m)
		return k * BITS_PER_WORD + __builtin_ctzll(m);
	k = summary_next(1, k + 1);
	if (k == PMM_NONE)
		return PMM_NONE;
	return k * BITS_PER_WORD + __builtin_ctzll(~used[k]);
}

uint64_t pmm_bitmap_next_used(uint64_t page, uint64_t limit)
{
	while (page < limit) {
		uint64_t k = page / BITS_PER_WORD;
		uint64_t m = pmm_bitmap.used[k] &
			     (~0ull << (page % BITS_PER_WORD));
		if (m) {
			uint64_t used = k * BITS_PER_WORD + __builtin_ctzll(m);
			return used < limit ? used : limit;
		}
		page = (k + 1) * BITS_PER_WORD;
	}
	return limit;
}
