/*
 * badptr.c - system calls given bad pointers and bad arguments: each must
 * fail with its status (the negative of it), and the process lives on.
 * The exit code counts the calls that did not fail as expected.
 */
#include "ulib.h"

#include "status.h"

static int wrong;

static void expect(long got, status_t st)
{
	if (got != -(long)st) {
		printf("badptr: got %ld, want -%d\n", got, (int)st);
		wrong++;
	}
}

int main(void)
{
	expect(write(1, (void *)0, 4), STATUS_BAD_USER_POINTER);
	expect(write(1, (void *)0x10000000, 4), STATUS_BAD_USER_POINTER);
	expect(write(1, (void *)0xFFFFFFFF80000000ul, 4), STATUS_BAD_USER_POINTER);
	expect(write(1, (void *)0x7FFFFFFFFFF8ul, 16), STATUS_BAD_USER_POINTER);
	expect(write(7, "x", 1), STATUS_INVALID_ARG);
	expect(write(1, "x", 1 << 20), STATUS_TOO_LARGE);
	expect(wait((long *)(void *)main), STATUS_BAD_USER_POINTER); /* text */
	expect(wait((long *)0x10000000), STATUS_BAD_USER_POINTER);
	expect(wait(0), STATUS_NO_CHILD);
	expect((long)mmap(4096, 4), STATUS_INVALID_ARG);
	expect((long)mmap(0, PROT_READ), STATUS_ZERO_COUNT);
	expect(munmap((void *)0x200000000, 4096), STATUS_NOT_FOUND);
	expect((long)sbrk(-4096), STATUS_OUT_OF_RANGE);
	expect((long)sbrk(1l << 40), STATUS_OUT_OF_RANGE);
	expect(syscall3(99, 0, 0, 0), STATUS_BAD_SYSCALL);
	/* Regions until the table is full: the last mmap fails with its own
	 * status, nothing is dropped, and every region made goes again. */
	void *maps[20];
	int made = 0;
	for (; made < 20; made++) {
		maps[made] = mmap(4096, PROT_READ);
		if (SYS_FAILED(maps[made]))
			break;
	}
	expect(made < 20 ? (long)maps[made] : 0, STATUS_TABLE_FULL);
	for (int i = 0; i < made; i++)
		if (munmap(maps[i], 4096) != 0)
			wrong++;
	/* A good pointer to a heap page not touched yet: the copy faults in
	 * the kernel and the page is made (pf.fault mode=kernel). */
	char *heap = sbrk(4096);
	if (SYS_FAILED(heap) || write(1, heap, 1) != 1)
		wrong++;
	/* Half of it past the heap's end: nothing of it is written. */
	expect(write(1, heap + 4096 - 30, 60), STATUS_BAD_USER_POINTER);
	printf("badptr: %d unexpected results\n", wrong);
	return wrong;
}
