/*
 * test_labs.c - what the labs are graded on besides the existing tests
 * (docs/labs/): a short story per lab over the real src/mm, whose trace
 * tests/labs/grade checks with vtrace and FileCheck, and the reclamation
 * and region-finder tests of lab 4, which use nothing another lab stubs.
 *
 * A story writes its trace to $LAB_TRACE_DIR/labN.trace when that is set,
 * before it asserts, so a wrong step still leaves a trace to read.
 */
#include "paging_fixture.h"

#include "paging_walk.h"
#include "trace.h"

#define VA 0x40000000ull /* 1 GiB: a PML4 slot, PDPT and PD of its own */
#define PA 0x1000000ull  /* 16 MiB, inside the simulated RAM */
#define RW_NX (PTE_P | PTE_W | PTE_NX)

static void story_save(int lab)
{
	trace_finish("ok");
	const char *dir = getenv("LAB_TRACE_DIR");
	if (!dir)
		return;
	char path[512];
	snprintf(path, sizeof path, "%s/lab%d.trace", dir, lab);
	FILE *f = fopen(path, "w");
	cr_assert(f, "cannot write %s", path);
	fputs(host_trace_text(), f);
	fclose(f);
}

/* Lab 2: batches and runs over a bitmap with a reserved hole. */
Test(labs, lab2_story)
{
	host_memory_init(16ull << 20);
	host_trace_start();
	struct pmm_region ram = { 0x100000, 0xf00, 0 };
	struct pmm_region image = { 0x104000, 4, PMM_KERNEL };
	cr_assert_eq(pmm_init(&ram, 1, &image, 1), STATUS_OK);
	paddr_t a[6], run = 0, twice[2];
	uint64_t got = 0;
	struct pmm_stats stats;
	status_t st[6] = {
		pmm_alloc_batch(PMM_ALLOC, a, 6),
		pmm_free_batch((paddr_t[]){ a[0], a[2], a[3] }, 3),
		pmm_alloc_between(8, 16, PMM_ALLOC, &run, &got),
		pmm_free_batch((twice[0] = a[1], twice[1] = a[1], twice), 2),
		/* every free page in one run: there is none, they are split */
		(pmm_get_stats(&stats),
		 pmm_alloc_between(stats.free_pages, stats.free_pages, PMM_ALLOC,
				   &run, &got)),
		STATUS_OK,
	};
	pmm_dump();
	story_save(2);
	cr_assert_eq(st[0], STATUS_OK);
	cr_assert_eq(st[1], STATUS_OK);
	cr_assert_eq(st[2], STATUS_OK);
	cr_assert_eq(st[3], STATUS_DOUBLE_FREE);
	cr_assert_eq(st[4], STATUS_NOT_FOUND);
}

/* Lab 3: map, translate, ask, unmap inside one table (it stays). */
Test(labs, lab3_story)
{
	struct ptp *pool = fix_pool(16);
	status_t map = vm_map_range(pool, VA, PA, 8, RW_NX);
	paddr_t pa = 0;
	uint64_t flags = 0;
	status_t tr = vm_translate(pool, VA + 3 * PAGE_SIZE + 0x123, &pa, &flags);
	trace_event(TRACE_TEST, "translate", "va=%#lx pa=%#lx flags=%#lx",
		    (vaddr_t)(VA + 3 * PAGE_SIZE + 0x123), pa, flags);
	status_t absent = vm_translate(pool, VA + 8 * PAGE_SIZE, &pa, NULL);
	enum vm_range_state s[3] = { 9, 9, 9 };
	vm_range_state(pool, VA, 8, &s[0]);
	vm_range_state(pool, VA + 4 * PAGE_SIZE, 8, &s[1]);
	vm_range_state(pool, VA + 8 * PAGE_SIZE, 8, &s[2]);
	trace_event(TRACE_TEST, "state", "full=%d partial=%d none=%d", s[0], s[1],
		    s[2]);
	status_t un = vm_unmap(pool, VA + 2 * PAGE_SIZE, 3);
	status_t again = vm_unmap(pool, VA + 2 * PAGE_SIZE, 3);
	status_t rest = vm_unmap(pool, VA + 6 * PAGE_SIZE, 2);
	vm_dump(pool);
	story_save(3);
	cr_assert_eq(map, STATUS_OK);
	cr_assert_eq(tr, STATUS_OK);
	cr_assert_eq(pa, PA + 3 * PAGE_SIZE + 0x123);
	cr_assert_eq(absent, STATUS_NOT_MAPPED);
	cr_assert(s[0] == VM_RANGE_FULL && s[1] == VM_RANGE_PARTIAL &&
		  s[2] == VM_RANGE_NONE);
	cr_assert_eq(un, STATUS_OK);
	cr_assert_eq(again, STATUS_NOT_MAPPED);
	cr_assert_eq(rest, STATUS_OK);
}

