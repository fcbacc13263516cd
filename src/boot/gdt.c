/*
 * gdt.c - the 64-bit GDT and the TSS.
 *
 * In long mode segments are flat; the GDT matters for three things: the
 * code segments' L bit (64-bit code), their privilege level (DPL 0 for the
 * kernel, 3 for user processes: ring 3), and the TSS. The TSS's RSP0 is
 * the stack the CPU switches to when ring 3 is interrupted (a system call,
 * a fault), and its Interrupt Stack Table gives the page-fault and
 * double-fault handlers stacks of their own. With them a kernel stack
 * overflow (a fault on the guard page, with RSP already unusable) can
 * still be reported instead of becoming a triple fault.
 */
#include "gdt.h"

#include <stdint.h>

#define IST_STACK_SIZE 16384

struct __attribute__((packed)) tss {
	uint32_t reserved0;
	uint64_t rsp[3];     /* stacks for a change to ring 0..2 */
	uint64_t reserved1;
	uint64_t ist[7];     /* IST1..IST7 */
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base; /* past the limit: no I/O permission bitmap */
};

struct __attribute__((packed)) gdt_pointer {
	uint16_t limit;
	uint64_t base;
};

static struct tss tss;
static uint64_t gdt[7];
static uint8_t ist_stacks[IST_COUNT][IST_STACK_SIZE] __attribute__((aligned(16)));

/* A 16-byte TSS descriptor (SDM vol. 3, 8.2.3): base split over 3 fields. */
static void set_tss_descriptor(uint64_t *slot, uint64_t base, uint32_t limit)
{
	slot[0] = (limit & 0xFFFFull) | ((base & 0xFFFFFFull) << 16) |
		  (0x89ull << 40) /* present, type 9: available 64-bit TSS */ |
		  ((uint64_t)(limit >> 16 & 0xF) << 48) |
		  ((base >> 24 & 0xFF) << 56);
	slot[1] = base >> 32;
}

void gdt_init(void)
{
	gdt[0] = 0;
	gdt[GDT_KERNEL_CODE / 8] = 0x00AF9A000000FFFFull; /* 64-bit code, DPL 0 */
	gdt[GDT_KERNEL_DATA / 8] = 0x00CF92000000FFFFull; /* data, writable */
	gdt[GDT_USER_DATA / 8] = 0x00CFF2000000FFFFull;   /* data, DPL 3 */
	gdt[GDT_USER_CODE / 8] = 0x00AFFA000000FFFFull;   /* 64-bit code, DPL 3 */
	for (int i = 0; i < IST_COUNT; i++)
		tss.ist[i] = (uint64_t)(ist_stacks[i] + IST_STACK_SIZE);
	tss.iomap_base = sizeof tss;
	set_tss_descriptor(&gdt[GDT_TSS / 8], (uint64_t)&tss, sizeof tss - 1);

	struct gdt_pointer ptr = { sizeof gdt - 1, (uint64_t)gdt };
	__asm__ volatile(
		"lgdt %0\n\t"
		"mov %2, %%ax\n\t"      /* reload the data segments */
		"mov %%ax, %%ds\n\t"
		"mov %%ax, %%es\n\t"
		"mov %%ax, %%ss\n\t"
		"pushq %1\n\t"          /* reload CS with a far return */
		"lea 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"ltr %w3"               /* load the task register: the TSS */
		:
		: "m"(ptr), "i"(GDT_KERNEL_CODE), "i"(GDT_KERNEL_DATA),
		  "r"((uint16_t)GDT_TSS)
		: "rax", "memory");
}

void gdt_set_kernel_stack(uint64_t top)
{
	tss.rsp[0] = top;
}

uint64_t gdt_ist_top(int ist)
{
	return tss.ist[ist - 1];
}
