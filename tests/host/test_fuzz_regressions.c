/*
 * test_fuzz_regressions.c - bugs the fuzz targets (tests/fuzz/) found, each
 * kept as a host test named after what must hold. The inputs themselves are
 * in tests/fuzz/corpus/<target>/regress_*.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "host.h"
#include "mmap.h"
#include "alloc_fixture.h"
#include "paging_fixture.h"

/* fuzz_cmdline: a 1214-byte line whose last word straddled byte 1024 was
 * accepted; the kernel keeps only 1025 bytes, so it booted a cut mmap=. */
Test(cmdline, rejects_a_long_line_even_when_its_last_word_is_valid)
{
	static char line[CMDLINE_MAX + 200];
	strcpy(line, "run=demo mmap=");
	while (strlen(line) < CMDLINE_MAX + 100)
		strcat(line, "0x100000:0x1000:1,");
	struct boot_config cfg;
	struct cmdline_error err;
	cr_assert_eq(cmdline_parse(line, &cfg, &err), STATUS_BAD_CMDLINE);
	cr_assert_str_eq(err.reason, "command line longer than 1024 bytes");
	cr_assert_null(cfg.mmap_spec, "nothing of a rejected line is applied");
}

Test(cmdline, accepts_a_line_of_exactly_1024_bytes)
{
	static char line[CMDLINE_MAX + 1];
	memset(line, ' ', CMDLINE_MAX);
	memcpy(line + CMDLINE_MAX - 9, "pool=4096", 9);
	line[CMDLINE_MAX] = '\0';
	struct boot_config cfg;
	struct cmdline_error err;
	cr_assert_eq(cmdline_parse(line, &cfg, &err), STATUS_OK);
	cr_assert_eq(cfg.pool_pages, 4096);
	line[CMDLINE_MAX - 10] = 'x'; /* "xpool=4096" is one word more */
	line[CMDLINE_MAX - 11] = ' ';
	cr_assert_eq(cmdline_parse(line, &cfg, &err), STATUS_BAD_CMDLINE);
}

/* fuzz_mmap: a map tag of 8 bytes (its header only) at the very end of the
 * boot information made copy_entries read entry_size past the end. */
Test(mmap, a_map_tag_shorter_than_its_header_is_rejected_unread)
{
	static const uint32_t words[] = { 16, 0, MB2_TAG_MMAP, 8 };
	struct mb2_info *mbi = malloc(sizeof words); /* ASan sees past it */
	memcpy(mbi, words, sizeof words);
	struct mmap_usable out;
	host_trace_start();
	cr_assert_eq(mmap_load(mbi, NULL, &out), STATUS_BAD_MMAP);
	cr_assert_not_null(host_trace_last("err.bad_mmap fn=mmap_read_tag "
					   "why=entry_size size=8"));
	free(mbi);
}

/* fuzz_mm_diff: vm_map_new that ran out of memory halfway gave its pages
 * back, but pmm still counted them as handed out, so freeing one later
 * said double_free instead of not_allocated. It now counts first. */
Test(paging, map_new_out_of_memory_hands_out_no_page)
{
	struct ptp *pool = fix_pool(64);
	uint64_t free_pages = fix_pmm_free();
	host_trace_clear();
	cr_assert_eq(vm_map_new(pool, 0x40000000, free_pages + 1, PTE_P | PTE_W,
				PMM_TEST),
		     STATUS_NO_MEMORY);
	cr_assert_eq(host_trace_count(" pmm."), 0, "%s", host_trace_text());
	paddr_t pa = FIX_RAM_BASE;
	while (pmm_is_used(pa))
		pa += PAGE_SIZE;
	cr_assert_eq(pmm_free_page(pa), STATUS_NOT_ALLOCATED);
}

/* fuzz_mmap: a module tag of 8 bytes at the very end of the boot
 * information made mmap_reservations read mod_start past the end. */
Test(mmap, a_module_tag_shorter_than_its_fixed_part_is_skipped_with_a_warning)
{
	static const uint32_t words[] = { 16, 0, MB2_TAG_MODULE, 8 };
	struct mb2_info *mbi = malloc(sizeof words); /* ASan sees past it */
	memcpy(mbi, words, sizeof words);
	struct pmm_region held[4];
	host_trace_start();
	size_t n;
	cr_assert_eq(mmap_reservations(mbi, 0x10000, 0x100000, 0x180000, held,
				       4, &n), STATUS_OK);
	cr_assert_eq(n, 3, "first MiB, kernel, boot information; no module");
	cr_assert_not_null(host_trace_last("warn.mmap_bad_module size=8"));
	free(mbi);
}

/* fuzz_mm_diff (make check's 2000 runs, in a fresh clone): the fuzz
 * model, not pmm, was wrong. A kalloc that took pages and gave them back
 * within one call left them "never handed out" in the model, so it
 * expected not_allocated from a later free; pmm keeps the pages as handed
 * out, and a later free of them is a double free
 * (regress_kalloc_then_free_leaves_its_pages_handed_out). */
Test(kalloc, pages_kalloc_gave_back_free_as_a_double_free)
{
	fix_alloc(512);
	vaddr_t va;
	paddr_t pa;
	cr_assert_eq(kalloc(2, &va), STATUS_OK);
	cr_assert_eq(vm_translate(vm_kernel_pool, va, &pa, NULL), STATUS_OK);
	cr_assert_eq(kalloc_free(va, 2), STATUS_OK);
	cr_assert_eq(pmm_is_used(pa), 0, "the page is free again");
	cr_assert_eq(pmm_free_region(pa, 2), STATUS_DOUBLE_FREE);
	const char *err = host_trace_last("err.");
	cr_assert(err && strstr(err, "err.double_free fn=pmm_free_region"));
}
