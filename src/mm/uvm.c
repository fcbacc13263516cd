/*
 * uvm.c - a user process's memory (uvm.h, docs/user.md, docs/faults.md).
 */
#include "uvm.h"

#include "format.h"
#include "frame.h"
#include "paging.h"
#include "paging_walk.h"
#include "panic.h"
#include "string.h"
#include "swap.h"
#include "trace.h"

static const char *const kind_names[] = { "text", "data", "heap", "stack",
					  "mmap" };

static const char *prot_name(unsigned prot)
{
	static const char *const names[8] = { "---", "r--", "-w-", "rw-",
					      "--x", "r-x", "-wx", "rwx" };
	return names[prot & 7];
}

const char *uvm_fault_name(enum uvm_fault_result r)
{
	static const char *const names[] = {
		"zero", "stack", "cow_copy", "cow_restore", "swap_in",
		"unmapped", "write_ro", "exec_nx", "kernel_addr", "no_memory",
		"stack_overflow", "swap_full", "swap_error",
	};
	return names[r];
}

void pf_error_text(uint64_t err, char *buf, unsigned cap)
{
	static const char letters[] = "PWURI";
	unsigned n = 0;
	for (int bit = 0; bit < 5 && n + 2 < cap; bit++) {
		if (!(err & (1u << bit)))
			continue;
		if (n)
			buf[n++] = '|';
		buf[n++] = letters[bit];
	}
	if (n == 0 && cap > 1)
		buf[n++] = '-';
	buf[n] = '\0';
}

static vaddr_t page_down(vaddr_t va) { return va & ~PAGE_MASK; }
static vaddr_t page_up(vaddr_t va) { return (va + PAGE_MASK) & ~PAGE_MASK; }

/* The leaf flags of a page of a region with rights prot. */
static uint64_t uvm_leaf_flags(unsigned prot)
{
	return PTE_P | PTE_U | (prot & UVM_W ? PTE_W : 0) |
	       (prot & UVM_X ? 0 : PTE_NX);
}

/* LAB 5 begin: helpers */
/* Writes zeros over the frame that va maps. */
static void zero_page(struct ptp *pool, vaddr_t va)
{
	paddr_t pa;
	status_t st = vm_translate(pool, va, &pa, NULL);
	ASSERT(st == STATUS_OK);
	memset(arch_phys_to_virt(pa), 0, PAGE_SIZE);
}
/* LAB 5 end */

/* ---- the address space and its regions ------------------------------------ */

status_t uvm_create(struct uvm *u, unsigned pid)
{
	TRACE_CALL();
	if (!u)
		return trace_error(STATUS_INVALID_ARG, "pid=%u", pid);
	status_t st = aspace_create(0, &u->as);
	if (st != STATUS_OK)
		return st;
	u->pid = pid;
	u->brk = 0;
	u->count = 0;
	return STATUS_OK;
}

void uvm_destroy(struct uvm *u)
{
	swap_forget(u, USER_BASE, (USER_END - USER_BASE) / PAGE_SIZE);
	status_t st = aspace_destroy(&u->as);
	ASSERT(st == STATUS_OK);
	u->count = 0;
}

const struct uvm_region *uvm_find(const struct uvm *u, vaddr_t va)
{
	for (unsigned i = 0; i < u->count; i++) {
		const struct uvm_region *r = &u->region[i];
		if (va >= r->va && va - r->va < r->pages * PAGE_SIZE)
			return r;
	}
	return NULL;
}

static struct uvm_region *uvm_find_start(struct uvm *u, vaddr_t va,
					 enum uvm_kind kind)
{
	for (unsigned i = 0; i < u->count; i++)
		if (u->region[i].va == va && u->region[i].kind == kind)
			return &u->region[i];
	return NULL;
}

