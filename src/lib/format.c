/*
 * format.c - number and string formatting without libc.
 * The same file builds into the kernel and into the host tests.
 */
#include "format.h"
#include "string.h"

#include <stdbool.h>
#include <stdint.h>

struct out {
	char *buf;
	size_t cap; /* bytes usable, the NUL excluded */
	size_t len;
};

static void put(struct out *o, char c)
{
	if (o->len < o->cap)
		o->buf[o->len] = c;
	o->len++;
}

/*
 * put() for each of the n bytes at s, with one bound check for the run
 * instead of one a byte: the literal text between conversions, %s and the
 * digits of a number go through here (a trace line is ~40 bytes, and the
 * check a byte was a third of its formatting).
 */
static void put_run(struct out *o, const char *s, size_t n)
{
	size_t room = o->len < o->cap ? o->cap - o->len : 0;
	size_t fits = n < room ? n : room;
	for (size_t i = 0; i < fits; i++)
		o->buf[o->len + i] = s[i];
	o->len += n;
}

/* "00" "01" ... "99": the two decimal digits of 0..99. */
static const char two_digits[] =
	"00010203040506070809101112131415161718192021222324252627282930313233"
	"34353637383940414243444546474849505152535455565758596061626364656667"
	"6869707172737475767778798081828384858687888990919293949596979899";

/*
 * Writes the digits of v in the given base so that they end just before
 * end; returns where they start. A function of its own, with no struct out,
 * so that the compiler keeps the output's length in a register.
 */
static char *digits_of(uint64_t v, unsigned base, char *end)
{
	char *d = end; /* filled from the end, lowest digit first */
	if (base == 16) { /* a digit is 4 bits: shifts, no division */
		do {
			*--d = "0123456789abcdef"[v & 15];
			v >>= 4;
		} while (v != 0);
		return d;
	}
	/*
	 * Base 10, a digit a step: *--d = '0' + v % 10, v /= 10. The fast
	 * path takes two digits a step from a table, halving the divisions
	 * (the compiler turns each into a multiply, ~8 instructions); the
	 * last one or two digits end it.
	 */
	while (v >= 100) {
		unsigned pair = (unsigned)(v % 100);
		v /= 100;
		d -= 2;
		d[0] = two_digits[2 * pair];
		d[1] = two_digits[2 * pair + 1];
	}
	if (v >= 10) {
		d -= 2;
		d[0] = two_digits[2 * v];
		d[1] = two_digits[2 * v + 1];
	} else {
		*--d = (char)('0' + v);
	}
	return d;
}

/* Reads an integer argument of the size named by the length modifier. */
static uint64_t take_unsigned(va_list *ap, int longs, bool size)
{
	if (size || longs >= 1)
		return va_arg(*ap, unsigned long);
	return va_arg(*ap, unsigned int);
}

static int64_t take_signed(va_list *ap, int longs, bool size)
{
	if (size || longs >= 1)
		return va_arg(*ap, long);
	return va_arg(*ap, int);
}

size_t format_v(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct out o = { buf, cap ? cap - 1 : 0, 0 };
	va_list args;
	va_copy(args, ap);
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			put(&o, *p);
			continue;
		}
		p++;
		bool alt = false;
		char pad = ' ';
		for (; *p == '#' || *p == '0'; p++) {
			if (*p == '#')
				alt = true;
			else
				pad = '0';
		}
		int width = 0;
		for (; *p >= '0' && *p <= '9'; p++)
			width = width * 10 + (*p - '0');
		int longs = 0;
		bool size = false;
		for (; *p == 'l' || *p == 'z'; p++) {
			if (*p == 'l')
				longs++;
			else
				size = true;
		}
		/*
		 * A number is taken by its case and written after the switch,
		 * in one place: every helper here is then small enough to be
		 * inlined, and the output's length stays in a register.
		 */
		uint64_t v = 0;
		unsigned base = 0; /* 0: not a number */
		bool prefix = false;
		switch (*p) {
		case 'd':
		case 'i': {
			int64_t sv = take_signed(&args, longs, size);
			if (sv < 0)
				put(&o, '-');
			v = sv < 0 ? -(uint64_t)sv : (uint64_t)sv;
			base = 10;
			break;
		}
		case 'u':
			v = take_unsigned(&args, longs, size);
			base = 10;
			break;
		case 'x':
			v = take_unsigned(&args, longs, size);
			base = 16;
			prefix = alt;
			break;
		case 'p':
			v = (uintptr_t)va_arg(args, void *);
			base = 16;
			prefix = true;
			break;
		case 'c':
			put(&o, (char)va_arg(args, int));
			break;
		case 's': {
			const char *s = va_arg(args, const char *);
			s = s ? s : "(null)";
			put_run(&o, s, strlen(s));
			break;
		}
		case '%':
			put(&o, '%');
			break;
		default: /* unknown conversion: show it, do not guess */
			put(&o, '%');
			if (*p)
				put(&o, *p);
			else
				p--;
			break;
		}
		if (base != 0) { /* v in base, padded to width with pad */
			char digits[24];
			char *d = digits_of(v, base, digits + sizeof digits);
			int n = (int)(digits + sizeof digits - d);
			if (prefix)
				put_run(&o, "0x", 2);
			for (int i = n; i < width; i++)
				put(&o, pad);
			put_run(&o, d, (size_t)n);
		}
	}
	va_end(args);
	if (cap != 0)
		buf[o.len < o.cap ? o.len : o.cap] = '\0';
	return o.len < o.cap ? o.len : o.cap;
}

size_t format_decimal(char *buf, size_t cap, uint64_t v)
{
	char digits[24];
	char *d = digits_of(v, 10, digits + sizeof digits);
	size_t n = (size_t)(digits + sizeof digits - d);
	if (cap == 0)
		return 0;
	if (n > cap - 1)
		n = cap - 1;
	memcpy(buf, d, n);
	buf[n] = '\0';
	return n;
}

size_t format(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = format_v(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}
