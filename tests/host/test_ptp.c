/* test_ptp.c - page table pools (src/mm/ptp.c). */
#include "paging_fixture.h"

#include "trace.h"

Test(ptp, create_puts_the_pml4_in_the_first_page)
{
	uint64_t before = 0;
	host_memory_init(FIX_MEMORY);
	host_trace_start();
	struct pmm_region ram = { FIX_RAM_BASE, FIX_RAM_PAGES, 0 };
	pmm_init(&ram, 1, NULL, 0);
	before = fix_pmm_free();
	struct ptp *pool;
	cr_assert_eq(ptp_create(16, PTP_MODIFIABLE, &pool), STATUS_OK);
	cr_assert_eq(fix_pmm_free(), before - 16);
	cr_assert(pmm_is_used(pool->pa) && pmm_is_used(pool->pa + 15 * PAGE_SIZE));
	cr_assert_eq(pool->used, 2, "PML4 and the bitmap page");
	cr_assert_eq(pool->window_va, POOL_WINDOW_VA(pool->id));
	char want[96];
	snprintf(want, sizeof want, "ptp.alloc id=%u pa=%#lx", pool->id, pool->pa);
	cr_assert_eq(host_trace_count(want), 1);
	cr_assert_eq(host_trace_count("pt.new"), 1);
	cr_assert(strstr(host_trace_last("pt.new"), "level=4 parent=0x0 index=0"));
}

Test(ptp, bump_hands_out_pages_in_order_then_the_bitmap_reuses_freed_ones)
{
	fix_machine();
	struct ptp *pool;
	ptp_create(8, PTP_MODIFIABLE, &pool);
	paddr_t a, b, c, d;
	ptp_alloc_page(pool, &a);
	ptp_alloc_page(pool, &b);
	cr_assert_eq(a, pool->pa + PAGE_SIZE);
	cr_assert_eq(b, pool->pa + 2 * PAGE_SIZE);
	ptp_seal(pool);
	cr_assert_eq(ptp_alloc_page(pool, &c), STATUS_OK);
	cr_assert_eq(c, pool->pa + 3 * PAGE_SIZE, "the bitmap was seeded");
	memset(ptp_table(a), 0xab, PAGE_SIZE);
	cr_assert_eq(ptp_free_page(pool, a), STATUS_OK);
	cr_assert_eq(ptp_alloc_page(pool, &d), STATUS_OK);
	cr_assert_eq(d, a);
	cr_assert_eq(ptp_table(d)[7].raw, 0, "a page is zeroed when handed out");
}

Test(ptp, first_free_seals_the_pool)
{
	fix_machine();
	struct ptp *pool;
	ptp_create(8, PTP_MODIFIABLE, &pool);
	paddr_t a, b;
	ptp_alloc_page(pool, &a);
	ptp_alloc_page(pool, &b);
	cr_assert_not(pool->sealed);
	cr_assert_eq(ptp_free_page(pool, a), STATUS_OK);
	cr_assert(pool->sealed);
	paddr_t c;
	ptp_alloc_page(pool, &c);
	cr_assert_eq(c, a);
}

Test(ptp, exhausted_pool_says_so_once_and_changes_nothing)
{
	struct ptp *pool = fix_pool(4); /* PML4, bitmap, 2 free */
	paddr_t p;
	cr_assert_eq(ptp_alloc_page(pool, &p), STATUS_OK);
	cr_assert_eq(ptp_alloc_page(pool, &p), STATUS_OK);
	uint64_t used = pool->used;
	cr_assert_eq(ptp_alloc_page(pool, &p), STATUS_POOL_EXHAUSTED);
	cr_assert_eq(pool->used, used);
	cr_assert_eq(host_trace_count("err.pool_exhausted"), 1);
}

