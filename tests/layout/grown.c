/*
 * grown.c - linked into build/layout/kernel-grown.elf only: a kernel with
 * more code, read-only data, data and bss than build/kernel.elf, for the
 * test `runner: a_kernel_grown_in_every_part_boots_to_the_same_trace`.
 * Each part grows by more than a page, so without the fixed slots of
 * src/boot/linker.ld every address after the kernel's code would move
 * (docs/boot.md, "The kernel's layout"). Nothing calls this code.
 */
#include <stdint.h>

#define GROW 6000

const char grown_rodata[GROW] = { 1 };
char grown_data[GROW] = { 2 };
char grown_bss[2 * GROW];

/* About 6 KiB of code: one unrolled loop's worth, and never run. */
uint64_t grown_text(uint64_t x)
{
	uint64_t h = x;
#pragma GCC unroll 512
	for (int i = 0; i < 512; i++)
		h = (h ^ (uint64_t)grown_rodata[i]) * 0x100000001b3ull + (uint64_t)grown_data[i];
	grown_bss[x % sizeof grown_bss] = (char)h;
	return h;
}