/* Lab 4: find room between mappings, then clear until tables empty. */
Test(labs, lab4_story)
{
	struct ptp *pool = fix_pool(16);
	vm_map_range(pool, VA, PA, 4, RW_NX);
	vm_map_range(pool, VA + 0x200000, PA, 2, RW_NX);
	vaddr_t found[3] = { 0, 0, 0 };
	uint64_t n[3] = { 4, 600, 16 }, align[3] = { 0, 0, 16 };
	status_t st[3];
	for (int i = 0; i < 3; i++) {
		st[i] = vm_find_free(pool, VA, VA + 0x800000, n[i], align[i],
				     &found[i]);
		trace_event(TRACE_TEST, "found", "n=%lu align=%lu va=%#lx", n[i],
			    align[i], found[i]);
	}
	vm_clear(pool, VA + PAGE_SIZE, 3);
	vm_clear(pool, VA, 1);
	vm_clear(pool, VA + 0x200000, 2);
	vm_dump(pool);
	story_save(4);
	cr_assert_eq(st[0], STATUS_OK);
	cr_assert_eq(found[0], VA + 4 * PAGE_SIZE);
	cr_assert_eq(found[1], VA + 0x202000);
	cr_assert_eq(found[2], VA + 0x10000);
	cr_assert_eq(pool->used, 2, "only the PML4 and the pool's bitmap page");
}

Test(labs, clearing_a_whole_table_frees_it_and_its_empty_parents)
{
	struct ptp *pool = fix_pool(64);
	cr_assert_eq(vm_map_range(pool, VA, PA, 1024, PTE_P), STATUS_OK);
	uint64_t with_tables = pool->used;
	vm_clear(pool, VA, 1024);
	cr_assert_eq(pool->used, with_tables - 4, "2 PTs, the PD and the PDPT");
	cr_assert_eq(host_trace_count("pt.free"), 4);
	cr_assert_eq(ptp_table(pool->pa)[0].raw, 0, "the PML4 entry is clear");
}

Test(labs, clearing_part_of_a_table_keeps_it_until_it_is_empty)
{
	struct ptp *pool = fix_pool(64);
	vm_map_range(pool, VA, PA, 10, PTE_P);
	uint64_t with_tables = pool->used;
	vm_clear(pool, VA, 5);
	cr_assert_eq(pool->used, with_tables);
	cr_assert_eq(host_trace_count("pt.free"), 0);
	vm_clear(pool, VA + 5 * PAGE_SIZE, 5);
	cr_assert_eq(pool->used, with_tables - 3, "PT, PD, PDPT");
	cr_assert_eq(host_trace_count("pt.free"), 3);
}

Test(labs, the_kernel_half_pdpt_stays_when_emptied)
{
	struct ptp *pool = fix_pool(64);
	vaddr_t k = 0xffffc00000000000ull;
	vm_map_range(pool, k, PA, 3, PTE_P | PTE_NX);
	uint64_t with_tables = pool->used;
	vm_clear(pool, k, 3);
	cr_assert_eq(pool->used, with_tables - 2, "PT and PD only");
	cr_assert_eq(host_trace_count("pt.free"), 2);
}