bool uvm_range_ok(const struct uvm *u, vaddr_t va, uint64_t n, bool write)
{
	if (n == 0)
		return true;
	if (va < USER_BASE || va >= USER_END || n > USER_END - va)
		return false;
	for (vaddr_t p = page_down(va); p < va + n; p += PAGE_SIZE) {
		const struct uvm_region *r = uvm_find(u, p);
		if (!r || !(r->prot & (write ? UVM_W : UVM_R)))
			return false;
	}
	return true;
}

/* True if [va, va + pages) meets a region other than except. */
static bool uvm_overlaps(const struct uvm *u, vaddr_t va, uint64_t pages,
			 const struct uvm_region *except)
{
	for (unsigned i = 0; i < u->count; i++) {
		const struct uvm_region *r = &u->region[i];
		if (r != except && va < r->va + r->pages * PAGE_SIZE &&
		    r->va < va + pages * PAGE_SIZE)
			return true;
	}
	return false;
}

status_t uvm_add_region(struct uvm *u, enum uvm_kind kind, vaddr_t va,
			uint64_t pages, unsigned prot)
{
	TRACE_CALL();
	if (kind > UVM_MMAP || !(prot & UVM_R) || prot > 7 || va & PAGE_MASK)
		return trace_error(STATUS_INVALID_ARG, "pid=%u va=%#lx", u->pid,
				   va);
	if (va < USER_BASE || va >= USER_END ||
	    pages > (USER_END - va) / PAGE_SIZE)
		return trace_error(STATUS_OUT_OF_RANGE, "pid=%u va=%#lx n=%lu",
				   u->pid, va, pages);
	if (uvm_overlaps(u, va, pages, NULL))
		return trace_error(STATUS_ALREADY_MAPPED, "pid=%u va=%#lx n=%lu",
				   u->pid, va, pages);
	if (u->count == UVM_MAX_REGIONS)
		return trace_error(STATUS_TABLE_FULL, "pid=%u regions=%u", u->pid,
				   u->count);
	unsigned i = u->count++;
	for (; i > 0 && u->region[i - 1].va > va; i--) /* keep them sorted */
		u->region[i] = u->region[i - 1];
	u->region[i] = (struct uvm_region){ va, pages, kind, prot };
	trace_proc_region(u->pid, kind_names[kind], va, pages, prot_name(prot));
	return STATUS_OK;
}

static void uvm_remove_region(struct uvm *u, struct uvm_region *r)
{
	unsigned i = (unsigned)(r - u->region);
	for (; i + 1 < u->count; i++)
		u->region[i] = u->region[i + 1];
	u->count--;
}

/* Unmaps whatever is mapped in [va, va + pages). */
static void uvm_unmap_mapped(struct uvm *u, vaddr_t va, uint64_t pages)
{
	enum vm_range_state state;
	swap_forget(u, va, pages); /* its pages in swap, too */
	if (pages == 0 ||
	    vm_range_state(u->as.pool, va, pages, &state) != STATUS_OK ||
	    state == VM_RANGE_NONE)
		return;
	status_t st = vm_unmap(u->as.pool, va, pages);
	ASSERT(st == STATUS_OK);
}

