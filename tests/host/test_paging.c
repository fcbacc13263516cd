/* test_paging.c - map, unmap, protect, translate (src/mm/paging*.c). */
#include "paging_fixture.h"

#include "paging_change.h"
#include "paging_walk.h"
#include "trace.h"

#define VA 0x40000000ull /* 1 GiB: a PML4 slot, PDPT and PD of its own */
#define PA 0x1000000ull  /* 16 MiB, inside the simulated RAM */

static paddr_t pa_of(struct ptp *pool, vaddr_t va)
{
	paddr_t pa = 0;
	cr_assert_eq(vm_translate(pool, va, &pa, NULL), STATUS_OK, "%#lx", va);
	return pa;
}

static enum vm_range_state state_of(struct ptp *pool, vaddr_t va, uint64_t n)
{
	enum vm_range_state s;
	cr_assert_eq(vm_range_state(pool, va, n, &s), STATUS_OK);
	return s;
}

Test(paging, map_one_page_then_translate_it_with_its_offset)
{
	struct ptp *pool = fix_pool(64);
	cr_assert_eq(vm_map(pool, VA, PA, PTE_P | PTE_W | PTE_NX), STATUS_OK);
	paddr_t pa;
	uint64_t flags;
	cr_assert_eq(vm_translate(pool, VA + 0x123, &pa, &flags), STATUS_OK);
	cr_assert_eq(pa, PA + 0x123);
	cr_assert_eq(flags, PTE_P | PTE_W | PTE_NX);
	cr_assert_eq(pool->used, 2 + 3, "PDPT, PD and PT were created");
	cr_assert_eq(host_trace_count("pt.new"), 1 + 3);
	cr_assert(strstr(host_trace_last("vm.map"),
			 "vm.map as=0 va=0x40000000 pa=0x1000000 n=1 size=4K "
			 "flags=P|W|NX pte=0x8000000001000003"));
	cr_assert_eq(vm_translate(pool, VA + PAGE_SIZE, &pa, NULL),
		     STATUS_NOT_MAPPED);
}

Test(paging, map_range_across_tables_is_one_event_per_table_and_translates_everywhere)
{
	struct ptp *pool = fix_pool(64);
	cr_assert_eq(vm_map_range(pool, VA + 510 * PAGE_SIZE, PA, 600, PTE_P),
		     STATUS_OK);
	for (uint64_t i = 0; i < 600; i += 37)
		cr_assert_eq(pa_of(pool, VA + (510 + i) * PAGE_SIZE),
			     PA + i * PAGE_SIZE);
	/* Each table's entries are one event, written before the next table
	 * is installed: 2 + 512 + 86 pages. */
	cr_assert_eq(host_trace_count("vm.map"), 3);
	cr_assert_eq(host_trace_count("level=1"), 3, "three PTs");
	const char *t = host_trace_text();
	const char *second_pt = strstr(strstr(t, "level=1") + 1, "level=1");
	cr_assert(second_pt && strstr(t, "n=2 ") < second_pt &&
		  strstr(t, "n=512 ") > second_pt, "%s", t);
	cr_assert_eq(pool->mapped_pages, 600);
}

Test(paging, map_pages_maps_each_page_and_groups_contiguous_runs)
{
	struct ptp *pool = fix_pool(64);
	paddr_t pas[5] = { PA, PA + PAGE_SIZE, PA + 9 * PAGE_SIZE, PA + 3 * PAGE_SIZE,
			   PA + 4 * PAGE_SIZE };
	cr_assert_eq(vm_map_pages(pool, VA, pas, 5, PTE_P | PTE_W), STATUS_OK);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(pa_of(pool, VA + i * PAGE_SIZE), pas[i]);
	cr_assert_eq(host_trace_count("vm.map"), 3);
}

