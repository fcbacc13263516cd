/*
 * paging_scenarios.c - the kernel's page tables under a real MMU: rights
 * proven by probes, both windows onto the tables, the named cases
 * (tables returned, the region finder, owned neighbours, all-or-nothing
 * maps) and an address space's life. Expectations: tests/scenarios/
 * ptp_*.test, vm_*.test, as_*.test.
 */
#include "aspace.h"
#include "idt.h"
#include "layout.h"
#include "paging.h"
#include "pmm.h"
#include "probe.h"
#include "scenario.h"
#include "trace.h"

extern char __text_start[], __rodata_start[], __data_start[];
extern char kernel_stack_guard[];

/* Probes and writes the answer as a test.probe event. */
static struct probe_result shown(struct probe_result r, uint64_t va)
{
	trace_test_probe(va, r.faulted, r.vector, r.error_code);
	return r;
}

#define PF_PROTECTION_WRITE (PF_PRESENT | PF_WRITE)
#define PF_PROTECTION_FETCH (PF_PRESENT | PF_FETCH)

SCENARIO(vm_rights, "text, rodata, data, pool and guard pages fault as mapped")
{
	uint64_t text = (uint64_t)__text_start, ro = (uint64_t)__rodata_start;
	uint64_t data = (uint64_t)__data_start;
	uint64_t pool = vm_kernel_pool->window_va + PAGE_SIZE;
	uint64_t guard = (uint64_t)kernel_stack_guard;
	uint64_t hhdm = HHDM_BASE + 0x100000;

	struct probe_result r = shown(probe_write(text, 0x90), text);
	EXPECT(r.faulted && r.error_code == PF_PROTECTION_WRITE);
	r = shown(probe_write(ro, 0), ro);
	EXPECT(r.faulted && r.error_code == PF_PROTECTION_WRITE);
	r = shown(probe_read(ro), ro);
	EXPECT(!r.faulted);
	r = shown(probe_exec(data), data);
	EXPECT(r.faulted && r.error_code == PF_PROTECTION_FETCH);
	r = shown(probe_exec(pool), pool);
	EXPECT(r.faulted && r.error_code == PF_PROTECTION_FETCH);
	r = shown(probe_read(pool), pool);
	EXPECT(!r.faulted);
	r = shown(probe_read(guard), guard);
	EXPECT(r.faulted && r.error_code == 0 && r.address == guard);
	r = shown(probe_read(0x100000), 0x100000);
	EXPECT(r.faulted && r.error_code == 0); /* the bootstrap map is gone */
	r = shown(probe_read(hhdm), hhdm);
	EXPECT(!r.faulted);
	r = shown(probe_exec(hhdm), hhdm);
	EXPECT(r.faulted && r.error_code == PF_PROTECTION_FETCH);
}

SCENARIO(ptp_windows, "the pool window and the recursive slot show the same entries")
{
	struct ptp *pool = vm_kernel_pool;
	vaddr_t va = SCRATCH_BASE + 0x5000;
	EXPECT_STATUS(vm_map_new(pool, va, 1, PTE_P | PTE_W | PTE_NX, PMM_TEST),
		      STATUS_OK);
	/* the PT page, found through the pool window as the kernel does */
	vaddr_t w = pool->window_va;
	pte_t *pml4 = (pte_t *)w;
	pte_t *pdpt = (pte_t *)(w + pte_addr(pml4[PT_INDEX(va, 4)]) - pool->pa);
	pte_t *pd = (pte_t *)(w + pte_addr(pdpt[PT_INDEX(va, 3)]) - pool->pa);
	pte_t *pt = (pte_t *)(w + pte_addr(pd[PT_INDEX(va, 2)]) - pool->pa);
	volatile pte_t *by_window = &pt[PT_INDEX(va, 1)];
	volatile pte_t *by_recursion = (pte_t *)RECURSIVE_PTE_VA(va);
	trace_test_windows(va, (uint64_t)by_window, (uint64_t)by_recursion, by_window->raw);
	EXPECT(by_window->raw == by_recursion->raw);
	EXPECT(pte_present(*by_window));
	*(volatile uint64_t *)va = 42; /* the MMU agrees */
	EXPECT(*(volatile uint64_t *)va == 42);
	EXPECT_STATUS(vm_unmap(pool, va, 1), STATUS_OK);
	EXPECT(probe_read(va).faulted);
}