status_t uvm_load(struct uvm *u, vaddr_t va, const void *data,
		  uint64_t filesz, uint64_t memsz, unsigned prot)
{
	TRACE_CALL();
	if (filesz > memsz || memsz == 0 || memsz > UVM_MAX_LOAD_PAGES * PAGE_SIZE)
		return trace_error(STATUS_INVALID_ARG,
				   "pid=%u va=%#lx filesz=%lu memsz=%lu", u->pid,
				   va, filesz, memsz);
	if (va < USER_BASE || va >= USER_END || memsz > USER_END - va)
		return trace_error(STATUS_OUT_OF_RANGE, "pid=%u va=%#lx n=%lu",
				   u->pid, va, memsz);
	vaddr_t first = page_down(va);
	uint64_t pages = (page_up(va + memsz) - first) / PAGE_SIZE;
	status_t st = uvm_add_region(u, prot & UVM_X ? UVM_TEXT : UVM_DATA,
				     first, pages, prot);
	if (st != STATUS_OK)
		return st;
	st = vm_map_new(u->as.pool, first, pages, uvm_leaf_flags(prot), PMM_USER);
	if (st != STATUS_OK) {
		uvm_remove_region(u, (struct uvm_region *)uvm_find(u, first));
		trace_proc_unregion(u->pid, first);
		return st;
	}
	const uint8_t *src = data;
	for (uint64_t i = 0; i < pages; i++) {
		vaddr_t page = first + i * PAGE_SIZE;
		paddr_t pa;
		vm_translate(u->as.pool, page, &pa, NULL);
		uint8_t *dst = arch_phys_to_virt(pa);
		memset(dst, 0, PAGE_SIZE);
		/* The part of [va, va + filesz) that falls in this page. */
		vaddr_t lo = page < va ? va : page;
		vaddr_t hi = page + PAGE_SIZE < va + filesz ? page + PAGE_SIZE
							     : va + filesz;
		if (lo < hi)
			memcpy(dst + (lo - page), src + (lo - va), hi - lo);
	}
	return STATUS_OK;
}

status_t uvm_add_heap_and_stack(struct uvm *u, vaddr_t brk)
{
	brk = page_up(brk);
	status_t st = uvm_add_region(u, UVM_HEAP, brk, 0, UVM_R | UVM_W);
	if (st != STATUS_OK)
		return st;
	u->brk = brk;
	return uvm_add_region(u, UVM_STACK, UVM_STACK_BASE, UVM_STACK_PAGES,
			      UVM_R | UVM_W);
}

/* ---- page faults ------------------------------------------------------------ */

/* Swap (swap.h): room for one more fault-mapped page. UVM_FIX_ZERO if
 * there is (or swapping is off), else the kill. */
static enum uvm_fault_result uvm_swap_result(status_t st)
{
	return st == STATUS_OK ? UVM_FIX_ZERO
	       : st == STATUS_SWAP_FULL ? UVM_KILL_SWAP_FULL
	       : st == STATUS_DISK_ERROR ? UVM_KILL_SWAP_ERROR
					 : UVM_KILL_NO_MEMORY;
}

static enum uvm_fault_result uvm_make_room(void)
{
	return uvm_swap_result(swap_reclaim());
}

/* A fault on a swapped-out page of region r: read it back. */
static enum uvm_fault_result uvm_fault_swap(struct uvm *u,
					    const struct uvm_region *r,
					    vaddr_t page, uint64_t raw)
{
	status_t st = swap_in(u, page, raw, uvm_leaf_flags(r->prot));
	return st == STATUS_OK ? UVM_FIX_SWAP_IN : uvm_swap_result(st);
}

/*
 * Demand-zero: the process may use the page (its region says so) but
 * nothing is mapped yet: map one fresh frame with the region's rights,
 * owned (so unmapping frees it), and zero it.
 */
static enum uvm_fault_result uvm_fault_zero(struct uvm *u,
					    const struct uvm_region *r,
					    vaddr_t page)
{
	/* LAB 5 begin: uvm_fault_zero, stub returns UVM_KILL_UNMAPPED */
	if (r->kind != UVM_HEAP && r->kind != UVM_STACK && r->kind != UVM_MMAP)
		return UVM_KILL_UNMAPPED; /* text and data are mapped at load */
	if (vm_map_new(u->as.pool, page, 1, uvm_leaf_flags(r->prot),
		       PMM_USER) != STATUS_OK)
		return UVM_KILL_NO_MEMORY;
	zero_page(u->as.pool, page);
	return r->kind == UVM_STACK ? UVM_FIX_STACK : UVM_FIX_ZERO;
	/* LAB 5 end */
}

/* A demand-zero fault under swap (swap.h): room first (an eviction), then
 * the page joins the resident set. Text and data are not demand-zero:
 * uvm_fault_zero kills, and nothing needs to go for that. */
