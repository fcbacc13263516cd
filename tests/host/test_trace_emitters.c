/*
 * test_trace_emitters.c - the emitters generated from the schema write the
 * bytes of their plain version.
 *
 * Every event of src/lib/trace.schema has two emitters: trace_<cat>_<event>
 * (build/gen/trace_events.inc: constant text and values written directly)
 * and trace_plain_<cat>_<event> (build/gen/trace_events_plain.h: the same
 * line through trace_event and a format string, as the kernel wrote it
 * before). Two traces are written with the same calls, one with each kind,
 * and must be the same bytes, CRC and end record included.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "trace.h"
#include "trace_events_pairs.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define PAIRS COUNT(trace_event_pairs)

enum { REASONS = 0
#define TRACE_REASON_ONE(sym, name) +1
	TRACE_REASON_LIST(TRACE_REASON_ONE)
#undef TRACE_REASON_ONE
};

/* Long words and texts: around the line's cut (254 bytes before the
 * newline) and past the quoting buffer's (TRACE_TEXT_MAX). */
static char word_long[8][301];
static char text_long[4][301];
static char bytes_all[300];

static const size_t word_lengths[8] = { 100, 200, 230, 240, 250, 253, 254, 300 };

static void fill_long_values(void)
{
	for (size_t w = 0; w < COUNT(word_long); w++) {
		for (size_t i = 0; i < word_lengths[w]; i++)
			word_long[w][i] = (char)('a' + (i + w) % 26);
		word_long[w][word_lengths[w]] = '\0';
	}
	static const size_t text_lengths[4] = { 120, 126, 200, 300 };
	for (size_t t = 0; t < COUNT(text_long); t++) {
		/* letters, and now and then a byte that is escaped */
		for (size_t i = 0; i < text_lengths[t]; i++)
			text_long[t][i] = i % (7 + t) == 3 ? (char)(0x80 + i % 100)
							: (char)('A' + i % 26);
		text_long[t][text_lengths[t]] = '\0';
	}
	for (size_t i = 0; i < sizeof bytes_all; i++)
		bytes_all[i] = (char)i;
}

static const uint64_t addr_values[] = {
	0, 1, 9, 0xf, 0x10, 0xff, 0x100, 0xfff, 0x1000, 0x100000, 0x10ff000,
	0x7fffffff000, 0xffff800000000000, 0xffffffff80004000,
	0x0123456789abcdef, 1ull << 63, UINT64_MAX,
};
static const uint64_t num_values[] = {
	0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65535, 4294967295,
	4294967296, 999999999999, 9999999999999999999ull,
	10000000000000000000ull, UINT64_MAX,
};
static const uint64_t flags_values[] = {
	0, TRACE_FLAG_P, TRACE_FLAG_P | TRACE_FLAG_W | TRACE_FLAG_NX,
	TRACE_FLAG_P | TRACE_FLAG_W | TRACE_FLAG_U | TRACE_FLAG_PWT |
		TRACE_FLAG_PCD | TRACE_FLAG_A | TRACE_FLAG_D | TRACE_FLAG_PS |
		TRACE_FLAG_G | TRACE_FLAG_OWN | TRACE_FLAG_PIN |
		TRACE_FLAG_COW | TRACE_FLAG_NX,
	1ull << 12, 0x8000000000000fffull,
	UINT64_MAX, /* unnamed bits: "?", cut at TRACE_FLAGS_NAME_MAX */
};

static const char *word_value(size_t i)
{
	static const char *const short_words[] = {
		"", "x", "4K", NULL, "a|b:c,d/e+f-g.h_i", "trace_event",
	};
	if (i < COUNT(short_words))
		return short_words[i];
	return word_long[(i - COUNT(short_words)) % COUNT(word_long)];
}
#define WORD_VALUES (6 + COUNT(word_long))

