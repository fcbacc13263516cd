/*
 * paging_kernel.c - the kernel's own page table pool: build it, switch to
 * it (vm_kernel_init in paging.h; docs/paging.md, "bring-up").
 *
 * While the pool is built, the CPU still runs on the bootstrap tables of
 * boot.asm, and the pool is reached through arch_phys_to_virt (the
 * bootstrap direct map). Once CR3 holds the pool, it is reached through
 * its own window, and the bootstrap tables (identity map included) are
 * gone from the CPU's view.
 */
#include "paging.h"

#include "layout.h"
#include "paging_change.h"
#include "paging_walk.h"
#include "panic.h"
#include "trace.h"

struct ptp *vm_kernel_pool;

/*
 * Gives every kernel-half PML4 entry its PDPT now, so that the entries
 * never change again and every address space can copy them once (the
 * recursive slot gets the PML4 itself instead). The 255 PDPTs are one run
 * of pool pages, installed in two runs of entries around the recursive
 * slot: three events instead of 510.
 */
static status_t vm_kernel_half(struct ptp *pool)
{
	pte_t *pml4 = ptp_table(pool->pa);
	const unsigned below = RECURSIVE_SLOT - KERNEL_HALF_FIRST_SLOT;
	const unsigned above = PT_ENTRIES - RECURSIVE_SLOT - 1;
	paddr_t pa;
	status_t st = ptp_alloc_run(pool, below + above, &pa);
	if (st != STATUS_OK)
		return st;
	vm_tables_install(pml4, pool->pa, KERNEL_HALF_FIRST_SLOT, below,
			  PT_LEVEL_PDPT, pa, PTE_TABLE_FLAGS);
	vm_tables_install(pml4, pool->pa, RECURSIVE_SLOT + 1, above,
			  PT_LEVEL_PDPT, pa + below * PAGE_SIZE, PTE_TABLE_FLAGS);
	vm_set_recursive(pool);
	return STATUS_OK;
}

/* Maps [start, end) of the image to the physical pages under it. */
static status_t vm_kernel_part(struct ptp *pool,
			       const struct vm_kernel_layout *k, vaddr_t start,
			       vaddr_t end, uint64_t flags)
{
	if (end <= start)
		return STATUS_OK;
	paddr_t pa = k->phys_base + (start - k->text_start);
	return vm_map_range(pool, start, pa, (end - start) / PAGE_SIZE,
			    flags | PTE_PIN);
}

/* The image: text R+X, rodata R, data and bss RW, the guard page left out. */
static status_t vm_kernel_image(struct ptp *pool,
				const struct vm_kernel_layout *k)
{
	const uint64_t nx = PTE_P | PTE_NX;
	status_t st = vm_kernel_part(pool, k, k->text_start, k->text_end, PTE_P);
	if (st == STATUS_OK)
		st = vm_kernel_part(pool, k, k->rodata_start, k->rodata_end, nx);
	if (st == STATUS_OK)
		st = vm_kernel_part(pool, k, k->data_start, k->stack_guard,
				    nx | PTE_W);
	if (st == STATUS_OK)
		st = vm_kernel_part(pool, k, k->stack_guard + PAGE_SIZE,
				    k->data_end, nx | PTE_W);
	return st;
}

/* One usable range at HHDM_BASE + pa: 4K pages up to the first 2 MiB
 * boundary, 2 MiB pages, 4K pages after the last one. */
static status_t vm_direct_map(struct ptp *pool, paddr_t base, uint64_t pages)
{
	const uint64_t flags = PTE_P | PTE_W | PTE_NX;
	paddr_t end = base + pages * PAGE_SIZE;
	paddr_t big = (base + PAGE_SIZE_2M - 1) & ~(PAGE_SIZE_2M - 1);
	paddr_t big_end = end & ~(PAGE_SIZE_2M - 1);
	if (big >= big_end) /* no whole 2 MiB page inside */
		return vm_map_range(pool, HHDM_BASE + base, base, pages, flags);
	status_t st = STATUS_OK;
	if (big > base)
		st = vm_map_range(pool, HHDM_BASE + base, base,
				  (big - base) / PAGE_SIZE, flags);
	if (st == STATUS_OK)
		st = vm_map_range(pool, HHDM_BASE + big, big,
				  (big_end - big) / PAGE_SIZE, flags | PTE_PS);
	if (st == STATUS_OK && end > big_end)
		st = vm_map_range(pool, HHDM_BASE + big_end, big_end,
				  (end - big_end) / PAGE_SIZE, flags);
	return st;
}

status_t vm_kernel_init(const struct vm_kernel_layout *k)
{
	TRACE_CALL();
	struct ptp *pool;
	status_t st = ptp_create(k->pool_pages, PTP_MODIFIABLE, &pool);
	if (st != STATUS_OK)
		return st;
	st = vm_kernel_half(pool);
	if (st == STATUS_OK)
		st = vm_kernel_image(pool, k);
	for (size_t i = 0; st == STATUS_OK && i < k->ram_count; i++)
		st = vm_direct_map(pool, k->ram[i].base, k->ram[i].pages);
	if (st == STATUS_OK) /* the pool's window, into the pool itself */
		st = vm_map_range(pool, pool->window_va, pool->pa, pool->pages,
				  PTE_P | PTE_W | PTE_NX | PTE_PIN);
	if (st != STATUS_OK) {
		/* Never loaded: the pool goes back whole, tables and all. */
		ptp_destroy(pool);
		return st;
	}
	ptp_seal(pool);
	vm_load_cr3(pool);
	ptp_set_base(pool, arch_mapped_ptr(pool->window_va, pool->pa));
	vm_kernel_pool = pool;
	vm_dump(pool);
	ptp_dump(pool);
	return STATUS_OK;
}