/* Maps n pages, unmaps them, checks every table went back to the pool. */
static void unmap_returns_tables(vaddr_t va, uint64_t n)
{
	struct ptp *pool = vm_kernel_pool;
	uint64_t used = pool->used;
	EXPECT_STATUS(vm_map_new(pool, va, n, PTE_P | PTE_W | PTE_NX, PMM_TEST),
		      STATUS_OK);
	EXPECT(pool->used > used);
	ptp_dump(pool);
	EXPECT_STATUS(vm_unmap(pool, va, n), STATUS_OK);
	ptp_dump(pool);
	EXPECT(pool->used == used);
}

SCENARIO(vm_unmap_tables, "unmapping 513 and 1024 pages returns every emptied table")
{
	unmap_returns_tables(SCRATCH_BASE + 0x7000, 513);
	unmap_returns_tables(SCRATCH_BASE + 0x40000000, 1024);
}

SCENARIO(vm_find_free, "the region finder never returns a mapped page")
{
	struct ptp *pool = vm_kernel_pool;
	vaddr_t b = SCRATCH_BASE, va = 0;
	EXPECT_STATUS(vm_map(pool, b, 0x100000, PTE_P | PTE_NX), STATUS_OK);
	EXPECT_STATUS(vm_map(pool, b + 0x201000, 0x100000, PTE_P | PTE_NX), STATUS_OK);
	static const uint64_t sizes[] = { 1, 511, 512, 513, 262144 };
	static const vaddr_t want[2][5] = {
		{ 0x1000, 0x1000, 0x1000, 0x202000, 0x202000 },
		{ 0x200000, 0x400000, 0x400000, 0x400000, 0x400000 },
	};
	for (int a = 0; a < 2; a++)
		for (int i = 0; i < 5; i++) {
			EXPECT_STATUS(vm_find_free(pool, b, SCRATCH_END, sizes[i],
						   a ? 512 : 0, &va), STATUS_OK);
			trace_test_found(sizes[i], a ? 512 : 0, va);
			EXPECT(va == b + want[a][i]);
		}
	/* a window that starts in an empty top-level slot, aligned */
	vaddr_t empty = SCRATCH_BASE + PML4_SLOT_SIZE + 0x1000;
	EXPECT_STATUS(vm_find_free(pool, empty, SCRATCH_END, 513, 512, &va), STATUS_OK);
	trace_test_found(513, 512, va);
	EXPECT(va == SCRATCH_BASE + PML4_SLOT_SIZE + 0x200000);
	EXPECT_STATUS(vm_unmap(pool, b, 0x202000 / PAGE_SIZE), STATUS_OK);
}

SCENARIO(vm_owned_neighbours, "protecting one owned page leaves its neighbours' ownership")
{
	struct ptp *pool = vm_kernel_pool;
	vaddr_t va = SCRATCH_BASE;
	EXPECT_STATUS(vm_map(pool, va, 0x100000, PTE_P | PTE_NX), STATUS_OK);
	EXPECT_STATUS(vm_map_new(pool, va + PAGE_SIZE, 1, PTE_P | PTE_NX, PMM_TEST),
		      STATUS_OK);
	EXPECT_STATUS(vm_map(pool, va + 2 * PAGE_SIZE, 0x101000, PTE_P | PTE_NX),
		      STATUS_OK);
	EXPECT_STATUS(vm_protect(pool, va + PAGE_SIZE, 1, PTE_P | PTE_W | PTE_NX),
		      STATUS_OK);
	EXPECT_STATUS(vm_protect(pool, va, 3, PTE_P | PTE_W | PTE_NX), STATUS_OK);
	paddr_t pa, owned;
	uint64_t f0, f1, f2;
	vm_translate(pool, va, &pa, &f0);
	vm_translate(pool, va + PAGE_SIZE, &owned, &f1);
	vm_translate(pool, va + 2 * PAGE_SIZE, &pa, &f2);
	EXPECT(!(f0 & PTE_OWN) && (f1 & PTE_OWN) && !(f2 & PTE_OWN));
	EXPECT_STATUS(vm_unmap(pool, va, 3), STATUS_OK);
	EXPECT(!pmm_is_used(owned)); /* the owned page went back, only it */
	EXPECT(pmm_is_used(0x101000));
}