static enum uvm_fault_result uvm_fault_demand(struct uvm *u,
					      const struct uvm_region *r,
					      vaddr_t page)
{
	if (r->kind != UVM_TEXT && r->kind != UVM_DATA) {
		enum uvm_fault_result why = uvm_make_room();
		if (why != UVM_FIX_ZERO)
			return why;
	}
	enum uvm_fault_result res = uvm_fault_zero(u, r, page);
	if (UVM_FAULT_FIXED(res))
		swap_track(u, page, true);
	return res;
}

/*
 * A write to a COW page. If others still share the frame, copy it into a
 * fresh frame that this page maps alone, writable, and drop one reference
 * of the old frame. If this page is the last sharer, no copy is needed:
 * give it W back.
 */
static enum uvm_fault_result uvm_fault_cow(struct uvm *u,
					   const struct uvm_region *r,
					   vaddr_t page, paddr_t old)
{
	/* LAB 6 begin: uvm_fault_cow, stub returns UVM_KILL_WRITE_RO */
	uint64_t flags = uvm_leaf_flags(r->prot);
	if (frame_count(old) >= 2) {
		paddr_t copy;
		if (pmm_alloc_page(PMM_USER, &copy) != STATUS_OK)
			return UVM_KILL_NO_MEMORY;
		memcpy(arch_phys_to_virt(copy), arch_phys_to_virt(old), PAGE_SIZE);
		status_t st = vm_remap(u->as.pool, page, copy, flags | PTE_OWN);
		ASSERT(st == STATUS_OK);
		frame_unshare(old);
		trace_cow_copy(u->pid, page, old, copy);
		return UVM_FIX_COW_COPY;
	}
	status_t st = vm_protect(u->as.pool, page, 1, flags);
	ASSERT(st == STATUS_OK);
	if (frame_count(old) == 1)
		frame_unshare(old);
	trace_cow_restore(u->pid, page, old);
	return UVM_FIX_COW_RESTORE;
	/* LAB 6 end */
}

/* The decision, from the region and the page's entry. */
static enum uvm_fault_result uvm_fault_resolve(struct uvm *u, vaddr_t va,
					       uint64_t err)
{
	if (va < USER_BASE || va >= USER_END)
		return va >= USER_END ? UVM_KILL_KERNEL_ADDR : UVM_KILL_UNMAPPED;
	const struct uvm_region *r = uvm_find(u, va);
	if (!r)
		return va < UVM_STACK_BASE &&
			       va >= UVM_STACK_BASE - UVM_STACK_GUARD_PAGES * PAGE_SIZE
			       ? UVM_KILL_STACK_OVERFLOW : UVM_KILL_UNMAPPED;
	if (err & PF_FETCH && !(r->prot & UVM_X))
		return UVM_KILL_EXEC_NX;
	if (err & PF_WRITE && !(r->prot & UVM_W))
		return UVM_KILL_WRITE_RO;
	vaddr_t page = page_down(va);
	int level;
	pte_t e = *vm_walk(u->as.pool, page, PT_LEVEL_PT, &level);
	if (level == PT_LEVEL_PT && swap_entry(e.raw))
		return uvm_fault_swap(u, r, page, e.raw);
	if (!pte_present(e))
		return uvm_fault_demand(u, r, page);
	if (err & PF_WRITE && e.raw & PTE_COW)
		return uvm_fault_cow(u, r, page, pte_addr(e));
	/* Mapped, and the region allows the access: the entry does not. */
	return err & PF_WRITE ? UVM_KILL_WRITE_RO
	       : err & PF_FETCH ? UVM_KILL_EXEC_NX : UVM_KILL_UNMAPPED;
}

