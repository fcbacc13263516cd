/*
 * trace.c - the trace emitter (format in docs/trace-format.md).
 *
 * Each line is built whole in a buffer, added to the running CRC and handed
 * to the sink in one call: the kernel's sink sends it with a single
 * `rep outsb`, so a line is never interleaved with anything else.
 *
 * Two ways write a line, both through line_begin and line_end below: the
 * plain one, trace_event (and trace_error, trace_warn), formats its fields
 * from a format string; the emitters generated from the schema
 * (build/gen/trace_events.inc, included at the end of this file) write
 * their constant text and their values directly, with the writers of the
 * section "The generated emitters' writers". A host test compares the two
 * on every event of the schema.
 */
#include "trace.h"

#include "format.h"
#include "string.h"
#include "status.h"

static const char *const category_names[] = {
#define TRACE_CATEGORY_NAME(sym, name) name,
	TRACE_CATEGORY_LIST(TRACE_CATEGORY_NAME)
#undef TRACE_CATEGORY_NAME
};

static const char *const reason_names[] = {
#define TRACE_REASON_NAME(sym, name) name,
	TRACE_REASON_LIST(TRACE_REASON_NAME)
#undef TRACE_REASON_NAME
};

/* Flag names by bit, for trace_flags_name. */
static const char *const flag_names[64] = {
#define TRACE_FLAG_NAME(name, bit) [bit] = #name,
	TRACE_FLAG_LIST(TRACE_FLAG_NAME)
#undef TRACE_FLAG_NAME
};

/* Read inline by trace_enabled and TRACE_CALL (trace.h): every event and
 * every API call asks them, so the question costs a load, not a call. */
uint32_t trace_mask;
const char *trace_call_name;

/* Each category's name's length, the compiler's (sizeof of the literal):
 * a line's start copies the name without searching for its end. */
static const unsigned char category_lengths[] = {
#define TRACE_CATEGORY_LENGTH(sym, name) sizeof name - 1,
	TRACE_CATEGORY_LIST(TRACE_CATEGORY_LENGTH)
#undef TRACE_CATEGORY_LENGTH
};

/* The longest decimal uint64_t: 20 digits. */
#define SEQ_DIGITS 20

static struct {
	const struct trace_sink *sink;
	uint64_t seq;      /* events written so far */
	/* seq in decimal, its seq_len digits from seq_text[0]: counted up a
	 * digit at a time like an odometer (seq_step), so a line does not
	 * divide its number by 10 again and again. */
	char seq_text[SEQ_DIGITS];
	unsigned seq_len;
	uint64_t break_at; /* event number to stop before, 0: none */
	uint32_t crc;      /* running CRC-32, pre-inverted */
	bool finished;
} trace;

/* The reflected IEEE 802.3 polynomial x^32 + x^26 + ... + 1. */
#define CRC32_POLY 0xedb88320u

/*
 * crc_table[0][b] is the CRC of the byte b alone: eight steps of the bitwise
 * algorithm done once, so that each byte of a line then costs one table
 * look-up instead of eight shifts (every trace byte goes through here, and
 * Bochs runs the kernel's copy). Built on first use: nothing to call first.
 *
 * crc_table[k][b] (k = 1..7) is the same byte followed by k zero bytes:
 * the fast path below ("slicing by 8") uses them to take eight bytes with
 * eight independent look-ups and one xor each, instead of eight dependent
 * steps. crc_table[k][b] = one more zero byte after crc_table[k-1][b].
 */
static uint32_t crc_table[8][256];