SCENARIO(vm_map_all_or_nothing, "a map that fails halfway leaves nothing mapped")
{
	struct ptp *pool = vm_kernel_pool;
	vaddr_t va = SCRATCH_BASE;
	enum vm_range_state s;
	uint64_t used = pool->used, mapped = pool->mapped_pages;
	EXPECT_STATUS(vm_map(pool, va + 600 * PAGE_SIZE, 0x100000, PTE_P | PTE_NX),
		      STATUS_OK);
	EXPECT_STATUS(vm_map_range(pool, va, 0x100000, 601, PTE_P | PTE_NX),
		      STATUS_ALREADY_MAPPED);
	EXPECT_STATUS(vm_range_state(pool, va, 600, &s), STATUS_OK);
	EXPECT(s == VM_RANGE_NONE);
	EXPECT_STATUS(vm_map_range(pool, va + PML4_SLOT_SIZE, 0, 1ull << 27,
				   PTE_P | PTE_NX), STATUS_POOL_EXHAUSTED);
	struct pmm_stats st, after;
	pmm_get_stats(&st);
	EXPECT_STATUS(vm_map_new(pool, va + 0x40000000, st.free_pages + 1,
				 PTE_P | PTE_W | PTE_NX, PMM_TEST), STATUS_NO_MEMORY);
	pmm_get_stats(&after);
	EXPECT(after.free_pages == st.free_pages);
	EXPECT_STATUS(vm_unmap(pool, va + 600 * PAGE_SIZE, 1), STATUS_OK);
	EXPECT(pool->used == used && pool->mapped_pages == mapped);
}

SCENARIO(as_lifecycle, "an address space is created, used, switched and destroyed")
{
	struct pmm_stats before, after;
	pmm_get_stats(&before);
	uint64_t kernel_used = vm_kernel_pool->used;
	struct aspace as;
	EXPECT_STATUS(aspace_create(0, &as), STATUS_OK);
	EXPECT_STATUS(vm_map_new(as.pool, USER_BASE, 3,
				 PTE_P | PTE_W | PTE_U | PTE_NX, PMM_TEST), STATUS_OK);
	EXPECT(shown(probe_read(USER_BASE), USER_BASE).faulted); /* kernel's space */
	EXPECT_STATUS(aspace_switch(&as), STATUS_OK);
	EXPECT(!shown(probe_write(USER_BASE + 2 * PAGE_SIZE, 7), USER_BASE).faulted);
	EXPECT(!probe_read((uint64_t)__rodata_start).faulted); /* shared half */
	EXPECT_STATUS(aspace_destroy(&as), STATUS_BUSY);
	EXPECT_STATUS(aspace_switch(NULL), STATUS_OK);
	EXPECT_STATUS(aspace_destroy(&as), STATUS_OK);
	pmm_get_stats(&after);
	EXPECT(after.free_pages == before.free_pages);
	EXPECT(vm_kernel_pool->used == kernel_used);
}

/* Unprobed faults: the run must end with the fault reported. */
SCENARIO(fault_text_write, "a write to kernel text is a protection fault")
{
	*(volatile char *)__text_start = 0;
}

SCENARIO(fault_identity_read, "after the switch, the bootstrap identity map is gone")
{
	(void)*(volatile char *)0x100000;
}

SCENARIO(fault_pool_exec, "executing a page of the pool window faults")
{
	((void (*)(void))(vm_kernel_pool->window_va + PAGE_SIZE))();
}

/* Maps n owned pages at va read-write, writes every one (the TLB now holds
 * them writable), protects them read-only and writes again: each write
 * must fault, or the TLB kept a translation the tables no longer give.
 * Then unmaps them: a read must fault too. */
static void write_after_protect(vaddr_t va, uint64_t n)
{
	struct ptp *pool = vm_kernel_pool;
	EXPECT_STATUS(vm_map_new(pool, va, n, PTE_P | PTE_W | PTE_NX, PMM_TEST),
		      STATUS_OK);
	unsigned before = 0, after = 0;
	for (uint64_t i = 0; i < n; i++)
		before += probe_write(va + i * PAGE_SIZE, 1).faulted;
	EXPECT(before == 0);
	EXPECT_STATUS(vm_protect(pool, va, n, PTE_P | PTE_NX), STATUS_OK);
	for (uint64_t i = 0; i < n; i++) {
		struct probe_result r = probe_write(va + i * PAGE_SIZE, 2);
		after += r.faulted && r.error_code == PF_PROTECTION_WRITE;
	}
	trace_test_protected(va, n, after);
	EXPECT(after == n);
	struct probe_result r = shown(probe_read(va + (n - 1) * PAGE_SIZE), va);
	EXPECT(!r.faulted);
	EXPECT_STATUS(vm_unmap(pool, va, n), STATUS_OK);
	r = shown(probe_read(va), va);
	EXPECT(r.faulted && r.error_code == 0);
}

SCENARIO(vm_write_after_protect, "a page protected read-only faults on write")
{
	write_after_protect(SCRATCH_BASE + 0x200000, 1);
	write_after_protect(SCRATCH_BASE + 0x400000, VM_INVLPG_THRESHOLD + 1);
}
