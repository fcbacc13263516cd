/*
 * test_walk_cache.c - vm_walk's cache of a page directory a pool
 * (paging_walk.h): it gives the plain walk's answers, and a table freed or
 * replaced never leaves it pointing at the old one.
 */
#include "paging_fixture.h"

#include "paging_walk.h"

#define VA 0x40000000ull           /* 1 GiB: PML4 slot 0, PDPT entry 1 */
#define VA_NEXT (VA + (1ull << 30)) /* the next 1 GiB: same PD and PT index */
#define PA 0x1000000ull
#define PA_NEXT 0x2000000ull
#define PA_AGAIN 0x3000000ull
#define FLAGS (PTE_P | PTE_W)

static paddr_t pa_of(struct ptp *pool, vaddr_t va)
{
	paddr_t pa = 0;
	cr_assert_eq(vm_translate(pool, va, &pa, NULL), STATUS_OK, "%#lx", va);
	return pa;
}

/* The page directory a plain walk finds for va. */
static pte_t *pd_of(struct ptp *pool, vaddr_t va)
{
	int level;
	pte_t *e = vm_walk_plain(pool, va, PT_LEVEL_PD, &level);
	cr_assert_eq(level, PT_LEVEL_PD, "%#lx has a page directory", va);
	return e - PT_INDEX(va, PT_LEVEL_PD);
}

Test(walk_cache, answers_as_the_plain_walk_over_pages_huge_pages_and_holes)
{
	struct ptp *pool = fix_pool(64);
	cr_assert_eq(vm_map_range(pool, VA, PA, 3, FLAGS), STATUS_OK);
	cr_assert_eq(vm_map_range(pool, VA + 4 * PAGE_SIZE_2M, 0x400000, 512,
				  FLAGS | PTE_PS), STATUS_OK);
	const vaddr_t probes[] = {
		VA, VA + 2 * PAGE_SIZE + 0x123, VA + 3 * PAGE_SIZE, /* a PT */
		VA + 4 * PAGE_SIZE_2M + 0x5678,                     /* a 2M leaf */
		VA + 7 * PAGE_SIZE_2M,                 /* an absent PD entry */
		VA_NEXT,                               /* an absent PDPT entry */
	};
	const int stops[] = { PT_LEVEL_PT, PT_LEVEL_PD };
	for (unsigned s = 0; s < 2; s++)
		for (unsigned i = 0; i < sizeof probes / sizeof probes[0]; i++) {
			int plain_level, level;
			pte_t *plain = vm_walk_plain(pool, probes[i], stops[s],
						     &plain_level);
			/* the plain walk above filled the cache, if it could */
			pte_t *cached = vm_walk(pool, probes[i], stops[s], &level);
			cr_assert_eq(cached, plain, "va %#lx stop %d", probes[i],
				     stops[s]);
			cr_assert_eq(level, plain_level, "va %#lx stop %d",
				     probes[i], stops[s]);
		}
	cr_assert(vm_walk_cache_holds(pool, VA), "the probes used the cache");
}

/*
 * vm_translate answers from the cache without a call (vm_walk_quick):
 * each question asked with the cache stale (the whole way) and again with
 * it holding VA's region gets the same status, address, flags and err
 * event. Offsets in a page, a 2 MiB page, an absent page in a present
 * table, an absent page directory entry and a missing pa.
 */
Test(walk_cache, translate_answers_the_same_through_the_cache_as_without)
{
	/* (more than 2 MiB of pool: a 2 MiB page can lie over its pages, as
	 * the kernel's direct map does, and look like a table in it) */
	struct ptp *pool = fix_pool(1024);
	paddr_t over_pool = vm_align_down(pool->pa + PAGE_SIZE_2M - 1,
					  PAGE_SIZE_2M);
	cr_assert_lt(over_pool - pool->pa, pool->pages * PAGE_SIZE);
	cr_assert_eq(vm_map_range(pool, VA, PA, 3, FLAGS | PTE_NX), STATUS_OK);
	cr_assert_eq(vm_map_range(pool, VA + 4 * PAGE_SIZE_2M, 0x400000, 512,
				  FLAGS | PTE_PS), STATUS_OK);
	cr_assert_eq(vm_map_range(pool, VA + 5 * PAGE_SIZE_2M, over_pool, 512,
				  FLAGS | PTE_PS), STATUS_OK);
	const vaddr_t probes[] = {
		VA + 0x123, VA + 2 * PAGE_SIZE + 0xfff, VA + 3 * PAGE_SIZE,
		VA + 4 * PAGE_SIZE_2M + 0x5678, VA + 5 * PAGE_SIZE_2M + 0x9abc,
		VA + 7 * PAGE_SIZE_2M,
	};
	for (unsigned i = 0; i < sizeof probes / sizeof probes[0]; i++) {
		for (int with_pa = 0; with_pa < 2; with_pa++) {
			status_t st[2];
			paddr_t pa[2] = { 0, 0 };
			uint64_t flags[2] = { 0, 0 };
			char err[2][160];
			for (int warm = 0; warm < 2; warm++) {
				if (!warm)
					vm_walk_forget();
				else
					pd_of(pool, VA); /* the cache holds VA */
				host_trace_clear();
				st[warm] = vm_translate(pool, probes[i],
							with_pa ? &pa[warm] : NULL,
							&flags[warm]);
				const char *e = host_trace_last("err.");
				/* (from the event's name on: not its number) */
				const char *name = e ? strchr(e, ' ') : NULL;
				snprintf(err[warm], sizeof err[warm], "%s",
					 name ? name : "none");
			}
			cr_assert_eq(st[1], st[0], "va %#lx pa %d", probes[i], with_pa);
			cr_assert_eq(pa[1], pa[0], "va %#lx", probes[i]);
			cr_assert_eq(flags[1], flags[0], "va %#lx", probes[i]);
			cr_assert_str_eq(err[1], err[0], "va %#lx", probes[i]);
		}
	}
	/* and the answers themselves */
	paddr_t pa;
	uint64_t flags;
	cr_assert_eq(vm_translate(pool, VA + 2 * PAGE_SIZE + 0xfff, &pa, &flags),
		     STATUS_OK);
	cr_assert_eq(pa, PA + 2 * PAGE_SIZE + 0xfff);
	cr_assert_eq(flags, FLAGS | PTE_NX);
	cr_assert(vm_walk_cache_holds(pool, VA));
	cr_assert_eq(vm_translate(pool, VA, NULL, NULL), STATUS_INVALID_ARG);
	const char *err_line = host_trace_last("err.");
	cr_assert(err_line && strstr(err_line, "fn=vm_translate"));
}

