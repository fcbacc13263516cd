/* test_lib.c - src/lib: formatting, the trace emitter, the command line. */
#include <criterion/criterion.h>
#include <string.h>
#include <stdio.h>

#include "cmdline.h"
#include "format.h"
#include "host.h"
#include "trace.h"

Test(format, writes_hex_with_prefix_even_for_zero)
{
	char buf[64];
	format(buf, sizeof buf, "%#lx %#x %x", 0ul, 0x1000u, 255u);
	cr_assert_str_eq(buf, "0x0 0x1000 ff");
}

Test(format, pads_and_signs_decimals)
{
	char buf[64];
	format(buf, sizeof buf, "%d %ld %05u %#08x", -42, -9000000000l, 7u,
	       0xabcu);
	cr_assert_str_eq(buf, "-42 -9000000000 00007 0x00000abc");
}

Test(format, cuts_at_capacity_and_terminates)
{
	char buf[8];
	size_t n = format(buf, sizeof buf, "%s", "abcdefghijkl");
	cr_assert_eq(n, 7);
	cr_assert_str_eq(buf, "abcdefg");
}

Test(format, shows_unknown_conversions_verbatim)
{
	char buf[16];
	const char *fmt = "a%qb%"; /* not a literal: gcc would reject it */
	format(buf, sizeof buf, fmt);
	cr_assert_str_eq(buf, "a%qb%");
}

Test(format, numbers_and_strings_equal_snprintf_at_every_capacity)
{
	/* Every digit count (the two-digits-a-step path ends on one or two),
	 * and every cut: the one-check-a-run copies must cut where put()
	 * a byte at a time did. '#' is left out: for zero it differs from C
	 * on purpose (format.h). */
	static const unsigned long values[] = {
		0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 12345, 99999, 100000,
		4294967295ul, 4294967296ul, 18446744073709551615ul,
	};
	for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
		for (size_t cap = 0; cap <= 48; cap++) {
			char got[64], want[64];
			memset(got, 'X', sizeof got);
			memset(want, 'X', sizeof want);
			size_t n = format(got, cap, "a=%lu b=%x c=%05lu d=%s.", values[v],
					  (unsigned)values[v], values[v] % 1000, "text");
			int full = snprintf(want, cap, "a=%lu b=%x c=%05lu d=%s.",
					    values[v], (unsigned)values[v],
					    values[v] % 1000, "text");
			size_t wn = cap == 0 ? 0
				    : (size_t)full < cap - 1 ? (size_t)full : cap - 1;
			cr_assert_eq(n, wn, "value %lu cap %zu", values[v], cap);
			/* The whole buffer: nothing written past the cut. */
			cr_assert_eq(memcmp(got, want, sizeof got), 0,
				     "value %lu cap %zu: %s", values[v], cap, got);
			char dec[32];
			n = format_decimal(dec, cap < sizeof dec ? cap : sizeof dec,
					   values[v]);
			snprintf(want, cap < sizeof dec ? cap : sizeof dec, "%lu",
				 values[v]);
			if (cap != 0)
				cr_assert_str_eq(dec, want, "value %lu cap %zu",
						 values[v], cap);
			cr_assert_eq(n, cap ? strlen(want) : 0);
		}
	}
}

Test(trace, header_metadata_and_numbered_events)
{
	host_trace_start_mask((1u << TRACE_PMM) | (1u << TRACE_VM));
	trace_event(TRACE_PMM, "set", "pa=%#lx n=%lu", 0x1000ul, 2ul);
	trace_event(TRACE_HEAP, "alloc", "size=%u", 8u); /* disabled */
	trace_event(TRACE_VM, "map", "va=%#lx", 0x2000ul);
	cr_assert_str_eq(host_trace_text(),
			 "@vitrine v2 cmdline=\"host\"\n"
			 "#cats cpu,pmm,vm,err,warn\n"
			 "1 pmm.set pa=0x1000 n=2\n"
			 "2 vm.map va=0x2000\n");
}

/* The sequence number is counted up as text (trace.c's seq_step): every
 * line's number equals printf's of its count, across each carry (9 -> 10,
 * 99 -> 100, 1999 -> 2000), and a new trace starts again at 1. */
