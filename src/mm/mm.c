/*
 * mm.c - memory management bring-up, in the order of DESIGN.md: memory map
 * analysis -> physical bitmap -> page table pool -> paging -> allocators.
 * Each step is one call; each failure stops the sequence with its status.
 */
#include "mm.h"

#include "heap.h"
#include "kalloc.h"
#include "layout.h"
#include "mmap.h"
#include "paging.h"
#include "pmm.h"
#include "trace.h"

/* Slots for the first MiB, kernel, boot information and modules: modules
 * loaded one after the other share one, so this bounds only scattered
 * ones; more is refused (mmap_reservations), never dropped. */
#define MM_MAX_RESERVED 64

static struct mmap_usable usable;

/* The map and the reservations become the bitmap. */
static status_t mm_init_pmm(const struct mb2_info *mbi, paddr_t mbi_pa,
			    const struct kernel_image *image,
			    const struct boot_config *cfg)
{
	status_t st = mmap_load(mbi, cfg, &usable);
	if (st != STATUS_OK)
		return st;
	static struct pmm_region reserved[MM_MAX_RESERVED];
	size_t n;
	st = mmap_reservations(mbi, mbi_pa, image->phys_start, image->phys_end,
			       reserved, MM_MAX_RESERVED, &n);
	if (st != STATUS_OK)
		return st;
	st = pmm_init(usable.ranges, usable.count, reserved, n);
	if (st == STATUS_NO_MEMORY) /* the map is too small for the bitmap */
		return trace_error(STATUS_BAD_MMAP, "why=no_room_for_bitmap usable_pages=%lu",
				   usable.pages);
	if (st != STATUS_OK)
		return st;
	trace_boot_stage("pmm");
	return STATUS_OK;
}

/* The kernel's page table pool: built, loaded into CR3 (paging.h). */
static status_t mm_init_paging(const struct kernel_image *image,
			       const struct boot_config *cfg)
{
	struct vm_kernel_layout k = {
		.phys_base = image->text_start - KERNEL_VMA,
		.text_start = image->text_start, .text_end = image->text_end,
		.rodata_start = image->rodata_start,
		.rodata_end = image->rodata_end,
		.data_start = image->data_start, .data_end = image->data_end,
		.stack_guard = image->stack_guard,
		.ram = usable.ranges, .ram_count = usable.count,
		.pool_pages = cfg->pool_pages,
	};
	status_t st = vm_kernel_init(&k);
	if (st == STATUS_OK)
		trace_boot_stage("paging");
	return st;
}

/* The kernel allocators on top of paging: VA ranges and pages (kalloc.h),
 * then the heap (heap.h). */
static status_t mm_init_allocators(void)
{
	status_t st = kalloc_init();
	if (st == STATUS_OK)
		st = heap_init();
	if (st == STATUS_OK)
		trace_boot_stage("alloc");
	return st;
}

status_t mm_init(const struct mb2_info *mbi, paddr_t mbi_pa,
		 const struct kernel_image *image,
		 const struct boot_config *cfg)
{
	TRACE_CALL();
	status_t st = mm_init_pmm(mbi, mbi_pa, image, cfg);
	if (st == STATUS_OK)
		st = mm_init_paging(image, cfg);
	if (st == STATUS_OK)
		st = mm_init_allocators();
	return st;
}
