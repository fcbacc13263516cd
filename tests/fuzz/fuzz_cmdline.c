/*
 * fuzz_cmdline.c - libFuzzer target: cmdline_parse against a model.
 *
 * The input bytes, cut at the first NUL, are a kernel command line. The
 * model below is a second, deliberately plain reading of the rules in
 * src/lib/cmdline.h (split on blanks, key=value, six keys each given at
 * most once, a line of at most CMDLINE_MAX bytes). For every input the real parser and the model
 * must agree on: accept or reject, which word is rejected, and every field
 * of struct boot_config, including after a rejection ("the defaults and
 * whatever came before the bad word"). Any disagreement aborts, and
 * libFuzzer saves the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "trace.h"

struct model {
	struct boot_config cfg;
	const char *bad_word; /* start of the rejected word, or NULL */
	size_t bad_len;
};

static void fail(const char *what, const char *text)
{
	fprintf(stderr, "fuzz_cmdline: %s\n  line: \"%.200s\"\n", what, text);
	abort();
}

/* Decimal or 0x/0X hex, no sign, no overflow: a 128-bit accumulator. */
static int model_number(const char *s, size_t len, uint64_t *out)
{
	unsigned base = 10;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16, s += 2, len -= 2;
	if (len == 0)
		return 0;
	unsigned __int128 v = 0;
	for (size_t i = 0; i < len; i++) {
		const char *digits = "0123456789abcdef";
		char c = s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i];
		const char *d = c ? memchr(digits, c, base) : NULL;
		if (!d)
			return 0;
		v = v * base + (unsigned)(d - digits);
		if (v > UINT64_MAX)
			return 0;
	}
	*out = (uint64_t)v;
	return 1;
}

static int model_categories(const char *s, size_t len, uint32_t *mask)
{
	uint32_t m = 0;
	for (size_t start = 0; start <= len;) {
		size_t end = start;
		while (end < len && s[end] != ',')
			end++;
		size_t n = end - start;
		int known = 0;
		if (n == 3 && !memcmp(s + start, "all", 3))
			m |= TRACE_ALL_CATEGORIES, known = 1;
		if (n == 4 && !memcmp(s + start, "none", 4))
			known = 1;
		for (int c = 0; c < TRACE_CATEGORY_COUNT; c++) {
			const char *name = trace_category_name(c);
			if (strlen(name) == n && !memcmp(s + start, name, n))
				m |= 1u << c, known = 1;
		}
		if (!known)
			return 0;
		start = end + 1;
	}
	*mask = m;
	return 1;
}

/* One key=value word; returns 0 if it is rejected. */
static int model_word(const char *w, size_t len, struct boot_config *cfg)
{
	const char *eq = memchr(w, '=', len);
	if (!eq || eq == w)
		return 0;
	size_t klen = eq - w, vlen = len - klen - 1;
	const char *v = eq + 1;
	uint64_t n;
	if ((klen == 3 && !memcmp(w, "run", 3)) ||
	    (klen == 4 && !memcmp(w, "user", 4))) {
		if (vlen == 0 || vlen >= CMDLINE_NAME_MAX ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") < vlen)
			return 0;
		char *name = klen == 3 ? cfg->run : cfg->user;
		memcpy(name, v, vlen);
		name[vlen] = '\0';
	} else if (klen == 5 && !memcmp(w, "trace", 5)) {
		return model_categories(v, vlen, &cfg->trace_mask);
	} else if (klen == 5 && !memcmp(w, "break", 5)) {
		if (!model_number(v, vlen, &n) || n == 0)
			return 0;
		cfg->break_at = n;
	} else if (klen == 4 && !memcmp(w, "pool", 4)) {
		if (!model_number(v, vlen, &n) || n < CMDLINE_POOL_MIN ||
		    n > CMDLINE_POOL_MAX)
			return 0;
		cfg->pool_pages = n;
	} else if (klen == 4 && !memcmp(w, "mmap", 4)) {
		if (vlen == 0)
			return 0;
		cfg->mmap_spec = v;
		cfg->mmap_spec_len = vlen;
	} else {
		return 0;
	}
	return 1;
}

static void model_parse(const char *text, struct model *m)
{
	memset(m, 0, sizeof *m);
	strcpy(m->cfg.run, "demo");
	m->cfg.trace_mask = TRACE_ALL_CATEGORIES;
	m->cfg.pool_pages = CMDLINE_DEFAULT_POOL;
	if (strlen(text) > CMDLINE_MAX) {
		m->bad_word = text + CMDLINE_MAX;
		return;
	}
	/* The keys given so far, each as "key=" (a key cannot hold '='). */
	char given[7][8] = { { 0 } };
	int given_count = 0;
	for (const char *p = text; *p;) {
		size_t blanks = strspn(p, " \t");
		p += blanks;
		size_t len = strcspn(p, " \t");
		if (len == 0)
			continue;
		int repeat = 0;
		for (int i = 0; i < given_count; i++)
			repeat |= !strncmp(p, given[i], strlen(given[i]));
		if (repeat || !model_word(p, len, &m->cfg)) {
			m->bad_word = p;
			m->bad_len = len;
			return;
		}
		/* A word model_word accepted has one of the six short keys. */
		size_t klen = (const char *)memchr(p, '=', len) - p + 1;
		memcpy(given[given_count++], p, klen);
		p += len;
	}
	/* user=NAME without run= runs it. */
	int run_given = 0;
	for (int i = 0; i < given_count; i++)
		run_given |= !strcmp(given[i], "run=");
	if (m->cfg.user[0] && !run_given)
		strcpy(m->cfg.run, "user");
}

static void compare(const char *text, status_t st,
		    const struct boot_config *cfg,
		    const struct cmdline_error *err, const struct model *m)
{
	if ((st == STATUS_OK) != (m->bad_word == NULL))
		fail(st == STATUS_OK ? "accepted, the model rejects"
				     : "rejected, the model accepts", text);
	if (st != STATUS_OK && st != STATUS_BAD_CMDLINE)
		fail("a rejection that is not bad_cmdline", text);
	if (strcmp(cfg->run, m->cfg.run) || strcmp(cfg->user, m->cfg.user) ||
	    cfg->trace_mask != m->cfg.trace_mask ||
	    cfg->break_at != m->cfg.break_at ||
	    cfg->pool_pages != m->cfg.pool_pages ||
	    cfg->mmap_spec != m->cfg.mmap_spec ||
	    cfg->mmap_spec_len != m->cfg.mmap_spec_len)
		fail("boot_config differs from the model", text);
	if (st == STATUS_OK)
		return;
	size_t n = m->bad_len < sizeof err->word - 1 ? m->bad_len
						     : sizeof err->word - 1;
	if (!err->reason || strlen(err->word) != n ||
	    memcmp(err->word, m->bad_word, n))
		fail("the error names another word than the model", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0'; /* the line ends at the first NUL, as in the kernel */
	struct boot_config cfg;
	struct cmdline_error err = { .word = "untouched" };
	struct model m;
	status_t st = cmdline_parse(text, &cfg, &err);
	model_parse(text, &m);
	compare(text, st, &cfg, &err, &m);
	free(text);
	return 0;
}
