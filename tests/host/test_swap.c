/*
 * test_swap.c - page replacement and swap (src/mm/swap.c, docs/swap.md)
 * on the simulated machine with a RAM disk (disk_host.c): pages go out
 * and come back with their contents, a clean demand-zero page is dropped,
 * a full swap kills, no disk leaves swapping off, a COW page stays, and
 * the end of a process frees its slots. The simulated CPU sets no A or D
 * bit: touch() sets them as the CPU would on a write.
 */
#include "alloc_fixture.h"

#include "disk_host.h"
#include "frame.h"
#include "paging_walk.h"
#include "swap.h"
#include "uvm.h"

#define TEXT 0x400000ull
#define HEAP 0x402000ull
#define USER_W (PF_WRITE | PF_USER)

static struct uvm u;

/* A booted kernel with a disk of `slots` pages, swap still off. */
static void machine(uint64_t slots)
{
	fix_alloc(512);
	frame_reset();
	swap_reset();
	disk_host_set(slots * 8, false);
}

/* Process 1 (in u): two bytes of code and `heap` pages of heap. */
static void process(uint64_t heap)
{
	static const uint8_t code[] = { 0x90, 0xc3 };
	cr_assert_eq(uvm_create(&u, 1), STATUS_OK);
	cr_assert_eq(uvm_load(&u, TEXT, code, 2, 2, UVM_R | UVM_X), STATUS_OK);
	cr_assert_eq(uvm_add_heap_and_stack(&u, HEAP), STATUS_OK);
	vaddr_t old;
	cr_assert_eq(uvm_sbrk(&u, (int64_t)(heap * PAGE_SIZE), &old), STATUS_OK);
}

/* A booted kernel, a disk of `slots` pages, swap on with frames and
 * policy, and process 1 with `heap` pages of heap. */
static void setup(uint64_t slots, uint64_t frames, const char *policy,
		  uint64_t heap)
{
	machine(slots);
	cr_assert_eq(swap_init(frames, 0, policy), STATUS_OK);
	process(heap);
	host_trace_clear();
}

static pte_t *leaf(vaddr_t va)
{
	int level;
	pte_t *e = vm_walk(u.as.pool, va, PT_LEVEL_PT, &level);
	return level == PT_LEVEL_PT ? e : NULL;
}

/* A user write of value at va: the fault if the page is not there, then
 * the byte, with A and D set as the CPU sets them. */
static enum uvm_fault_result touch(vaddr_t va, uint8_t value)
{
	enum uvm_fault_result r = UVM_FIX_ZERO;
	pte_t *e = leaf(va);
	if (!e || !pte_present(*e))
		r = uvm_fault(&u, va, USER_W, TEXT, true);
	if (!UVM_FAULT_FIXED(r))
		return r;
	e = leaf(va);
	e->raw |= PTE_A | PTE_D;
	*((uint8_t *)arch_phys_to_virt(pte_addr(*e)) + (va & PAGE_MASK)) = value;
	return r;
}

/* A user read at va (a fault first if need be). */
static uint8_t peek(vaddr_t va)
{
	pte_t *e = leaf(va);
	if (!e || !pte_present(*e))
		cr_assert(UVM_FAULT_FIXED(uvm_fault(&u, va, PF_USER, TEXT, true)));
	e = leaf(va);
	e->raw |= PTE_A;
	return *((uint8_t *)arch_phys_to_virt(pte_addr(*e)) + (va & PAGE_MASK));
}

Test(swap, pages_go_out_and_come_back_with_their_contents)
{
	setup(8, 2, "clock", 5);
	for (unsigned i = 0; i < 5; i++)
		cr_assert_eq(touch(HEAP + i * PAGE_SIZE + 7, (uint8_t)(10 + i)),
			     UVM_FIX_ZERO);
	cr_assert_eq(swap_resident(), 2);
	cr_assert_eq(host_trace_count(" swap.out "), 3);
	cr_assert_eq(host_trace_count(" disk.write "), 3);
	cr_assert(swap_entry(leaf(HEAP)->raw), "the first page went out");
	for (unsigned i = 0; i < 5; i++)
		cr_assert_eq(peek(HEAP + i * PAGE_SIZE + 7), 10 + i, "page %u", i);
	cr_assert_geq(host_trace_count(" swap.in "), 3);
	cr_assert_eq(swap_resident(), 2);
	uvm_destroy(&u);
	cr_assert_eq(host_trace_count(" swap.alloc "), host_trace_count(" swap.free "));
	cr_assert(!swap_holds(&u));
}

