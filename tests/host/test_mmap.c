/*
 * test_mmap.c - memory map analysis, mmap=SPEC, reservations and mm_init,
 * on simulated memory: every repair (warn.mmap_*) and every rejection.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "host.h"
#include "mm.h"
#include "mmap.h"
#include "pmm.h"
#include "trace.h"

#define MIB (1ull << 20)

static uint64_t tag_buf[MMAP_TAG_BYTES / 8 + 1];

static const struct mb2_tag_mmap *spec_tag(const char *spec)
{
	cr_assert_eq(mmap_spec_to_tag(spec, strlen(spec), tag_buf,
				      sizeof tag_buf), STATUS_OK, "%s",
		     host_trace_text());
	return (const void *)tag_buf;
}

/* Analyses SPEC into *out; returns the status. */
static status_t analyse(const char *spec, struct mmap_usable *out)
{
	host_trace_start();
	return mmap_read_tag(spec_tag(spec), "cmdline", out);
}

static void assert_range(const struct mmap_usable *u, size_t i, paddr_t base,
			 uint64_t bytes)
{
	cr_assert_gt(u->count, i);
	cr_assert_eq(u->ranges[i].base, base, "range %zu base %#lx", i,
		     u->ranges[i].base);
	cr_assert_eq(u->ranges[i].pages * PAGE_SIZE, bytes, "range %zu: %#llx",
		     i, u->ranges[i].pages * PAGE_SIZE);
}

static void assert_rejected(status_t st, const char *why)
{
	char needle[64];
	snprintf(needle, sizeof needle, "err.bad_mmap fn=mmap_read_tag why=%s",
		 why);
	cr_assert_eq(st, STATUS_BAD_MMAP);
	cr_assert_eq(host_trace_count(" err."), 1, "%s", host_trace_text());
	cr_assert_eq(host_trace_count(needle), 1, "%s", host_trace_text());
	cr_assert_eq(host_trace_count("mmap.done"), 0);
}

/* ---- SPEC -------------------------------------------------------------------- */

Test(mmap, spec_becomes_a_multiboot2_map_tag)
{
	host_trace_start();
	const struct mb2_tag_mmap *tag =
		spec_tag("0:9fc00:usable,0x100000:7F00000:1,fffc0000:40000:"
			 "reserved,5000:1000:9");
	cr_assert_eq(tag->tag.type, MB2_TAG_MMAP);
	cr_assert_eq(tag->entry_size, 24);
	cr_assert_eq(tag->entry_version, 0);
	cr_assert_eq(tag->tag.size, 16 + 4 * 24);
	const struct mb2_mmap_entry *e = (const void *)(tag + 1);
	cr_assert_eq(e[0].length, 0x9fc00);
	cr_assert_eq(e[1].base_addr, 0x100000);
	cr_assert_eq(e[1].length, 0x7f00000);
	cr_assert_eq(e[1].type, 1);
	cr_assert_eq(e[2].type, MMAP_RESERVED);
	cr_assert_eq(e[3].type, 9);
}

Test(mmap, spec_sets_entry_size_and_version)
{
	host_trace_start();
	const struct mb2_tag_mmap *tag =
		spec_tag("esize:32,version:1,100000:1000:usable,300000:1000:1");
	cr_assert_eq(tag->entry_size, 32);
	cr_assert_eq(tag->entry_version, 1);
	cr_assert_eq(tag->tag.size, 16 + 2 * 32);
	const struct mb2_mmap_entry *second =
		(const void *)((const uint8_t *)(tag + 1) + 32);
	cr_assert_eq(second->base_addr, 0x300000);
}

