/*
 * mmap.h - the physical memory map: read it, check it, turn it into the
 * usable RAM the pmm manages (docs/pmm.md, "Memory map analysis").
 *
 * The map comes from the multiboot2 boot information, or from the command
 * line (mmap=SPEC) which replaces it; both go through the same reader: the
 * SPEC is first written out as a multiboot2 map tag. Every entry and every
 * decision is a trace event (mmap.* and warn.mmap_*). A defect that can be
 * repaired safely is repaired with a warning; one that cannot makes the call
 * fail with STATUS_BAD_MMAP (or STATUS_BAD_CMDLINE for a bad SPEC).
 */
#ifndef VITRINE_MMAP_H
#define VITRINE_MMAP_H

#include <stddef.h>
#include <stdint.h>

#include "cmdline.h"
#include "multiboot2.h"
#include "pmm.h"
#include "status.h"

#define MMAP_MAX_ENTRIES PMM_MAX_REGIONS /* usable ranges <= entries */
#define MMAP_ENTRY_SIZE_MAX 64           /* bytes of one entry we accept */
#define MMAP_PHYS_WIDTH 52               /* architectural MAXPHYADDR limit */
#define MMAP_PHYS_LIMIT (1ull << MMAP_PHYS_WIDTH)
/* boot.asm maps the first 4 GiB at HHDM_BASE: usable RAM above it cannot
 * be reached by the pmm at boot, so the analysis leaves it out. */
#define MMAP_DIRECT_MAP_REACH (4ull << 30)
#define MMAP_FIRST_MIB (1ull << 20)

/* Entry types, as multiboot2 numbers them. */
enum mmap_type {
	MMAP_USABLE = 1,
	MMAP_RESERVED = 2,
	MMAP_ACPI = 3, /* ACPI reclaimable: kept, not usable */
	MMAP_NVS = 4,
	MMAP_BAD = 5,
};

struct mmap_entry {
	uint64_t base;
	uint64_t len;
	uint32_t type;
};

/* What the analysis found: sorted, page-aligned, non-overlapping RAM. */
struct mmap_usable {
	struct pmm_region ranges[MMAP_MAX_ENTRIES];
	size_t count;
	uint64_t pages;
	paddr_t highest; /* end of the last range */
};

/*
 * Reads the map (cfg->mmap_spec if set, else the multiboot2 map tag of mbi),
 * checks it and analyses it into *out. Writes mmap.source, one mmap.entry
 * per entry, warn.mmap_* for each repaired defect, one mmap.usable per range
 * and mmap.done. Fails with BAD_CMDLINE (bad SPEC) or BAD_MMAP (no map, bad
 * entry size, too many entries, no usable RAM above the first MiB).
 */
status_t mmap_load(const struct mb2_info *mbi, const struct boot_config *cfg,
		   struct mmap_usable *out);

/*
 * Same, from a multiboot2 map tag (used by mmap_load and the tests). from
 * names the source in the trace ("multiboot2" or "cmdline").
 */
status_t mmap_read_tag(const struct mb2_tag_mmap *tag, const char *from,
		       struct mmap_usable *out);

/*
 * Writes SPEC (docs/pmm.md) as a multiboot2 map tag into buf (bytes long).
 * Returns BAD_CMDLINE, with one err event naming the bad item, if the SPEC
 * is malformed or does not fit.
 */
status_t mmap_spec_to_tag(const char *spec, size_t len, void *buf,
			  size_t bytes);

/* Bytes mmap_spec_to_tag may need at most. */
#define MMAP_TAG_BYTES \
	(sizeof(struct mb2_tag_mmap) + (MMAP_MAX_ENTRIES + 1) * MMAP_ENTRY_SIZE_MAX)

/*
 * The ranges taken before allocation starts: the first MiB, the kernel image
 * [kernel_start, kernel_end), the boot information at mbi_pa and every
 * module, each rounded out to whole pages; one mmap.reserve event each.
 * Ranges of the same reason that touch or overlap the previous one share
 * its slot of out (GRUB loads modules one after the other), so only
 * scattered ones take a slot each. Writes how many slots were used to
 * *count. Fails with BAD_MMAP (err.bad_mmap why=too_many_reservations)
 * when they need more than max slots: no range is ever left out silently.
 */
status_t mmap_reservations(const struct mb2_info *mbi, paddr_t mbi_pa,
			   paddr_t kernel_start, paddr_t kernel_end,
			   struct pmm_region *out, size_t max, size_t *count);

/* "usable", "reserved", "acpi", "nvs", "bad", or NULL for another number. */
const char *mmap_type_name(uint32_t type);

#endif
