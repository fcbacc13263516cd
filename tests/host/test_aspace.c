/* test_aspace.c - address spaces (src/mm/aspace.c). */
#include "paging_fixture.h"

#include "aspace.h"

Test(aspace, kernel_half_is_the_kernels_but_the_recursive_slot)
{
	struct ptp *kernel = fix_kernel(512);
	struct aspace as;
	cr_assert_eq(aspace_create(0, &as), STATUS_OK);
	pte_t *k = ptp_table(kernel->pa), *u = ptp_table(as.pool->pa);
	for (unsigned s = KERNEL_HALF_FIRST_SLOT; s < PT_ENTRIES; s++)
		if (s != RECURSIVE_SLOT)
			cr_assert_eq(u[s].raw, k[s].raw, "slot %u", s);
	cr_assert_eq(pte_addr(u[RECURSIVE_SLOT]), as.pool->pa);
	for (unsigned s = 0; s < KERNEL_HALF_FIRST_SLOT; s++)
		cr_assert_eq(u[s].raw, 0);
}

Test(aspace, kernel_mappings_made_later_are_seen_in_every_space)
{
	fix_kernel(512);
	struct aspace a, b;
	aspace_create(16, &a);
	aspace_create(16, &b);
	cr_assert_eq(vm_map(vm_kernel_pool, KALLOC_BASE + 0x123000, 0x1000000,
			    PTE_P | PTE_W | PTE_NX), STATUS_OK);
	cr_assert_eq(fix_mmu_walk(a.pool->pa, KALLOC_BASE + 0x123000), 0x1000000);
	cr_assert_eq(fix_mmu_walk(b.pool->pa, KALLOC_BASE + 0x123000), 0x1000000);
	cr_assert_eq(fix_mmu_walk(a.pool->pa, FIX_TEXT), FIX_KPHYS);
}

Test(aspace, its_pool_is_visible_only_through_the_kernel)
{
	fix_kernel(512);
	struct aspace as;
	aspace_create(16, &as);
	cr_assert_eq(fix_mmu_walk(vm_kernel_pool->pa, as.pool->window_va),
		     as.pool->pa);
	cr_assert_eq(fix_mmu_walk(as.pool->pa, as.pool->window_va), as.pool->pa,
		     "through the shared kernel half");
	cr_assert(strstr(host_trace_last("ptp.create id=1 "), "kind=unmodifiable"));
	cr_assert_eq(vm_map(as.pool, KALLOC_BASE, 0x1000000, PTE_P),
		     STATUS_OUT_OF_RANGE, "the kernel half is not its own");
}

Test(aspace, switch_loads_its_pml4_and_destroy_refuses_the_current_one)
{
	fix_kernel(512);
	struct aspace as;
	aspace_create(16, &as);
	cr_assert_eq(aspace_switch(&as), STATUS_OK);
	cr_assert_eq(host_cpu.cr3, as.pool->pa);
	cr_assert_eq(aspace_destroy(&as), STATUS_BUSY);
	cr_assert_eq(aspace_switch(NULL), STATUS_OK);
	cr_assert_eq(host_cpu.cr3, vm_kernel_pool->pa);
	cr_assert_eq(aspace_destroy(&as), STATUS_OK);
}

Test(aspace, destroy_returns_every_page)
{
	struct ptp *kernel = fix_kernel(512);
	uint64_t free_pages = fix_pmm_free(), kernel_used = kernel->used;
	uint64_t kernel_mapped = kernel->mapped_pages;
	struct aspace as;
	cr_assert_eq(aspace_create(32, &as), STATUS_OK);
	cr_assert_eq(vm_map_new(as.pool, USER_BASE, 600, PTE_P | PTE_U | PTE_W,
				PMM_TEST), STATUS_OK);
	cr_assert_eq(vm_map_new(as.pool, 0x7000000000ull, 3, PTE_P | PTE_U | PTE_PIN,
				PMM_TEST), STATUS_OK);
	cr_assert_eq(vm_map(as.pool, USER_BASE + 0x40000000, 0x1000000,
			    PTE_P | PTE_U), STATUS_OK);
	cr_assert_eq(aspace_destroy(&as), STATUS_OK);
	cr_assert_eq(fix_pmm_free(), free_pages);
	cr_assert_eq(kernel->used, kernel_used);
	cr_assert_eq(kernel->mapped_pages, kernel_mapped);
	cr_assert(pmm_is_used(0x1000000) == false, "not owned: never freed twice");
	cr_assert_eq(host_trace_count("as.destroy"), 1);
}

Test(aspace, needs_the_kernel_space_first)
{
	fix_machine();
	struct aspace as;
	cr_assert_eq(aspace_create(16, &as), STATUS_INVALID_ARG);
}
