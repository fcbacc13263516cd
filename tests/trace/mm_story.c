/*
 * mm_story.c - the real memory manager (src/mm) on the host, driven through
 * a short story that touches every replay rule: kernel bring-up, a kalloc
 * range mapped, protected, refused, unmapped (full flush), a single page
 * mapped and freed, an address space created, used, switched to, destroyed,
 * then the allocators: kalloc, kvmalloc, heap objects of three classes and
 * a large one, a moving krealloc, a refused double free, all given back.
 * Writes the trace to argv[1]; tests/trace/test_vtrace.py checks it and
 * injects defects into it. Exit status: the step that failed, 0 if none.
 */
#include <stdio.h>

#include "aspace.h"
#include "heap.h"
#include "kalloc.h"
#include "host.h"
#include "layout.h"
#include "paging.h"
#include "pmm.h"
#include "ptp.h"
#include "trace.h"

#define MEMORY (64ull << 20)
#define RAM_BASE 0x100000ull
#define KERNEL_PHYS 0x200000ull
#define KERNEL_PAGES 12
#define KALLOC_PAGES 600 /* more than a 2M chunk: two tables, a full flush */
#define RW_NX (PTE_P | PTE_W | PTE_NX)

/* Bring-up as the kernel does it, over simulated memory. */
static int boot(void)
{
	static struct pmm_region ram = { RAM_BASE, (MEMORY - RAM_BASE) / PAGE_SIZE, 0 };
	struct pmm_region image = { KERNEL_PHYS, KERNEL_PAGES, PMM_KERNEL };
	if (pmm_init(&ram, 1, &image, 1) != STATUS_OK)
		return 1;
	struct vm_kernel_layout k = {
		.phys_base = KERNEL_PHYS,
		.text_start = KERNEL_VMA, .text_end = KERNEL_VMA + 4 * PAGE_SIZE,
		.rodata_start = KERNEL_VMA + 4 * PAGE_SIZE,
		.rodata_end = KERNEL_VMA + 6 * PAGE_SIZE,
		.data_start = KERNEL_VMA + 6 * PAGE_SIZE,
		.data_end = KERNEL_VMA + KERNEL_PAGES * PAGE_SIZE,
		.stack_guard = KERNEL_VMA + 7 * PAGE_SIZE,
		.ram = &ram, .ram_count = 1, .pool_pages = 512,
	};
	return vm_kernel_init(&k) == STATUS_OK ? 0 : 2;
}

/* Kernel-half work: owned pages, protect, a refused map, unmaps. */
static int kernel_work(struct ptp *kp)
{
	vaddr_t va = KALLOC_BASE, single = KALLOC_BASE + (1ull << 30);
	paddr_t page;
	if (vm_map_new(kp, va, KALLOC_PAGES, RW_NX, PMM_KALLOC) != STATUS_OK)
		return 3;
	if (vm_protect(kp, va, 10, PTE_P | PTE_NX) != STATUS_OK)
		return 4;
	if (vm_map_new(kp, va + PAGE_SIZE_2M, 1, RW_NX, PMM_KALLOC) == STATUS_OK)
		return 5; /* must be refused: already mapped */
	if (vm_unmap(kp, va, KALLOC_PAGES) != STATUS_OK)
		return 6;
	if (pmm_alloc_page(PMM_ALLOC, &page) != STATUS_OK ||
	    vm_map(kp, single, page, RW_NX) != STATUS_OK ||
	    vm_unmap(kp, single, 1) != STATUS_OK || pmm_free_page(page) != STATUS_OK)
		return 7;
	return 0;
}

/* A user address space: created, used while loaded, destroyed. */
static int user_work(void)
{
	struct aspace as;
	if (aspace_create(64, &as) != STATUS_OK)
		return 8;
	if (vm_map_new(as.pool, USER_BASE, 20, RW_NX | PTE_U, PMM_ALLOC) != STATUS_OK ||
	    aspace_switch(&as) != STATUS_OK || vm_unmap(as.pool, USER_BASE, 5) != STATUS_OK ||
	    aspace_switch(NULL) != STATUS_OK || aspace_destroy(&as) != STATUS_OK)
		return 9;
	return 0;
}

/* The allocators over the kernel's space; everything is freed again. */
static int alloc_work(void)
{
	vaddr_t region;
	void *pages, *a, *b, *c, *big;
	if (kalloc_init() != STATUS_OK || heap_init() != STATUS_OK ||
	    kalloc(3, &region) != STATUS_OK || kvmalloc(5000, &pages) != STATUS_OK)
		return 10;
	if (kmalloc(24, &a) != STATUS_OK || kzalloc(100, &b) != STATUS_OK ||
	    kmalloc(700, &c) != STATUS_OK || kmalloc(9000, &big) != STATUS_OK ||
	    krealloc(a, 40, &a) != STATUS_OK || krealloc(b, 120, &b) != STATUS_OK)
		return 11;
	heap_dump();
	kalloc_dump();
	if (kfree(c) != STATUS_OK || kfree(c) == STATUS_OK)
		return 12;
	if (kfree(a) != STATUS_OK || kfree(b) != STATUS_OK ||
	    kfree(big) != STATUS_OK || kvfree(pages) != STATUS_OK ||
	    kalloc_free(region, 3) != STATUS_OK)
		return 13;
	heap_dump();
	kalloc_dump();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mm_story TRACE_FILE\n");
		return 64;
	}
	host_memory_init(MEMORY);
	host_trace_start();
	int failed = boot();
	if (!failed)
		failed = kernel_work(vm_kernel_pool);
	if (!failed)
		failed = user_work();
	if (!failed)
		failed = alloc_work();
	if (!failed) {
		ptp_dump(vm_kernel_pool);
		vm_dump(vm_kernel_pool);
		pmm_dump();
	}
	trace_finish(failed ? "fail" : "ok");
	FILE *f = fopen(argv[1], "w");
	if (!f || fputs(host_trace_text(), f) < 0 || fclose(f) != 0)
		return 65;
	return failed;
}
