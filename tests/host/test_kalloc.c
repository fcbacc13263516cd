/* test_kalloc.c - contiguous kernel allocations and kvmalloc
 * (src/mm/kalloc.c): pages, VA and mapping made and undone together. */
#include "alloc_fixture.h"

#define KW (KALLOC_FLAGS)

static uint64_t flags_of(vaddr_t va)
{
	paddr_t pa;
	uint64_t f = 0;
	cr_assert_eq(vm_translate(vm_kernel_pool, va, &pa, &f), STATUS_OK);
	return f;
}

Test(kalloc, kalloc_maps_fresh_owned_pages_at_the_start_of_the_window)
{
	fix_alloc(512);
	uint64_t free_before = fix_pmm_free();
	vaddr_t va;
	cr_assert_eq(kalloc(3, &va), STATUS_OK);
	cr_assert_eq(va, KALLOC_BASE);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(flags_of(va + i * PAGE_SIZE), KW | PTE_OWN);
	cr_assert_eq(fix_pmm_free(), free_before - 3);
	cr_assert_eq(host_trace_count("pmm.set"), 1, "one run of fresh pages");
	cr_assert_eq(host_trace_count(" n=3 why=kalloc"), 2,
		     "pmm.set, kalloc.alloc");
	cr_assert_eq(
	    host_trace_count("kalloc.reserve as=0 va=0xffffc00000000000 n=3"),
	    1);
	cr_assert_eq(host_trace_count(
			 "kalloc.alloc va=0xffffc00000000000 n=3 why=kalloc"),
		     1);
	cr_assert_eq(kalloc_space.taken_pages, 3);
}

Test(kalloc, kalloc_free_gives_back_pages_tables_and_va)
{
	struct ptp *pool = fix_alloc(512);
	uint64_t free_before = fix_pmm_free(), tables = pool->used;
	vaddr_t va;
	cr_assert_eq(kalloc(5, &va), STATUS_OK);
	cr_assert_gt(pool->used, tables);
	cr_assert_eq(kalloc_free(va, 5), STATUS_OK);
	cr_assert_eq(fix_pmm_free(), free_before);
	cr_assert_eq(pool->used, tables, "the emptied tables went back");
	cr_assert_eq(kalloc_space.count, 1);
	const char *t = host_trace_text();
	const char *f = strstr(t, "kalloc.free va=0xffffc00000000000 n=5");
	const char *u = strstr(t, "vm.unmap as=0 va=0xffffc00000000000 n=5");
	const char *r =
	    strstr(t, "kalloc.release as=0 va=0xffffc00000000000 n=5");
	cr_assert(f && u && r && f < u && u < r, "free, unmap, release:\n%s",
		  t);
}

Test(kalloc, kalloc_ext_honours_flags_and_the_search_window)
{
	fix_alloc(512);
	vaddr_t lo = KALLOC_BASE + (1ull << 30), va;
	cr_assert_eq(kalloc_ext(2, PTE_P | PTE_NX, lo, lo + 8 * PAGE_SIZE, &va),
		     STATUS_OK);
	cr_assert_eq(va, lo);
	cr_assert_eq(flags_of(va), PTE_P | PTE_NX | PTE_OWN, "read-only");
	cr_assert_eq(kalloc_ext(6, KW, lo, lo + 8 * PAGE_SIZE, &va), STATUS_OK);
	cr_assert_eq(va, lo + 2 * PAGE_SIZE);
	cr_assert_eq(kalloc_ext(1, KW, lo, lo + 8 * PAGE_SIZE, &va),
		     STATUS_NOT_FOUND);
	fix_one_error("not_found", "kalloc_ext");
	cr_assert_eq(kalloc(1, &va), STATUS_OK);
	cr_assert_eq(va, KALLOC_BASE, "kalloc searches the whole window");
}

Test(kalloc, kalloc_ext_refuses_bad_flags_and_windows)
{
	fix_alloc(512);
	vaddr_t va;
	struct fix_vrange_copy *before = fix_vrange_snapshot();
	static const uint64_t bad[] = {PTE_W, KW | PTE_U, KW | PTE_PS,
				       KW | PTE_OWN, KW | PTE_PIN};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(
		    kalloc_ext(1, bad[i], KALLOC_BASE, KALLOC_END, &va),
		    STATUS_INVALID_ARG, "flags %#lx", bad[i]);
		fix_one_error("invalid_arg", "kalloc_ext");
	}
	cr_assert_eq(kalloc_ext(1, KW, SCRATCH_BASE, SCRATCH_END, &va),
		     STATUS_OUT_OF_RANGE);
	fix_one_error("out_of_range", "kalloc_ext");
	cr_assert_eq(kalloc_ext(1, KW, KALLOC_BASE + 1, KALLOC_END, &va),
		     STATUS_UNALIGNED);
	fix_one_error("unaligned", "kalloc_ext");
	cr_assert_eq(kalloc_ext(0, KW, KALLOC_BASE, KALLOC_END, &va),
		     STATUS_ZERO_COUNT);
	fix_one_error("zero_count", "kalloc_ext");
	cr_assert_eq(kalloc(KALLOC_MAX_PAGES + 1, &va), STATUS_TOO_LARGE);
	fix_one_error("too_large", "kalloc");
	cr_assert_eq(kalloc(1, NULL), STATUS_INVALID_ARG);
	fix_one_error("invalid_arg", "kalloc");
	fix_vrange_unchanged(before);
}

