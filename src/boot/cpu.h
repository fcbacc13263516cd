/* cpu.h - control registers and CPU instructions the kernel uses (kernel only). */
#ifndef VITRINE_CPU_H
#define VITRINE_CPU_H

#include <stdint.h>

static inline uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_cr3(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline void write_cr3(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline uint64_t read_cr4(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline void write_cr4(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static inline void invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* Bochs magic breakpoint (magic_break: enabled=1): a no-op elsewhere. */
static inline void bochs_breakpoint(void)
{
	__asm__ volatile("xchg %%bx, %%bx" : : : "memory");
}

#define CR4_PGE (1ull << 7)

#endif