Test(mmap, bad_specs_are_one_readable_error_each)
{
	static const struct {
		const char *spec, *reason;
	} bad[] = {
		{ "100000:xyz:1", "bad hex LEN" },
		{ "g00000:1000:1", "bad hex BASE" },
		{ "100000:1000", "want BASE:LEN:TYPE" },
		{ "100000:1000:1:4", "want BASE:LEN:TYPE" },
		{ "100000:1000:ram", "bad TYPE" },
		{ "100000:1000:1,,", "empty item" },
		{ "esize:x", "bad decimal number" },
		{ "esize:2a", "bad decimal number" }, /* 'a' is no decimal digit */
		{ "esize:128,100000:1000:1", "entry size too large" },
		{ "10000000000000000:1000:1", "bad hex BASE" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		host_trace_start();
		cr_assert_eq(mmap_spec_to_tag(bad[i].spec, strlen(bad[i].spec),
					      tag_buf, sizeof tag_buf),
			     STATUS_BAD_CMDLINE, "%s", bad[i].spec);
		cr_assert_eq(host_trace_count(" err."), 1);
		char needle[80];
		snprintf(needle, sizeof needle, "reason=\"%s\"", bad[i].reason);
		cr_assert_eq(host_trace_count(needle), 1, "%s: %s", bad[i].spec,
			     host_trace_text());
	}
}

Test(mmap, spec_can_hold_one_entry_more_than_the_reader_takes)
{
	char spec[2048] = "";
	for (int i = 0; i <= MMAP_MAX_ENTRIES; i++)
		sprintf(spec + strlen(spec), "%s%x000:1000:1", i ? "," : "",
			0x100 + 2 * i);
	struct mmap_usable u;
	assert_rejected(analyse(spec, &u), "too_many");
	char last[32];
	snprintf(last, sizeof last, "%s", strrchr(spec, ','));
	strcat(spec, last); /* one more: the SPEC itself refuses */
	host_trace_start();
	cr_assert_eq(mmap_spec_to_tag(spec, strlen(spec), tag_buf, sizeof tag_buf),
		     STATUS_BAD_CMDLINE);
	cr_assert_eq(host_trace_count("reason=\"too many entries\""), 1);
}

/* ---- analysis ---------------------------------------------------------------- */

Test(mmap, a_clean_map_gives_page_aligned_usable_ranges)
{
	struct mmap_usable u;
	cr_assert_eq(analyse("0:9fc00:usable,9fc00:400:reserved,f0000:10000:"
			     "reserved,100000:7ef0800:usable,7ff0800:f800:acpi",
			     &u), STATUS_OK);
	cr_assert_eq(u.count, 2);
	assert_range(&u, 0, 0, 0x9f000);
	assert_range(&u, 1, 0x100000, 0x7ef0000);
	cr_assert_eq(u.pages, (0x9f000 + 0x7ef0000) / PAGE_SIZE);
	cr_assert_eq(u.highest, 0x7ff0000);
	const char *t = host_trace_text();
	cr_assert(strstr(t, "1 mmap.source from=cmdline entries=5\n"), "%s", t);
	cr_assert(strstr(t, "2 mmap.entry base=0x0 len=0x9fc00 type=usable\n"));
	cr_assert(strstr(t, "6 mmap.entry base=0x7ff0800 len=0xf800 type=acpi\n"));
	cr_assert(strstr(t, "7 mmap.usable base=0x0 len=0x9f000\n"));
	cr_assert(strstr(t, "8 mmap.usable base=0x100000 len=0x7ef0000\n"));
	cr_assert(strstr(t, "9 mmap.done usable_pages=32655 highest=0x7ff0000\n"));
	cr_assert_eq(host_trace_count(" warn."), 0);
}

/* Found by make mutate: no test had a usable range starting inside a page,
 * so rounding its start down (a page partly firmware's) went unnoticed. */
Test(mmap, a_range_starting_inside_a_page_starts_at_the_next_page)
{
	struct mmap_usable u;
	cr_assert_eq(analyse("0:9f000:usable,100800:7000:usable", &u), STATUS_OK);
	cr_assert_eq(u.count, 2);
	assert_range(&u, 1, 0x101000, 0x6000);
	cr_assert_eq(u.pages, 0x9f + 6);
}

Test(mmap, unsorted_entries_are_sorted_with_one_warning)
{
	struct mmap_usable u;
	cr_assert_eq(analyse("400000:100000:1,0:9f000:1,100000:100000:1", &u),
		     STATUS_OK);
	cr_assert_eq(host_trace_count("warn.mmap_unsorted index=1 base=0x0"), 1,
		     "%s", host_trace_text());
	cr_assert_eq(u.count, 3);
	assert_range(&u, 0, 0, 0x9f000);
	assert_range(&u, 1, 0x100000, 0x100000);
	assert_range(&u, 2, 0x400000, 0x100000);
	cr_assert_eq(u.highest, 0x500000);
}

Test(mmap, overlap_of_usable_and_reserved_is_never_usable_in_either_order)
{
	const char *specs[] = { "100000:400000:1,200000:100000:2",
				"200000:100000:2,100000:400000:1" };
	for (int i = 0; i < 2; i++) {
		struct mmap_usable u;
		cr_assert_eq(analyse(specs[i], &u), STATUS_OK);
		cr_assert_eq(host_trace_count("warn.mmap_overlap"), 1);
		cr_assert_eq(u.count, 2);
		assert_range(&u, 0, 0x100000, 0x100000);
		assert_range(&u, 1, 0x300000, 0x200000);
	}
}

Test(mmap, overlapping_usable_entries_merge)
{
	struct mmap_usable u;
	cr_assert_eq(analyse("100000:200000:1,180000:300000:1,480000:80000:1",
			     &u), STATUS_OK);
	cr_assert_eq(host_trace_count("warn.mmap_overlap base=0x100000 "
				      "len=0x200000 type=1 with_base=0x180000"),
		     1, "%s", host_trace_text());
	cr_assert_eq(u.count, 1, "touching ranges merge too");
	assert_range(&u, 0, 0x100000, 0x400000);
}

Test(mmap, zero_length_entries_are_dropped)
{
	struct mmap_usable u;
	cr_assert_eq(analyse("100000:0:2,100000:100000:1,300000:0:1", &u),
		     STATUS_OK);
	cr_assert_eq(host_trace_count("warn.mmap_zero_length"), 2);
	cr_assert_eq(host_trace_count("warn.mmap_overlap"), 0);
	assert_range(&u, 0, 0x100000, 0x100000);
}

Test(mmap, entries_past_the_address_width_or_wrapping_are_cut)
{
	struct mmap_usable u;
	cr_assert_eq(analyse("100000:100000:1,ffffffffffff0000:20000:2,"
			     "fffff0000000:ffff000000000000:2", &u),
		     STATUS_OK);
	cr_assert_eq(host_trace_count("warn.mmap_beyond_width"), 2, "%s",
		     host_trace_text());
	cr_assert_eq(host_trace_count("kept=0x0"), 1);
	cr_assert_eq(host_trace_count("kept=0xf000010000000"), 1);
	assert_range(&u, 0, 0x100000, 0x100000);
}

Test(mmap, usable_ram_above_4_gib_is_clipped)
{
	struct mmap_usable u;
	cr_assert_eq(analyse("100000:fff00000:1,100000000:40000000:1", &u),
		     STATUS_OK);
	cr_assert_eq(host_trace_count("warn.mmap_clipped base=0x100000000 "
				      "len=0x40000000 why=direct_map"), 1,
		     "%s", host_trace_text());
	cr_assert_eq(u.count, 1);
	assert_range(&u, 0, 0x100000, 0xfff00000);
	cr_assert_eq(u.highest, 4ull << 30);
}

Test(mmap, other_types_are_not_usable_and_unknown_ones_print_as_numbers)
{
	struct mmap_usable u;
	cr_assert_eq(analyse("100000:100000:1,200000:1000:acpi,201000:1000:nvs,"
			     "202000:1000:bad,203000:1000:7,204000:1000:1", &u),
		     STATUS_OK);
	cr_assert_eq(host_trace_count("len=0x1000 type=7"), 1);
	cr_assert_eq(u.count, 2);
	assert_range(&u, 1, 0x204000, 0x1000);
}

Test(mmap, holes_between_ranges_stay_out)
{
	struct mmap_usable u;
	cr_assert_eq(analyse("100000:100000:1,300000:100000:1,800000:800000:1",
			     &u), STATUS_OK);
	cr_assert_eq(u.count, 3);
	assert_range(&u, 2, 0x800000, 0x800000);
	cr_assert_eq(u.pages, (0x100000 + 0x100000 + 0x800000) / PAGE_SIZE);
}

Test(mmap, bad_entry_sizes_are_rejected)
{
	struct mmap_usable u;
	assert_rejected(analyse("esize:16,100000:100000:1", &u), "entry_size");
	assert_rejected(analyse("esize:28,100000:100000:1", &u), "entry_size");
	cr_assert_eq(analyse("esize:32,100000:100000:1", &u), STATUS_OK);
	assert_range(&u, 0, 0x100000, 0x100000);
}

Test(mmap, another_entry_version_is_read_with_a_warning)
{
	struct mmap_usable u;
	cr_assert_eq(analyse("version:2,100000:100000:1", &u), STATUS_OK);
	cr_assert_eq(host_trace_count("warn.mmap_version version=2"), 1);
}

Test(mmap, a_map_without_usable_ram_above_1_mib_is_rejected)
{
	struct mmap_usable u;
	assert_rejected(analyse("0:9f000:1,100000:7000000:2", &u),
			"no_usable_above_1mib");
	assert_rejected(analyse("100000:800:1", &u), "no_usable_above_1mib");
	/* RAM that ends exactly at 1 MiB has nothing above it (make mutate). */
	assert_rejected(analyse("0:100000:1", &u), "no_usable_above_1mib");
}

/* ---- the boot information ------------------------------------------------------ */

/* A multiboot2 information block: modules, a map, the end tag. */
static uint64_t mbi_buf[2048];

/* A boot information with `count` modules of 0x1801 bytes (2 pages rounded
 * out), the first at `first`, one every `stride` bytes, then (with_map) a
 * map of 8 MiB: 0..0x9f000 and 1..8 MiB usable. */
static const struct mb2_info *build_mbi_at(unsigned count, uint64_t first,
					   uint64_t stride, bool with_map)
{
	memset(mbi_buf, 0, sizeof mbi_buf);
	cr_assert_lt(count * 24 + 100, sizeof mbi_buf);
	uint8_t *p = (uint8_t *)mbi_buf + 8;
	for (unsigned i = 0; i < count; i++, p += 24) {
		struct mb2_tag_module *mod = (void *)p;
		mod->tag = (struct mb2_tag){ MB2_TAG_MODULE, sizeof *mod + 1 };
		mod->mod_start = (uint32_t)(first + i * stride);
		mod->mod_end = mod->mod_start + 0x1801;
	}
	if (with_map) {
		struct mb2_tag_mmap *map = (void *)p;
		struct mb2_mmap_entry *e = (void *)(map + 1);
		e[0] = (struct mb2_mmap_entry){ 0, 0x9f000, 1, 0 };
		e[1] = (struct mb2_mmap_entry){ 0x100000, 0x700000, 1, 0 };
		map->tag = (struct mb2_tag){ MB2_TAG_MMAP, 16 + 2 * 24 };
		map->entry_size = 24;
		p += 16 + 2 * 24;
	}
	*(struct mb2_tag *)p = (struct mb2_tag){ MB2_TAG_END, 8 };
	p += 8;
	struct mb2_info *info = (void *)mbi_buf;
	info->total_size = (uint32_t)(p - (uint8_t *)mbi_buf);
	return info;
}

/* One module at 0x180800..0x182001. */
static const struct mb2_info *build_mbi(bool with_map)
{
	return build_mbi_at(1, 0x180800, 0, with_map);
}

/* The 8 MiB map and `count` modules from 2 MiB, one every `stride`. */
static const struct mb2_info *build_mbi_modules(unsigned count, uint64_t stride)
{
	return build_mbi_at(count, 2 * MIB, stride, true);
}

Test(mmap, load_reads_the_multiboot2_map)
{
	host_trace_start();
	struct boot_config cfg = { 0 };
	struct mmap_usable u;
	cr_assert_eq(mmap_load(build_mbi(true), &cfg, &u), STATUS_OK);
	cr_assert_eq(host_trace_count("mmap.source from=multiboot2 entries=2"), 1);
	assert_range(&u, 1, 0x100000, 0x700000);
}

Test(mmap, load_without_a_map_is_rejected)
{
	host_trace_start();
	struct boot_config cfg = { 0 };
	struct mmap_usable u;
	assert_rejected(mmap_load(build_mbi(false), &cfg, &u), "no_map");
}

Test(mmap, the_command_line_map_replaces_the_firmware_map)
{
	host_trace_start();
	const char *spec = "100000:300000:1";
	struct boot_config cfg = { .mmap_spec = spec, .mmap_spec_len = 15 };
	struct mmap_usable u;
	cr_assert_eq(mmap_load(build_mbi(true), &cfg, &u), STATUS_OK);
	cr_assert_eq(host_trace_count("mmap.source from=cmdline entries=1"), 1);
	cr_assert_eq(u.count, 1);
	assert_range(&u, 0, 0x100000, 0x300000);
}

Test(mmap, reservations_cover_low_memory_kernel_bootinfo_and_modules)
{
	host_trace_start();
	const struct mb2_info *mbi = build_mbi(true);
	struct pmm_region r[8];
	size_t n;
	cr_assert_eq(mmap_reservations(mbi, 0x170100, 0x100000, 0x134800, r, 8,
				       &n), STATUS_OK);
	cr_assert_eq(n, 4);
	cr_assert(r[0].base == 0 && r[0].pages == 256 && r[0].reason == PMM_FIRST_MIB);
	cr_assert(r[1].base == 0x100000 && r[1].pages == 0x35 &&
		  r[1].reason == PMM_KERNEL);
	cr_assert(r[2].base == 0x170000 && r[2].pages == 1 &&
		  r[2].reason == PMM_BOOTINFO);
	cr_assert(r[3].base == 0x180000 && r[3].pages == 3 &&
		  r[3].reason == PMM_MODULE);
	cr_assert_eq(host_trace_count("mmap.reserve base=0x180000 len=0x3000 "
				      "why=module"), 1, "%s", host_trace_text());
}

Test(mmap, modules_loaded_one_after_the_other_share_one_slot)
{
	host_trace_start();
	struct pmm_region r[4];
	size_t n;
	cr_assert_eq(mmap_reservations(build_mbi_modules(100, 0x2000), 0x170100,
				       0x100000, 0x134800, r, 4, &n),
		     STATUS_OK, "%s", host_trace_text());
	cr_assert_eq(n, 4, "100 modules, more than slots, in one slot");
	cr_assert(r[3].base == 2 * MIB && r[3].pages == 200 &&
		  r[3].reason == PMM_MODULE, "%#lx %lu", r[3].base, r[3].pages);
	cr_assert_eq(host_trace_count("len=0x2000 why=module"), 100);
}

Test(mmap, more_scattered_reservations_than_slots_are_refused_not_dropped)
{
	host_trace_start();
	struct pmm_region r[8];
	size_t n;
	cr_assert_eq(mmap_reservations(build_mbi_modules(20, 0x3000), 0x170100,
				       0x100000, 0x134800, r, 8, &n),
		     STATUS_BAD_MMAP);
	cr_assert_eq(host_trace_count(" err."), 1, "%s", host_trace_text());
	cr_assert_eq(host_trace_count("err.bad_mmap fn=mmap_reservations "
				      "why=too_many_reservations base=0x20f000 "
				      "max=8"), 1, "%s", host_trace_text());
	cr_assert_eq(n, 8);
	cr_assert_eq(host_trace_count("why=module"), 6, "nothing after it");
}

/* ---- mm_init --------------------------------------------------------------------- */

/* A kernel at 1 MiB: 16 pages text, 8 rodata, 40 data (guard: data + 1). */
static struct kernel_image fake_image(void)
{
	const vaddr_t v = 0xFFFFFFFF80000000ull + 0x100000;
	return (struct kernel_image){
		.phys_start = 0x100000, .phys_end = 0x140000,
		.text_start = v, .text_end = v + 0x10000,
		.rodata_start = v + 0x10000, .rodata_end = v + 0x18000,
		.data_start = v + 0x18000, .data_end = v + 0x40000,
		.stack_guard = v + 0x19000,
	};
}

Test(mm, init_builds_the_bitmap_from_map_and_reservations)
{
	host_memory_init(8 * MIB);
	host_trace_start();
	struct kernel_image image = fake_image();
	struct boot_config cfg;
	struct cmdline_error err;
	cr_assert_eq(cmdline_parse("", &cfg, &err), STATUS_OK);
	cr_assert_eq(mm_init(build_mbi(true), 0x170000, &image, &cfg), STATUS_OK,
		     "%s", host_trace_text());
	struct pmm_stats s;
	pmm_get_stats(&s);
	cr_assert_eq(s.usable_pages, 0x9f + 0x700);
	/* low 0x9f + kernel 0x40 + bootinfo 1 + module 3 + bitmap 1 */
	cr_assert_eq(s.reserved_pages, 0x9f + 0x40 + 1 + 3 + 1);
	cr_assert(pmm_is_used(0x181000) && pmm_is_used(0x13f000));
	cr_assert_eq(pmm_bitmap_base(), 0x140000);
	cr_assert_eq(host_trace_count("boot.stage name=pmm"), 1);
}

/* 40 scattered modules, more than the 13 the boot once kept: every page of
 * every one is reserved, so no allocation (bitmap, pool) lands on one. */
Test(mm, init_reserves_every_module_whatever_their_number)
{
	host_memory_init(8 * MIB);
	host_trace_start();
	struct kernel_image image = fake_image();
	struct boot_config cfg;
	struct cmdline_error err;
	cr_assert_eq(cmdline_parse("", &cfg, &err), STATUS_OK);
	cr_assert_eq(mm_init(build_mbi_modules(40, 0x3000), 0x170000, &image,
			     &cfg), STATUS_OK, "%s", host_trace_text());
	struct pmm_stats s;
	pmm_get_stats(&s);
	/* low 0x9f + kernel 0x40 + bootinfo 1 + modules 40 * 2 + bitmap 1 */
	cr_assert_eq(s.reserved_pages, 0x9f + 0x40 + 1 + 80 + 1);
	cr_assert_eq(host_trace_count("why=module"), 2 * 40, "%s",
		     host_trace_text());
	for (unsigned i = 0; i < 40; i++) {
		char line[64];
		snprintf(line, sizeof line, "pmm.set pa=%#x n=2 why=module",
			 (unsigned)(2 * MIB + i * 0x3000));
		cr_assert_eq(host_trace_count(line), 1, "module %u", i);
	}
}

Test(mm, too_many_scattered_modules_stop_the_boot_before_the_bitmap)
{
	host_memory_init(8 * MIB);
	host_trace_start();
	struct kernel_image image = fake_image();
	struct boot_config cfg;
	struct cmdline_error err;
	cr_assert_eq(cmdline_parse("", &cfg, &err), STATUS_OK);
	cr_assert_eq(mm_init(build_mbi_modules(80, 0x3000), 0x170000, &image,
			     &cfg), STATUS_BAD_MMAP);
	cr_assert_eq(host_trace_count("err.bad_mmap fn=mmap_reservations "
				      "why=too_many_reservations"), 1);
	cr_assert_eq(host_trace_count("pmm."), 0);
}

Test(mm, a_map_too_small_for_the_bitmap_is_rejected)
{
	host_memory_init(8 * MIB);
	host_trace_start();
	const char *spec = "100000:40000:1";
	struct boot_config cfg = { .mmap_spec = spec, .mmap_spec_len = 14 };
	struct kernel_image image = fake_image();
	cr_assert_eq(mm_init(NULL, 0, &image, &cfg), STATUS_BAD_MMAP);
	cr_assert_eq(host_trace_count("err.no_memory fn=pmm_init"), 1);
	cr_assert_eq(host_trace_count("err.bad_mmap fn=mm_init "
				      "why=no_room_for_bitmap"), 1, "%s",
		     host_trace_text());
	cr_assert_eq(host_trace_count("boot.stage"), 0);
}

Test(mm, a_bad_spec_stops_before_the_bitmap)
{
	host_memory_init(8 * MIB);
	host_trace_start();
	const char *spec = "100000:zz:1";
	struct boot_config cfg = { .mmap_spec = spec, .mmap_spec_len = 11 };
	struct kernel_image image = { 0 };
	cr_assert_eq(mm_init(NULL, 0, &image, &cfg), STATUS_BAD_CMDLINE);
	cr_assert_eq(host_trace_count(" err."), 1);
	cr_assert_eq(host_trace_count("pmm."), 0);
}