Test(trace, sequence_numbers_count_up_in_decimal_across_every_carry)
{
	for (int run = 0; run < 2; run++) {
		host_trace_start_mask(1u << TRACE_PMM);
		for (unsigned long i = 1; i <= 10001; i++) {
			host_trace_clear();
			trace_event(TRACE_PMM, "set", "n=%lu", i);
			char want[64];
			snprintf(want, sizeof want, "%lu pmm.set n=%lu\n", i, i);
			cr_assert_str_eq(host_trace_text(), want);
		}
		trace_error_in(STATUS_BUSY, "f", "x=1");
		cr_assert(strstr(host_trace_text(), "\n10002 err.busy fn=f x=1\n"),
			  "%s", host_trace_text());
		trace_warn("w", "y=2");
		cr_assert(strstr(host_trace_text(), "\n10003 warn.w y=2\n"));
	}
}

Test(trace, crc32_is_the_ieee_check_value)
{
	/* The standard check value of CRC-32/ISO-HDLC, as zlib.crc32 gives. */
	cr_assert_eq(crc32_update(0, "123456789", 9), 0xcbf43926u);
	/* Continuing a CRC over two pieces equals one pass over both. */
	cr_assert_eq(crc32_update(crc32_update(0, "1234", 4), "56789", 5),
		     0xcbf43926u);
}

/* The CRC as the textbook writes it, a bit at a time: the reference. */
static uint32_t crc32_bitwise(uint32_t crc, const unsigned char *p, size_t len)
{
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1u));
	}
	return ~crc;
}

Test(trace, crc32_fast_path_equals_the_bitwise_crc_on_every_length_and_offset)
{
	/* The eight-byte path and the byte loop meet at every length mod 8,
	 * at every alignment, and when a CRC is continued mid-block. */
	unsigned char bytes[160];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof bytes; i++) {
		x = x * 1103515245u + 12345u;
		bytes[i] = (unsigned char)(x >> 16);
	}
	for (size_t off = 0; off < 8; off++) {
		for (size_t len = 0; len + off <= 150; len++) {
			uint32_t want = crc32_bitwise(0, bytes + off, len);
			cr_assert_eq(crc32_update(0, bytes + off, len), want,
				     "offset %zu length %zu", off, len);
			size_t cut = len / 3;
			cr_assert_eq(crc32_update(crc32_update(0, bytes + off, cut),
						  bytes + off + cut, len - cut),
				     want, "offset %zu length %zu cut %zu", off,
				     len, cut);
		}
	}
}

Test(trace, end_record_counts_events_and_crcs_the_text)
{
	host_trace_start();
	trace_event(TRACE_BOOT, "stage", "name=x");
	trace_error_in(STATUS_DOUBLE_FREE, "pmm_free_page", "pa=%#lx", 0x5000ul);
	char body[4096];
	strcpy(body, host_trace_text());
	trace_finish("ok");
	unsigned long crc = crc32_update(0, body, strlen(body));
	char want[128];
	snprintf(want, sizeof want, "@end count=2 crc=0x%08lx status=ok\n", crc);
	cr_assert(strstr(host_trace_text(), want), "%s", host_trace_text());
	cr_assert(strstr(body, "2 err.double_free fn=pmm_free_page pa=0x5000\n"));
}

/* Two API calls, the inner one failing inside the outer one. */
static status_t inner_call(void)
{
	TRACE_CALL();
	return trace_error(STATUS_NOT_FOUND, "who=inner");
}

static status_t outer_call(void)
{
	TRACE_CALL();
	inner_call();
	return trace_error(STATUS_BUSY, "who=outer");
}

Test(trace, an_error_names_the_call_it_happened_in_also_after_a_nested_call)
{
	host_trace_start();
	outer_call();
	trace_error(STATUS_WRAP, "who=none");
	cr_assert_not_null(strstr(host_trace_text(),
				  "1 err.not_found fn=inner_call who=inner\n"
				  "2 err.busy fn=outer_call who=outer\n"
				  "3 err.wrap fn=- who=none\n"),
			   "%s", host_trace_text());
}