Test(kalloc, running_out_of_memory_halfway_leaves_everything_as_it_was)
{
	struct ptp *pool = fix_alloc(512);
	vaddr_t va;
	cr_assert_eq(kalloc(1, &va), STATUS_OK);
	fix_eat_pmm(3);
	host_trace_clear();
	void *tables = fix_snapshot(pool);
	struct fix_vrange_copy *ranges = fix_vrange_snapshot();
	cr_assert_eq(kalloc(5, &va), STATUS_NO_MEMORY);
	fix_one_error("no_memory", "vm_map_new");
	cr_assert_eq(fix_pmm_free(), 3, "the three pages taken went back");
	fix_assert_unchanged(pool, tables);
	fix_vrange_unchanged(ranges);
	cr_assert_eq(kalloc(3, &va), STATUS_OK, "and three pages still fit");
}

Test(kalloc, running_out_of_table_pages_leaves_everything_as_it_was)
{
	struct ptp *pool = fix_alloc(512);
	vaddr_t va;
	uint64_t step = 2ull << 20; /* each call needs a new page table */
	for (uint64_t i = 0; ptp_free_pages(pool) > 0; i++)
		cr_assert_eq(kalloc_ext(1, KW, KALLOC_BASE + i * step,
					KALLOC_BASE + (i + 1) * step, &va),
			     STATUS_OK);
	uint64_t free_before = fix_pmm_free();
	host_trace_clear();
	void *tables = fix_snapshot(pool);
	struct fix_vrange_copy *ranges = fix_vrange_snapshot();
	cr_assert_eq(kalloc_ext(1, KW, KALLOC_END - step, KALLOC_END, &va),
		     STATUS_POOL_EXHAUSTED);
	fix_one_error("pool_exhausted", "vm_map_new");
	fix_assert_unchanged(pool, tables);
	fix_vrange_unchanged(ranges);
	cr_assert_eq(fix_pmm_free(), free_before);
}

Test(kalloc, kalloc_free_checks_the_whole_region_before_touching_it)
{
	fix_alloc(512);
	vaddr_t va;
	cr_assert_eq(kalloc(4, &va), STATUS_OK);
	void *slab;
	cr_assert_eq(kmalloc(8, &slab), STATUS_OK);
	vaddr_t slab_page = (vaddr_t)slab & ~PAGE_MASK;
	host_trace_clear();
	struct fix_vrange_copy *ranges = fix_vrange_snapshot();
	uint64_t free_before = fix_pmm_free();
	cr_assert_eq(kalloc_free(va + 1, 4), STATUS_UNALIGNED);
	fix_one_error("unaligned", "kalloc_free");
	cr_assert_eq(kalloc_free(va, 0), STATUS_ZERO_COUNT);
	fix_one_error("zero_count", "kalloc_free");
	cr_assert_eq(kalloc_free(va + PAGE_SIZE, 3), STATUS_NOT_ALLOCATED);
	fix_one_error("not_allocated", "kalloc_free");
	cr_assert_eq(kalloc_free(va, 3), STATUS_SIZE_MISMATCH);
	fix_one_error("size_mismatch", "kalloc_free");
	cr_assert_eq(kalloc_free(slab_page, 1), STATUS_BAD_POINTER);
	fix_one_error("bad_pointer", "kalloc_free");
	cr_assert_eq(kalloc_free(SCRATCH_BASE, 1), STATUS_NOT_ALLOCATED);
	fix_one_error("not_allocated", "kalloc_free");
	fix_vrange_unchanged(ranges);
	cr_assert_eq(fix_pmm_free(), free_before);
}

Test(kalloc, a_region_with_a_page_unmapped_or_pinned_is_not_freed)
{
	fix_alloc(512);
	vaddr_t va;
	cr_assert_eq(kalloc(3, &va), STATUS_OK);
	cr_assert_eq(
	    vm_protect(vm_kernel_pool, va + PAGE_SIZE, 1, KW | PTE_PIN),
	    STATUS_OK);
	host_trace_clear();
	uint64_t free_before = fix_pmm_free();
	cr_assert_eq(kalloc_free(va, 3), STATUS_PINNED);
	fix_one_error("pinned", "vm_unmap");
	cr_assert_eq(fix_pmm_free(), free_before);
	cr_assert_eq(flags_of(va), KW | PTE_OWN, "nothing was unmapped");
	cr_assert_eq(vm_unpin(vm_kernel_pool, va + PAGE_SIZE, 1), STATUS_OK);
	cr_assert_eq(vm_unmap(vm_kernel_pool, va + 2 * PAGE_SIZE, 1),
		     STATUS_OK);
	host_trace_clear();
	cr_assert_eq(kalloc_free(va, 3), STATUS_NOT_MAPPED);
	fix_one_error("not_mapped", "kalloc_free");
	cr_assert_eq(kalloc_space.taken_pages, 3);
}

