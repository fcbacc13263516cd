/*
 * demo.c - what `make run` shows: a tour of the memory manager.
 * Each step is a few API calls whose trace lines a student can read in order:
 * paging, then the heap on top of it.
 */
#include "aspace.h"
#include "heap.h"
#include "layout.h"
#include "paging.h"
#include "scenario.h"
#include "trace.h"

/*
 * The paging tour: find room, map four fresh pages, read one back through
 * the MMU, make them read-only, visit an address space, and unmap (the
 * owned pages and the emptied tables go back).
 */
static void demo_paging(void)
{
	struct ptp *kernel = vm_kernel_pool;
	vaddr_t va;
	paddr_t pa;
	if (vm_find_free(kernel, SCRATCH_BASE, SCRATCH_END, 4, 0, &va) != STATUS_OK ||
	    vm_map_new(kernel, va, 4, PTE_P | PTE_W | PTE_NX, PMM_ALLOC) != STATUS_OK)
		return;
	*(volatile uint64_t *)va = 0x5649545249 /* "VITRI" */;
	vm_translate(kernel, va, &pa, NULL);
	vm_protect(kernel, va, 4, PTE_P | PTE_NX);
	struct aspace as;
	if (aspace_create(0, &as) == STATUS_OK) {
		vm_map_new(as.pool, USER_BASE, 1, PTE_P | PTE_W | PTE_U | PTE_NX,
			   PMM_ALLOC);
		aspace_switch(&as);
		aspace_switch(NULL);
		aspace_destroy(&as);
	}
	vm_unmap(kernel, va, 4);
	vm_dump(kernel);
	ptp_dump(kernel);
}

/*
 * The heap tour: the first objects of two classes grow the heap by a slab
 * each (a kernel allocation: pmm, tables, vm.map, kalloc), a krealloc
 * moves to a bigger class, a large object gets its own pages; then every
 * object is freed and each emptied slab goes back.
 */
static void demo_heap(void)
{
	void *name, *table, *big;
	if (kmalloc(24, &name) != STATUS_OK)
		return;
	if (kzalloc(200, &table) == STATUS_OK) {
		krealloc(name, 40, &name);
		if (kmalloc(6000, &big) == STATUS_OK) {
			heap_dump();
			kfree(big);
		}
		kfree(table);
	}
	kfree(name);
	heap_dump();
}

SCENARIO(demo, "the default demo: boot, then a tour of the memory manager")
{
	trace_boot_stage("demo");
	demo_paging();
	demo_heap();
}