Test(trace, outside_bytes_are_quoted_and_escaped_to_printable_ascii)
{
	char buf[TRACE_TEXT_MAX];
	cr_assert_str_eq(trace_quote("run=a b", buf, sizeof buf), "\"run=a b\"");
	cr_assert_str_eq(trace_quote("\"q\\\x01\x7f\xe9", buf, sizeof buf),
			 "\"\\x22q\\x5c\\x01\\x7f\\xe9\"");
	char tiny[12];
	cr_assert_str_eq(trace_quote("abcdefghijkl", tiny, sizeof tiny),
			 "\"abcdef...\"", "cut to fit, and says so");
	char small[10];
	trace_quote("\xff\xff\xff", small, sizeof small);
	cr_assert(strlen(small) < sizeof small);
}

Test(trace, the_header_escapes_a_command_line_of_any_bytes)
{
	host_trace_start_with("run=\"x y\" \xc3\xa9\x07");
	cr_assert_not_null(strstr(host_trace_text(),
				  "@vitrine v2 cmdline=\"run=\\x22x y\\x22 \\xc3\\xa9\\x07\"\n"),
			   "%s", host_trace_text());
}

Test(trace, nothing_is_written_after_the_end_record)
{
	host_trace_start();
	trace_finish("ok");
	trace_event(TRACE_BOOT, "stage", "name=late");
	cr_assert_null(strstr(host_trace_text(), "late"));
	cr_assert_eq(trace_event_count(), 0);
}

static int breakpoints;
static void count_break(void)
{
	breakpoints++;
}
static char last_line[300];
static void keep_line(const char *line, size_t len)
{
	memcpy(last_line, line, len);
	last_line[len] = '\0';
}

Test(trace, breakpoint_runs_just_before_event_n)
{
	static const struct trace_sink sink = { keep_line, count_break };
	trace_start(&sink, "a\"b\\c\n", TRACE_ALL_CATEGORIES, 3);
	trace_event(TRACE_BOOT, "one", NULL);
	trace_event(TRACE_BOOT, "two", NULL);
	cr_assert_eq(breakpoints, 0);
	trace_event(TRACE_BOOT, "three", NULL);
	cr_assert_eq(breakpoints, 1);
	cr_assert_str_eq(last_line, "3 boot.three\n");
	trace_event(TRACE_BOOT, "four", NULL);
	cr_assert_eq(breakpoints, 1);
}

static char all_lines[4096];
static void keep_all(const char *line, size_t len)
{
	strncat(all_lines, line, len);
}

Test(trace, header_quotes_special_bytes)
{
	static const struct trace_sink sink = { keep_all, NULL };
	all_lines[0] = '\0';
	trace_start(&sink, "a\"b\\c\n\x7f", 0, 0);
	cr_assert(strstr(all_lines,
			 "@vitrine v2 cmdline=\"a\\x22b\\x5cc\\x0a\\x7f\"\n"),
		  "%s", all_lines);
}

Test(trace, parses_category_lists)
{
	uint32_t mask = 0;
	const char *bad = NULL;
	cr_assert(trace_parse_categories("pmm,vm", 6, &mask, &bad));
	cr_assert_eq(mask, (1u << TRACE_PMM) | (1u << TRACE_VM));
	cr_assert(trace_parse_categories("all", 3, &mask, &bad));
	cr_assert_eq(mask, TRACE_ALL_CATEGORIES);
	cr_assert_not(trace_parse_categories("pmm,bogus", 9, &mask, &bad));
	cr_assert_eq(mask, TRACE_ALL_CATEGORIES, "mask changed on error");
	cr_assert_str_eq(bad, "bogus");
	cr_assert_not(trace_parse_categories("pmm,", 4, &mask, &bad));
}

Test(cmdline, empty_line_gives_defaults)
{
	struct boot_config cfg;
	struct cmdline_error err;
	cr_assert_eq(cmdline_parse(NULL, &cfg, &err), STATUS_OK);
	cr_assert_str_eq(cfg.run, "demo");
	cr_assert_eq(cfg.trace_mask, TRACE_ALL_CATEGORIES);
	cr_assert_eq(cfg.break_at, 0);
	cr_assert_eq(cfg.pool_pages, CMDLINE_DEFAULT_POOL);
	cr_assert_null(cfg.mmap_spec);
	cr_assert_eq(cfg.frames, 0, "no swap");
	cr_assert_eq(cfg.low, 0);
	cr_assert_str_eq(cfg.policy, "clock");
}