static vaddr_t find_ok(struct ptp *pool, vaddr_t lo, vaddr_t hi, uint64_t n,
		       uint64_t align)
{
	vaddr_t va = 0;
	cr_assert_eq(vm_find_free(pool, lo, hi, n, align, &va), STATUS_OK,
		     "n=%lu align=%lu", n, align);
	return va;
}

Test(labs, find_skips_every_mapped_page_whatever_the_size)
{
	struct ptp *pool = fix_pool(256);
	vm_map(pool, VA, PA, PTE_P);
	vm_map(pool, VA + 0x201000, PA, PTE_P);
	vaddr_t hi = VA + (8ull << 30);
	cr_assert_eq(find_ok(pool, VA, hi, 1, 0), VA + 0x1000);
	cr_assert_eq(find_ok(pool, VA, hi, 512, 0), VA + 0x1000);
	cr_assert_eq(find_ok(pool, VA, hi, 513, 0), VA + 0x202000);
	cr_assert_eq(find_ok(pool, VA, hi, 262144, 0), VA + 0x202000);
}

Test(labs, find_honours_alignment_and_the_window)
{
	struct ptp *pool = fix_pool(256);
	vm_map(pool, VA, PA, PTE_P);
	cr_assert_eq(find_ok(pool, VA, VA + (1ull << 30), 4, 512), VA + 0x200000);
	vaddr_t s1 = 0x8000000000ull; /* an empty PML4 slot */
	cr_assert_eq(find_ok(pool, s1 + 0x3000, s1 + (1ull << 30), 2, 8),
		     s1 + 0x8000);
	vaddr_t va = 0;
	cr_assert_eq(vm_find_free(pool, VA, VA + 0x2000, 2, 0, &va),
		     STATUS_NOT_FOUND);
	cr_assert_eq(vm_find_free(pool, VA, VA + 0x3000, 2, 3, &va),
		     STATUS_INVALID_ARG, "alignment not a power of two");
}

Test(labs, translate_inside_a_2m_page_keeps_the_offset_and_the_flags)
{
	struct ptp *pool = fix_pool(64);
	cr_assert_eq(vm_map_range(pool, VA, 0x2000000, 1024, PTE_P | PTE_PS),
		     STATUS_OK);
	paddr_t pa = 0;
	uint64_t flags = 0;
	cr_assert_eq(vm_translate(pool, VA + PAGE_SIZE_2M + 0x12345, &pa, &flags),
		     STATUS_OK);
	cr_assert_eq(pa, 0x2000000 + PAGE_SIZE_2M + 0x12345);
	cr_assert(flags & PTE_PS);
	cr_assert_eq(vm_unmap(pool, VA + PAGE_SIZE, 1), STATUS_HUGE_PAGE,
		     "half a 2M page cannot be unmapped");
}

Test(labs, unmap_frees_owned_pages_and_keeps_the_others)
{
	struct ptp *pool = fix_pool(64);
	vm_map(pool, VA, PA, PTE_P); /* keeps the table alive */
	uint64_t free_pages = fix_pmm_free();
	cr_assert_eq(vm_map_new(pool, VA + PAGE_SIZE, 3, PTE_P | PTE_W, PMM_TEST),
		     STATUS_OK);
	vm_map(pool, VA + 4 * PAGE_SIZE, PA + PAGE_SIZE, PTE_P);
	host_trace_clear();
	cr_assert_eq(vm_unmap(pool, VA + PAGE_SIZE, 4), STATUS_OK);
	cr_assert_eq(fix_pmm_free(), free_pages, "the 3 owned pages came back");
	cr_assert_eq(host_trace_count("pmm.clear"), 1);
	cr_assert_eq(host_trace_count("tlb.invlpg"), 1);
	paddr_t pa = 0;
	cr_assert_eq(vm_translate(pool, VA, &pa, NULL), STATUS_OK);
	cr_assert_eq(vm_translate(pool, VA + PAGE_SIZE, &pa, NULL),
		     STATUS_NOT_MAPPED);
}
