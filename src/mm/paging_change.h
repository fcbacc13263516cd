/*
 * paging_change.h - the choke point of paging (private to src/mm/).
 *
 * These functions are the only code that writes a page-table entry, loads
 * CR3 or invalidates the TLB. Each one makes its change and then writes its
 * event, in that order, and nothing else changes in between. So at every
 * event N, the tables reachable from CR3 are exactly what a replay of
 * events 1..N says (`vtrace state --at N`), also in the middle of a range
 * operation: a Bochs stop at `break=N` (just before line N is written)
 * sees the machine that the trace describes. The physical bitmap has its
 * own choke point (pmm_bitmap.c), and so do the pools' pages (ptp.c).
 *
 * A range event covers entries of one table only: a range operation that
 * crosses tables writes one event per table, each right after its entries.
 */
#ifndef VITRINE_PAGING_CHANGE_H
#define VITRINE_PAGING_CHANGE_H

#include <stdint.h>

#include "arch.h"
#include "pte.h"
#include "ptp.h"

/*
 * Entries index..index+n-1 of the table `parent` (at parent_pa) point to
 * n new tables of `level`, at pa, pa+4K, ... (pt.new, with n= if n > 1).
 */
void vm_tables_install(pte_t *parent, paddr_t parent_pa, unsigned index,
		       unsigned n, int level, paddr_t pa, uint64_t flags);

/* Entry index of `parent` stops pointing to its table of `level`
 * (pt.free). The table page is not freed here: the caller returns it to
 * its pool once the TLB has been invalidated. */
void vm_table_detach(pte_t *parent, paddr_t parent_pa, unsigned index,
		     int level);

/*
 * Writes the n consecutive leaf entries e[0..n) of one table, for va..
 * in steps of unit (4 KiB or 2 MiB), to the physical pages pa.. or, if
 * pas is not NULL, pas[0..n). One vm.map per run of physical pages that
 * are contiguous, each written right after its run's entries.
 */
void vm_leaves_write(struct ptp *pool, pte_t *e, vaddr_t va, paddr_t pa,
		     const paddr_t *pas, uint64_t n, uint64_t unit,
		     uint64_t flags);

/* Clears the n consecutive present leaf entries e[0..n) of one table,
 * mapping va.. in steps of unit (vm.unmap). */
void vm_leaves_clear(struct ptp *pool, pte_t *e, vaddr_t va, uint64_t n,
		     uint64_t unit);

/* Rewrites the n consecutive present leaf entries e[0..n) of one table:
 * each keeps its address and its bits in `keep`, the rest becomes flags;
 * all n end with the same flags (vm.protect). */
void vm_leaves_protect(struct ptp *pool, pte_t *e, vaddr_t va, uint64_t n,
		       uint64_t unit, uint64_t flags, uint64_t keep);

/* The present 4K leaf e (mapping va) maps pa with flags now (vm.remap);
 * the caller invalidates va next. */
void vm_leaf_remap(struct ptp *pool, pte_t *e, vaddr_t va, paddr_t pa,
		   uint64_t flags);
/* Swap (swap.h, docs/swap.md). vm_leaf_age reads the A and D bits of the
 * present 4K leaf e (mapping va), clears A and returns what it read
 * (vm.age); the caller invalidates va when A was set, so that the CPU
 * walks the tables, and sets A, at the next access. vm_leaf_swapout turns
 * the present leaf into the swapped encoding `swapped` (not present:
 * vm.swapout); vm_leaf_forget clears such an entry (vm.forget). */
uint64_t vm_leaf_age(struct ptp *pool, pte_t *e, vaddr_t va);
void vm_leaf_swapout(struct ptp *pool, pte_t *e, vaddr_t va, uint64_t slot,
		     pte_t swapped);
void vm_leaf_forget(struct ptp *pool, pte_t *e, vaddr_t va, uint64_t slot);

/* The PML4 of `to` gets the kernel half of the PML4 of `from` (slots
 * 256..511 but the recursive slot: pt.share). */
void vm_share_kernel_half(struct ptp *to, const struct ptp *from);

/* The pool's PML4 entry RECURSIVE_SLOT points to the PML4 itself
 * (ptp.recursive). */
void vm_set_recursive(struct ptp *pool);

/* Loads CR3 with the pool's PML4 (tlb.cr3). */
void vm_load_cr3(struct ptp *pool);

/* Invalidates n 4K pages from va: invlpg each, or one full flush past
 * VM_INVLPG_THRESHOLD pages (tlb.invlpg / tlb.flush). */
void vm_invalidate(vaddr_t va, uint64_t n);

#endif