static void crc_table_build(void)
{
	for (uint32_t b = 0; b < 256; b++) {
		uint32_t crc = b;
		for (int bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (CRC32_POLY & -(crc & 1u));
		crc_table[0][b] = crc;
	}
	for (int k = 1; k < 8; k++)
		for (uint32_t b = 0; b < 256; b++)
			crc_table[k][b] = (crc_table[k - 1][b] >> 8) ^
					  crc_table[0][crc_table[k - 1][b] & 0xffu];
}

/* Bytes p[0..3] as a little-endian word (the CRC is reflected: byte 0 low). */
static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* The CRC's work on len bytes, on the inverted CRC; the table is built. */
static inline uint32_t crc32_step(uint32_t crc, const unsigned char *p,
				  size_t len)
{
	/*
	 * Fast path, eight bytes at a time: the same CRC as the byte loop
	 * below (a host test compares them on every length and offset). The
	 * running CRC is xor-ed into the first four bytes, and each of the
	 * eight bytes is looked up in the table of "this byte, then as many
	 * zero bytes as follow it in the block"; the xor of the eight is the
	 * CRC after the block. ~2.5 instructions a byte instead of ~9.
	 */
	while (len >= 8) {
		uint32_t lo = crc ^ le32(p);
		uint32_t hi = le32(p + 4);
		crc = crc_table[7][lo & 0xffu] ^ crc_table[6][(lo >> 8) & 0xffu] ^
		      crc_table[5][(lo >> 16) & 0xffu] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][hi & 0xffu] ^ crc_table[2][(hi >> 8) & 0xffu] ^
		      crc_table[1][(hi >> 16) & 0xffu] ^ crc_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	if (len >= 4) { /* the same with four bytes, for the rest of a line */
		uint32_t lo = crc ^ le32(p);
		crc = crc_table[3][lo & 0xffu] ^ crc_table[2][(lo >> 8) & 0xffu] ^
		      crc_table[1][(lo >> 16) & 0xffu] ^ crc_table[0][lo >> 24];
		p += 4;
		len -= 4;
	}
	/* The plain algorithm: one table look-up a byte (and the last bytes). */
	while (len--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xffu];
	return crc;
}

uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
	if (crc_table[0][128] == 0) /* entry 128 is the polynomial: never 0 */
		crc_table_build();
	return ~crc32_step(~crc, data, len);
}

/*
 * trace.seq++ and its text with it: the last digit goes up; a 9 becomes 0
 * and carries into the digit before it, a carry past the first digit
 * makes it "1" and adds a "0" at the end (9 -> 10, 99 -> 100). Nine steps
 * in ten change one digit. (A host test compares the text with printf's.)
 */
static void seq_step(void)
{
	trace.seq++;
	unsigned i = trace.seq_len;
	while (i > 0 && trace.seq_text[i - 1] == '9')
		trace.seq_text[--i] = '0';
	if (i > 0) {
		trace.seq_text[i - 1]++;
	} else if (trace.seq_len < SEQ_DIGITS) { /* 2^64 events: not reached */
		trace.seq_text[0] = '1';
		trace.seq_text[trace.seq_len++] = '0';
	}
}

/*
 * Every line's buffer: TRACE_LINE_MAX bytes and room after them, so that
 * a writer of a value that cannot be longer than a few bytes writes
 * them without asking whether they fit (the generated emitters assert at
 * compile time that their longest line fits; the end is cut after).
 */
#define LINE_BUF (2 * TRACE_LINE_MAX)

/*
 * Where a line with fields ends at the most: 254 bytes before its
 * newline. That is where the plain path cuts (event_line hands format_v
 * the room up to TRACE_LINE_MAX - 1, and format_v keeps a byte of it for
 * its NUL), and the generated emitters cut at the same byte.
 */
#define FIELDS_END (TRACE_LINE_MAX - 2)

/*
 * Starts a line in line[LINE_BUF]: the next sequence number, the stop
 * before event break_at, the number's digits. Returns where the line goes
 * on, or NULL if there is no trace to write to (no sink, or finished).
 */
static char *line_begin(char *line)
{
	if (!trace.sink || trace.finished)
		return NULL;
	seq_step();
	if (trace.seq == trace.break_at && trace.sink->breakpoint) {
		trace.sink->breakpoint();
		if (!trace.sink || trace.finished)
			return NULL;
	}
	/*
	 * The plain version: format_decimal(line, LINE_BUF, trace.seq). The
	 * text is ready (seq_step); all SEQ_DIGITS bytes of it are copied, a
	 * fixed size that the compiler turns into a few moves, and the line
	 * goes on after the seq_len that count: the rest is written over.
	 */
	__builtin_memcpy(line, trace.seq_text, SEQ_DIGITS);
	return line + trace.seq_len;
}

/* Ends the line from line to end (cut at TRACE_LINE_MAX - 1 bytes) with
 * its newline, adds it to the CRC and hands it to the sink. */
static void line_end(char *line, char *end)
{
	size_t len = (size_t)(end - line);
	if (len > TRACE_LINE_MAX - 1)
		len = TRACE_LINE_MAX - 1;
	line[len++] = '\n';
	trace.crc = ~crc32_step(~trace.crc, (const unsigned char *)line, len);
	trace.sink->write(line, len);
}

