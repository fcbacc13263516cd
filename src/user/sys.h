/*
 * sys.h - the system calls, shared by the kernel (src/proc/syscall.c) and
 * the user programs' library (src/user/lib/) (docs/user.md).
 *
 * A program calls `int 0x80` with the number in RAX and the arguments in
 * RDI, RSI, RDX; the result comes back in RAX: a value >= 0, or the
 * negative of a status (src/lib/trace.schema lists them) on failure.
 */
#ifndef VITRINE_SYS_H
#define VITRINE_SYS_H

#define SYS_EXIT 0   /* exit(code): never returns */
#define SYS_WRITE 1  /* write(fd 1 or 2, buf, n): n */
#define SYS_GETPID 2 /* getpid(): the caller's pid */
#define SYS_SBRK 3   /* sbrk(delta bytes): the old end of the heap */
#define SYS_MMAP 4   /* mmap(bytes, prot): the address of a new region */
#define SYS_MUNMAP 5 /* munmap(addr, bytes): 0 */
#define SYS_FORK 6   /* fork(): the child's pid in the parent, 0 in the child */
#define SYS_WAIT 7   /* wait(&code or 0): the pid of an ended child */
#define SYS_YIELD 8  /* yield(): 0, after the other ready processes ran */
#define SYS_COUNT 9

#define PROT_READ 1  /* mmap's prot */
#define PROT_WRITE 2

#define SYS_WRITE_MAX 4096 /* bytes of one write */

#endif
