/*
 * mmap.c - memory map analysis: copy the map, check it, compute usable RAM
 * (docs/pmm.md says which defect is repaired and which is rejected).
 *
 * The analysis is a sweep over the entries' boundaries: between two
 * consecutive boundaries, memory is usable if some usable entry covers it
 * and no other entry does. So an overlap of usable and reserved is never
 * usable, whatever the order of the entries, and usable entries that touch
 * or overlap merge into one range.
 */
#include "mmap.h"

#include "format.h"

#include "panic.h"
#include "trace.h"

static struct mmap_entry entries[MMAP_MAX_ENTRIES];
static size_t entry_count;

static const char *const type_names[] = {
	[MMAP_USABLE] = "usable", [MMAP_RESERVED] = "reserved",
	[MMAP_ACPI] = "acpi",     [MMAP_NVS] = "nvs",
	[MMAP_BAD] = "bad",
};

const char *mmap_type_name(uint32_t type)
{
	if (type >= sizeof type_names / sizeof type_names[0])
		return NULL;
	return type_names[type];
}

/* One "mmap.entry" line names the type or writes its number. */
static void trace_entry(const struct mmap_entry *e)
{
	char number[12];
	const char *name = mmap_type_name(e->type);
	if (!name)
		format(number, sizeof number, "%u", e->type);
	trace_mmap_entry(e->base, e->len, name ? name : number);
}

/* Copies the tag's entries into `entries`; rejects a tag we cannot read. */
static status_t copy_entries(const struct mb2_tag_mmap *tag, const char *from)
{
	/* A tag too short for its own header ends where entry_size would
	 * be: that field must not be read. */
	uint32_t esize = tag->tag.size < sizeof *tag ? 0 : tag->entry_size;
	uint32_t body = tag->tag.size - (uint32_t)sizeof *tag;
	if (esize < sizeof(struct mb2_mmap_entry) || esize % 8 != 0 ||
	    body % esize != 0)
		return trace_error(STATUS_BAD_MMAP, "why=entry_size size=%u entry_size=%u",
				   tag->tag.size, esize);
	size_t n = body / esize;
	trace_mmap_source(from, n);
	if (tag->entry_version != 0)
		trace_warn_mmap_version(tag->entry_version);
	if (n > MMAP_MAX_ENTRIES)
		return trace_error(STATUS_BAD_MMAP, "why=too_many entries=%zu max=%d", n,
				   MMAP_MAX_ENTRIES);
	const uint8_t *p = (const uint8_t *)(tag + 1);
	for (size_t i = 0; i < n; i++, p += esize) {
		const struct mb2_mmap_entry *e = (const void *)p;
		entries[i] = (struct mmap_entry){ e->base_addr, e->length,
						  e->type };
		trace_entry(&entries[i]);
	}
	entry_count = n;
	return STATUS_OK;
}

static void drop_entry(size_t i)
{
	for (size_t j = i + 1; j < entry_count; j++)
		entries[j - 1] = entries[j];
	entry_count--;
}

/* Zero-length entries go; entries past the physical address width (or
 * wrapping past 2^64) lose the part beyond it. */
static void repair_lengths(void)
{
	for (size_t i = 0; i < entry_count;) {
		struct mmap_entry *e = &entries[i];
		if (e->len == 0) {
			trace_warn_mmap_zero_length(e->base, e->type);
			drop_entry(i);
			continue;
		}
		if (e->base >= MMAP_PHYS_LIMIT || e->len > MMAP_PHYS_LIMIT - e->base) {
			uint64_t keep = e->base >= MMAP_PHYS_LIMIT
						? 0 : MMAP_PHYS_LIMIT - e->base;
			trace_warn_mmap_beyond_width(e->base, e->len, keep);
			e->len = keep;
			if (keep == 0) {
				drop_entry(i);
				continue;
			}
		}
		i++;
	}
}

