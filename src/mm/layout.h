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

#include <stdint.h>

#define VA_BITS (9 * 4 + 12)                     /* 48 */
#define PML4_SLOT_SIZE (1ull << (9 * 3 + 12))    /* 512 GiB */
#define PML4_SLOT_BASE(slot) (0xFFFF000000000000ull + (slot) * PML4_SLOT_SIZE)

/* The direct map of physical memory (HHDM): pa is visible at HHDM_BASE + pa. */
#define HHDM_SLOT 256
#define HHDM_BASE PML4_SLOT_BASE(HHDM_SLOT)      /* 0xFFFF800000000000 */

/* The kernel image: linked at -2 GiB, in the last PML4 slot. */
#define KERNEL_VMA 0xFFFFFFFF80000000ull
#define KERNEL_SLOT 511

/* The lowest kernel-half slot and the number of kernel-half slots: the
 * kernel half (slots 256..511) is shared by every address space. */
#define KERNEL_HALF_FIRST_SLOT 256
#define KERNEL_HALF_SLOTS 256

/*
 * Page table pool windows (docs/ptp.md): pool number id is visible at
 * POOL_WINDOW_VA(id), in the kernel's space only. The largest pool
 * (CMDLINE_POOL_MAX pages) fits in one stride.
 */
#define POOL_WINDOW_SLOT 320
#define POOL_WINDOW_BASE PML4_SLOT_BASE(POOL_WINDOW_SLOT) /* 0xFFFFA00000000000 */
#define POOL_WINDOW_STRIDE (1ull << 30)                   /* 1 GiB a pool */
#define POOL_WINDOW_VA(id) (POOL_WINDOW_BASE + (uint64_t)(id) * POOL_WINDOW_STRIDE)

/*
 * The recursive slot: PML4 entry RECURSIVE_SLOT points to the PML4 itself,
 * so the entry that maps va (at level 1) is visible at RECURSIVE_PTE_VA(va):
 * the CPU walks PML4 -> PML4 (as a PDPT) -> PDPT (as a PD) -> PD (as a PT)
 * and lands on the PT page, whose entry (va >> 12) & 511 is at offset *8.
 */
#define RECURSIVE_SLOT 510
#define RECURSIVE_BASE PML4_SLOT_BASE(RECURSIVE_SLOT)     /* 0xFFFFFF0000000000 */
#define RECURSIVE_PTE_VA(va) \
	(RECURSIVE_BASE + ((((va) >> 12) & ((1ull << 36) - 1)) << 3))

/* Kernel allocations (kalloc.h): 64 slots = 32 TiB of VA. */
#define KALLOC_SLOT 384
#define KALLOC_BASE PML4_SLOT_BASE(KALLOC_SLOT)           /* 0xFFFFC00000000000 */
#define KALLOC_END PML4_SLOT_BASE(KALLOC_SLOT + 64)       /* 0xFFFFE00000000000 */

/* A slot for scenarios and the demo to map into freely (8 slots). */
#define SCRATCH_SLOT 448
#define SCRATCH_BASE PML4_SLOT_BASE(SCRATCH_SLOT)         /* 0xFFFFE00000000000 */
#define SCRATCH_END PML4_SLOT_BASE(SCRATCH_SLOT + 8)

/* User space: the low half, minus the first 4 MiB (NULL and friends). */
#define USER_BASE 0x400000ull
#define USER_END (1ull << (VA_BITS - 1))                  /* 0x0000800000000000 */

/* The constants the trace tools read from the schema (src/lib/trace.schema)
 * must be the kernel's: the build fails here if they are not. */
#include "trace_schema.h"
#define LAYOUT_AGREES(name) _Static_assert(name == TRACE_CONST_##name, \
					   #name " differs in trace.schema")
LAYOUT_AGREES(HHDM_BASE);
LAYOUT_AGREES(KERNEL_VMA);
LAYOUT_AGREES(POOL_WINDOW_BASE);
LAYOUT_AGREES(POOL_WINDOW_STRIDE);
LAYOUT_AGREES(RECURSIVE_SLOT);
LAYOUT_AGREES(KALLOC_BASE);
LAYOUT_AGREES(KALLOC_END);
LAYOUT_AGREES(SCRATCH_BASE);
LAYOUT_AGREES(USER_BASE);
LAYOUT_AGREES(USER_END);
_Static_assert(PML4_SLOT_BASE(KERNEL_HALF_FIRST_SLOT) == TRACE_CONST_KERNEL_HALF,
	       "KERNEL_HALF differs in trace.schema");
#undef LAYOUT_AGREES

/* True if bits 63..47 of va are all equal to bit 47. */
#define VA_IS_CANONICAL(va) \
	(((int64_t)((uint64_t)(va) << (64 - VA_BITS)) >> (64 - VA_BITS)) == \
	 (int64_t)(va))

#endif
