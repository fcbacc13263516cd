/*
 * test_fuzz_regressions.c - bugs the fuzz targets (tests/fuzz/) found, each
 * kept as a host test named after what must hold. The inputs themselves are
 * in tests/fuzz/corpus/<target>/regress_*.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "cmdline.h"

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