Test(paging, map_over_a_present_page_changes_nothing)
{
	struct ptp *pool = fix_pool(64);
	vm_map(pool, VA + 700 * PAGE_SIZE, PA, PTE_P);
	void *before = fix_snapshot(pool);
	uint64_t events = trace_event_count();
	cr_assert_eq(vm_map_range(pool, VA, PA, 701, PTE_P | PTE_W),
		     STATUS_ALREADY_MAPPED);
	fix_assert_unchanged(pool, before);
	cr_assert_eq(trace_event_count(), events + 1, "one err event only");
	cr_assert(strstr(host_trace_last("err."), "err.already_mapped fn=vm_map_range"));
	cr_assert_eq(state_of(pool, VA, 700), VM_RANGE_NONE);
}

Test(paging, map_that_would_exhaust_the_pool_halfway_changes_nothing)
{
	struct ptp *pool = fix_pool(8); /* 6 free: PDPT, PD and 4 PTs */
	void *before = fix_snapshot(pool);
	uint64_t events = trace_event_count();
	cr_assert_eq(vm_map_range(pool, VA, PA, 5 * 512, PTE_P),
		     STATUS_POOL_EXHAUSTED);
	fix_assert_unchanged(pool, before);
	cr_assert_eq(trace_event_count(), events + 1);
	cr_assert_eq(pool->used, 2);
	cr_assert_eq(vm_map_range(pool, VA, PA, 4 * 512, PTE_P), STATUS_OK);
	cr_assert_eq(ptp_free_pages(pool), 0);
}

Test(paging, map_new_out_of_memory_halfway_leaves_nothing_mapped)
{
	struct ptp *pool = fix_pool(64);
	uint64_t free_pages = fix_pmm_free();
	void *before = fix_snapshot(pool);
	cr_assert_eq(vm_map_new(pool, VA, free_pages + 1, PTE_P | PTE_W, PMM_TEST),
		     STATUS_NO_MEMORY);
	fix_assert_unchanged(pool, before);
	cr_assert_eq(fix_pmm_free(), free_pages, "every page went back");
	cr_assert_eq(pool->used, 2, "every table went back");
	cr_assert_eq(pool->mapped_pages, 0);
	cr_assert_eq(host_trace_count("err."), 1);
}

Test(paging, bad_requests_get_distinct_statuses_and_one_err_each)
{
	struct ptp *pool = fix_pool(64);
	void *before = fix_snapshot(pool);
	cr_assert_eq(vm_map_range(pool, VA, PA, 0, PTE_P), STATUS_ZERO_COUNT);
	cr_assert_eq(vm_map(pool, VA + 1, PA, PTE_P), STATUS_UNALIGNED);
	cr_assert_eq(vm_map(pool, VA, PA + 8, PTE_P), STATUS_UNALIGNED);
	cr_assert_eq(vm_map(pool, 0x0000800000000000ull, PA, PTE_P),
		     STATUS_NON_CANONICAL);
	cr_assert_eq(vm_map_range(pool, 0x00007FFFFFFFF000ull, PA, 2, PTE_P),
		     STATUS_NON_CANONICAL, "runs into the hole");
	cr_assert_eq(vm_map_range(pool, 0xFFFFFFFFFFFFF000ull, PA, 2, PTE_P),
		     STATUS_WRAP);
	cr_assert_eq(vm_map_range(pool, VA, 1ull << 52, 1, PTE_P),
		     STATUS_OUT_OF_RANGE);
	cr_assert_eq(vm_map(pool, RECURSIVE_BASE, PA, PTE_P), STATUS_OUT_OF_RANGE);
	cr_assert_eq(vm_map(pool, VA, PA, PTE_W), STATUS_INVALID_ARG, "no P");
	cr_assert_eq(vm_map(pool, VA, PA, PTE_P | PTE_A), STATUS_INVALID_ARG);
	cr_assert_eq(vm_map_range(pool, VA + PAGE_SIZE, 0, 512, PTE_P | PTE_PS),
		     STATUS_UNALIGNED);
	cr_assert_eq(vm_map_range(pool, VA, 0, 100, PTE_P | PTE_PS),
		     STATUS_UNALIGNED, "not a whole 2 MiB page");
	cr_assert_eq(vm_unmap(pool, VA, 1), STATUS_NOT_MAPPED);
	cr_assert_eq(vm_protect(pool, VA, 1, PTE_P), STATUS_NOT_MAPPED);
	cr_assert_eq(host_trace_count("err."), 14);
	fix_assert_unchanged(pool, before);
}

