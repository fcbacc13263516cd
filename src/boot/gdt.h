/* gdt.h - segments and the TSS with its interrupt stacks (docs/boot.md). */
#ifndef VITRINE_GDT_H
#define VITRINE_GDT_H

#include <stdint.h>

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_USER_DATA 0x18 /* DPL 3: a selector for it is 0x18 | 3 */
#define GDT_USER_CODE 0x20 /* DPL 3, 64-bit */
#define GDT_TSS 0x28       /* 16 bytes: two slots */
#define GDT_RPL_USER 3     /* the requested privilege level of ring 3 */

/* Interrupt Stack Table slots (1-based, as in the IDT's IST field). */
#define IST_DOUBLE_FAULT 1
#define IST_PAGE_FAULT 2
#define IST_OTHER 3 /* NMI, machine check */
#define IST_COUNT 3

/* Loads the GDT with the TSS and reloads every segment register. */
void gdt_init(void);

/* The stack the CPU switches to on an interrupt or exception from ring 3
 * (the TSS's RSP0). */
void gdt_set_kernel_stack(uint64_t top);

/* The top of the stack of IST slot ist (1-based). */
uint64_t gdt_ist_top(int ist);

#endif
