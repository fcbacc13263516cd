/* test_paging_kernel.c - the kernel's pool and its switch (paging_kernel.c),
 * run on the host over a fake kernel image. */
#include "paging_fixture.h"

#include "trace.h"

static uint64_t flags_of(vaddr_t va)
{
	paddr_t pa;
	uint64_t f = 0;
	cr_assert_eq(vm_translate(vm_kernel_pool, va, &pa, &f), STATUS_OK,
		     "%#lx", va);
	return f;
}

Test(kernel, maps_text_rodata_and_data_with_their_rights)
{
	fix_kernel(512);
	cr_assert_eq(flags_of(FIX_TEXT), PTE_P | PTE_PIN, "R+X");
	cr_assert_eq(flags_of(FIX_RODATA + PAGE_SIZE), PTE_P | PTE_NX | PTE_PIN);
	cr_assert_eq(flags_of(FIX_DATA), PTE_P | PTE_W | PTE_NX | PTE_PIN);
	cr_assert_eq(flags_of(FIX_END - PAGE_SIZE), PTE_P | PTE_W | PTE_NX | PTE_PIN);
	paddr_t pa;
	cr_assert_eq(vm_translate(vm_kernel_pool, FIX_DATA, &pa, NULL), STATUS_OK);
	cr_assert_eq(pa, FIX_KPHYS + 6 * PAGE_SIZE);
	cr_assert_eq(vm_translate(vm_kernel_pool, FIX_GUARD, &pa, NULL),
		     STATUS_NOT_MAPPED, "the stack guard page is left out");
	cr_assert_eq(vm_translate(vm_kernel_pool, FIX_END, &pa, NULL),
		     STATUS_NOT_MAPPED);
	cr_assert_eq(vm_unmap(vm_kernel_pool, FIX_TEXT, 1), STATUS_PINNED);
	cr_assert_eq(vm_protect(vm_kernel_pool, FIX_RODATA, 1, PTE_P | PTE_W),
		     STATUS_PINNED);
}

Test(kernel, direct_maps_usable_ram_with_2m_pages_where_aligned)
{
	fix_kernel(512);
	paddr_t pa;
	cr_assert_eq(vm_translate(vm_kernel_pool, HHDM_BASE + 0x100000, &pa, NULL),
		     STATUS_OK);
	cr_assert_eq(pa, 0x100000);
	cr_assert_eq(flags_of(HHDM_BASE + 0x1ff000), PTE_P | PTE_W | PTE_NX);
	cr_assert_eq(flags_of(HHDM_BASE + 0x3456789), PTE_P | PTE_W | PTE_NX | PTE_PS);
	cr_assert_eq(vm_translate(vm_kernel_pool, HHDM_BASE, &pa, NULL),
		     STATUS_NOT_MAPPED, "not usable RAM");
	cr_assert_eq(vm_translate(vm_kernel_pool, HHDM_BASE + FIX_MEMORY, &pa, NULL),
		     STATUS_NOT_MAPPED);
	cr_assert_eq(vm_kernel_pool->mapped_pages,
		     12 - 1 + FIX_RAM_PAGES + vm_kernel_pool->pages);
}

Test(kernel, loads_cr3_once_with_the_pool_base)
{
	struct ptp *pool = fix_kernel(512);
	cr_assert_eq(host_cpu.cr3, pool->pa);
	cr_assert_eq(host_cpu.cr3_loads, 1);
	char want[64];
	snprintf(want, sizeof want, "tlb.cr3 pa=%#lx as=0", pool->pa);
	cr_assert_eq(host_trace_count(want), 1);
	cr_assert(pool->sealed);
	cr_assert_eq(host_trace_count("ptp.seal"), 1);
}

Test(kernel, shares_every_kernel_half_slot_from_the_start)
{
	struct ptp *pool = fix_kernel(512);
	pte_t *pml4 = ptp_table(pool->pa);
	for (unsigned s = KERNEL_HALF_FIRST_SLOT; s < PT_ENTRIES; s++)
		cr_assert(pte_present(pml4[s]), "slot %u", s);
	for (unsigned s = 0; s < KERNEL_HALF_FIRST_SLOT; s++)
		cr_assert_eq(pml4[s].raw, 0, "slot %u: no identity map", s);
	/* unmapping everything under a slot keeps its PDPT */
	uint64_t used = pool->used;
	vm_map(pool, KALLOC_BASE, 0x1000000, PTE_P);
	cr_assert_eq(vm_unmap(pool, KALLOC_BASE, 1), STATUS_OK);
	cr_assert_eq(pool->used, used);
	cr_assert(pte_present(pml4[KALLOC_SLOT]));
}

Test(kernel, pool_window_and_recursive_slot_show_the_same_entries)
{
	struct ptp *pool = fix_kernel(512);
	vaddr_t va = FIX_DATA + 2 * PAGE_SIZE;
	/* the PT page that maps va, found by an MMU-style walk */
	pte_t *pml4 = arch_phys_to_virt(pool->pa);
	pte_t *pdpt = arch_phys_to_virt(pte_addr(pml4[PT_INDEX(va, 4)]));
	pte_t *pd = arch_phys_to_virt(pte_addr(pdpt[PT_INDEX(va, 3)]));
	paddr_t pt = pte_addr(pd[PT_INDEX(va, 2)]);
	paddr_t entry_pa = pt + PT_INDEX(va, 1) * sizeof(pte_t);

	vaddr_t by_window = pool->window_va + (entry_pa - pool->pa);
	vaddr_t by_recursion = RECURSIVE_PTE_VA(va);
	cr_assert_eq(fix_mmu_walk(pool->pa, by_window), entry_pa);
	cr_assert_eq(fix_mmu_walk(pool->pa, by_recursion), entry_pa);
	pte_t e = *(pte_t *)arch_phys_to_virt(entry_pa);
	cr_assert_eq(pte_addr(e), FIX_KPHYS + 8 * PAGE_SIZE);
	cr_assert_eq(fix_mmu_walk(pool->pa, va), FIX_KPHYS + 8 * PAGE_SIZE);
	cr_assert_eq(fix_mmu_walk(pool->pa, FIX_GUARD), ~0ull);
}

Test(kernel, a_pool_too_small_fails_and_gives_its_pages_back)
{
	host_memory_init(FIX_MEMORY);
	host_trace_start();
	struct pmm_region ram = { FIX_RAM_BASE, FIX_RAM_PAGES, 0 };
	pmm_init(&ram, 1, NULL, 0);
	uint64_t before = fix_pmm_free();
	struct vm_kernel_layout k = {
		.phys_base = FIX_KPHYS, .text_start = FIX_TEXT, .text_end = FIX_RODATA,
		.rodata_start = FIX_RODATA, .rodata_end = FIX_DATA,
		.data_start = FIX_DATA, .data_end = FIX_END, .stack_guard = FIX_GUARD,
		.ram = &ram, .ram_count = 1, .pool_pages = 200,
	};
	cr_assert_eq(vm_kernel_init(&k), STATUS_POOL_EXHAUSTED);
	cr_assert_eq(fix_pmm_free(), before);
	cr_assert_null(vm_kernel_pool);
	cr_assert_eq(host_cpu.cr3_loads, 0);
}
