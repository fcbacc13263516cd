/*
 * arch.h - everything src/mm/ needs from the machine, and nothing more.
 *
 * The memory manager never touches hardware directly. The kernel implements
 * this interface in src/boot/arch.c (real CR3, invlpg, the higher-half direct
 * map); the host tests implement it in tests/host/arch_host.c over a block of
 * simulated physical memory, recording every CR3 load and invalidation so a
 * test can assert them. So the host tests run the very code that runs in
 * Bochs, and see the same trace lines.
 */
#ifndef VITRINE_ARCH_H
#define VITRINE_ARCH_H

#include <stdint.h>

typedef uint64_t paddr_t; /* a physical address */
typedef uint64_t vaddr_t; /* a virtual address */

/*
 * The physical-to-virtual window: a pointer through which the CPU can read
 * and write physical address pa now. In the kernel this is the higher-half
 * direct map (HHDM_BASE + pa), valid for every usable page; on the host it
 * is the simulated memory. Page tables are NOT edited through it once a
 * pool is live: they are edited through their pool's window (ptp.h).
 */
void *arch_phys_to_virt(paddr_t pa);

/*
 * A pointer through which the CPU reaches va, a page that the live tables
 * map to physical pa. The kernel returns va itself; the host, which has no
 * MMU, returns the simulated memory at pa. Used to switch a page table
 * pool to its window once the window is live (ptp.h).
 */
void *arch_mapped_ptr(vaddr_t va, paddr_t pa);

/* The physical address of the current top-level table (CR3 without flags). */
paddr_t arch_read_cr3(void);

/* Loads CR3: switches address space and flushes non-global TLB entries. */
void arch_write_cr3(paddr_t pml4_pa);

/* Drops the TLB entry for one virtual page (invlpg). */
void arch_invlpg(vaddr_t va);

/* Drops every TLB entry, global ones included (toggles CR4.PGE). */
void arch_flush_tlb_all(void);

#endif