Test(swap, a_clean_zero_page_is_dropped_not_written)
{
	setup(8, 1, "fifo", 2);
	cr_assert_eq(uvm_fault(&u, HEAP, PF_USER, TEXT, true), UVM_FIX_ZERO);
	cr_assert_eq(touch(HEAP + PAGE_SIZE, 1), UVM_FIX_ZERO); /* HEAP goes */
	cr_assert_eq(host_trace_count(" how=drop"), 1);
	cr_assert_eq(host_trace_count(" disk.write "), 0);
	cr_assert_eq(leaf(HEAP) ? leaf(HEAP)->raw : 0, 0, "unmapped, no slot");
	cr_assert_eq(peek(HEAP), 0, "a zero page again");
}

Test(swap, clock_gives_an_accessed_page_a_second_chance)
{
	setup(8, 2, "clock", 3);
	touch(HEAP, 1);
	touch(HEAP + PAGE_SIZE, 2);
	leaf(HEAP + PAGE_SIZE)->raw &= ~PTE_A; /* only HEAP used lately */
	touch(HEAP + 2 * PAGE_SIZE, 3);
	cr_assert(pte_present(*leaf(HEAP)), "HEAP had A set: kept");
	cr_assert(swap_entry(leaf(HEAP + PAGE_SIZE)->raw), "the other went");
	cr_assert_eq(leaf(HEAP)->raw & PTE_A, 0, "its A bit was cleared");
}

/* Lab 7: the hand starts where it stopped, not at the oldest page. */
Test(swap, the_clock_hand_goes_on_from_where_it_stopped)
{
	setup(8, 3, "clock", 5);
	touch(HEAP, 1);
	touch(HEAP + PAGE_SIZE, 2);
	touch(HEAP + 2 * PAGE_SIZE, 3);
	leaf(HEAP + PAGE_SIZE)->raw &= ~PTE_A;
	leaf(HEAP + 2 * PAGE_SIZE)->raw &= ~PTE_A;
	touch(HEAP + 3 * PAGE_SIZE, 4); /* HEAP: second chance; HEAP+1 goes */
	cr_assert(swap_entry(leaf(HEAP + PAGE_SIZE)->raw));
	/* The hand is at HEAP+2 now (A clear): it goes, not HEAP (A clear
	 * too since the hand passed it), which a hand back at the start
	 * would take. */
	touch(HEAP + 4 * PAGE_SIZE, 5);
	cr_assert(swap_entry(leaf(HEAP + 2 * PAGE_SIZE)->raw), "the page at the hand went");
	cr_assert(pte_present(*leaf(HEAP)), "the oldest page stays");
}

/* Lab 7: every page was used: one turn clears every A bit, and the page
 * the hand started at goes. */
Test(swap, the_clock_goes_round_when_every_page_was_used)
{
	setup(8, 3, "clock", 4);
	for (unsigned i = 0; i < 3; i++)
		touch(HEAP + i * PAGE_SIZE, (uint8_t)i);
	host_trace_clear();
	cr_assert_eq(touch(HEAP + 3 * PAGE_SIZE, 9), UVM_FIX_ZERO);
	cr_assert_eq(host_trace_count(" verdict=keep"), 3);
	cr_assert_eq(host_trace_count(" verdict=evict"), 1);
	cr_assert(swap_entry(leaf(HEAP)->raw), "the first page went after one turn");
	for (unsigned i = 1; i < 3; i++)
		cr_assert_eq(leaf(HEAP + i * PAGE_SIZE)->raw & PTE_A, 0, "page %u", i);
	cr_assert_eq(swap_resident(), 3, "the cap holds");
}

/* Lab 7: a page comes back writable as its region says, owned, and its
 * slot is free again. */