Test(kalloc, kvmalloc_rounds_up_to_pages_and_kvfree_remembers_the_size)
{
	fix_alloc(512);
	uint64_t free_before = fix_pmm_free();
	void *p, *q;
	cr_assert_eq(kvmalloc(PAGE_SIZE + 1, &p), STATUS_OK);
	cr_assert_eq((vaddr_t)p, KALLOC_BASE);
	cr_assert_eq(kvmalloc(PAGE_SIZE, &q), STATUS_OK);
	cr_assert_eq((vaddr_t)q, KALLOC_BASE + 2 * PAGE_SIZE,
		     "2 pages before it");
	cr_assert_eq(fix_pmm_free(), free_before - 3);
	*fix_byte((vaddr_t)p + PAGE_SIZE) = 0xa5;
	cr_assert_eq(*fix_byte((vaddr_t)p + PAGE_SIZE), 0xa5);
	cr_assert_eq(kvfree(p), STATUS_OK);
	cr_assert_eq(kvfree(q), STATUS_OK);
	cr_assert_eq(fix_pmm_free(), free_before);
	host_trace_clear();
	cr_assert_eq(kvfree(p), STATUS_NOT_ALLOCATED, "a second kvfree");
	fix_one_error("not_allocated", "kvfree");
	cr_assert_eq(kvmalloc(0, &p), STATUS_ZERO_COUNT);
	fix_one_error("zero_count", "kvmalloc");
	cr_assert_eq(kvmalloc(8, NULL), STATUS_INVALID_ARG);
	fix_one_error("invalid_arg", "kvmalloc");
}

Test(kalloc, kvfree_of_a_pointer_inside_a_region_is_refused)
{
	fix_alloc(512);
	void *p;
	cr_assert_eq(kvmalloc(3 * PAGE_SIZE, &p), STATUS_OK);
	host_trace_clear();
	cr_assert_eq(kvfree((char *)p + PAGE_SIZE), STATUS_NOT_ALLOCATED);
	fix_one_error("not_allocated", "kvfree");
	cr_assert_eq(kvfree((char *)p + 16), STATUS_UNALIGNED);
	fix_one_error("unaligned", "kvfree");
	cr_assert_eq(kalloc_space.taken_pages, 3);
}

Test(kalloc, kalloc_ptr_reaches_the_physical_page_the_mmu_would)
{
	struct ptp *pool = fix_alloc(512);
	vaddr_t va;
	cr_assert_eq(kalloc(2, &va), STATUS_OK);
	*fix_byte(va + PAGE_SIZE + 7) = 0x3c;
	paddr_t pa = fix_mmu_walk(pool->pa, va + PAGE_SIZE + 7);
	cr_assert_eq(*(uint8_t *)arch_phys_to_virt(pa), 0x3c);
	cr_assert_null(kalloc_ptr(va + 2 * PAGE_SIZE), "not mapped");
	cr_assert_eq(host_trace_count(" err."), 0, "an answer, not an error");
}

Test(kalloc, copy_and_zero_cross_page_boundaries)
{
	fix_alloc(512);
	vaddr_t a, b;
	cr_assert_eq(kalloc(3, &a), STATUS_OK);
	cr_assert_eq(kalloc(3, &b), STATUS_OK);
	for (uint64_t i = 0; i < 3 * PAGE_SIZE; i++)
		*fix_byte(a + i) = (uint8_t)(i * 7 + 1);
	kalloc_copy(b + 100, a + 50, 2 * PAGE_SIZE);
	for (uint64_t i = 0; i < 2 * PAGE_SIZE; i++)
		cr_assert_eq(*fix_byte(b + 100 + i),
			     (uint8_t)((i + 50) * 7 + 1));
	kalloc_zero(a + PAGE_SIZE - 3, PAGE_SIZE + 6);
	cr_assert_eq(*fix_byte(a + PAGE_SIZE - 4),
		     (uint8_t)((PAGE_SIZE - 4) * 7 + 1));
	cr_assert_eq(*fix_byte(a + PAGE_SIZE - 3), 0);
	cr_assert_eq(*fix_byte(a + 2 * PAGE_SIZE + 2), 0);
	cr_assert_eq(*fix_byte(a + 2 * PAGE_SIZE + 3),
		     (uint8_t)((2 * PAGE_SIZE + 3) * 7 + 1));
}

Test(kalloc, the_snapshot_counts_regions_and_free_runs)
{
	fix_alloc(512);
	vaddr_t a, b;
	kalloc(2, &a);
	kalloc(1, &b);
	kalloc_free(a, 2);
	host_trace_clear();
	kalloc_dump();
	cr_assert_eq(host_trace_count(
			 "stat.vrange as=0 taken=1 pages=1 free=2 largest="),
		     1, "%s", host_trace_text());
}