Test(paging, huge_pages_map_translate_and_refuse_to_be_split)
{
	struct ptp *pool = fix_pool(64);
	cr_assert_eq(vm_map_range(pool, VA, 0x400000, 1024,
				  PTE_P | PTE_W | PTE_PS), STATUS_OK);
	cr_assert_eq(pa_of(pool, VA + 0x234567), 0x400000 + 0x234567);
	cr_assert(strstr(host_trace_last("vm.map"), "n=2 size=2M flags=P|W|PS"));
	cr_assert_eq(pool->used, 2 + 2, "no PT for 2 MiB pages");
	void *before = fix_snapshot(pool);
	cr_assert_eq(vm_unmap(pool, VA, 1), STATUS_HUGE_PAGE);
	cr_assert_eq(vm_protect(pool, VA + PAGE_SIZE_2M, 511, PTE_P),
		     STATUS_HUGE_PAGE);
	cr_assert_eq(vm_map(pool, VA + PAGE_SIZE, PA, PTE_P), STATUS_ALREADY_MAPPED);
	fix_assert_unchanged(pool, before);
	cr_assert_eq(vm_unmap(pool, VA, 1024), STATUS_OK);
	cr_assert_eq(pool->used, 2, "PD and PDPT went back");
	cr_assert_eq(pool->mapped_pages, 0);
}

Test(paging, unmap_of_a_513_page_range_returns_every_emptied_table)
{
	struct ptp *pool = fix_pool(64);
	cr_assert_eq(vm_map_range(pool, VA + 7 * PAGE_SIZE, PA, 513, PTE_P),
		     STATUS_OK);
	cr_assert_eq(pool->used, 2 + 4);
	cr_assert_eq(vm_unmap(pool, VA + 7 * PAGE_SIZE, 513), STATUS_OK);
	cr_assert_eq(pool->used, 2);
	cr_assert_eq(host_trace_count("pt.free"), 4);
	cr_assert_eq(host_trace_count("ptp.free"), 4);
	cr_assert_eq(state_of(pool, VA, 1024), VM_RANGE_NONE);
	cr_assert_eq(ptp_table(pool->pa)[0].raw, 0, "the PML4 entry is clear");
}

Test(paging, unmap_of_a_1024_page_range_returns_every_emptied_table)
{
	struct ptp *pool = fix_pool(64);
	cr_assert_eq(vm_map_range(pool, VA, PA, 1024, PTE_P), STATUS_OK);
	cr_assert_eq(pool->used, 2 + 4);
	cr_assert_eq(vm_unmap(pool, VA, 1024), STATUS_OK);
	cr_assert_eq(pool->used, 2);
	cr_assert_eq(host_trace_count("pt.free"), 4);
}

Test(paging, unmap_in_two_parts_frees_the_table_only_when_it_is_empty)
{
	struct ptp *pool = fix_pool(64);
	vm_map_range(pool, VA, PA, 10, PTE_P);
	cr_assert_eq(vm_unmap(pool, VA, 5), STATUS_OK);
	cr_assert_eq(pool->used, 2 + 3);
	cr_assert_eq(host_trace_count("pt.free"), 0);
	cr_assert_eq(state_of(pool, VA, 10), VM_RANGE_PARTIAL);
	cr_assert_eq(vm_unmap(pool, VA, 10), STATUS_OK, "holes are skipped");
	cr_assert_eq(pool->used, 2);
}

