/*
 * format.c - number and string formatting without libc.
 * The same file builds into the kernel and into the host tests.
 */
#include "format.h"

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

/* Writes v in the given base, padded to width with pad ('0' or ' '). */
static void put_unsigned(struct out *o, uint64_t v, unsigned base, int width,
			 char pad, bool prefix)
{
	char digits[24];
	int n = 0;
	if (base == 16) { /* a digit is 4 bits: shifts, no division */
		do {
			digits[n++] = "0123456789abcdef"[v & 15];
			v >>= 4;
		} while (v != 0);
	} else { /* base 10: the compiler turns /10 into a multiply */
		do {
			digits[n++] = (char)('0' + v % 10);
			v /= 10;
		} while (v != 0);
	}
	if (prefix) {
		put(o, '0');
		put(o, 'x');
	}
	for (int i = n; i < width; i++)
		put(o, pad);
	while (n > 0)
		put(o, digits[--n]);
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
		switch (*p) {
		case 'd':
		case 'i': {
			int64_t v = take_signed(&args, longs, size);
			if (v < 0) {
				put(&o, '-');
				put_unsigned(&o, -(uint64_t)v, 10, width, pad, false);
			} else {
				put_unsigned(&o, (uint64_t)v, 10, width, pad, false);
			}
			break;
		}
		case 'u':
			put_unsigned(&o, take_unsigned(&args, longs, size), 10, width,
				     pad, false);
			break;
		case 'x':
			put_unsigned(&o, take_unsigned(&args, longs, size), 16, width,
				     pad, alt);
			break;
		case 'p':
			put_unsigned(&o, (uintptr_t)va_arg(args, void *), 16, width,
				     pad, true);
			break;
		case 'c':
			put(&o, (char)va_arg(args, int));
			break;
		case 's': {
			const char *s = va_arg(args, const char *);
			for (s = s ? s : "(null)"; *s; s++)
				put(&o, *s);
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
	}
	va_end(args);
	if (cap != 0)
		buf[o.len < o.cap ? o.len : o.cap] = '\0';
	return o.len < o.cap ? o.len : o.cap;
}

size_t format(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = format_v(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}
