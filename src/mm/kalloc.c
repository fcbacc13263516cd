/*
 * kalloc.c - kernel allocations of whole pages (kalloc.h, docs/alloc.md).
 */
#include "kalloc.h"

#include "layout.h"
#include "paging.h"
#include "paging_walk.h"
#include "panic.h"
#include "string.h"
#include "trace.h"

struct vrange kalloc_space;
static struct vrange_extent kalloc_extents[KALLOC_EXTENTS];

/* Flags a caller may ask for; P is required. */
#define KALLOC_ALLOWED_FLAGS                                                   \
	(PTE_P | PTE_W | PTE_NX | PTE_G | PTE_PCD | PTE_PWT)

status_t kalloc_init(void)
{
	TRACE_CALL();
	if (!vm_kernel_pool)
		return trace_error(STATUS_INVALID_ARG, "pool=-");
	return vrange_init(&kalloc_space, vm_kernel_pool->id, KALLOC_BASE,
			   KALLOC_END, kalloc_extents, KALLOC_EXTENTS);
}

/* Checks what vrange_find and vm_map_new do not: the space is up, the
 * flags are a kernel mapping's, the count is sane, out is given. */
static status_t kalloc_check(uint64_t pages, uint64_t flags,
			     const vaddr_t *out)
{
	if (!out || !vm_kernel_pool || !kalloc_space.ext || !(flags & PTE_P) ||
	    (flags & ~KALLOC_ALLOWED_FLAGS))
		return trace_error(STATUS_INVALID_ARG, "n=%lu flags=%#lx",
				   pages, flags);
	if (pages > KALLOC_MAX_PAGES)
		return trace_error(STATUS_TOO_LARGE, "n=%lu max=%llu",
				   pages, KALLOC_MAX_PAGES);
	return STATUS_OK;
}

/* The whole allocation within [lo, hi) (kalloc.h). */
static status_t kalloc_in(uint64_t pages, uint64_t flags,
			  vaddr_t lo, vaddr_t hi, enum pmm_reason why,
			  uint32_t owner, uint64_t cookie, vaddr_t *out)
{
	status_t st = kalloc_check(pages, flags, out);
	vaddr_t va = 0;
	if (st == STATUS_OK)
		st = vrange_find(&kalloc_space, pages, lo, hi, &va);
	if (st == STATUS_OK)
		st = vm_map_new(vm_kernel_pool, va, pages, flags, why);
	if (st != STATUS_OK)
		return st; /* the failing layer wrote the err event */
	vrange_take(&kalloc_space, va, pages, owner, cookie);
	trace_kalloc_alloc(va, pages, why);
	*out = va;
	return STATUS_OK;
}

status_t kalloc_region(uint64_t pages, uint64_t flags,
		       enum pmm_reason why, uint32_t owner, uint64_t cookie,
		       vaddr_t *out)
{
	return kalloc_in(pages, flags, KALLOC_BASE, KALLOC_END, why, owner,
			 cookie, out);
}

status_t kalloc(uint64_t pages, vaddr_t *out)
{
	TRACE_CALL();
	return kalloc_in(pages, KALLOC_FLAGS, KALLOC_BASE, KALLOC_END,
			 PMM_KALLOC, KALLOC_OWNER_PAGES, 0, out);
}

status_t kalloc_ext(uint64_t pages, uint64_t flags, vaddr_t lo, vaddr_t hi,
		    vaddr_t *out)
{
	TRACE_CALL();
	return kalloc_in(pages, flags, lo, hi, PMM_KALLOC,
			 KALLOC_OWNER_PAGES, 0, out);
}

status_t kalloc_release(vaddr_t va, uint64_t pages,
			uint32_t owner)
{
	if (va & PAGE_MASK)
		return trace_error(STATUS_UNALIGNED, "va=%#lx n=%lu", va,
				   pages);
	if (pages == 0)
		return trace_error(STATUS_ZERO_COUNT, "va=%#lx n=0", va);
	status_t st = vrange_check(&kalloc_space, va, pages, owner);
	if (st != STATUS_OK)
		return st;
	enum vm_range_state state;
	st = vm_range_state(vm_kernel_pool, va, pages, &state);
	if (st == STATUS_OK && state != VM_RANGE_FULL)
		st = trace_error(STATUS_NOT_MAPPED, "va=%#lx n=%lu state=%s", va, pages,
				 state == VM_RANGE_NONE ? "none" : "partial");
	if (st != STATUS_OK)
		return st;
	trace_kalloc_free(va, pages);
	st = vm_unmap(vm_kernel_pool, va, pages);
	if (st != STATUS_OK)
		return st; /* a pinned page: vm_unmap refused and said so */
	st = vrange_free(&kalloc_space, va, pages, owner);
	ASSERT(st == STATUS_OK);
	return STATUS_OK;
}

status_t kalloc_free(vaddr_t va, uint64_t pages)
{
	TRACE_CALL();
	return kalloc_release(va, pages, KALLOC_OWNER_PAGES);
}

status_t kvmalloc(size_t bytes, void **out)
{
	TRACE_CALL();
	if (!out)
		return trace_error(STATUS_INVALID_ARG, "bytes=%lu out=NULL", bytes);
	if (bytes == 0)
		return trace_error(STATUS_ZERO_COUNT, "bytes=0");
	uint64_t pages = bytes / PAGE_SIZE + (bytes % PAGE_SIZE != 0);
	vaddr_t va;
	status_t st =
	    kalloc_in(pages, KALLOC_FLAGS, KALLOC_BASE, KALLOC_END,
		      PMM_KALLOC, KALLOC_OWNER_PAGES, 0, &va);
	if (st == STATUS_OK)
		*out = (void *)va;
	return st;
}

status_t kvfree(void *p)
{
	TRACE_CALL();
	vaddr_t va = (vaddr_t)p;
	const struct vrange_extent *e = vrange_lookup(&kalloc_space, va);
	uint64_t pages = e && e->va == va ? e->pages : 1;
	return kalloc_release(va, pages, KALLOC_OWNER_PAGES);
}

void *kalloc_ptr(vaddr_t va)
{
	if (!vm_kernel_pool || !VA_IS_CANONICAL(va))
		return NULL;
	struct vm_walk w;
	vm_walk_init(&w, vm_kernel_pool);
	int level;
	pte_t *e = vm_walk_lookup(&w, va, PT_LEVEL_PT, &level);
	if (!pte_present(*e))
		return NULL;
	uint64_t offset = va & (PT_LEVEL_SIZE(level) - 1);
	vaddr_t page = va - offset;
	return (char *)arch_mapped_ptr(page, pte_addr(*e)) + offset;
}

/* Bytes from va to the end of its page. */
static size_t kalloc_page_left(vaddr_t va)
{
	return PAGE_SIZE - (va & PAGE_MASK);
}

void kalloc_copy(vaddr_t dst, vaddr_t src, size_t n)
{
	while (n) {
		size_t chunk = kalloc_page_left(dst);
		if (kalloc_page_left(src) < chunk)
			chunk = kalloc_page_left(src);
		if (n < chunk)
			chunk = n;
		memcpy(kalloc_ptr(dst), kalloc_ptr(src), chunk);
		dst += chunk;
		src += chunk;
		n -= chunk;
	}
}

void kalloc_zero(vaddr_t va, size_t n)
{
	while (n) {
		size_t chunk =
		    kalloc_page_left(va) < n ? kalloc_page_left(va) : n;
		memset(kalloc_ptr(va), 0, chunk);
		va += chunk;
		n -= chunk;
	}
}

void kalloc_dump(void)
{
	vrange_dump(&kalloc_space);
}
