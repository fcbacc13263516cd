/*
 * forkbomb.c - every process forks until fork fails (no memory, no pool,
 * no process slot), then waits for its children and exits. The kernel
 * must refuse cleanly each time and get every page back at the end.
 */
#include "ulib.h"

int main(void)
{
	long children = 0;
	for (;;) {
		long pid = fork();
		if (pid < 0)
			break;
		if (pid == 0) {
			children = 0; /* the child forks on, too */
			continue;
		}
		children++;
	}
	for (long i = 0; i < children; i++)
		if (wait(0) < 0)
			return 1;
	if (getpid() == 1)
		printf("forkbomb: the first process collected %ld children\n",
		       children);
	return 0;
}
