/*
 * paging_change.c - the choke point of paging (paging_change.h): every
 * entry write, CR3 load and invalidation, each followed by its event.
 */
#include "paging_change.h"
#include "paging_walk.h"

#include "layout.h"
#include "paging.h"
#include "trace.h"

void vm_tables_install(pte_t *parent, paddr_t parent_pa, unsigned index,
		       unsigned n, int level, paddr_t pa, uint64_t flags)
{
	for (unsigned i = 0; i < n; i++)
		parent[index + i] = pte_make(pa + i * PAGE_SIZE, flags);
	if (n == 1)
		trace_pt_new(pa, level, parent_pa, index);
	else
		trace_pt_new_n(pa, level, parent_pa, index, n);
}

void vm_table_detach(pte_t *parent, paddr_t parent_pa, unsigned index,
		     int level)
{
	paddr_t pa = pte_addr(parent[index]);
	parent[index].raw = 0;
	vm_walk_forget(); /* a cached page directory may be this table's */
	trace_pt_free(pa, level, parent_pa, index);
}

void vm_leaves_write(struct ptp *pool, pte_t *e, vaddr_t va, paddr_t pa,
		     const paddr_t *pas, uint64_t n, uint64_t unit,
		     uint64_t flags)
{
	if (n == 1) { /* the loop below for one entry, without its run search */
		paddr_t first = pas ? pas[0] : pa;
		*e = pte_make(first, flags);
		trace_vm_map(pool->id, va, first, 1,
			     unit == PAGE_SIZE ? "4K" : "2M", pte_flags(*e),
			     e->raw);
		pool->mapped_pages += unit / PAGE_SIZE;
		return;
	}
	uint64_t i = 0;
	while (i < n) {
		paddr_t first = pas ? pas[i] : pa + i * unit;
		uint64_t run = pas ? 1 : n - i; /* pa..: all n in one run */
		while (pas && i + run < n && pas[i + run] == first + run * unit)
			run++;
		for (uint64_t k = 0; k < run; k++)
			e[i + k] = pte_make(first + k * unit, flags);
		trace_vm_map(pool->id, va + i * unit, first, run,
			     unit == PAGE_SIZE ? "4K" : "2M", pte_flags(e[i]),
			     e[i].raw);
		i += run;
	}
	pool->mapped_pages += n * (unit / PAGE_SIZE);
}

void vm_leaves_clear(struct ptp *pool, pte_t *e, vaddr_t va, uint64_t n,
		     uint64_t unit)
{
	for (uint64_t i = 0; i < n; i++)
		e[i].raw = 0;
	uint64_t pages = n * (unit / PAGE_SIZE);
	pool->mapped_pages -= pages;
	trace_vm_unmap(pool->id, va, pages);
}

void vm_leaves_protect(struct ptp *pool, pte_t *e, vaddr_t va, uint64_t n,
		       uint64_t unit, uint64_t flags, uint64_t keep)
{
	for (uint64_t i = 0; i < n; i++)
		e[i] = pte_make(pte_addr(e[i]), flags | (e[i].raw & keep));
	trace_vm_protect(pool->id, va, n * (unit / PAGE_SIZE), pte_flags(e[0]),
			 e[0].raw);
}

void vm_leaf_remap(struct ptp *pool, pte_t *e, vaddr_t va, paddr_t pa,
		   uint64_t flags)
{
	*e = pte_make(pa, flags);
	trace_vm_remap(pool->id, va, pa, pte_flags(*e), e->raw);
}

uint64_t vm_leaf_age(struct ptp *pool, pte_t *e, vaddr_t va)
{
	uint64_t seen = e->raw & (PTE_A | PTE_D);
	e->raw &= ~PTE_A;
	trace_vm_age(pool->id, va, seen, e->raw);
	return seen;
}

void vm_leaf_swapout(struct ptp *pool, pte_t *e, vaddr_t va, uint64_t slot,
		     pte_t swapped)
{
	*e = swapped;
	pool->mapped_pages--;
	trace_vm_swapout(pool->id, va, slot, e->raw);
}

void vm_leaf_forget(struct ptp *pool, pte_t *e, vaddr_t va, uint64_t slot)
{
	e->raw = 0;
	trace_vm_forget(pool->id, va, slot);
}

void vm_share_kernel_half(struct ptp *to, const struct ptp *from)
{
	const pte_t *kernel = ptp_table(from->pa);
	pte_t *pml4 = ptp_table(to->pa);
	for (unsigned slot = KERNEL_HALF_FIRST_SLOT; slot < RECURSIVE_SLOT; slot++)
		pml4[slot] = kernel[slot];
	trace_pt_share(to->pa, from->pa, KERNEL_HALF_FIRST_SLOT,
		       RECURSIVE_SLOT - KERNEL_HALF_FIRST_SLOT);
	for (unsigned slot = RECURSIVE_SLOT + 1; slot < PT_ENTRIES; slot++)
		pml4[slot] = kernel[slot];
	trace_pt_share(to->pa, from->pa, RECURSIVE_SLOT + 1,
		       PT_ENTRIES - RECURSIVE_SLOT - 1);
	to->shares_kernel_half = true;
	vm_walk_forget(); /* the kernel half's directories may be new */
}

void vm_set_recursive(struct ptp *pool)
{
	pte_t *pml4 = ptp_table(pool->pa);
	pml4[RECURSIVE_SLOT] = pte_make(pool->pa, PTE_TABLE_FLAGS | PTE_NX);
	trace_ptp_recursive(pool->id, RECURSIVE_SLOT, pml4[RECURSIVE_SLOT].raw);
}

void vm_load_cr3(struct ptp *pool)
{
	arch_write_cr3(pool->pa);
	trace_tlb_cr3(pool->pa, pool->id);
}

void vm_invalidate(vaddr_t va, uint64_t n)
{
	if (n > VM_INVLPG_THRESHOLD) {
		arch_flush_tlb_all();
		trace_tlb_flush("threshold");
		return;
	}
	for (uint64_t i = 0; i < n; i++)
		arch_invlpg(va + i * PAGE_SIZE);
	trace_tlb_invlpg(va, n);
}
