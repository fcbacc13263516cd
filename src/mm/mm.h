/*
 * mm.h - memory management bring-up: the order in which the subsystems of
 * src/mm start at boot (docs/pmm.md, docs/ptp.md, docs/paging.md).
 */
#ifndef VITRINE_MM_H
#define VITRINE_MM_H

#include "arch.h"
#include "cmdline.h"
#include "multiboot2.h"
#include "status.h"

/* Where the kernel image is: physically, and its parts virtually (all page
 * aligned; from the linker script's symbols, src/boot/linker.ld). */
struct kernel_image {
	paddr_t phys_start, phys_end;
	vaddr_t text_start, text_end, rodata_start, rodata_end, data_start,
		data_end, stack_guard;
};

/*
 * Brings memory management up, one step after the other: memory map
 * analysis (mmap.h), reservations, the page bitmap (pmm.h), paging
 * (paging.h), the kernel allocators (kalloc.h, heap.h). mbi is the boot
 * information (readable), mbi_pa its physical address. Writes boot.stage
 * name=pmm when the bitmap is live.
 *
 * Fails with BAD_MMAP (the map is unusable or too small for the bitmap, or
 * more scattered reservations than fit: mmap_reservations),
 * BAD_CMDLINE (a bad mmap=SPEC): bad boot input, the kernel stops with
 * status=reject; any other status means memory ran out (status=oom).
 */
status_t mm_init(const struct mb2_info *mbi, paddr_t mbi_pa,
		 const struct kernel_image *image,
		 const struct boot_config *cfg);

#endif
