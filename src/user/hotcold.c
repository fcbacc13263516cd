/*
 * hotcold.c - lab 7's workload (docs/labs/lab7-swap.md): a few hot pages
 * used all the time, and a sweep over cold pages that do not fit beside
 * them. Each round writes every cold page once; between two cold pages
 * it uses every hot page. Booted with frames=6 (the stack page, 3 hot
 * pages and room for 2 cold ones), a policy that sees the A bits keeps
 * the hot pages in frames and lets the cold ones go; FIFO sends the hot
 * pages out too, in their turn, and takes a fault to bring each back.
 * The exit code counts the wrong values at the end (0: all right).
 */
#include "ulib.h"

#define HOT 3
#define COLD 8
#define ROUNDS 4
#define WORDS 512 /* longs a page */

int main(void)
{
	long *hot = sbrk((HOT + COLD) * 4096);
	if (SYS_FAILED(hot))
		return 100;
	long *cold = hot + HOT * WORDS;
	for (int r = 0; r < ROUNDS; r++)
		for (int c = 0; c < COLD; c++) {
			cold[c * WORDS + r] = c * 100 + r;
			for (int h = 0; h < HOT; h++)
				hot[h * WORDS + c]++;
		}
	int wrong = 0;
	for (int h = 0; h < HOT; h++)
		for (int c = 0; c < COLD; c++)
			wrong += hot[h * WORDS + c] != ROUNDS;
	for (int c = 0; c < COLD; c++)
		for (int r = 0; r < ROUNDS; r++)
			wrong += cold[c * WORDS + r] != c * 100 + r;
	printf("hotcold: %d hot and %d cold pages, %d rounds, %d wrong\n",
	       HOT, COLD, ROUNDS, wrong);
	return wrong;
}
