/*
 * string.h - the C library's memory and string functions, freestanding.
 * The kernel links src/lib/string.c; the host tests use their libc, which
 * has the same contracts.
 */
#ifndef VITRINE_STRING_H
#define VITRINE_STRING_H

#include <stddef.h>

void *memset(void *dst, int value, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif
