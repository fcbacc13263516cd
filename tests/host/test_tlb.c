/*
 * test_tlb.c - the simulated TLB (host_touch in host.h) and every paging
 * operation that takes rights away or removes a mapping: after it, a touch
 * of each page must see the new tables, not a translation the TLB kept.
 * Each operation runs at 1 page and at range sizes around
 * VM_INVLPG_THRESHOLD (invlpg per page below it, a full flush above).
 */
#include "paging_fixture.h"

#include "kalloc.h"

#define VA (USER_BASE + 0x40000000ull)
#define PA 0x1000000ull
#define PA2 0x2000000ull

/* A fresh machine whose pool is the one in CR3. */
static struct ptp *live_pool(void)
{
	struct ptp *pool = fix_pool(64);
	arch_write_cr3(pool->pa);
	return pool;
}

/* The leaf entry of va in the tables at CR3 (4 KiB pages), for the model's
 * own tests, which change an entry behind the paging code's back. */
static uint64_t *leaf_entry(vaddr_t va)
{
	paddr_t table = host_cpu.cr3;
	for (int level = PT_LEVEL_PML4; level > PT_LEVEL_PT; level--)
		table = ((uint64_t *)arch_phys_to_virt(table))[PT_INDEX(va, level)] &
			PTE_ADDR_MASK;
	return &((uint64_t *)arch_phys_to_virt(table))[PT_INDEX(va, PT_LEVEL_PT)];
}

/* ---- the model --------------------------------------------------------------------- */

Test(tlb, a_touch_caches_the_translation_and_invlpg_drops_it)
{
	struct ptp *pool = live_pool();
	cr_assert_eq(vm_map(pool, VA, PA, PTE_P | PTE_W), STATUS_OK);
	struct host_touch t = host_touch(VA + 8, HOST_READ, false);
	cr_assert(!t.fault && !t.tlb_hit && t.pa == PA + 8);
	cr_assert_eq(host_tlb_entries(), 1);
	*leaf_entry(VA) = PA2 | PTE_P; /* no invalidation */
	t = host_touch(VA, HOST_WRITE, false);
	cr_assert(!t.fault && t.tlb_hit && t.pa == PA,
		  "the stale entry is used: old address, old rights");
	arch_invlpg(VA + 0xfff);
	cr_assert_eq(host_tlb_entries(), 0);
	t = host_touch(VA, HOST_READ, false);
	cr_assert(!t.fault && !t.tlb_hit && t.pa == PA2);
	cr_assert(host_touch(VA, HOST_WRITE, false).fault, "now read-only");
	cr_assert_eq(host_tlb_entries(), 0, "a fault drops the entry");
}

Test(tlb, cr3_loads_keep_global_entries_and_a_full_flush_drops_them)
{
	struct ptp *pool = live_pool();
	cr_assert_eq(vm_map(pool, VA, PA, PTE_P | PTE_G), STATUS_OK);
	cr_assert_eq(vm_map(pool, VA + PAGE_SIZE, PA2, PTE_P), STATUS_OK);
	host_touch(VA, HOST_READ, false);
	host_touch(VA + PAGE_SIZE, HOST_READ, false);
	cr_assert_eq(host_tlb_entries(), 2);
	arch_write_cr3(pool->pa);
	cr_assert_eq(host_tlb_entries(), 1);
	cr_assert(host_touch(VA, HOST_READ, false).tlb_hit);
	arch_flush_tlb_all();
	cr_assert_eq(host_tlb_entries(), 0);
}

Test(tlb, the_walk_takes_rights_from_every_level)
{
	struct ptp *pool = live_pool();
	cr_assert_eq(vm_map(pool, VA, PA, PTE_P | PTE_W | PTE_U), STATUS_OK);
	cr_assert(!host_touch(VA, HOST_WRITE, true).fault);
	cr_assert(!host_touch(VA, HOST_EXEC, true).fault);
	arch_flush_tlb_all();
	/* The PD entry loses U and gains NX: the leaf alone no longer decides. */
	paddr_t table = host_cpu.cr3;
	for (int level = PT_LEVEL_PML4; level > PT_LEVEL_PD; level--)
		table = ((uint64_t *)arch_phys_to_virt(table))[PT_INDEX(VA, level)] &
			PTE_ADDR_MASK;
	uint64_t *pde = &((uint64_t *)arch_phys_to_virt(table))[PT_INDEX(VA, 2)];
	*pde = (*pde & ~PTE_U) | PTE_NX;
	cr_assert(host_touch(VA, HOST_READ, true).fault, "U cleared above");
	cr_assert(host_touch(VA, HOST_EXEC, false).fault, "NX set above");
	cr_assert(!host_touch(VA, HOST_WRITE, false).fault);
}

/* ---- every operation that takes rights away ------------------------------------------ */

/* Range sizes: 1 page, and around the threshold of a full flush. Size s
 * is tried at its own VA, AT(s), on one machine (a machine is made once a
 * test: the pools of an old one would point into freed memory). */
static const uint64_t sizes[] = { 1, 2, VM_INVLPG_THRESHOLD - 1,
				  VM_INVLPG_THRESHOLD, VM_INVLPG_THRESHOLD + 1,
				  2 * VM_INVLPG_THRESHOLD + 3 };
#define SIZE_COUNT (sizeof sizes / sizeof sizes[0])
#define AT(s) (VA + (s) * (1ull << 30))

/* Touches each of n pages from va `how` (user: in ring 3); asserts every
 * touch faults (fault) or none does, naming the first that differs. */
static void touch_all(vaddr_t va, uint64_t n, enum host_access how, bool user,
		      bool fault, const char *what)
{
	for (uint64_t i = 0; i < n; i++) {
		struct host_touch t = host_touch(va + i * PAGE_SIZE, how, user);
		cr_assert_eq(t.fault, fault, "%s, %lu pages: page %lu %s%s", what,
			     n, i, t.fault ? "faults" : "does not fault",
			     t.tlb_hit ? " (a stale TLB entry)" : "");
	}
}

typedef status_t (*take_away)(struct ptp *pool, vaddr_t va, uint64_t n);

/*
 * For each size: maps n pages with `flags`, touches them `how` (which the
 * flags allow, so the TLB holds them), runs the operation, and touches
 * them the same way again, which must fault on every page.
 */
static void every_size(uint64_t flags, enum host_access how, bool user,
		       take_away op, const char *what)
{
	struct ptp *pool = live_pool();
	for (size_t s = 0; s < SIZE_COUNT; s++) {
		uint64_t n = sizes[s];
		cr_assert_eq(vm_map_range(pool, AT(s), PA, n, flags), STATUS_OK);
		touch_all(AT(s), n, how, user, false, "before");
		cr_assert_eq(host_tlb_entries(), n);
		cr_assert_eq(op(pool, AT(s), n), STATUS_OK, "%s",
			     host_trace_text());
		touch_all(AT(s), n, how, user, true, what);
		arch_flush_tlb_all(); /* the next size starts from nothing */
	}
}

static status_t protect_read_only(struct ptp *pool, vaddr_t va, uint64_t n)
{
	return vm_protect(pool, va, n, PTE_P | PTE_NX);
}

static status_t protect_no_execute(struct ptp *pool, vaddr_t va, uint64_t n)
{
	return vm_protect(pool, va, n, PTE_P | PTE_W | PTE_NX);
}

static status_t protect_kernel_only(struct ptp *pool, vaddr_t va, uint64_t n)
{
	return vm_protect(pool, va, n, PTE_P | PTE_W);
}

static status_t protect_not_present(struct ptp *pool, vaddr_t va, uint64_t n)
{
	return vm_protect(pool, va, n, 0);
}

Test(tlb, protect_removing_w_makes_every_page_fault_on_write)
{
	every_size(PTE_P | PTE_W | PTE_NX, HOST_WRITE, false, protect_read_only,
		   "write after protect read-only");
}

Test(tlb, protect_adding_nx_makes_every_page_fault_on_fetch)
{
	every_size(PTE_P, HOST_EXEC, false, protect_no_execute,
		   "fetch after protect NX");
}

Test(tlb, protect_removing_u_makes_every_page_fault_in_ring_3)
{
	every_size(PTE_P | PTE_W | PTE_U, HOST_READ, true, protect_kernel_only,
		   "user read after protect without U");
}

Test(tlb, protect_without_p_unmaps_and_every_page_faults)
{
	every_size(PTE_P | PTE_W, HOST_READ, false, protect_not_present,
		   "read after protect to not present");
}

Test(tlb, unmap_makes_every_page_fault)
{
	every_size(PTE_P | PTE_W, HOST_READ, false, vm_unmap,
		   "read after unmap");
}

/* Pages of vm_map_new are owned: unmap frees them to pmm too. */
Test(tlb, unmap_of_owned_pages_makes_every_page_fault)
{
	struct ptp *pool = live_pool();
	for (size_t s = 0; s < SIZE_COUNT; s++) {
		uint64_t n = sizes[s];
		cr_assert_eq(vm_map_new(pool, AT(s), n, PTE_P | PTE_W, PMM_TEST),
			     STATUS_OK);
		touch_all(AT(s), n, HOST_WRITE, false, false, "before");
		cr_assert_eq(vm_unmap(pool, AT(s), n), STATUS_OK);
		touch_all(AT(s), n, HOST_READ, false, true,
			  "read after owned unmap");
	}
}

Test(tlb, unmap_then_map_elsewhere_reaches_the_new_pages)
{
	struct ptp *pool = live_pool();
	for (size_t s = 0; s < SIZE_COUNT; s++) {
		uint64_t n = sizes[s];
		cr_assert_eq(vm_map_range(pool, AT(s), PA, n, PTE_P), STATUS_OK);
		touch_all(AT(s), n, HOST_READ, false, false, "before");
		cr_assert_eq(vm_unmap(pool, AT(s), n), STATUS_OK);
		cr_assert_eq(vm_map_range(pool, AT(s), PA2, n, PTE_P), STATUS_OK);
		for (uint64_t i = 0; i < n; i++)
			cr_assert_eq(host_touch(AT(s) + i * PAGE_SIZE, HOST_READ,
						false).pa, PA2 + i * PAGE_SIZE,
				     "%lu pages: page %lu reads the old page", n, i);
	}
}

/* Global entries survive a CR3 load: only invlpg or a full flush (CR4.PGE
 * toggled) drops them, so a range past the threshold must not be
 * invalidated by reloading CR3. */
Test(tlb, protect_of_global_pages_drops_them_at_every_size)
{
	every_size(PTE_P | PTE_W | PTE_G | PTE_NX, HOST_WRITE, false,
		   protect_read_only, "write after protect of global pages");
}

Test(tlb, unmap_of_global_pages_drops_them_at_every_size)
{
	every_size(PTE_P | PTE_W | PTE_G, HOST_READ, false, vm_unmap,
		   "read after unmap of global pages");
}

/* The kernel allocator's free unmaps what kalloc mapped: no access through
 * the old VA may still work. */
Test(tlb, kalloc_free_leaves_no_translation_behind)
{
	fix_kernel(512);
	cr_assert_eq(kalloc_init(), STATUS_OK);
	for (size_t s = 0; s < SIZE_COUNT; s++) {
		uint64_t n = sizes[s];
		vaddr_t va;
		cr_assert_eq(kalloc(n, &va), STATUS_OK, "%s", host_trace_text());
		touch_all(va, n, HOST_WRITE, false, false, "before");
		cr_assert_eq(kalloc_free(va, n), STATUS_OK);
		touch_all(va, n, HOST_READ, false, true, "read after kalloc_free");
	}
}
