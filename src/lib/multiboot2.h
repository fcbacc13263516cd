/*
 * multiboot2.h - the parts of the multiboot2 boot information Vitrine reads
 * (Multiboot2 specification, section 3.6). The information is a sequence of
 * tags, each 8-byte aligned, ended by a tag of type 0.
 */
#ifndef VITRINE_MULTIBOOT2_H
#define VITRINE_MULTIBOOT2_H

#include <stddef.h>
#include <stdint.h>

#define MB2_BOOTLOADER_MAGIC 0x36d76289u /* in EAX at the kernel's entry */

enum mb2_tag_type {
	MB2_TAG_END = 0,
	MB2_TAG_CMDLINE = 1,
	MB2_TAG_MODULE = 3,
	MB2_TAG_MMAP = 6,
};

struct mb2_info {       /* the fixed part at the start */
	uint32_t total_size; /* bytes, this header included */
	uint32_t reserved;
};

struct mb2_tag {
	uint32_t type;
	uint32_t size; /* bytes, this header included, padding excluded */
};

struct mb2_tag_cmdline {
	struct mb2_tag tag;
	char string[]; /* NUL-terminated */
};

struct mb2_tag_module {
	struct mb2_tag tag;
	uint32_t mod_start, mod_end; /* physical, end exclusive */
	char string[];
};

struct mb2_mmap_entry {
	uint64_t base_addr;
	uint64_t length;
	uint32_t type; /* 1 usable, 3 ACPI reclaimable, 4 NVS, 5 bad */
	uint32_t reserved;
};

struct mb2_tag_mmap {
	struct mb2_tag tag;
	uint32_t entry_size;    /* bytes per entry, a multiple of 8 */
	uint32_t entry_version; /* 0 */
	/* entries follow */
};

/*
 * Returns the first tag of the given type after `after` (NULL: from the
 * start), or NULL. Never reads past total_size, and stops at a malformed
 * tag (size below 8 or running past the end).
 */
static inline const struct mb2_tag *mb2_next_tag(const struct mb2_info *info,
						 const struct mb2_tag *after,
						 uint32_t type)
{
	const uint8_t *start = (const uint8_t *)info;
	const uint8_t *end = start + info->total_size;
	const uint8_t *p = after ? (const uint8_t *)after +
					   ((after->size + 7u) & ~7u)
				 : start + sizeof *info;
	while (p + sizeof(struct mb2_tag) <= end) {
		const struct mb2_tag *tag = (const struct mb2_tag *)p;
		if (tag->size < sizeof *tag || tag->size > (size_t)(end - p))
			return NULL;
		if (tag->type == MB2_TAG_END)
			return NULL;
		if (tag->type == type)
			return tag;
		p += (tag->size + 7u) & ~7u;
	}
	return NULL;
}

#endif
