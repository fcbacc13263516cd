/* hello.c - the smallest program: a line, and exit code 0. */
#include "ulib.h"

int main(void)
{
	printf("hello from pid %ld\n", getpid());
	return 0;
}