/*
 * The trap: VA's tables are freed, VA_NEXT (same PD and PT indices, one
 * PDPT entry further) takes the freed pages, VA gets new tables. A cache
 * still naming VA's old page directory would answer with VA_NEXT's page.
 */
Test(walk_cache, translate_after_freed_tables_were_reused_sees_the_new_tables)
{
	struct ptp *pool = fix_pool(64);
	cr_assert_eq(vm_map(pool, VA, PA, FLAGS), STATUS_OK);
	cr_assert_eq(pa_of(pool, VA), PA);
	pte_t *old_pd = pd_of(pool, VA);
	cr_assert(vm_walk_cache_holds(pool, VA) && pool->walk_cache.pd == old_pd);

	cr_assert_eq(vm_unmap(pool, VA, 1), STATUS_OK);
	cr_assert_eq(vm_translate(pool, VA, &(paddr_t){ 0 }, NULL),
		     STATUS_NOT_MAPPED);
	cr_assert_eq(vm_map(pool, VA_NEXT, PA_NEXT, FLAGS), STATUS_OK);
	cr_assert_eq(vm_map(pool, VA, PA_AGAIN, FLAGS), STATUS_OK);
	cr_assert_eq(pa_of(pool, VA), PA_AGAIN);
	/* (pd_of walks plainly, so it refills the cache: it comes last.) */
	cr_assert_eq(pd_of(pool, VA_NEXT), old_pd,
		     "the trap was set: VA's old PD is VA_NEXT's now");
	cr_assert_eq(pa_of(pool, VA_NEXT), PA_NEXT);
	cr_assert_eq(pa_of(pool, VA), PA_AGAIN, "and back, from the cache");
}

/* The same trap through vm_walk itself, the other callers' way in
 * (unmap's and swap's single-page lookups), after a 2 MiB page replaced
 * the page table: the cached PD stays right, the entry is read anew. */
Test(walk_cache, a_huge_page_in_place_of_a_page_table_is_seen)
{
	struct ptp *pool = fix_pool(64);
	cr_assert_eq(vm_map(pool, VA, PA, FLAGS), STATUS_OK);
	cr_assert_eq(vm_map(pool, VA + PAGE_SIZE_2M, PA, FLAGS), STATUS_OK);
	cr_assert_eq(pa_of(pool, VA), PA);
	cr_assert_eq(vm_unmap(pool, VA, 1), STATUS_OK); /* frees VA's PT */
	cr_assert_eq(vm_map_range(pool, VA, 0x400000, 512, FLAGS | PTE_PS),
		     STATUS_OK);
	int level;
	pte_t *e = vm_walk(pool, VA + 0x1234, PT_LEVEL_PT, &level);
	cr_assert_eq(level, PT_LEVEL_PD);
	cr_assert(e->raw & PTE_PS);
	cr_assert_eq(pa_of(pool, VA + 0x1234), 0x400000 + 0x1234);
}

/* A pool destroyed and another created in its place (its slot, its
 * physical pages): the new pool's translations are its own. */
Test(walk_cache, a_new_pool_in_a_destroyed_one_s_place_starts_stale)
{
	struct ptp *pool = fix_pool(64);
	cr_assert_eq(vm_map(pool, VA, PA, FLAGS), STATUS_OK);
	cr_assert_eq(pa_of(pool, VA), PA);
	paddr_t pool_pa = pool->pa;
	cr_assert_eq(ptp_destroy(pool), STATUS_OK);
	struct ptp *again;
	cr_assert_eq(ptp_create(64, PTP_MODIFIABLE, &again), STATUS_OK);
	cr_assert(again == pool && again->pa == pool_pa, "the same place");
	cr_assert(!vm_walk_cache_holds(again, VA));
	cr_assert_eq(vm_translate(again, VA, &(paddr_t){ 0 }, NULL),
		     STATUS_NOT_MAPPED);
}
