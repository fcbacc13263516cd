/*
 * ulib.h - the tiny C library of Vitrine's user programs: one function per
 * system call (sys.h), printf on top of write, and the program's entry.
 * A program defines int main(void); its return value is its exit code.
 */
#ifndef VITRINE_ULIB_H
#define VITRINE_ULIB_H

#include <stddef.h>
#include <stdint.h>

#include "sys.h"

/* The raw call: the result, or the negative of a status. */
long syscall3(long n, long a0, long a1, long a2);

__attribute__((noreturn)) void exit(long code);
long write(long fd, const void *buf, size_t n);
long getpid(void);
void *sbrk(long delta);       /* (void *)-status on failure */
void *mmap(size_t bytes, long prot);
long munmap(void *addr, size_t bytes);
long fork(void);
long wait(long *code);        /* code may be NULL */
long yield(void);

/* printf of src/lib/format.h (%s %c %d %u %x %p, l/z), to fd 1; at most
 * 255 bytes a call. */
long printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True if a result of sbrk or mmap is a failure. */
#define SYS_FAILED(p) ((long)(p) < 0 && (long)(p) > -4096)

int main(void);

#endif