Test(swap, a_swap_in_maps_the_page_with_its_rights_and_frees_the_slot)
{
	setup(8, 1, "clock", 2);
	touch(HEAP, 42);
	touch(HEAP + PAGE_SIZE, 1); /* HEAP goes to slot 0 */
	cr_assert(swap_holds(&u));
	host_trace_clear();
	cr_assert_eq(uvm_fault(&u, HEAP, USER_W, TEXT, true), UVM_FIX_SWAP_IN);
	pte_t e = *leaf(HEAP);
	cr_assert(pte_present(e));
	cr_assert_eq(e.raw & (PTE_W | PTE_U | PTE_NX | PTE_OWN),
		     PTE_W | PTE_U | PTE_NX | PTE_OWN, "rights: %#lx", e.raw);
	cr_assert_eq(*(uint8_t *)arch_phys_to_virt(pte_addr(e)), 42);
	cr_assert_eq(host_trace_count(" disk.read sector=0 n=8"), 1);
	cr_assert_eq(host_trace_count(" swap.in pid=1 va=0x402000 slot=0 "), 1);
	cr_assert_eq(host_trace_count(" swap.free slot=0"), 1);
	cr_assert(swap_entry(leaf(HEAP + PAGE_SIZE)->raw), "room was made first");
	cr_assert_eq(swap_resident(), 1);
}

/* Lab 7: a read that fails leaves the page in swap, frees the frame it
 * took, and the next fault, once the disk works, brings it back. */
Test(swap, a_failed_swap_in_keeps_the_page_in_its_slot)
{
	setup(8, 2, "clock", 3);
	touch(HEAP, 42);
	touch(HEAP + PAGE_SIZE, 1);
	touch(HEAP + 2 * PAGE_SIZE, 2); /* HEAP goes to slot 0 */
	vaddr_t old;
	cr_assert_eq(uvm_sbrk(&u, -(int64_t)PAGE_SIZE, &old), STATUS_OK);
	cr_assert_eq(swap_resident(), 1, "room for HEAP without an eviction");
	uint64_t raw = leaf(HEAP)->raw;
	cr_assert(swap_entry(raw));
	struct pmm_stats before, after;
	pmm_get_stats(&before);
	disk_host_fail(true);
	cr_assert_eq(uvm_fault(&u, HEAP, PF_USER, TEXT, true), UVM_KILL_SWAP_ERROR);
	cr_assert_eq(leaf(HEAP)->raw, raw, "the entry still names the slot");
	cr_assert(swap_holds(&u), "the slot is still held");
	cr_assert_eq(swap_resident(), 1);
	pmm_get_stats(&after);
	cr_assert_eq(after.free_pages, before.free_pages,
		     "the frame the read took is given back: %lu then %lu",
		     before.free_pages, after.free_pages);
	disk_host_fail(false);
	cr_assert_eq(peek(HEAP), 42);
}

Test(swap, fifo_evicts_the_oldest_whatever_its_a_bit)
{
	setup(8, 2, "fifo", 3);
	touch(HEAP, 1);
	touch(HEAP + PAGE_SIZE, 2);
	touch(HEAP + 2 * PAGE_SIZE, 3);
	cr_assert(swap_entry(leaf(HEAP)->raw));
	cr_assert(pte_present(*leaf(HEAP + PAGE_SIZE)));
}

/* Aging keeps the page used in more of the last rounds. Three frames,
 * pages 0 1 2 3 0 2 1 touched in that order: at the last fault page 2's
 * history is 0xa0 (used before two of the three choices), page 3's 0x40
 * (once), page 0's 0x80: 3 goes. The clock, whose hand finds every A bit
 * set, goes a whole turn and takes page 2, the one just used. */
static void touch_in_order(const char *policy)
{
	static const unsigned order[] = { 0, 1, 2, 3, 0, 2, 1 };
	setup(8, 3, policy, 4);
	for (unsigned i = 0; i < sizeof order / sizeof order[0]; i++)
		cr_assert(UVM_FAULT_FIXED(touch(HEAP + order[i] * PAGE_SIZE, (uint8_t)i)));
}

Test(swap, aging_evicts_the_page_used_least_lately_where_the_clock_cannot_tell)
{
	touch_in_order("aging");
	cr_assert(swap_entry(leaf(HEAP + 3 * PAGE_SIZE)->raw), "page 3, used once, went");
	cr_assert(pte_present(*leaf(HEAP + 2 * PAGE_SIZE)), "page 2, used twice, stayed");
	cr_assert(pte_present(*leaf(HEAP + 1 * PAGE_SIZE)), "the page just brought back");
	cr_assert_eq(peek(HEAP + 3 * PAGE_SIZE), 3, "page 3 comes back with its byte");
	touch_in_order("clock");
	cr_assert(swap_entry(leaf(HEAP + 2 * PAGE_SIZE)->raw), "the clock took page 2");
	cr_assert(pte_present(*leaf(HEAP + 3 * PAGE_SIZE)));
}

Test(swap, a_full_swap_kills_the_fault)
{
	setup(1, 1, "clock", 3);
	cr_assert_eq(touch(HEAP, 1), UVM_FIX_ZERO);
	cr_assert_eq(touch(HEAP + PAGE_SIZE, 2), UVM_FIX_ZERO); /* slot 0 */
	cr_assert_eq(touch(HEAP + 2 * PAGE_SIZE, 3), UVM_KILL_SWAP_FULL);
	cr_assert_eq(host_trace_count(" err.swap_full "), 1);
	cr_assert_eq(host_trace_count(" swap.evict "), 1,
		     "no eviction is written without a slot for it");
	cr_assert(pte_present(*leaf(HEAP + PAGE_SIZE)), "the would-be victim stays");
	uvm_destroy(&u);
	cr_assert_eq(host_trace_count(" swap.free slot=0"), 1);
}

Test(swap, a_disk_error_kills_and_loses_nothing_else)
{
	setup(4, 1, "clock", 2);
	cr_assert_eq(touch(HEAP, 1), UVM_FIX_ZERO);
	disk_host_set(32, true); /* every transfer fails from now on */
	cr_assert_eq(touch(HEAP + PAGE_SIZE, 2), UVM_KILL_SWAP_ERROR);
	cr_assert(pte_present(*leaf(HEAP)), "the page stays where it was");
	cr_assert_eq(host_trace_count(" err.disk_error "), 1);
	cr_assert_eq(host_trace_count(" swap.alloc "), host_trace_count(" swap.free "));
}

Test(swap, no_disk_leaves_swapping_off)
{
	fix_alloc(512);
	swap_reset();
	disk_host_set(0, false);
	cr_assert_eq(swap_init(8, 0, "clock"), STATUS_NO_DISK);
	cr_assert(!swap_enabled());
	cr_assert_eq(host_trace_count(" err.no_disk "), 1);
	cr_assert_eq(swap_reclaim(), STATUS_OK, "nothing to do when off");
}

Test(swap, bad_arguments_are_refused)
{
	fix_alloc(512);
	swap_reset();
	disk_host_set(64, false);
	cr_assert_eq(swap_init(8, 0, "lru"), STATUS_INVALID_ARG);
	cr_assert_eq(swap_init(0, 0, "clock"), STATUS_INVALID_ARG, "no bound at all");
	cr_assert_eq(swap_init(8, 0, NULL), STATUS_INVALID_ARG);
	cr_assert_eq(swap_init(SWAP_MAX_FRAMES + 1, 0, "clock"), STATUS_INVALID_ARG);
	cr_assert(!swap_enabled());
	cr_assert_eq(host_trace_count(" disk.ready "), 0, "no disk probed");
}

Test(swap, a_shared_page_is_never_evicted_and_fork_refuses_swap)
{
	setup(8, 1, "clock", 2);
	touch(HEAP, 1);
	struct uvm child;
	cr_assert_eq(uvm_create(&child, 2), STATUS_OK);
	cr_assert_eq(uvm_fork(&u, &child), STATUS_OK);
	cr_assert_eq(uvm_fault(&u, HEAP + PAGE_SIZE, PF_USER, TEXT, true),
		     UVM_FIX_ZERO);
	cr_assert_geq(host_trace_count(" verdict=skip"), 1);
	cr_assert_eq(host_trace_count(" verdict=evict"), 0);
	cr_assert(pte_present(*leaf(HEAP)), "shared: it stays");
	cr_assert_eq(swap_resident(), 2, "the cap gives way");
	uvm_destroy(&child);
}

Test(swap, fork_refuses_a_process_with_pages_in_swap)
{
	setup(8, 1, "clock", 2);
	touch(HEAP, 1);
	touch(HEAP + PAGE_SIZE, 2); /* HEAP goes to swap */
	cr_assert(swap_holds(&u));
	struct uvm child;
	cr_assert_eq(uvm_create(&child, 2), STATUS_OK);
	cr_assert_eq(uvm_fork(&u, &child), STATUS_BUSY);
	cr_assert_eq(host_trace_count(" err.busy "), 1);
	uvm_destroy(&child);
}

/* The low-water mark (low=): with no cap, pages go as soon as free
 * memory falls below the mark, and it holds after every fault. */
Test(swap, a_low_water_mark_reclaims_when_free_memory_runs_low)
{
	machine(64);
	process(16);
	struct pmm_stats s;
	pmm_get_stats(&s);
	uint64_t low = s.free_pages - 4; /* room for 4 pages, then reclaim */
	cr_assert_eq(swap_init(0, low, "clock"), STATUS_OK);
	cr_assert_eq(host_trace_count(" frames=1024 low="), 1);
	for (unsigned i = 0; i < 16; i++) {
		enum uvm_fault_result r = touch(HEAP + i * PAGE_SIZE, (uint8_t)i);
		cr_assert_eq(r, UVM_FIX_ZERO, "page %u: %d", i, r);
		pmm_get_stats(&s);
		cr_assert_geq(s.free_pages + 1, low, "page %u: %lu free", i, s.free_pages);
	}
	cr_assert_gt(host_trace_count(" swap.out "), 0);
	cr_assert_lt(swap_resident(), 16);
	for (unsigned i = 0; i < 16; i++)
		cr_assert_eq(peek(HEAP + i * PAGE_SIZE), i, "page %u", i);
	uvm_destroy(&u);
	cr_assert(!swap_holds(&u));
}

/* The resident set's table holds SWAP_MAX_FRAMES pages. Full of pages that
 * no policy may take (forks share them all) and under pressure (the
 * low-water mark), the table takes its last page (the mark gives way, as a
 * cap does) and then refuses one more with err.table_full: nothing is
 * evicted, the page is not mapped, and the table is neither overrun nor
 * left a page short. */
Test(swap, a_full_resident_table_of_shared_pages_refuses_one_more)
{
	machine(8);
	process(SWAP_MAX_FRAMES + 1);
	struct pmm_stats s;
	pmm_get_stats(&s);
	/* No pressure for the first SWAP_MAX_FRAMES - 1 pages, then the fork's
	 * pool takes the free pages below the mark. */
	uint64_t low = s.free_pages - (SWAP_MAX_FRAMES - 1) - 8;
	cr_assert_eq(swap_init(0, low, "clock"), STATUS_OK);
	for (uint64_t i = 0; i < SWAP_MAX_FRAMES - 1; i++)
		cr_assert_eq(touch(HEAP + i * PAGE_SIZE, (uint8_t)i), UVM_FIX_ZERO);
	cr_assert_eq(host_trace_count(" swap.evict "), 0);
	struct uvm child;
	cr_assert_eq(uvm_create(&child, 2), STATUS_OK);
	cr_assert_eq(uvm_fork(&u, &child), STATUS_OK);
	pmm_get_stats(&s);
	cr_assert_lt(s.free_pages, low, "under pressure: %lu free", s.free_pages);
	host_trace_clear();
	vaddr_t last = HEAP + (SWAP_MAX_FRAMES - 1) * PAGE_SIZE;
	cr_assert_eq(uvm_fault(&u, last, USER_W, TEXT, true), UVM_FIX_ZERO,
		     "the table's last page: every page must stay, the mark gives way");
	cr_assert_eq(swap_resident(), SWAP_MAX_FRAMES);
	struct uvm child2; /* shares the last page too */
	cr_assert_eq(uvm_create(&child2, 3), STATUS_OK);
	cr_assert_eq(uvm_fork(&u, &child2), STATUS_OK);
	vaddr_t more = last + PAGE_SIZE;
	cr_assert_eq(uvm_fault(&u, more, USER_W, TEXT, true), UVM_KILL_NO_MEMORY);
	cr_assert_eq(host_trace_count(" err.table_full fn=swap_reclaim resident=1024"), 1);
	cr_assert_eq(host_trace_count(" swap.evict "), 0);
	cr_assert_eq(swap_resident(), SWAP_MAX_FRAMES);
	pte_t *e = leaf(more);
	cr_assert(!e || !pte_present(*e), "the page is not mapped");
	cr_assert_eq(peek(HEAP + 5 * PAGE_SIZE), 5, "the shared pages are as they were");
	uvm_destroy(&child2);
	uvm_destroy(&child);
}
