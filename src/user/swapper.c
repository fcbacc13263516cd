/*
 * swapper.c - a working set larger than the memory given (docs/swap.md):
 * 24 heap pages, each written with its own pattern, then read back in
 * three passes, the first page often between others (so the clock gives
 * it second chances). Booted with frames=8 most of the pages are in swap
 * at any time; every value must still be right. The exit code counts
 * the wrong values (0: all right).
 */
#include "ulib.h"

#define PAGES 24
#define WORDS 4 /* checked per page: at the start, middle and end */

static long pattern(int page, int word) { return page * 1000 + word * 7 + 1; }

static const int offsets[WORDS] = { 0, 1, 256, 511 };

int main(void)
{
	long *heap = sbrk(PAGES * 4096);
	if (SYS_FAILED(heap))
		return 100;
	for (int p = 0; p < PAGES; p++)
		for (int w = 0; w < WORDS; w++)
			heap[p * 512 + offsets[w]] = pattern(p, w);
	int wrong = 0;
	for (int pass = 0; pass < 3; pass++)
		for (int p = 0; p < PAGES; p++) {
			for (int w = 0; w < WORDS; w++)
				wrong += heap[p * 512 + offsets[w]] != pattern(p, w);
			wrong += heap[0] != pattern(0, 0); /* a hot page */
		}
	printf("swapper: %d pages through 3 passes, %d wrong\n", PAGES, wrong);
	return wrong;
}