static const char *text_value(size_t i)
{
	static const char *const short_texts[] = {
		NULL, "", "plain", "q\"b\\s\x01\x1f\x7f\x80\xff", "run=demo",
	};
	if (i < COUNT(short_texts))
		return short_texts[i];
	return text_long[(i - COUNT(short_texts)) % COUNT(text_long)];
}
#define TEXT_VALUES (5 + COUNT(text_long))

static struct trace_bytes bytes_value(size_t i)
{
	switch (i % 6) {
	case 0: return (struct trace_bytes){ NULL, 0 };
	case 1: return (struct trace_bytes){ "a\0b", 3 };
	case 2: return (struct trace_bytes){ "hello\n", 6 };
	case 3: return (struct trace_bytes){ bytes_all, 256 };
	case 4: return (struct trace_bytes){ bytes_all + 0x20, 0x5f };
	default: return (struct trace_bytes){ word_long[7], 300 };
	}
}

static unsigned reason_value(size_t i)
{
	size_t n = REASONS + 3;
	i %= n;
	return i < REASONS ? (unsigned)i : i == REASONS ? REASONS
		: i == REASONS + 1 ? REASONS + 7 : UINT_MAX;
}

/* The values of round r: key position k takes value (r + k * spread) of
 * its type's list, so that with spread 1 neighbours differ and with
 * spread 0 every key takes the same (all the longest at once). */
static void values_of_round(struct trace_event_values *v, size_t r,
			    size_t spread)
{
	for (size_t k = 0; k < TRACE_EVENT_KEYS_MAX; k++) {
		size_t i = r + k * spread;
		v->addr[k] = addr_values[i % COUNT(addr_values)];
		v->num[k] = num_values[i % COUNT(num_values)];
		v->flags[k] = flags_values[i % COUNT(flags_values)];
		v->word[k] = word_value(i % WORD_VALUES);
		v->text[k] = text_value(i % TEXT_VALUES);
		v->bytes[k] = bytes_value(i);
		v->reason[k] = reason_value(i);
	}
}

#define ROUNDS 40

/* Writes the whole trace with the plain or the generated emitters; which
 * emitter wrote each line goes to names (if not NULL). Returns a copy. */
static char *write_trace(bool plain, uint32_t mask, const char **names,
			 size_t names_cap, size_t *lines)
{
	struct trace_event_values v;
	size_t n = 0;
	host_trace_start_mask(mask);
	for (size_t spread = 0; spread < 2; spread++) {
		for (size_t r = 0; r < ROUNDS; r++) {
			values_of_round(&v, r, spread);
			for (size_t e = 0; e < PAIRS; e++) {
				uint64_t before = trace_event_count();
				trace_event_pairs[e].call(plain, &v);
				if (trace_event_count() != before && names &&
				    n < names_cap)
					names[n++] = trace_event_pairs[e].name;
			}
		}
	}
	trace_finish("ok");
	if (lines)
		*lines = n;
	return strdup(host_trace_text());
}

/* Line number of the first difference of a and b (1 for the header). */
static size_t first_difference(const char *a, const char *b, const char **la,
			       const char **lb)
{
	size_t line = 1;
	const char *sa = a, *sb = b;
	for (; *a && *a == *b; a++, b++) {
		if (*a == '\n') {
			line++;
			sa = a + 1;
			sb = b + 1;
		}
	}
	*la = sa;
	*lb = sb;
	return line;
}

static void compare_both_kinds(uint32_t mask)
{
	static const char *names[PAIRS * ROUNDS * 2];
	size_t lines = 0;
	fill_long_values();
	char *fast = write_trace(false, mask, names, COUNT(names), &lines);
	char *plain = write_trace(true, mask, NULL, 0, NULL);
	if (strcmp(fast, plain) != 0) {
		const char *lf, *lp;
		size_t at = first_difference(fast, plain, &lf, &lp);
		/* lines 1-2 are the header and #cats: event k is line k + 2 */
		const char *who = at > 2 && at - 2 <= lines ? names[at - 3] : "?";
		cr_assert_fail("line %zu (%s) differs:\n generated: %.*s\n plain:     %.*s",
			       at, who, (int)strcspn(lf, "\n"), lf,
			       (int)strcspn(lp, "\n"), lp);
	}
	free(fast);
	free(plain);
}

