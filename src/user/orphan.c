/*
 * orphan.c - a parent that exits before its child: the child goes to the
 * kernel, which collects it when it ends. The parent's code (0) is the
 * program's, whatever the child's (5).
 */
#include "ulib.h"

int main(void)
{
	long pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		yield(); /* the parent exits meanwhile */
		printf("orphan: pid %ld outlived its parent\n", getpid());
		return 5;
	}
	return 0;
}
