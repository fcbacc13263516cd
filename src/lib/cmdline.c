/* cmdline.c - parse the kernel command line into struct boot_config. */
#include "cmdline.h"

#include "trace.h"

struct word {
	const char *key, *value;
	size_t key_len, value_len;
};

static bool key_is(const struct word *w, const char *key)
{
	size_t i = 0;
	for (; i < w->key_len && key[i] == w->key[i]; i++)
		;
	return i == w->key_len && key[i] == '\0';
}

/* Decimal or 0x-hex, no sign, no overflow. */
static bool parse_number(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

static bool valid_name(const char *s, size_t len)
{
	if (len == 0 || len >= CMDLINE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void strcpy_small(char *dst, const char *src)
{
	while ((*dst++ = *src++))
		;
}

/* The keys, in cmdline.h's order; a key's bit in `seen` is 1 << index. */
static const char *const keys[] = { "run", "trace", "break", "pool", "mmap",
				    "user", "frames", "policy", "low" };
#define KEY_COUNT (sizeof keys / sizeof keys[0])

/* Index of w's key in keys, or KEY_COUNT for an unknown key. */
static unsigned key_index(const struct word *w)
{
	unsigned i = 0;
	while (i < KEY_COUNT && !key_is(w, keys[i]))
		i++;
	return i;
}

/* Applies one key=value word; returns NULL or the reason it is bad. */
static const char *apply(const struct word *w, struct boot_config *cfg)
{
	uint64_t n;
	if (key_is(w, "run") || key_is(w, "user") || key_is(w, "policy")) {
		if (!valid_name(w->value, w->value_len))
			return "bad name (a-z 0-9 _ -, at most 47)";
		char *name = key_is(w, "run") ? cfg->run
			     : key_is(w, "user") ? cfg->user : cfg->policy;
		for (size_t i = 0; i < w->value_len; i++)
			name[i] = w->value[i];
		name[w->value_len] = '\0';
	} else if (key_is(w, "trace")) {
		if (!trace_parse_categories(w->value, w->value_len,
					    &cfg->trace_mask, NULL))
			return "unknown trace category";
	} else if (key_is(w, "break")) {
		if (!parse_number(w->value, w->value_len, &n) || n == 0)
			return "bad event number (1 or more)";
		cfg->break_at = n;
	} else if (key_is(w, "pool")) {
		if (!parse_number(w->value, w->value_len, &n) ||
		    n < CMDLINE_POOL_MIN || n > CMDLINE_POOL_MAX)
			return "bad pool size (8 to 65536 pages)";
		cfg->pool_pages = n;
	} else if (key_is(w, "frames")) {
		if (!parse_number(w->value, w->value_len, &n) || n == 0 ||
		    n > CMDLINE_FRAMES_MAX)
			return "bad frame count (1 to 1024)";
		cfg->frames = n;
	} else if (key_is(w, "low")) {
		if (!parse_number(w->value, w->value_len, &n) || n == 0 ||
		    n > CMDLINE_LOW_MAX)
			return "bad low-water mark (1 to 1048576 pages)";
		cfg->low = n;
	} else if (key_is(w, "mmap")) {
		if (w->value_len == 0)
			return "empty memory map";
		cfg->mmap_spec = w->value;
		cfg->mmap_spec_len = w->value_len;
	} else {
		return "unknown key";
	}
	return NULL;
}

static void describe(struct cmdline_error *err, const char *start,
		     size_t len, const char *reason)
{
	if (!err)
		return;
	size_t n = len < sizeof err->word - 1 ? len : sizeof err->word - 1;
	for (size_t i = 0; i < n; i++)
		err->word[i] = start[i];
	err->word[n] = '\0';
	err->reason = reason;
}

status_t cmdline_parse(const char *text, struct boot_config *cfg,
		       struct cmdline_error *err)
{
	*cfg = (struct boot_config){
		.run = "demo",
		.trace_mask = TRACE_ALL_CATEGORIES,
		.pool_pages = CMDLINE_DEFAULT_POOL,
		.policy = "clock",
	};
	const char *p = text ? text : "";
	/* Checked first: a line cut to fit would boot a different machine
	 * (a cut mmap= word is still a valid map). Found by fuzz_cmdline. */
	size_t length = 0;
	while (length <= CMDLINE_MAX && p[length])
		length++;
	if (length > CMDLINE_MAX) {
		describe(err, p + CMDLINE_MAX, 0,
			 "command line longer than 1024 bytes");
		return STATUS_BAD_CMDLINE;
	}
	uint32_t seen = 0; /* keys already given */
	while (*p) {
		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		const char *start = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		size_t len = p - start;
		struct word w = { .key = start };
		while (w.key_len < len && start[w.key_len] != '=')
			w.key_len++;
		if (w.key_len == len || w.key_len == 0) {
			describe(err, start, len, "not key=value");
			return STATUS_BAD_CMDLINE;
		}
		w.value = start + w.key_len + 1;
		w.value_len = len - w.key_len - 1;
		/* A second run= (or any key) is refused, not "last wins": the
		 * line would boot what only one of its words says. */
		unsigned key = key_index(&w);
		const char *reason = key < KEY_COUNT && (seen >> key & 1)
					     ? "key given twice" : apply(&w, cfg);
		seen |= key < KEY_COUNT ? 1u << key : 0;
		if (reason) {
			describe(err, start, len, reason);
			return STATUS_BAD_CMDLINE;
		}
	}
	/* user=NAME alone runs the program: run=user. */
	if (cfg->user[0] && !(seen & 1u << 0))
		strcpy_small(cfg->run, "user");
	return STATUS_OK;
}
