/*
 * kills.c - each way a process can be killed, one child each, and a child
 * that exits with its memory still mapped. The parent checks every exit
 * code: PROC_KILLED_CODE (255) for a killed child.
 */
#include "ulib.h"

#define KILLED 255

static char data_code[16] = { (char)0xC3 }; /* "ret", in a no-execute page */

static void unmapped(void) { *(volatile long *)0x10000000 = 1; }
static void write_text(void) { *(volatile char *)(void *)unmapped = 0; }
static void exec_data(void) { ((void (*)(void))(void *)data_code)(); }
static void kernel_read(void) { (void)*(volatile long *)0xFFFF800000000000ul; }
static void bad_instruction(void) { __asm__ volatile("ud2"); }
/* The kernel keeps no FPU state (CR0.EM): an x87 instruction is #NM. */
static void x87_instruction(void) { __asm__ volatile("fninit"); }

/* Recursion past the stack's 64 pages: the fault below the stack region
 * (its guard page) has no region. */
static volatile long overflow_limit = 1l << 40; /* never reached */
static long overflow(long depth)
{
	volatile char frame[4000];
	frame[0] = (char)depth;
	if (depth >= overflow_limit)
		return frame[0];
	return overflow(depth + 1) + frame[0];
}
static void stack_overflow(void) { overflow(0); }

/* Exits with a heap page, an mmap page and its stack mapped. */
static void leave_mapped(void)
{
	char *heap = sbrk(4096);
	char *map = mmap(8192, PROT_READ | PROT_WRITE);
	if (SYS_FAILED(heap) || SYS_FAILED(map))
		exit(1);
	heap[0] = map[0] = map[4096] = 1;
	exit(3);
}

static void (*const cases[])(void) = { unmapped, write_text, exec_data,
				       kernel_read, bad_instruction,
				       x87_instruction, stack_overflow,
				       leave_mapped };
static const long want[] = { KILLED, KILLED, KILLED, KILLED, KILLED,
			     KILLED, KILLED, 3 };
#define CASES (sizeof cases / sizeof cases[0])

int main(void)
{
	int wrong = 0;
	for (unsigned i = 0; i < CASES; i++) {
		long pid = fork();
		if (pid == 0) {
			cases[i]();
			exit(2); /* it should not get here */
		}
		long code = -1;
		if (pid < 0 || wait(&code) != pid || code != want[i])
			wrong++;
	}
	printf("kills: %d of %u cases ended as expected\n",
	       (int)CASES - wrong, (unsigned)CASES);
	return wrong;
}