/* line_end of a line with fields: cut where the plain path cuts it. */
static void fields_end(char *line, char *end)
{
	line_end(line, end < line + FIELDS_END ? end : line + FIELDS_END);
}

/* A header or metadata line of len bytes in buf (no sequence number). */
static void emit(char *buf, size_t len)
{
	if (!trace.sink || trace.finished)
		return;
	line_end(buf, buf + len);
}

/*
 * A value from outside the kernel, in double quotes: '"', '\\', controls
 * and bytes >= 0x7f become \xNN, so the line stays printable ASCII whatever
 * the bytes (schema type "text"). Cut with "..." if it does not fit.
 */
const char *trace_quote(const char *text, char *buf, size_t cap)
{
	return trace_quote_bytes(text, text ? strlen(text) : 0, buf, cap);
}

const char *trace_quote_bytes(const char *text, size_t len, char *buf,
			      size_t cap)
{
	size_t n = 0;
	buf[n++] = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		bool plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
		if (n + (plain ? 1 : 4) + 5 > cap) {
			n += format(buf + n, cap - n, "...");
			break;
		}
		if (plain)
			buf[n++] = (char)c;
		else
			n += format(buf + n, cap - n, "\\x%02x", c);
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

const char *trace_reason_name(unsigned why)
{
	return why < sizeof reason_names / sizeof reason_names[0]
		       ? reason_names[why] : "?";
}

const char *trace_flags_name(uint64_t flags, char *buf, size_t cap)
{
	size_t len = 0;
	buf[0] = '\0';
	for (unsigned bit = 0; bit < 64; bit++) {
		if (!(flags & (1ull << bit)))
			continue;
		const char *name = flag_names[bit] ? flag_names[bit] : "?";
		len += format(buf + len, cap - len, "%s%s", len ? "|" : "", name);
	}
	if (len == 0)
		format(buf, cap, "-");
	return buf;
}

void trace_start(const struct trace_sink *sink, const char *cmdline,
		 uint32_t category_mask, uint64_t break_at)
{
	char buf[TRACE_LINE_MAX];
	if (crc_table[0][128] == 0) /* line_end takes it ready */
		crc_table_build();
	trace.sink = sink;
	trace_mask = category_mask | (1u << TRACE_CPU); /* faults always show */
	trace.seq = 0;
	trace.seq_text[0] = '0';
	trace.seq_len = 1;
	trace.break_at = break_at;
	trace.crc = 0;
	trace.finished = false;

	char quoted[TRACE_LINE_MAX - 32];
	size_t n = format(buf, sizeof buf, "@vitrine v%d cmdline=%s",
			  TRACE_FORMAT_VERSION,
			  trace_quote(cmdline, quoted, sizeof quoted));
	emit(buf, n);

	n = format(buf, sizeof buf, "#cats ");
	for (int c = 0; c < TRACE_CATEGORY_COUNT; c++) {
		if (trace_mask & (1u << c))
			n += format(buf + n, sizeof buf - n, "%s,",
				    category_names[c]);
	}
	n += format(buf + n, sizeof buf - n, "err,warn");
	emit(buf, n);
}

/* Appends s at buf[n], cut at cap - 1 bytes like format; the new length. */
static size_t put_text(char *buf, size_t n, size_t cap, const char *s)
{
	for (; *s && n + 1 < cap; s++)
		buf[n++] = *s;
	buf[n] = '\0';
	return n;
}


/* Writes "SEQ prefix.event fields" with the next sequence number; prefix
 * is prefix_len bytes long. */
static void event_line(const char *prefix, size_t prefix_len,
		       const char *event, const char *fields, va_list ap)
{
	char buf[LINE_BUF];
	char *p = line_begin(buf);
	if (!p)
		return;
	/*
	 * "SEQ prefix.event", the start of every line. The plain version is
	 * format(buf, TRACE_LINE_MAX, "%lu %s.%s", trace.seq, prefix, event);
	 * parsing those three conversions was a third of a line's cost, so
	 * the same bytes are written directly (a host test compares the two):
	 * the number's text from seq_step, the prefix by its known length
	 * (at most 20 + 1 + a category's name: far from the line's end).
	 */
	size_t n = (size_t)(p - buf);
	buf[n++] = ' ';
	for (size_t i = 0; i < prefix_len; i++)
		buf[n++] = prefix[i];
	buf[n++] = '.';
	n = put_text(buf, n, TRACE_LINE_MAX, event);
	if (fields && fields[0]) {
		buf[n++] = ' ';
		n += format_v(buf + n, TRACE_LINE_MAX - 1 - n, fields, ap);
	}
	line_end(buf, buf + n);
}

void trace_event(enum trace_category cat, const char *event,
		 const char *fields, ...)
{
	if (!trace_enabled(cat))
		return;
	va_list ap;
	va_start(ap, fields);
	event_line(category_names[cat], category_lengths[cat], event, fields,
		   ap);
	va_end(ap);
}

/* Writes "SEQ err.<status> fn=<fn> fields". */
static void error_line(status_t st, const char *fn, const char *fields,
		       va_list ap)
{
	char with_fn[TRACE_LINE_MAX];
	format(with_fn, sizeof with_fn, "fn=%s%s%s", fn ? fn : "-",
	       fields && fields[0] ? " " : "", fields ? fields : "");
	event_line("err", 3, status_name(st), with_fn, ap);
}

status_t trace_error(status_t st, const char *fields, ...)
{
	va_list ap;
	va_start(ap, fields);
	error_line(st, trace_call_name, fields, ap);
	va_end(ap);
	return st;
}

status_t trace_error_in(status_t st, const char *fn, const char *fields, ...)
{
	va_list ap;
	va_start(ap, fields);
	error_line(st, fn, fields, ap);
	va_end(ap);
	return st;
}

void trace_warn(const char *what, const char *fields, ...)
{
	va_list ap;
	va_start(ap, fields);
	event_line("warn", 4, what, fields, ap);
	va_end(ap);
}

void trace_finish(const char *status)
{
	char buf[TRACE_LINE_MAX];
	if (!trace.sink || trace.finished)
		return;
	size_t n = format(buf, sizeof buf, "@end count=%lu crc=%#08x status=%s",
			  trace.seq, trace.crc, status);
	buf[n++] = '\n';
	trace.sink->write(buf, n);
	trace.finished = true;
}

uint64_t trace_event_count(void)
{
	return trace.seq;
}

const char *trace_category_name(enum trace_category cat)
{
	return cat < TRACE_CATEGORY_COUNT ? category_names[cat] : "?";
}

/* True if the len bytes at s are exactly the NUL-terminated word. */
static bool word_is(const char *s, size_t len, const char *word)
{
	size_t i = 0;
	for (; i < len && word[i] && s[i] == word[i]; i++)
		;
	return i == len && word[i] == '\0';
}

bool trace_parse_categories(const char *list, size_t len, uint32_t *mask,
			    const char **bad)
{
	uint32_t result = 0;
	size_t start = 0;
	while (start <= len) {
		size_t end = start;
		while (end < len && list[end] != ',')
			end++;
		const char *word = list + start;
		size_t wlen = end - start;
		bool known = false;
		if (word_is(word, wlen, "all")) {
			result |= TRACE_ALL_CATEGORIES;
			known = true;
		} else if (word_is(word, wlen, "none")) {
			known = true;
		}
		for (int c = 0; !known && c < TRACE_CATEGORY_COUNT; c++) {
			if (word_is(word, wlen, category_names[c])) {
				result |= 1u << c;
				known = true;
			}
		}
		if (!known) {
			if (bad)
				*bad = word;
			return false;
		}
		start = end + 1;
	}
	*mask = result;
	return true;
}

/* --- The generated emitters' writers -------------------------------------
 *
 * An emitter of build/gen/trace_events.inc writes its line as
 *
 *	char *p = line_begin(line);        "SEQ"
 *	PUT_CONST(p, " pmm.set pa=");      the event's name and first key
 *	p = put_hex(p, pa);                a value
 *	...
 *	fields_end(line, p);               cut, newline, CRC, sink
 *
 * where the plain version formats "pa=%#lx n=%lu why=%s" at run time.
 * The constant text's length is known when it is compiled, so it is a few
 * moves of immediate bytes; each writer below writes one type's value.
 * Those of a bounded length (hex at most 18 bytes, decimal 21, a reason
 * 16) write without a bound check: the line's buffer has room for the
 * longest line (each emitter asserts it). put_word, for values of any
 * length, stops at FIELDS_END, and fields_end cuts there: the same bytes
 * as format_v's cut, since both cut the same text at the same byte.
 */

/* Appends the n bytes of a constant string s (n known when compiled). */
static inline char *put_bytes(char *p, const char *s, size_t n)
{
	__builtin_memcpy(p, s, n);
	return p + n;
}

#define PUT_CONST(p, s) ((p) = put_bytes((p), (s), sizeof(s) - 1))

#define HEX_MAX     18 /* "0x" and 16 digits */
#define DECIMAL_MAX 21 /* 18446744073709551615 and a NUL */
#define REASON_SLOT 16 /* the bytes put_reason copies */

/* "00" "01" ... "ff": the two hex digits of each byte, a row a high digit. */
#define HEX_ROW(h)                                                         \
	h "0" h "1" h "2" h "3" h "4" h "5" h "6" h "7" h "8" h "9" h "a" h \
	"b" h "c" h "d" h "e" h "f"
static const char hex_pairs[] = HEX_ROW("0") HEX_ROW("1") HEX_ROW("2")
	HEX_ROW("3") HEX_ROW("4") HEX_ROW("5") HEX_ROW("6") HEX_ROW("7")
	HEX_ROW("8") HEX_ROW("9") HEX_ROW("a") HEX_ROW("b") HEX_ROW("c")
	HEX_ROW("d") HEX_ROW("e") HEX_ROW("f");

/*
 * An addr, as format's %#lx: "0x" and lowercase digits, which format_v
 * writes a digit a step from the lowest into a scratch buffer, then
 * copies. Here the number of digits comes first, from the highest bit set
 * (67 - clz is the bit length rounded up to a whole digit), and the
 * digits go straight to their places from the lowest, a byte of v (two
 * digits) a step; an odd count ends with one digit. Out of line: a
 * hundred emitters call it.
 */
static __attribute__((noinline)) char *put_hex(char *p, uint64_t v)
{
	unsigned digits = v ? (67u - (unsigned)__builtin_clzll(v)) / 4u : 1u;
	char *first = p + 2, *end = first + digits, *d = end;
	p[0] = '0';
	p[1] = 'x';
	for (; d - first >= 2; v >>= 8) {
		d -= 2;
		__builtin_memcpy(d, &hex_pairs[2 * (v & 0xff)], 2);
	}
	if (d > first)
		*first = "0123456789abcdef"[v];
	return end;
}

/* A num, as %lu: below 10 (the usual n=1) one byte, else format_decimal
 * (it writes a NUL after the digits: DECIMAL_MAX counts it). */
static inline char *put_decimal(char *p, uint64_t v)
{
	if (v < 10) {
		*p = (char)('0' + v);
		return p + 1;
	}
	return p + format_decimal(p, DECIMAL_MAX, v);
}

/*
 * A reason's name. The plain version is %s of trace_reason_name(why):
 * a search for the name's end, then a copy. Here each name is kept in a
 * 16-byte slot with its length: the whole slot is copied (two moves) and
 * the line goes on after the name; the rest is written over.
 */
static const char reason_slots[][REASON_SLOT] = {
#define TRACE_REASON_SLOT(sym, name) name,
	TRACE_REASON_LIST(TRACE_REASON_SLOT)
#undef TRACE_REASON_SLOT
};

static const unsigned char reason_lengths[] = {
#define TRACE_REASON_LENGTH(sym, name) sizeof name - 1,
	TRACE_REASON_LIST(TRACE_REASON_LENGTH)
#undef TRACE_REASON_LENGTH
};

static inline char *put_reason(char *p, unsigned why)
{
	if (why >= sizeof reason_lengths) { /* trace_reason_name's "?" */
		*p = '?';
		return p + 1;
	}
	__builtin_memcpy(p, reason_slots[why], REASON_SLOT);
	return p + reason_lengths[why];
}

/*
 * A word (and flags or text, once written out by trace_flags_name or
 * trace_quote): its bytes, up to FIELDS_END of the line; NULL is
 * "(null)", as format's %s writes it.
 */
static char *put_word(char *p, const char *s, char *line)
{
	char *end = line + FIELDS_END;
	if (!s)
		s = "(null)";
	while (*s && p < end)
		*p++ = *s++;
	return p;
}

/* One emitter per event of the schema, written by trace/schemagen. */
#include "trace_events.inc"