/* Sorts by base (insertion sort: the map is short), with one warning. */
static void repair_order(void)
{
	for (size_t i = 1; i < entry_count; i++) {
		if (entries[i].base >= entries[i - 1].base)
			continue;
		trace_warn_mmap_unsorted(i, entries[i].base);
		for (size_t j = 1; j < entry_count; j++) {
			struct mmap_entry e = entries[j];
			size_t k = j;
			for (; k > 0 && entries[k - 1].base > e.base; k--)
				entries[k] = entries[k - 1];
			entries[k] = e;
		}
		return;
	}
}

/* Reports every overlapping pair (the sweep decides what is usable). */
static void report_overlaps(void)
{
	for (size_t j = 0; j < entry_count; j++) {
		for (size_t i = 0; i < j; i++) {
			const struct mmap_entry *a = &entries[i], *b = &entries[j];
			if (a->base + a->len <= b->base)
				continue;
			trace_warn_mmap_overlap(a->base, a->len, a->type, b->base, b->len, b->type);
		}
	}
}

/* True if [lo, hi) is usable: inside a usable entry, inside no other. */
static bool piece_usable(uint64_t lo, uint64_t hi)
{
	bool usable = false;
	for (size_t i = 0; i < entry_count; i++) {
		const struct mmap_entry *e = &entries[i];
		if (e->base >= hi || e->base + e->len <= lo)
			continue;
		if (e->type != MMAP_USABLE)
			return false;
		usable = true;
	}
	return usable;
}

/* Usable byte ranges found by the sweep, before page alignment. */
static struct {
	uint64_t lo, hi;
} pieces[MMAP_MAX_ENTRIES];
static size_t piece_count;

/* Appends [lo, hi) to pieces, merging with the last one if they touch. */
static void add_piece(uint64_t lo, uint64_t hi)
{
	if (piece_count > 0 && pieces[piece_count - 1].hi == lo) {
		pieces[piece_count - 1].hi = hi;
		return;
	}
	/* Each piece ends at a non-usable entry or a gap: at most one piece
	 * per entry. */
	ASSERT(piece_count < MMAP_MAX_ENTRIES);
	pieces[piece_count].lo = lo;
	pieces[piece_count].hi = hi;
	piece_count++;
}

/* The sweep: boundaries sorted, each piece between two kept if usable. */
static void sweep(void)
{
	uint64_t bounds[2 * MMAP_MAX_ENTRIES];
	size_t n = 0;
	for (size_t i = 0; i < entry_count; i++) {
		bounds[n++] = entries[i].base;
		bounds[n++] = entries[i].base + entries[i].len;
	}
	for (size_t j = 1; j < n; j++) {
		uint64_t b = bounds[j];
		size_t k = j;
		for (; k > 0 && bounds[k - 1] > b; k--)
			bounds[k] = bounds[k - 1];
		bounds[k] = b;
	}
	piece_count = 0;
	for (size_t k = 0; k + 1 < n; k++)
		if (bounds[k] < bounds[k + 1] &&
		    piece_usable(bounds[k], bounds[k + 1]))
			add_piece(bounds[k], bounds[k + 1]);
}

/* Whole pages only, below the direct map's reach, into out. Writes one
 * mmap.usable per range kept. */
static void finish_ranges(struct mmap_usable *out)
{
	out->count = 0;
	out->pages = 0;
	out->highest = 0;
	for (size_t i = 0; i < piece_count; i++) {
		uint64_t lo = pieces[i].lo, hi = pieces[i].hi;
		if (hi > MMAP_DIRECT_MAP_REACH) {
			uint64_t cut = lo > MMAP_DIRECT_MAP_REACH
					       ? lo : MMAP_DIRECT_MAP_REACH;
			trace_warn_mmap_clipped(cut, hi - cut, "direct_map");
			hi = cut;
		}
		lo = (lo + PAGE_MASK) & ~PAGE_MASK;
		hi &= ~PAGE_MASK;
		if (lo >= hi)
			continue;
		out->ranges[out->count++] = (struct pmm_region){
			lo, (hi - lo) / PAGE_SIZE, PMM_FIRMWARE };
		out->pages += (hi - lo) / PAGE_SIZE;
		out->highest = hi;
		trace_mmap_usable(lo, hi - lo);
	}
}