enum uvm_fault_result uvm_fault(struct uvm *u, vaddr_t va, uint64_t err,
				vaddr_t rip, bool user_mode)
{
	char bits[16];
	pf_error_text(err, bits, sizeof bits);
	trace_pf_fault(u->pid, va, bits, rip, user_mode ? "user" : "kernel");
	enum uvm_fault_result r = uvm_fault_resolve(u, va, err);
	if (UVM_FAULT_FIXED(r))
		trace_pf_resolve(u->pid, page_down(va), uvm_fault_name(r));
	return r;
}

/* ---- sbrk, mmap, munmap ----------------------------------------------------- */

static struct uvm_region *uvm_heap(struct uvm *u)
{
	for (unsigned i = 0; i < u->count; i++)
		if (u->region[i].kind == UVM_HEAP)
			return &u->region[i];
	return NULL;
}

status_t uvm_sbrk(struct uvm *u, int64_t delta, vaddr_t *old)
{
	TRACE_CALL();
	struct uvm_region *heap = uvm_heap(u);
	if (!heap || !old)
		return trace_error(STATUS_INVALID_ARG, "pid=%u", u->pid);
	vaddr_t end = u->brk + (uint64_t)delta;
	if ((delta < 0 && 0 - (uint64_t)delta > u->brk - heap->va) ||
	    (delta > 0 && (uint64_t)delta > UVM_HEAP_END - u->brk))
		return trace_error(STATUS_OUT_OF_RANGE, "pid=%u brk=%#lx delta=%ld",
				   u->pid, u->brk, delta);
	uint64_t pages = (page_up(end) - heap->va) / PAGE_SIZE;
	if (pages > heap->pages &&
	    uvm_overlaps(u, heap->va, pages, heap))
		return trace_error(STATUS_ALREADY_MAPPED, "pid=%u brk=%#lx delta=%ld",
				   u->pid, u->brk, delta);
	*old = u->brk;
	u->brk = end;
	if (pages != heap->pages) {
		if (pages < heap->pages)
			uvm_unmap_mapped(u, heap->va + pages * PAGE_SIZE,
					 heap->pages - pages);
		heap->pages = pages;
		trace_proc_resize(u->pid, heap->va, pages);
	}
	return STATUS_OK;
}

status_t uvm_mmap(struct uvm *u, uint64_t pages, uint64_t prot, vaddr_t *out)
{
	TRACE_CALL();
	if (!out || (prot != UVM_R && prot != (UVM_R | UVM_W)))
		return trace_error(STATUS_INVALID_ARG, "pid=%u prot=%lu", u->pid,
				   prot);
	if (pages == 0)
		return trace_error(STATUS_ZERO_COUNT, "pid=%u n=0", u->pid);
	/* First fit among the regions, which are sorted by va. */
	vaddr_t va = UVM_MMAP_BASE;
	for (unsigned i = 0; i < u->count; i++) {
		const struct uvm_region *r = &u->region[i];
		vaddr_t end = r->va + r->pages * PAGE_SIZE;
		if (end <= va)
			continue;
		if (r->va >= va && (r->va - va) / PAGE_SIZE >= pages)
			break;
		va = end > va ? end : va;
	}
	if (va >= UVM_MMAP_END || (UVM_MMAP_END - va) / PAGE_SIZE < pages)
		return trace_error(STATUS_NOT_FOUND, "pid=%u n=%lu", u->pid, pages);
	status_t st = uvm_add_region(u, UVM_MMAP, va, pages, (unsigned)prot);
	if (st == STATUS_OK)
		*out = va;
	return st;
}

status_t uvm_munmap(struct uvm *u, vaddr_t va, uint64_t pages)
{
	TRACE_CALL();
	struct uvm_region *r = uvm_find_start(u, va, UVM_MMAP);
	if (!r || r->pages != pages)
		return trace_error(STATUS_NOT_FOUND, "pid=%u va=%#lx n=%lu",
				   u->pid, va, pages);
	uvm_unmap_mapped(u, va, pages);
	uvm_remove_region(u, r);
	trace_proc_unregion(u->pid, va);
	return STATUS_OK;
}

/* ---- fork ------------------------------------------------------------------- */

#define FORK_RUN 64 /* pages shared in one step at most */

/*
 * Shares the n mapped pages from va (consecutive, all with the entry flags
 * `flags`, frames pas[]) with the child: read-only in both, COW where they
 * were writable, one more reference on each frame.
 */
static void uvm_share_run(struct uvm *parent, struct uvm *child, vaddr_t va,
			  const paddr_t *pas, uint64_t n, uint64_t flags)
{
	/* LAB 6 begin: uvm_share_run */
	uint64_t shared = flags & ~(PTE_W | PTE_A | PTE_D);
	if (flags & (PTE_W | PTE_COW))
		shared |= PTE_COW;
	if (flags & PTE_W) {
		status_t st = vm_protect(parent->as.pool, va, n,
					 shared & ~PTE_OWN);
		ASSERT(st == STATUS_OK);
	}
	status_t st = vm_map_pages(child->as.pool, va, pas, n, shared);
	ASSERT(st == STATUS_OK); /* the child's pool was checked */
	for (uint64_t i = 0; i < n; i++) {
		st = frame_share(pas[i]);
		ASSERT(st == STATUS_OK);
	}
	trace_cow_share(parent->pid, child->pid, va, n);
	/* LAB 6 end */
}

/* Shares every mapped page of region r, in runs of equal flags. */
static void uvm_share_region(struct uvm *parent, struct uvm *child,
			     const struct uvm_region *r)
{
	paddr_t pas[FORK_RUN];
	uint64_t n = 0, run_flags = 0;
	vaddr_t run_va = 0;
	struct vm_leaves it;
	if (r->pages == 0)
		return;
	/* The leaves are gathered first, then shared: sharing rewrites the
	 * parent's entries, which the iterator must not see change. */
	vaddr_t va = r->va, last = r->va + r->pages * PAGE_SIZE - 1;
	for (;;) {
		n = 0;
		vm_leaves_start(&it, parent->as.pool, va, last);
		while (n < FORK_RUN && vm_leaves_next(&it)) {
			uint64_t f = pte_flags(*it.entry) & ~(PTE_A | PTE_D);
			if (n && (it.va != run_va + n * PAGE_SIZE || f != run_flags))
				break;
			if (!n) {
				run_va = it.va;
				run_flags = f;
			}
			pas[n++] = pte_addr(*it.entry);
		}
		if (!n)
			return;
		uvm_share_run(parent, child, run_va, pas, n, run_flags);
		va = run_va + n * PAGE_SIZE;
		if (va == 0 || va > last)
			return;
	}
}

status_t uvm_fork(struct uvm *parent, struct uvm *child)
{
	TRACE_CALL();
	status_t st = frame_init();
	if (st != STATUS_OK)
		return st;
	if (swap_holds(parent)) /* the policy of swap.h: no fork from swap */
		return trace_error(STATUS_BUSY, "pid=%u swapped=yes", parent->pid);
	/* Both pools hold a PML4 and a bitmap; the child needs room for every
	 * other table of the parent's, so that no map below can fail. */
	uint64_t need = parent->as.pool->used - child->as.pool->used;
	if (ptp_free_pages(child->as.pool) < need)
		return trace_error(STATUS_POOL_EXHAUSTED, "pid=%u need=%lu free=%lu",
				   child->pid, need,
				   ptp_free_pages(child->as.pool));
	for (unsigned i = 0; i < parent->count; i++) {
		const struct uvm_region *r = &parent->region[i];
		st = uvm_add_region(child, r->kind, r->va, r->pages, r->prot);
		ASSERT(st == STATUS_OK);
	}
	child->brk = parent->brk;
	for (unsigned i = 0; i < parent->count; i++)
		uvm_share_region(parent, child, &parent->region[i]);
	return STATUS_OK;
}