Test(ptp, free_refuses_pages_that_are_not_free_pool_table_pages)
{
	struct ptp *pool = fix_pool(8);
	paddr_t a;
	ptp_alloc_page(pool, &a);
	cr_assert_eq(ptp_free_page(pool, pool->pa), STATUS_NOT_POOL_PAGE, "PML4");
	cr_assert_eq(ptp_free_page(pool, pool->pa + 7 * PAGE_SIZE),
		     STATUS_NOT_POOL_PAGE, "bitmap");
	cr_assert_eq(ptp_free_page(pool, pool->pa + 8 * PAGE_SIZE),
		     STATUS_NOT_POOL_PAGE, "outside");
	cr_assert_eq(ptp_free_page(pool, a + 8), STATUS_NOT_POOL_PAGE, "unaligned");
	cr_assert_eq(ptp_free_page(pool, a), STATUS_OK);
	cr_assert_eq(ptp_free_page(pool, a), STATUS_DOUBLE_FREE);
	cr_assert_eq(ptp_free_page(pool, pool->pa + 3 * PAGE_SIZE),
		     STATUS_DOUBLE_FREE, "never handed out");
	cr_assert_eq(host_trace_count("err."), 6);
}

Test(ptp, create_checks_its_size_and_the_number_of_pools)
{
	fix_machine();
	struct ptp *pool;
	cr_assert_eq(ptp_create(1, PTP_MODIFIABLE, &pool), STATUS_ZERO_COUNT);
	cr_assert_eq(ptp_create(70000, PTP_MODIFIABLE, &pool), STATUS_TOO_LARGE);
	for (unsigned i = 0; i < PTP_MAX_POOLS; i++)
		cr_assert_eq(ptp_create(2, PTP_UNMODIFIABLE, &pool), STATUS_OK);
	cr_assert_eq(ptp_create(2, PTP_UNMODIFIABLE, &pool), STATUS_BUSY);
	cr_assert_eq(ptp_destroy(pool), STATUS_OK);
	uint64_t free_pages = fix_pmm_free();
	cr_assert_eq(ptp_create(FIX_RAM_PAGES, PTP_MODIFIABLE, &pool),
		     STATUS_NO_MEMORY);
	cr_assert_eq(fix_pmm_free(), free_pages);
}

Test(ptp, destroy_returns_every_page_but_not_the_pool_in_cr3)
{
	fix_machine();
	uint64_t before = fix_pmm_free();
	struct ptp *pool;
	ptp_create(32, PTP_UNMODIFIABLE, &pool);
	arch_write_cr3(pool->pa);
	cr_assert_eq(ptp_destroy(pool), STATUS_BUSY);
	arch_write_cr3(0);
	cr_assert_eq(ptp_destroy(pool), STATUS_OK);
	cr_assert_eq(fix_pmm_free(), before);
	cr_assert_not(pool->live);
	cr_assert_eq(ptp_destroy(pool), STATUS_INVALID_ARG);
}

Test(ptp, bitmap_hands_out_every_page_exactly_once)
{
	struct ptp *pool = fix_pool(200); /* 198 pages to hand out */
	static bool seen[200];
	paddr_t pa;
	for (int i = 0; i < 198; i++) {
		cr_assert_eq(ptp_alloc_page(pool, &pa), STATUS_OK, "page %d", i);
		uint64_t index = (pa - pool->pa) / PAGE_SIZE;
		cr_assert(index > 0 && index < 199 && !seen[index], "page %lu", index);
		seen[index] = true;
	}
	cr_assert_eq(ptp_alloc_page(pool, &pa), STATUS_POOL_EXHAUSTED);
	for (uint64_t i = 3; i < 199; i += 5)
		cr_assert_eq(ptp_free_page(pool, pool->pa + i * PAGE_SIZE), STATUS_OK);
	for (uint64_t i = 3; i < 199; i += 5) {
		cr_assert_eq(ptp_alloc_page(pool, &pa), STATUS_OK);
		cr_assert_eq((pa - pool->pa) / PAGE_SIZE % 5, 3, "only freed pages");
	}
	cr_assert_eq(ptp_free_pages(pool), 0);
}