Test(paging, unmap_detaches_tables_invalidates_then_frees_pages_and_tables)
{
	struct ptp *pool = fix_pool(64);
	uint64_t free_pages = fix_pmm_free();
	cr_assert_eq(vm_map_new(pool, VA, 3, PTE_P | PTE_W, PMM_TEST), STATUS_OK);
	vm_map(pool, VA + 3 * PAGE_SIZE, PA, PTE_P);
	cr_assert_eq(fix_pmm_free(), free_pages - 3);
	paddr_t owned = pa_of(pool, VA);
	host_trace_clear();
	cr_assert_eq(vm_unmap(pool, VA, 4), STATUS_OK);
	cr_assert_eq(fix_pmm_free(), free_pages);
	cr_assert_not(pmm_is_used(owned));
	const char *t = host_trace_text();
	const char *unmap = strstr(t, "vm.unmap"), *inv = strstr(t, "tlb.invlpg");
	const char *clear = strstr(t, "pmm.clear"), *ptfree = strstr(t, "pt.free");
	const char *back = strstr(t, "ptp.free");
	cr_assert(unmap && inv && clear && ptfree && back);
	cr_assert(unmap < ptfree && ptfree < inv && inv < clear && inv < back,
		  "clear, detach, invalidate, then free:\n%s", t);
	cr_assert_eq(host_cpu.invlpg_count, 4);
}

Test(paging, unmap_past_the_threshold_flushes_once)
{
	struct ptp *pool = fix_pool(64);
	vm_map_range(pool, VA, PA, VM_INVLPG_THRESHOLD + 1, PTE_P);
	cr_assert_eq(vm_unmap(pool, VA, VM_INVLPG_THRESHOLD + 1), STATUS_OK);
	cr_assert_eq(host_cpu.full_flushes, 1);
	cr_assert_eq(host_cpu.invlpg_count, 0);
	cr_assert_eq(host_trace_count("tlb.flush why=threshold"), 1);
}

Test(paging, pinned_pages_refuse_unmap_and_protect_until_unpinned)
{
	struct ptp *pool = fix_pool(64);
	vm_map_range(pool, VA, PA, 4, PTE_P);
	vm_map(pool, VA + 4 * PAGE_SIZE, PA, PTE_P | PTE_PIN);
	void *before = fix_snapshot(pool);
	cr_assert_eq(vm_unmap(pool, VA, 5), STATUS_PINNED);
	cr_assert_eq(vm_protect(pool, VA, 5, PTE_P | PTE_W), STATUS_PINNED);
	cr_assert_eq(vm_protect(pool, VA, 5, 0), STATUS_PINNED, "unmap by protect");
	fix_assert_unchanged(pool, before);
	cr_assert_eq(vm_unpin(pool, VA + 4 * PAGE_SIZE, 1), STATUS_OK);
	cr_assert_eq(vm_unmap(pool, VA, 5), STATUS_OK);
}

Test(paging, protect_one_owned_page_leaves_its_neighbours_ownership_alone)
{
	struct ptp *pool = fix_pool(64);
	vm_map(pool, VA, PA, PTE_P);
	cr_assert_eq(vm_map_new(pool, VA + PAGE_SIZE, 1, PTE_P, PMM_TEST), STATUS_OK);
	vm_map(pool, VA + 2 * PAGE_SIZE, PA + PAGE_SIZE, PTE_P);
	cr_assert_eq(vm_protect(pool, VA + PAGE_SIZE, 1, PTE_P | PTE_W | PTE_NX),
		     STATUS_OK);
	cr_assert_eq(vm_protect(pool, VA, 3, PTE_P | PTE_NX), STATUS_OK);
	uint64_t f[3];
	paddr_t pa;
	for (int i = 0; i < 3; i++)
		vm_translate(pool, VA + i * PAGE_SIZE, &pa, &f[i]);
	cr_assert_eq(f[0], PTE_P | PTE_NX);
	cr_assert_eq(f[1], PTE_P | PTE_NX | PTE_OWN);
	cr_assert_eq(f[2], PTE_P | PTE_NX);
	cr_assert_eq(host_trace_count("vm.protect"), 1 + 3, "one run per ownership");
	cr_assert_eq(vm_protect(pool, VA, 1, PTE_P | PTE_OWN), STATUS_INVALID_ARG);
}

