/*
 * aspace.c - address spaces (aspace.h, docs/paging.md).
 */
#include "aspace.h"

#include "layout.h"
#include "paging.h"
#include "paging_walk.h"
#include "panic.h"
#include "trace.h"

/* Copies the kernel half of the kernel's PML4; the recursive slot points
 * to the new PML4 itself. */
static void aspace_share_kernel_half(struct ptp *pool)
{
	const pte_t *kernel = ptp_table(vm_kernel_pool->pa);
	pte_t *pml4 = ptp_table(pool->pa);
	for (unsigned slot = KERNEL_HALF_FIRST_SLOT; slot < PT_ENTRIES; slot++)
		pml4[slot] = kernel[slot];
	pml4[RECURSIVE_SLOT] = pte_make(pool->pa, PTE_TABLE_FLAGS | PTE_NX);
	pool->shares_kernel_half = true;
}

status_t aspace_create(uint64_t pool_pages, struct aspace *out)
{
	if (!vm_kernel_pool || !out)
		return trace_error(STATUS_INVALID_ARG, __func__, "pages=%lu",
				   pool_pages);
	struct ptp *pool;
	status_t st = ptp_create(pool_pages ? pool_pages : ASPACE_DEFAULT_POOL,
				 PTP_UNMODIFIABLE, &pool);
	if (st != STATUS_OK)
		return st;
	aspace_share_kernel_half(pool);
	st = vm_map_range(vm_kernel_pool, pool->window_va, pool->pa,
			  pool->pages, PTE_P | PTE_W | PTE_NX | PTE_PIN);
	if (st != STATUS_OK) {
		ptp_destroy(pool);
		return st;
	}
	ptp_set_base(pool, arch_mapped_ptr(pool->window_va, pool->pa));
	ptp_seal(pool);
	out->pool = pool;
	trace_event(TRACE_AS, "create", "id=%u pool=%#lx pages=%lu", pool->id,
		    pool->pa, pool->pages);
	return STATUS_OK;
}

status_t aspace_switch(const struct aspace *as)
{
	struct ptp *pool = as ? as->pool : vm_kernel_pool;
	if (!pool || !pool->live)
		return trace_error(STATUS_INVALID_ARG, __func__, "id=-");
	trace_event(TRACE_AS, "switch", "id=%u", pool->id);
	arch_write_cr3(pool->pa);
	trace_event(TRACE_TLB, "cr3", "pa=%#lx as=%u", pool->pa, pool->id);
	return STATUS_OK;
}

status_t aspace_destroy(struct aspace *as)
{
	if (!as || !as->pool || !as->pool->live || as->pool == vm_kernel_pool)
		return trace_error(STATUS_INVALID_ARG, __func__, "id=-");
	struct ptp *pool = as->pool;
	if (arch_read_cr3() == pool->pa)
		return trace_error(STATUS_BUSY, __func__, "id=%u cr3=%#lx",
				   pool->id, pool->pa);
	vm_unpin_all(pool, 0, USER_END / PAGE_SIZE);
	vm_clear(pool, 0, USER_END / PAGE_SIZE);
	vm_unpin_all(vm_kernel_pool, pool->window_va, pool->pages);
	vm_clear(vm_kernel_pool, pool->window_va, pool->pages);
	trace_event(TRACE_AS, "destroy", "id=%u", pool->id);
	status_t st = ptp_destroy(pool);
	ASSERT(st == STATUS_OK);
	as->pool = NULL;
	return STATUS_OK;
}
