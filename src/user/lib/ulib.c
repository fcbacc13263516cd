/*
 * ulib.c - system-call stubs, printf and the entry point (ulib.h).
 */
#include "ulib.h"

#include <stdarg.h>

#include "format.h"

long syscall3(long n, long a0, long a1, long a2)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(n), "D"(a0), "S"(a1), "d"(a2)
			 : "memory");
	return ret;
}

void exit(long code)
{
	syscall3(SYS_EXIT, code, 0, 0);
	for (;;) /* exit does not return */
		;
}

long write(long fd, const void *buf, size_t n)
{
	return syscall3(SYS_WRITE, fd, (long)buf, (long)n);
}

long getpid(void) { return syscall3(SYS_GETPID, 0, 0, 0); }
void *sbrk(long delta) { return (void *)syscall3(SYS_SBRK, delta, 0, 0); }

void *mmap(size_t bytes, long prot)
{
	return (void *)syscall3(SYS_MMAP, (long)bytes, prot, 0);
}

long munmap(void *addr, size_t bytes)
{
	return syscall3(SYS_MUNMAP, (long)addr, (long)bytes, 0);
}

long fork(void) { return syscall3(SYS_FORK, 0, 0, 0); }
long wait(long *code) { return syscall3(SYS_WAIT, (long)code, 0, 0); }
long yield(void) { return syscall3(SYS_YIELD, 0, 0, 0); }

long printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	size_t n = format_v(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return write(1, buf, n);
}

/* The kernel enters here with RSP as after a call (the C ABI). */
__attribute__((noreturn)) void _start(void)
{
	exit(main());
}