status_t mmap_read_tag(const struct mb2_tag_mmap *tag, const char *from,
		       struct mmap_usable *out)
{
	TRACE_CALL();
	if (!tag)
		return trace_error(STATUS_BAD_MMAP, "why=no_map");
	status_t st = copy_entries(tag, from);
	if (st != STATUS_OK)
		return st;
	repair_lengths();
	repair_order();
	report_overlaps();
	sweep();
	finish_ranges(out);
	if (out->highest <= MMAP_FIRST_MIB)
		return trace_error(STATUS_BAD_MMAP, "why=no_usable_above_1mib usable_pages=%lu",
				   out->pages);
	trace_mmap_done(out->pages, out->highest);
	return STATUS_OK;
}

status_t mmap_load(const struct mb2_info *mbi, const struct boot_config *cfg,
		   struct mmap_usable *out)
{
	TRACE_CALL();
	static uint64_t spec_tag[MMAP_TAG_BYTES / 8 + 1];
	if (cfg && cfg->mmap_spec) {
		status_t st = mmap_spec_to_tag(cfg->mmap_spec,
					       cfg->mmap_spec_len, spec_tag,
					       sizeof spec_tag);
		if (st != STATUS_OK)
			return st;
		return mmap_read_tag((const void *)spec_tag, "cmdline", out);
	}
	const struct mb2_tag *tag = mbi ? mb2_next_tag(mbi, NULL, MB2_TAG_MMAP)
					: NULL;
	return mmap_read_tag((const void *)tag, "multiboot2", out);
}

/* The reservations found so far: out[0..n), room for max. */
struct reservations {
	struct pmm_region *out;
	size_t n, max;
	status_t st; /* STATUS_OK until one does not fit */
};

/* Adds [lo, hi) rounded out to pages, with one mmap.reserve event. It
 * joins the last slot if it touches it with the same reason (GRUB puts
 * modules one after the other); past max it fails the whole call. */
static void reserve(struct reservations *r, uint64_t lo, uint64_t hi,
		    enum pmm_reason why)
{
	lo &= ~PAGE_MASK;
	hi = (hi + PAGE_MASK) & ~PAGE_MASK;
	if (lo >= hi || r->st != STATUS_OK)
		return;
	trace_mmap_reserve(lo, hi - lo, why);
	struct pmm_region *last = r->n > 0 ? &r->out[r->n - 1] : NULL;
	uint64_t last_end = last ? last->base + last->pages * PAGE_SIZE : 0;
	if (last && last->reason == why && lo <= last_end && hi >= last->base) {
		uint64_t base = lo < last->base ? lo : last->base;
		uint64_t end = hi > last_end ? hi : last_end;
		*last = (struct pmm_region){ base, (end - base) / PAGE_SIZE, why };
		return;
	}
	if (r->n >= r->max) {
		r->st = trace_error_in(STATUS_BAD_MMAP, "mmap_reservations",
				       "why=too_many_reservations base=%#lx max=%zu",
				       lo, r->max);
		return;
	}
	r->out[r->n++] = (struct pmm_region){ lo, (hi - lo) / PAGE_SIZE, why };
}

status_t mmap_reservations(const struct mb2_info *mbi, paddr_t mbi_pa,
			   paddr_t kernel_start, paddr_t kernel_end,
			   struct pmm_region *out, size_t max, size_t *count)
{
	struct reservations r = { out, 0, max, STATUS_OK };
	reserve(&r, 0, MMAP_FIRST_MIB, PMM_FIRST_MIB);
	reserve(&r, kernel_start, kernel_end, PMM_KERNEL);
	if (mbi)
		reserve(&r, mbi_pa, mbi_pa + mbi->total_size, PMM_BOOTINFO);
	const struct mb2_tag *tag = NULL;
	while (mbi && r.st == STATUS_OK &&
	       (tag = mb2_next_tag(mbi, tag, MB2_TAG_MODULE))) {
		const struct mb2_tag_module *m = (const void *)tag;
		if (tag->size < sizeof *m) { /* ends before mod_start: unread */
			trace_warn_mmap_bad_module(tag->size);
			continue;
		}
		reserve(&r, m->mod_start, m->mod_end, PMM_MODULE);
	}
	*count = r.n;
	return r.st;
}
