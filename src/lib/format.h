/*
 * format.h - a small printf for a freestanding kernel.
 *
 * Conversions: %s %c %d %i %u %x %p %%, length modifiers l ll z, flags '0'
 * and '#', a decimal width. '#' with %x always writes "0x", also for zero
 * (unlike C's printf), because trace addresses are always written as 0x...
 * %p is %#lx of the pointer value. The output is always NUL-terminated and
 * cut at cap - 1 bytes; the return value is the length written.
 */
#ifndef VITRINE_FORMAT_H
#define VITRINE_FORMAT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

size_t format_v(char *buf, size_t cap, const char *fmt, va_list ap);
size_t format(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* format(buf, cap, "%lu", v) without parsing a format: the trace's fast path. */
size_t format_decimal(char *buf, size_t cap, uint64_t v);

#endif