Test(paging, protect_without_present_unmaps)
{
	struct ptp *pool = fix_pool(64);
	vm_map_range(pool, VA, PA, 3, PTE_P | PTE_W);
	cr_assert_eq(vm_protect(pool, VA, 3, PTE_W), STATUS_OK);
	cr_assert_eq(state_of(pool, VA, 3), VM_RANGE_NONE);
	cr_assert_eq(pool->used, 2);
}

Test(paging, protect_changes_flags_and_invalidates)
{
	struct ptp *pool = fix_pool(64);
	vm_map_range(pool, VA, PA, 3, PTE_P | PTE_W);
	cr_assert_eq(vm_protect(pool, VA, 3, PTE_P | PTE_NX), STATUS_OK);
	paddr_t pa;
	uint64_t f;
	vm_translate(pool, VA + 2 * PAGE_SIZE, &pa, &f);
	cr_assert_eq(f, PTE_P | PTE_NX);
	cr_assert_eq(pa, PA + 2 * PAGE_SIZE);
	cr_assert_eq(host_cpu.invlpg_count, 3);
	cr_assert_eq(vm_protect(pool, VA, 4, PTE_P), STATUS_NOT_MAPPED);
}

Test(paging, range_state_answers_none_partial_full_without_errors)
{
	struct ptp *pool = fix_pool(64);
	vm_map_range(pool, VA + PAGE_SIZE, PA, 2, PTE_P);
	cr_assert_eq(state_of(pool, VA, 1), VM_RANGE_NONE);
	cr_assert_eq(state_of(pool, VA, 3), VM_RANGE_PARTIAL);
	cr_assert_eq(state_of(pool, VA + PAGE_SIZE, 2), VM_RANGE_FULL);
	cr_assert_eq(state_of(pool, 0xFFFF800000000000ull, 1ull << 20),
		     VM_RANGE_NONE);
	cr_assert_eq(host_trace_count("err."), 0);
}

Test(paging, table_entries_on_the_path_of_user_pages_are_user)
{
	struct ptp *pool = fix_pool(64);
	vm_map(pool, VA, PA, PTE_P | PTE_U);
	vm_map(pool, 0xFFFF900000000000ull, PA, PTE_P);
	pte_t *pml4 = ptp_table(pool->pa);
	cr_assert(pml4[0].raw & PTE_U);
	cr_assert_not(pml4[PT_INDEX(0xFFFF900000000000ull, 4)].raw & PTE_U);
}

Test(paging, map_pages_checks_every_address_before_mapping_any)
{
	struct ptp *pool = fix_pool(64);
	paddr_t pas[3] = { PA, PA + 0x10, PA + 2 * PAGE_SIZE };
	void *before = fix_snapshot(pool);
	cr_assert_eq(vm_map_pages(pool, VA, pas, 3, PTE_P), STATUS_UNALIGNED);
	pas[1] = 1ull << 52;
	cr_assert_eq(vm_map_pages(pool, VA, pas, 3, PTE_P), STATUS_OUT_OF_RANGE);
	cr_assert_eq(vm_map_pages(pool, VA, NULL, 3, PTE_P), STATUS_INVALID_ARG);
	cr_assert_eq(vm_map_pages(pool, VA, pas, 3, PTE_P | PTE_PS), STATUS_INVALID_ARG);
	fix_assert_unchanged(pool, before);
	cr_assert_eq(host_trace_count("err."), 4);
	cr_assert_eq(host_trace_count("vm.map"), 0);
}

Test(paging, a_range_walk_skips_empty_slots_whole)
{
	/* a 512 GiB range with one page in it: found, unmapped, quickly */
	struct ptp *pool = fix_pool(64);
	vaddr_t slot = 0x8000000000ull;
	vm_map(pool, slot + 0x7654000, PA, PTE_P);
	enum vm_range_state s;
	cr_assert_eq(vm_range_state(pool, slot, 1ull << 27, &s), STATUS_OK);
	cr_assert_eq(s, VM_RANGE_PARTIAL);
	cr_assert_eq(vm_unmap(pool, slot, 1ull << 27), STATUS_OK);
	cr_assert_eq(pool->used, 2);
	cr_assert_eq(host_cpu.invlpg_count, 1, "only the mapped page");
}

