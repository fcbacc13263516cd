/*
 * lazy.c - memory that comes on a fault: a heap grown with sbrk, a stack
 * grown by recursion, an anonymous mmap region. Every page is zero when
 * first read and keeps what was written; the exit code counts the wrong
 * values (0: all right).
 */
#include "ulib.h"

#define HEAP_PAGES 3
#define MAP_PAGES 2

/* Each call takes about 1 KiB of stack: depth 12 grows it by 3 pages. */
static long deep(int depth)
{
	volatile char frame[1000];
	frame[0] = (char)depth;
	long below = depth > 0 ? deep(depth - 1) : 0;
	return below + frame[0];
}

int main(void)
{
	int wrong = 0;
	char *heap = sbrk(HEAP_PAGES * 4096);
	if (SYS_FAILED(heap))
		return 100;
	for (int i = 0; i < HEAP_PAGES; i++) {
		if (heap[i * 4096] != 0) /* a read fault: a zero page */
			wrong++;
		heap[i * 4096 + 8] = (char)(i + 1);
	}
	for (int i = 0; i < HEAP_PAGES; i++)
		wrong += heap[i * 4096 + 8] != i + 1;
	if (deep(12) != 78) /* 12 + 11 + ... + 0 */
		wrong++;
	long *map = mmap(MAP_PAGES * 4096, PROT_READ | PROT_WRITE);
	if (SYS_FAILED(map))
		return 101;
	map[0] = 42;
	map[512] = 43; /* the second page */
	wrong += map[0] != 42 || map[512] != 43;
	if (munmap(map, MAP_PAGES * 4096) != 0)
		wrong++;
	if (SYS_FAILED(sbrk(-HEAP_PAGES * 4096)))
		wrong++;
	printf("lazy: heap, stack and mmap pages came on faults, %d wrong\n", wrong);
	return wrong;
}
