/*
 * layout.h - the kernel's virtual address space (docs/paging.md has the map).
 *
 * x86-64 4-level paging translates 48-bit addresses: 4 levels of 9 index
 * bits plus a 12-bit page offset. Bits 63..47 must all equal bit 47
 * ("canonical"), which splits the space in a low (user) and a high (kernel)
 * half. Each PML4 slot covers 2^39 bytes = 512 GiB.
 */
#ifndef VITRINE_LAYOUT_H
#define VITRINE_LAYOUT_H

#define VA_BITS (9 * 4 + 12)                     /* 48 */
#define PML4_SLOT_SIZE (1ull << (9 * 3 + 12))    /* 512 GiB */
#define PML4_SLOT_BASE(slot) (0xFFFF000000000000ull + (slot) * PML4_SLOT_SIZE)

/* The direct map of physical memory (HHDM): pa is visible at HHDM_BASE + pa. */
#define HHDM_SLOT 256
#define HHDM_BASE PML4_SLOT_BASE(HHDM_SLOT)      /* 0xFFFF800000000000 */

/* The kernel image: linked at -2 GiB, in the last PML4 slot. */
#define KERNEL_VMA 0xFFFFFFFF80000000ull

#endif