/*
 * vm_check_range answers the usual request with a quick test
 * (vm_range_plainly_ok) before its checks in order. Over requests at every
 * edge (each half's ends, the hole, the recursive slot, the top of the
 * space, units of 4 KiB and 2 MiB, counts up to a wrap), its status must
 * be the one of the checks in order, written out here as the contract
 * in paging_walk.h says, on a pool of each kind.
 */
static status_t checks_in_order(const struct ptp *pool, vaddr_t va,
				uint64_t pages, uint64_t unit)
{
	if (!pool || !pool->live)
		return STATUS_INVALID_ARG;
	if (pages == 0)
		return STATUS_ZERO_COUNT;
	if (va % unit || (pages * PAGE_SIZE) % unit)
		return STATUS_UNALIGNED;
	bool canonical = va < USER_END || va >= 0xFFFF800000000000ull;
	if (!canonical)
		return STATUS_NON_CANONICAL;
	vaddr_t last = va + pages * PAGE_SIZE - 1;
	if (pages > (~0ull >> PAGE_SHIFT) || last < va)
		return STATUS_WRAP;
	bool user = va < USER_END;
	if (user ? last >= USER_END : last < 0xFFFF800000000000ull)
		return STATUS_NON_CANONICAL;
	if ((va <= RECURSIVE_BASE + PML4_SLOT_SIZE - 1 && last >= RECURSIVE_BASE) ||
	    (pool->shares_kernel_half && !user))
		return STATUS_OUT_OF_RANGE;
	return STATUS_OK;
}

Test(paging, range_checks_quick_answer_equals_the_checks_in_order)
{
	struct ptp *kernel = fix_pool(64), *space;
	cr_assert_eq(ptp_create(8, PTP_UNMODIFIABLE, &space), STATUS_OK);
	vm_share_kernel_half(space, kernel);
	const vaddr_t edges[] = {
		0, USER_END, 0xFFFF800000000000ull, RECURSIVE_BASE,
		RECURSIVE_BASE + PML4_SLOT_SIZE, 0xFFFFFFFF80000000ull, 0,
	};
	const int64_t nudges[] = { 0, 1, -1, 4096, -4096, -8192, 0x200000,
				   -0x200000, 0x1000000 };
	const uint64_t counts[] = { 0, 1, 2, 511, 512, 513, 1ull << 20,
				    1ull << 36, 1ull << 52, ~0ull >> PAGE_SHIFT,
				    (~0ull >> PAGE_SHIFT) + 1, ~0ull };
	const uint64_t units[] = { PAGE_SIZE, 0x200000 };
	struct ptp *pools[] = { kernel, space, NULL };
	size_t n = 0;
	host_trace_off();
	for (size_t e = 0; e < sizeof edges / sizeof *edges; e++)
		for (size_t d = 0; d < sizeof nudges / sizeof *nudges; d++)
			for (size_t c = 0; c < sizeof counts / sizeof *counts; c++)
				for (size_t u = 0; u < 2; u++)
					for (size_t p = 0; p < 3; p++) {
						vaddr_t va = edges[e] + (uint64_t)nudges[d];
						status_t want = checks_in_order(
							pools[p], va, counts[c], units[u]);
						status_t got = vm_check_range(
							pools[p], va, counts[c], units[u]);
						cr_assert_eq(got, want,
							     "va=%#lx n=%#lx unit=%#lx pool %zu: got %s want %s",
							     va, counts[c], units[u], p,
							     status_name(got), status_name(want));
						n += got == STATUS_OK;
					}
	cr_assert_gt(n, 100, "the quick answer was tried (%zu accepted)", n);
	cr_assert_eq(ptp_destroy(space), STATUS_OK);
}
