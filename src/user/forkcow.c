/*
 * forkcow.c - copy-on-write fork: parent and child share every page after
 * fork; each write then gives the writer its own copy. The child changes a
 * global and a heap value; the parent must still see its own.
 */
#include "ulib.h"

static long counter = 1; /* data: shared after fork, copied on write */

int main(void)
{
	long *heap = sbrk(4096);
	if (SYS_FAILED(heap))
		return 100;
	*heap = 10;
	long pid = fork();
	if (pid < 0)
		return 101;
	if (pid == 0) {
		counter = 2;  /* a write fault: cow_copy */
		*heap = 20;
		printf("child: counter=%ld heap=%ld\n", counter, *heap);
		return counter == 2 && *heap == 20 ? 7 : 1;
	}
	long code = -1;
	long who = wait(&code);
	counter += 10; /* the last sharer: cow_restore */
	*heap += 1;
	printf("parent: child %ld ended with %ld; counter=%ld heap=%ld\n", who,
	       code, counter, *heap);
	return who == pid && code == 7 && counter == 11 && *heap == 11 ? 0 : 1;
}