Test(trace_emitters, every_event_writes_the_plain_versions_bytes_at_edge_values)
{
	compare_both_kinds(TRACE_ALL_CATEGORIES);
	/* Some lines must reach the cut, and the longest must be 255 bytes. */
	char *text = write_trace(false, TRACE_ALL_CATEGORIES, NULL, 0, NULL);
	size_t longest = 0, cut = 0;
	for (char *line = text; *line;) {
		size_t len = strcspn(line, "\n") + 1;
		longest = len > longest ? len : longest;
		cut += len == TRACE_LINE_MAX - 1;
		line += len;
	}
	free(text);
	cr_assert_eq(longest, TRACE_LINE_MAX - 1);
	cr_assert_gt(cut, 100, "only %zu lines reach the cut", cut);
}

Test(trace_emitters, with_categories_off_both_write_only_warn_and_cpu_events)
{
	compare_both_kinds(0);
	compare_both_kinds(1u << TRACE_PMM);
}

/* The hex and decimal writers at every length: each power of 2 and of 10,
 * one less and one more, and the largest (test.found is n:num align:num va:addr). */
Test(trace_emitters, numbers_of_every_digit_count_are_written_as_format_writes_them)
{
	uint64_t values[1 + 64 * 3 + 20 * 3];
	size_t n = 0;
	values[n++] = UINT64_MAX;
	for (unsigned b = 0; b < 64; b++) {
		values[n++] = (1ull << b) - 1;
		values[n++] = 1ull << b;
		values[n++] = (1ull << b) + 1;
	}
	uint64_t power = 1;
	for (unsigned d = 0; d < 20; d++, power *= 10) {
		values[n++] = power - 1;
		values[n++] = power;
		values[n++] = power + 1;
	}
	char *texts[2];
	for (int plain = 0; plain < 2; plain++) {
		host_trace_start();
		for (size_t i = 0; i < n; i++) {
			if (plain)
				trace_plain_test_found(values[i], values[n - 1 - i],
						       values[i]);
			else
				trace_test_found(values[i], values[n - 1 - i],
						 values[i]);
		}
		trace_finish("ok");
		texts[plain] = strdup(host_trace_text());
	}
	const char *lf, *lp;
	size_t at = first_difference(texts[0], texts[1], &lf, &lp);
	cr_assert_str_eq(texts[0], texts[1], "line %zu:\n %.*s\n %.*s", at,
			 (int)strcspn(lf, "\n"), lf, (int)strcspn(lp, "\n"), lp);
	cr_assert(strstr(texts[0], " va=0xffffffffffffffff\n"));
	cr_assert(strstr(texts[0], " n=18446744073709551615 "));
	free(texts[0]);
	free(texts[1]);
}

/* The plain path's cut, which the generated emitters copy: a line with
 * fields is cut at 254 bytes before its newline (trace_event, trace_warn
 * and the err events alike). */
Test(trace_emitters, a_line_with_fields_is_cut_at_254_bytes_and_its_newline)
{
	char big[400];
	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	host_trace_start();
	host_trace_clear();
	trace_event(TRACE_BOOT, "stage", "name=%s", big);
	trace_warn("panic", "where=%s", big);
	trace_error_in(STATUS_BUSY, "f", "x=%s", big);
	trace_boot_stage(big);
	char want[4 * 256] = "";
	const char *starts[] = { "1 boot.stage name=", "2 warn.panic where=",
				 "3 err.busy fn=f x=", "4 boot.stage name=" };
	for (size_t i = 0; i < COUNT(starts); i++) {
		size_t len = strlen(want);
		snprintf(want + len, sizeof want - len, "%s%.*s\n", starts[i],
			 (int)(254 - strlen(starts[i])), big);
	}
	cr_assert_str_eq(host_trace_text(), want);
}
