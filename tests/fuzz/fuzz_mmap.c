/*
 * fuzz_mmap.c - libFuzzer target: memory map analysis on arbitrary
 * multiboot2 boot information.
 *
 * The input bytes are the boot information itself (its total_size is set
 * to the input's length, as GRUB guarantees it is true). mmap_load finds
 * the map tag and analyses it; mmap_reservations walks the modules. The
 * oracle is a second, plain reading of the rules of docs/pmm.md:
 *   - a page is usable when usable entries cover all of its bytes and no
 *     entry of another type touches it (zero-length entries ignored,
 *     entries cut at 2^52);
 *   - the result is sorted, page-aligned, separated ranges below 4 GiB,
 *     whose page count and highest end add up;
 *   - around every boundary of every entry, and at both ends of every
 *     range, the result's answer for a page equals the model's;
 *   - a rejection is BAD_MMAP and writes exactly one err.* event, an
 *     acceptance none; no trace line is over TRACE_LINE_MAX.
 * Any disagreement aborts, and libFuzzer saves the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "mmap.h"
#include "trace.h"

#define PAGE 4096ull

static const struct mb2_tag_mmap *tag;
static struct mmap_entry model[MMAP_MAX_ENTRIES];
static size_t model_count;

static void fail(const char *what, uint64_t where)
{
	fprintf(stderr, "fuzz_mmap: %s (at %#lx)\n--- trace ---\n%s", what,
		(unsigned long)where, host_trace_text());
	abort();
}

/* The entries as the model reads them: zero lengths gone, cut at 2^52. */
static void model_entries(void)
{
	uint32_t esize = tag->entry_size;
	size_t n = (tag->tag.size - sizeof *tag) / esize;
	const uint8_t *p = (const uint8_t *)(tag + 1);
	model_count = 0;
	for (size_t i = 0; i < n; i++, p += esize) {
		struct mb2_mmap_entry e;
		memcpy(&e, p, sizeof e);
		if (e.base_addr >= MMAP_PHYS_LIMIT)
			continue;
		uint64_t room = MMAP_PHYS_LIMIT - e.base_addr;
		uint64_t len = e.length < room ? e.length : room;
		if (len)
			model[model_count++] = (struct mmap_entry){
				e.base_addr, len, e.type };
	}
}

/* Is the page at p usable by the rules? Walks the usable cover byte by
 * byte range: the cursor jumps to the end of any usable entry holding it. */
static int model_usable(uint64_t p)
{
	if (p >= MMAP_DIRECT_MAP_REACH)
		return 0;
	for (size_t i = 0; i < model_count; i++)
		if (model[i].type != MMAP_USABLE && model[i].base < p + PAGE &&
		    model[i].base + model[i].len > p)
			return 0;
	uint64_t cursor = p;
	for (int moved = 1; cursor < p + PAGE && moved;) {
		moved = 0;
		for (size_t i = 0; i < model_count; i++) {
			const struct mmap_entry *e = &model[i];
			if (e->type == MMAP_USABLE && e->base <= cursor &&
			    e->base + e->len > cursor) {
				cursor = e->base + e->len;
				moved = 1;
			}
		}
	}
	return cursor >= p + PAGE;
}

static int result_usable(const struct mmap_usable *u, uint64_t p)
{
	for (size_t i = 0; i < u->count; i++)
		if (p >= u->ranges[i].base &&
		    p < u->ranges[i].base + u->ranges[i].pages * PAGE)
			return 1;
	return 0;
}

static void compare_page(const struct mmap_usable *u, uint64_t p)
{
	p &= ~(PAGE - 1);
	if (p < MMAP_DIRECT_MAP_REACH && model_usable(p) != result_usable(u, p))
		fail(model_usable(p) ? "a usable page is missing"
				     : "an unusable page is in the result", p);
}

static void check_shape(const struct mmap_usable *u)
{
	uint64_t pages = 0, end = 0;
	for (size_t i = 0; i < u->count; i++) {
		const struct pmm_region *r = &u->ranges[i];
		if (r->base % PAGE || r->pages == 0)
			fail("a range is unaligned or empty", r->base);
		if (i > 0 && r->base <= end)
			fail("ranges unsorted, overlapping or touching", r->base);
		end = r->base + r->pages * PAGE;
		if (end > MMAP_DIRECT_MAP_REACH)
			fail("a range past the direct map's reach", end);
		pages += r->pages;
		compare_page(u, r->base);
		compare_page(u, end - PAGE);
		if (r->base)
			compare_page(u, r->base - PAGE);
		compare_page(u, end);
	}
	if (pages != u->pages || end != u->highest)
		fail("pages or highest do not add up", u->highest);
	if (u->highest <= MMAP_FIRST_MIB)
		fail("accepted with nothing usable above 1 MiB", u->highest);
}

static void check_lines(void)
{
	const char *t = host_trace_text();
	for (const char *nl; (nl = strchr(t, '\n')); t = nl + 1)
		if (nl + 1 - t > TRACE_LINE_MAX)
			fail("a trace line over TRACE_LINE_MAX", nl + 1 - t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < sizeof(struct mb2_info))
		return 0;
	/* 8-byte aligned, exactly `size` long: ASan sees any read past it. */
	struct mb2_info *mbi = malloc(size);
	memcpy(mbi, data, size);
	mbi->total_size = (uint32_t)size;
	host_trace_start();
	struct mmap_usable out;
	memset(&out, 0, sizeof out);
	status_t st = mmap_load(mbi, NULL, &out);
	size_t errors = host_trace_count(" err.");
	if (st != STATUS_OK && st != STATUS_BAD_MMAP)
		fail("a rejection that is not bad_mmap", st);
	if (errors != (st == STATUS_OK ? 0u : 1u))
		fail("not one err event per rejection", errors);
	tag = (const void *)mb2_next_tag(mbi, NULL, MB2_TAG_MMAP);
	if (st == STATUS_OK) {
		model_entries();
		check_shape(&out);
		for (size_t i = 0; i < model_count; i++) {
			uint64_t lo = model[i].base,
				 hi = model[i].base + model[i].len;
			compare_page(&out, lo - (lo >= PAGE ? PAGE : 0));
			compare_page(&out, lo);
			compare_page(&out, lo + PAGE);
			compare_page(&out, hi - (hi >= PAGE ? PAGE : 0));
			compare_page(&out, hi);
		}
	}
	struct pmm_region held[8];
	size_t n;
	size_t before = host_trace_count(" err.");
	st = mmap_reservations(mbi, 0x10000, 0x100000, 0x180000, held, 8, &n);
	if (n < 2 || n > 8 || held[0].base != 0 || held[0].pages != 256)
		fail("the first MiB and the kernel are not reserved first", n);
	if ((st == STATUS_OK) != (host_trace_count(" err.") == before))
		fail("a refused reservation without one err event", st);
	check_lines();
	free(mbi);
	return 0;
}