Test(cmdline, reads_every_key)
{
	struct boot_config cfg;
	struct cmdline_error err;
	const char *line = "  run=pmm_tour trace=pmm,vm break=0x10 pool=64 "
			   "mmap=0:9fc00:1 frames=8 low=0x20 policy=fifo ";
	cr_assert_eq(cmdline_parse(line, &cfg, &err), STATUS_OK);
	cr_assert_str_eq(cfg.run, "pmm_tour");
	cr_assert_eq(cfg.trace_mask, (1u << TRACE_PMM) | (1u << TRACE_VM));
	cr_assert_eq(cfg.break_at, 16);
	cr_assert_eq(cfg.pool_pages, 64);
	cr_assert_eq(cfg.mmap_spec_len, 9);
	cr_assert_eq(strncmp(cfg.mmap_spec, "0:9fc00:1", 9), 0);
	cr_assert_eq(cfg.frames, 8);
	cr_assert_eq(cfg.low, 32);
	cr_assert_str_eq(cfg.policy, "fifo");
}

static void expect_bad(const char *line, const char *word, const char *reason)
{
	struct boot_config cfg;
	struct cmdline_error err;
	cr_assert_eq(cmdline_parse(line, &cfg, &err), STATUS_BAD_CMDLINE,
		     "accepted \"%s\"", line);
	cr_assert_str_eq(err.word, word);
	cr_assert_str_eq(err.reason, reason);
}

Test(cmdline, reports_the_bad_word_and_why)
{
	expect_bad("bogus=1", "bogus=1", "unknown key");
	expect_bad("run=demo novalue", "novalue", "not key=value");
	expect_bad("=x", "=x", "not key=value");
	expect_bad("break=0", "break=0", "bad event number (1 or more)");
	expect_bad("break=12x", "break=12x", "bad event number (1 or more)");
	expect_bad("break=99999999999999999999", "break=99999999999999999999",
		   "bad event number (1 or more)");
	expect_bad("pool=4", "pool=4", "bad pool size (8 to 65536 pages)");
	expect_bad("pool=65537", "pool=65537", "bad pool size (8 to 65536 pages)");
	expect_bad("trace=pmm,nope", "trace=pmm,nope", "unknown trace category");
	expect_bad("run=Demo", "run=Demo", "bad name (a-z 0-9 _ -, at most 47)");
	expect_bad("mmap=", "mmap=", "empty memory map");
	expect_bad("frames=0", "frames=0", "bad frame count (1 to 1024)");
	expect_bad("frames=1025", "frames=1025", "bad frame count (1 to 1024)");
	expect_bad("low=0", "low=0", "bad low-water mark (1 to 1048576 pages)");
	expect_bad("low=1048577", "low=1048577", "bad low-water mark (1 to 1048576 pages)");
}

Test(cmdline, refuses_a_key_given_twice_and_keeps_the_first)
{
	expect_bad("run=a run=b", "run=b", "key given twice");
	expect_bad("trace=pmm pool=64 trace=vm", "trace=vm", "key given twice");
	expect_bad("mmap=0:1000:1 break=3 mmap=0:2000:1", "mmap=0:2000:1",
		   "key given twice");
	struct boot_config cfg;
	struct cmdline_error err;
	cr_assert_eq(cmdline_parse("pool=64 pool=64", &cfg, &err),
		     STATUS_BAD_CMDLINE, "the same value twice is a repeat too");
	cr_assert_eq(cfg.pool_pages, 64);
	cr_assert_eq(cmdline_parse("run=a run=b", &cfg, &err),
		     STATUS_BAD_CMDLINE);
	cr_assert_str_eq(cfg.run, "a", "the second word changed nothing");
}

Test(cmdline, rejects_an_over_long_line)
{
	char line[CMDLINE_MAX + 20];
	memset(line, ' ', sizeof line);
	memcpy(line + CMDLINE_MAX + 5, "run=x", 5);
	line[sizeof line - 1] = '\0';
	struct boot_config cfg;
	struct cmdline_error err;
	cr_assert_eq(cmdline_parse(line, &cfg, &err), STATUS_BAD_CMDLINE);
	cr_assert_str_eq(err.reason, "command line longer than 1024 bytes");
}
