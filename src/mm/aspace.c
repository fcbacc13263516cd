/*
 * aspace.c - address spaces (aspace.h, docs/paging.md).
 */
#include "aspace.h"

#include "layout.h"
#include "paging.h"
#include "paging_change.h"
#include "paging_walk.h"
#include "panic.h"
#include "trace.h"

status_t aspace_create(uint64_t pool_pages, struct aspace *out)
{
	TRACE_CALL();
	if (!vm_kernel_pool || !out)
		return trace_error(STATUS_INVALID_ARG, "pages=%lu", pool_pages);
	struct ptp *pool;
	status_t st = ptp_create(pool_pages ? pool_pages : ASPACE_DEFAULT_POOL,
				 PTP_UNMODIFIABLE, &pool);
	if (st != STATUS_OK)
		return st;
	vm_share_kernel_half(pool, vm_kernel_pool);
	vm_set_recursive(pool);
	st = vm_map_range(vm_kernel_pool, pool->window_va, pool->pa,
			  pool->pages, PTE_P | PTE_W | PTE_NX | PTE_PIN);
	if (st != STATUS_OK) {
		ptp_destroy(pool);
		return st;
	}
	ptp_set_base(pool, arch_mapped_ptr(pool->window_va, pool->pa));
	ptp_seal(pool);
	out->pool = pool;
	trace_as_create(pool->id, pool->pa, pool->pages);
	return STATUS_OK;
}

status_t aspace_switch(const struct aspace *as)
{
	TRACE_CALL();
	struct ptp *pool = as ? as->pool : vm_kernel_pool;
	if (!pool || !pool->live)
		return trace_error(STATUS_INVALID_ARG, "id=-");
	trace_as_switch(pool->id);
	vm_load_cr3(pool);
	return STATUS_OK;
}

status_t aspace_destroy(struct aspace *as)
{
	TRACE_CALL();
	if (!as || !as->pool || !as->pool->live || as->pool == vm_kernel_pool)
		return trace_error(STATUS_INVALID_ARG, "id=-");
	struct ptp *pool = as->pool;
	if (arch_read_cr3() == pool->pa)
		return trace_error(STATUS_BUSY, "id=%u cr3=%#lx", pool->id,
				   pool->pa);
	vm_unpin_all(pool, 0, USER_END / PAGE_SIZE);
	vm_clear(pool, 0, USER_END / PAGE_SIZE);
	vm_unpin_all(vm_kernel_pool, pool->window_va, pool->pages);
	vm_clear(vm_kernel_pool, pool->window_va, pool->pages);
	trace_as_destroy(pool->id);
	status_t st = ptp_destroy(pool);
	ASSERT(st == STATUS_OK);
	as->pool = NULL;
	return STATUS_OK;
}
