/*
 * test_uvm.c - a user process's memory (src/mm/uvm.c) and the frame counts
 * of copy-on-write (src/mm/frame.c), on the simulated machine: the faults
 * that map a page (demand-zero heap and mmap, stack growth), each cause
 * that kills, fork and the write faults after it, sbrk, mmap and munmap,
 * and destroy. Labs 5 and 6 are graded on these (tests/labs/grade).
 */
#include "alloc_fixture.h"

#include "frame.h"
#include "uvm.h"

#define TEXT	 0x400000ull
#define DATA	 0x401000ull
#define HEAP	 0x402000ull
#define USER_W	 (PF_WRITE | PF_USER)		   /* a write, not present */
#define USER_COW (PF_PRESENT | PF_WRITE | PF_USER) /* a write, present */

/* A booted kernel with kalloc (frame_init's array), no counts yet. */
static void fix_user(void)
{
	fix_alloc(512);
	frame_reset();
}

/* Writes 0xAA over every free page: a page that comes zeroed was zeroed. */
static void dirty_free_pages(void)
{
	for (paddr_t pa = FIX_RAM_BASE; pa < FIX_MEMORY; pa += PAGE_SIZE)
		if (!pmm_is_used(pa))
			memset(arch_phys_to_virt(pa), 0xAA, PAGE_SIZE);
}

/* Process pid: text (one page, r-x), data (one page, rw-, "data" in it),
 * an empty heap from HEAP and the stack; nothing else mapped. */
static void process(struct uvm *u, unsigned pid)
{
	static const uint8_t code[] = {0x90, 0xc3};
	cr_assert_eq(uvm_create(u, pid), STATUS_OK);
	cr_assert_eq(
	    uvm_load(u, TEXT, code, sizeof code, sizeof code, UVM_R | UVM_X),
	    STATUS_OK);
	cr_assert_eq(uvm_load(u, DATA, "data", 5, 5, UVM_R | UVM_W), STATUS_OK);
	cr_assert_eq(uvm_add_heap_and_stack(u, HEAP), STATUS_OK);
}

/* The frame that va maps in u (the test fails if none). */
static paddr_t frame_of(struct uvm *u, vaddr_t va)
{
	paddr_t pa;
	cr_assert_eq(vm_translate(u->as.pool, va, &pa, NULL), STATUS_OK,
		     "va %#lx is not mapped", va);
	return pa & ~PAGE_MASK;
}

static uint64_t flags_of(struct uvm *u, vaddr_t va)
{
	paddr_t pa;
	uint64_t flags;
	cr_assert_eq(vm_translate(u->as.pool, va, &pa, &flags), STATUS_OK,
		     "va %#lx is not mapped", va);
	return flags;
}

static bool is_mapped(struct uvm *u, vaddr_t va)
{
	paddr_t pa;
	return vm_translate(u->as.pool, va, &pa, NULL) == STATUS_OK;
}

/* The byte at user va of u, through its frame. */
static uint8_t *user_byte(struct uvm *u, vaddr_t va)
{
	return (uint8_t *)arch_phys_to_virt(frame_of(u, va)) + (va & PAGE_MASK);
}

static bool page_is(struct uvm *u, vaddr_t page, uint8_t value)
{
	for (unsigned i = 0; i < PAGE_SIZE; i++)
		if (*user_byte(u, page + i) != value)
			return false;
	return true;
}

static void assert_last(const char *needle, const char *want)
{
	const char *line = host_trace_last(needle);
	cr_assert(line && strstr(line, want),
		  "the last %s line is %s, not ...%s...", needle,
		  line ? line : "(none)", want);
}

/* ---- lab 5: faults that map a page ------------------------------------------
 */

Test(uvm, a_heap_fault_maps_one_zeroed_page_with_the_regions_rights)
{
	fix_user();
	struct uvm u;
	process(&u, 1);
	vaddr_t old;
	cr_assert_eq(uvm_sbrk(&u, 3 * PAGE_SIZE, &old), STATUS_OK);
	cr_assert_eq(old, HEAP);
	cr_assert(!is_mapped(&u, HEAP),
		  "sbrk maps nothing: pages come on a fault");
	dirty_free_pages();
	uint64_t free_before = fix_pmm_free();
	cr_assert_eq(uvm_fault(&u, HEAP + PAGE_SIZE + 8, USER_W, TEXT, true),
		     UVM_FIX_ZERO);
	cr_assert(page_is(&u, HEAP + PAGE_SIZE, 0),
		  "the new page is not zeroed");
	cr_assert_eq(flags_of(&u, HEAP + PAGE_SIZE),
		     PTE_P | PTE_W | PTE_U | PTE_NX | PTE_OWN);
	cr_assert_eq(fix_pmm_free(), free_before - 1,
		     "one frame, for the page");
	cr_assert(!is_mapped(&u, HEAP) && !is_mapped(&u, HEAP + 2 * PAGE_SIZE),
		  "only the page that faulted");
	assert_last(
	    "pf.fault",
	    "pf.fault pid=1 va=0x403008 err=W|U rip=0x400000 mode=user");
	assert_last("pf.resolve", "pf.resolve pid=1 va=0x403000 how=zero");
	assert_last("pmm.set", "why=user");
}

Test(uvm, a_read_fault_on_read_only_mmap_maps_a_zero_page_without_w)
{
	fix_user();
	struct uvm u;
	process(&u, 1);
	vaddr_t va;
	cr_assert_eq(uvm_mmap(&u, 2, UVM_R, &va), STATUS_OK);
	cr_assert_eq(va, UVM_MMAP_BASE);
	dirty_free_pages();
	cr_assert_eq(uvm_fault(&u, va + 5, PF_USER, TEXT, true), UVM_FIX_ZERO);
	cr_assert(page_is(&u, va, 0));
	cr_assert_eq(flags_of(&u, va), PTE_P | PTE_U | PTE_NX | PTE_OWN);
	assert_last("pf.resolve", "pf.resolve pid=1 va=0x100000000 how=zero");
}

Test(uvm, munmap_unmaps_the_faulted_pages_and_frees_their_frames)
{
	fix_user();
	struct uvm u;
	process(&u, 1);
	uint64_t free_before = fix_pmm_free();
	vaddr_t va;
	cr_assert_eq(uvm_mmap(&u, 3, UVM_R | UVM_W, &va), STATUS_OK);
	assert_last("proc.region",
		    "proc.region pid=1 kind=mmap va=0x100000000 n=3 prot=rw-");
	cr_assert_eq(uvm_fault(&u, va, USER_W, TEXT, true), UVM_FIX_ZERO);
	cr_assert_eq(uvm_fault(&u, va + 2 * PAGE_SIZE, USER_W, TEXT, true),
		     UVM_FIX_ZERO);
	cr_assert_eq(fix_pmm_free(), free_before - 2);
	cr_assert_eq(uvm_munmap(&u, va, 2), STATUS_NOT_FOUND,
		     "not the region's size");
	cr_assert_eq(uvm_munmap(&u, va, 3), STATUS_OK);
	cr_assert_eq(fix_pmm_free(), free_before);
	cr_assert(!is_mapped(&u, va) && !is_mapped(&u, va + 2 * PAGE_SIZE));
	cr_assert_null(uvm_find(&u, va));
	assert_last("proc.unregion", "proc.unregion pid=1 va=0x100000000");
	cr_assert_eq(uvm_fault(&u, va, USER_W, TEXT, true), UVM_KILL_UNMAPPED,
		     "the region is gone");
}

Test(uvm, stack_faults_grow_the_stack_down_to_its_limit)
{
	fix_user();
	struct uvm u;
	process(&u, 1);
	dirty_free_pages();
	cr_assert_eq(uvm_fault(&u, USER_STACK_TOP - 8, USER_W, TEXT, true),
		     UVM_FIX_STACK);
	cr_assert(page_is(&u, USER_STACK_TOP - PAGE_SIZE, 0));
	cr_assert_eq(flags_of(&u, USER_STACK_TOP - 8),
		     PTE_P | PTE_W | PTE_U | PTE_NX | PTE_OWN);
	assert_last("pf.resolve",
		    "pf.resolve pid=1 va=0x7ffffffe000 how=stack");
	cr_assert_eq(uvm_fault(&u, UVM_STACK_BASE, USER_W, TEXT, true),
		     UVM_FIX_STACK, "the lowest page of the stack");
	cr_assert_eq(uvm_fault(&u, UVM_STACK_BASE - 8, USER_W, TEXT, true),
		     UVM_KILL_STACK_OVERFLOW, "just below the limit");
	cr_assert(!is_mapped(&u, UVM_STACK_BASE - 8));
	cr_assert_eq(uvm_fault(&u, UVM_MMAP_END - 8, USER_W, TEXT, true),
		     UVM_KILL_UNMAPPED, "below the overflow window");
	cr_assert_eq(u.as.pool->mapped_pages, 2 + 2,
		     "text, data, two stack pages");
}

/* Takes every free page (pmm_alloc_contiguous, halving the run until one
 * fits: no function of lab 2's), so that the next allocation fails. */
static void take_every_free_page(void)
{
	paddr_t pa;
	for (uint64_t n = fix_pmm_free(); n;)
		if (pmm_alloc_contiguous(n, 0, 0, PMM_TEST, &pa) != STATUS_OK)
			n /= 2;
		else
			n = n < fix_pmm_free() ? n : fix_pmm_free();
	cr_assert_eq(fix_pmm_free(), 0);
}

/* A fault that kills: its result, a pf.fault and no pf.resolve, no change. */
static void assert_kills(struct uvm *u, vaddr_t va, uint64_t err,
			 enum uvm_fault_result why)
{
	uint64_t free_before = fix_pmm_free(),
		 mapped = u->as.pool->mapped_pages;
	uint64_t resolves = host_trace_count("pf.resolve");
	cr_assert_eq(uvm_fault(u, va, err, TEXT, true), why,
		     "va %#lx: %s, not %s", va,
		     uvm_fault_name(uvm_fault(u, va, err, TEXT, true)),
		     uvm_fault_name(why));
	cr_assert_eq(fix_pmm_free(), free_before, "va %#lx: a frame was taken",
		     va);
	cr_assert_eq(u->as.pool->mapped_pages, mapped,
		     "va %#lx: a page was mapped", va);
	cr_assert_eq(host_trace_count("pf.resolve"), resolves);
}

Test(uvm, each_kill_cause_is_named_and_changes_nothing)
{
	fix_user();
	struct uvm u;
	process(&u, 1);
	vaddr_t old;
	cr_assert_eq(uvm_sbrk(&u, PAGE_SIZE, &old), STATUS_OK);
	assert_kills(&u, 0x10000000, USER_W, UVM_KILL_UNMAPPED);
	assert_kills(&u, 0, PF_USER, UVM_KILL_UNMAPPED);
	assert_kills(&u, TEXT, USER_COW, UVM_KILL_WRITE_RO);
	assert_kills(&u, HEAP, PF_USER | PF_FETCH, UVM_KILL_EXEC_NX);
	assert_kills(&u, DATA, PF_PRESENT | PF_USER | PF_FETCH,
		     UVM_KILL_EXEC_NX);
	assert_kills(&u, KERNEL_VMA, PF_PRESENT | PF_USER,
		     UVM_KILL_KERNEL_ADDR);
	assert_kills(&u, HEAP + PAGE_SIZE, USER_W, UVM_KILL_UNMAPPED);
	cr_assert_str_eq(uvm_fault_name(UVM_KILL_WRITE_RO), "write_ro");
	cr_assert_str_eq(uvm_fault_name(UVM_KILL_KERNEL_ADDR), "kernel_addr");
}

Test(uvm, a_fault_with_no_frame_left_is_no_memory_and_maps_nothing)
{
	fix_user();
	struct uvm u;
	process(&u, 1);
	vaddr_t old;
	cr_assert_eq(uvm_sbrk(&u, PAGE_SIZE, &old), STATUS_OK);
	take_every_free_page();
	assert_kills(&u, HEAP, USER_W, UVM_KILL_NO_MEMORY);
	assert_kills(&u, USER_STACK_TOP - 8, USER_W, UVM_KILL_NO_MEMORY);
}

Test(uvm, sbrk_shrink_unmaps_the_pages_past_the_end_and_frees_their_frames)
{
	fix_user();
	struct uvm u;
	process(&u, 1);
	uint64_t free_before = fix_pmm_free();
	vaddr_t old;
	cr_assert_eq(uvm_sbrk(&u, 3 * PAGE_SIZE, &old), STATUS_OK);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(
		    uvm_fault(&u, HEAP + i * PAGE_SIZE, USER_W, TEXT, true),
		    UVM_FIX_ZERO);
	cr_assert_eq(uvm_sbrk(&u, -2 * (int64_t)PAGE_SIZE - 100, &old),
		     STATUS_OK);
	cr_assert_eq(old, HEAP + 3 * PAGE_SIZE);
	cr_assert_eq(u.brk, HEAP + PAGE_SIZE - 100);
	cr_assert(is_mapped(&u, HEAP), "the page that holds the new end stays");
	cr_assert(!is_mapped(&u, HEAP + PAGE_SIZE) &&
		  !is_mapped(&u, HEAP + 2 * PAGE_SIZE));
	cr_assert_eq(fix_pmm_free(), free_before - 1);
	assert_last("proc.resize", "proc.resize pid=1 va=0x402000 n=1");
	cr_assert_eq(uvm_sbrk(&u, -(int64_t)PAGE_SIZE, &old),
		     STATUS_OUT_OF_RANGE, "below the heap's start");
	cr_assert_eq(u.brk, HEAP + PAGE_SIZE - 100,
		     "a failed sbrk changes nothing");
	assert_last("err.", "err.out_of_range fn=uvm_sbrk");
	cr_assert_eq(uvm_fault(&u, HEAP + PAGE_SIZE, USER_W, TEXT, true),
		     UVM_KILL_UNMAPPED,
		     "past the end: not the heap's any more");
}

/* ---- lab 6: copy-on-write fork ----------------------------------------------
 */

/* A parent (pid 1) with text, data and a second data page at HEAP holding
 * "heap", all mapped at load (no fault: lab 6 does not need lab 5's
 * handler), and its child (pid 2) forked from it. */
static void forked(struct uvm *parent, struct uvm *child)
{
	static const uint8_t code[] = {0x90, 0xc3};
	cr_assert_eq(uvm_create(parent, 1), STATUS_OK);
	cr_assert_eq(uvm_load(parent, TEXT, code, sizeof code, sizeof code,
			      UVM_R | UVM_X),
		     STATUS_OK);
	cr_assert_eq(uvm_load(parent, DATA, "data", 5, 5, UVM_R | UVM_W),
		     STATUS_OK);
	cr_assert_eq(uvm_load(parent, HEAP, "heap", 5, 5, UVM_R | UVM_W),
		     STATUS_OK);
	cr_assert_eq(uvm_add_heap_and_stack(parent, HEAP + PAGE_SIZE),
		     STATUS_OK);
	cr_assert_eq(uvm_create(child, 2), STATUS_OK);
	cr_assert_eq(uvm_fork(parent, child), STATUS_OK);
}

Test(uvm, fork_shares_every_page_read_only_and_counts_two_sharers)
{
	fix_user();
	struct uvm p, c;
	forked(&p, &c);
	const vaddr_t pages[] = {TEXT, DATA, HEAP};
	for (unsigned i = 0; i < 3; i++) {
		vaddr_t va = pages[i];
		cr_assert_eq(frame_of(&c, va), frame_of(&p, va),
			     "va %#lx: the same frame", va);
		cr_assert_eq(frame_count(frame_of(&p, va)), 2, "va %#lx", va);
		cr_assert(!(flags_of(&p, va) & PTE_W) &&
			      !(flags_of(&c, va) & PTE_W),
			  "va %#lx: writable while shared", va);
		bool cow = va != TEXT; /* text was never writable */
		cr_assert_eq(!!(flags_of(&p, va) & PTE_COW), cow, "va %#lx",
			     va);
		cr_assert_eq(!!(flags_of(&c, va) & PTE_COW), cow, "va %#lx",
			     va);
	}
	cr_assert_eq(c.count, p.count, "the child has the parent's regions");
	cr_assert_eq(c.brk, p.brk);
	cr_assert_eq(host_trace_count("cow.share pid=1 child=2 "), 3);
	char want[64];
	snprintf(want, sizeof want, "cow.ref pa=%#lx count=2",
		 frame_of(&p, HEAP));
	cr_assert_eq(host_trace_count(want), 1);
}

Test(uvm, a_write_at_count_2_copies_the_page_and_the_other_side_keeps_its_own)
{
	fix_user();
	struct uvm p, c;
	forked(&p, &c);
	paddr_t shared = frame_of(&p, HEAP);
	uint64_t free_before = fix_pmm_free();
	cr_assert_eq(uvm_fault(&c, HEAP + 1, USER_COW, TEXT, true),
		     UVM_FIX_COW_COPY);
	paddr_t copy = frame_of(&c, HEAP);
	cr_assert_neq(copy, shared, "the child maps a copy");
	cr_assert_eq(fix_pmm_free(), free_before - 1);
	cr_assert_str_eq((char *)user_byte(&c, HEAP), "heap",
			 "the contents are copied");
	cr_assert_eq(flags_of(&c, HEAP),
		     PTE_P | PTE_W | PTE_U | PTE_NX | PTE_OWN,
		     "the copy is the child's alone, writable");
	cr_assert_eq(frame_count(shared), 1, "2 -> 1");
	memcpy(user_byte(&c, HEAP), "kid!", 5);
	cr_assert_str_eq((char *)user_byte(&p, HEAP), "heap",
			 "the parent's is unchanged");
	cr_assert_eq(frame_of(&p, HEAP), shared);
	cr_assert(!(flags_of(&p, HEAP) & PTE_W),
		  "the parent's still waits for its fault");
	char want[96];
	snprintf(want, sizeof want,
		 "cow.copy pid=2 va=0x402000 from=%#lx to=%#lx", shared, copy);
	assert_last("cow.copy", want);
	snprintf(want, sizeof want, "cow.ref pa=%#lx count=1", shared);
	assert_last("cow.ref", want);
	assert_last("pf.resolve", "pf.resolve pid=2 va=0x402000 how=cow_copy");
}

Test(uvm, a_write_at_count_1_restores_w_without_a_copy)
{
	fix_user();
	struct uvm p, c;
	forked(&p, &c);
	paddr_t shared = frame_of(&p, HEAP);
	cr_assert_eq(uvm_fault(&c, HEAP, USER_COW, TEXT, true),
		     UVM_FIX_COW_COPY);
	uint64_t free_before = fix_pmm_free();
	cr_assert_eq(uvm_fault(&p, HEAP, USER_COW, TEXT, true),
		     UVM_FIX_COW_RESTORE);
	cr_assert_eq(frame_of(&p, HEAP), shared, "the same frame: no copy");
	cr_assert_eq(fix_pmm_free(), free_before);
	cr_assert_eq(flags_of(&p, HEAP),
		     PTE_P | PTE_W | PTE_U | PTE_NX | PTE_OWN,
		     "W back, COW gone, still owned");
	cr_assert_eq(frame_count(shared), 0, "1 -> 0: one owner, not counted");
	cr_assert_str_eq((char *)user_byte(&p, HEAP), "heap");
	char want[96];
	snprintf(want, sizeof want, "cow.restore pid=1 va=0x402000 pa=%#lx",
		 shared);
	assert_last("cow.restore", want);
	snprintf(want, sizeof want, "cow.ref pa=%#lx count=0", shared);
	assert_last("cow.ref", want);
	assert_last("pf.resolve",
		    "pf.resolve pid=1 va=0x402000 how=cow_restore");
	cr_assert_eq(host_trace_count("cow.copy"), 1);
}

Test(uvm, a_write_to_shared_text_is_write_ro_and_changes_nothing)
{
	fix_user();
	struct uvm p, c;
	forked(&p, &c);
	assert_kills(&c, TEXT, USER_COW, UVM_KILL_WRITE_RO);
	cr_assert_eq(frame_count(frame_of(&p, TEXT)), 2);
}

/* Forks, copies some pages in each, destroys both (in the given order),
 * and checks that every frame came back exactly once. */
static void destroy_pair(bool parent_first)
{
	fix_user();
	uint64_t free_before = fix_pmm_free();
	uint64_t errors = host_trace_count("err.double_free");
	struct uvm p, c;
	forked(&p, &c);
	cr_assert_eq(uvm_fault(&c, DATA, USER_COW, TEXT, true),
		     UVM_FIX_COW_COPY);
	cr_assert_eq(uvm_fault(&p, DATA, USER_COW, TEXT, true),
		     UVM_FIX_COW_RESTORE);
	cr_assert_eq(uvm_fault(&p, HEAP, USER_COW, TEXT, true),
		     UVM_FIX_COW_COPY);
	paddr_t text = frame_of(&p, TEXT);
	uvm_destroy(parent_first ? &p : &c);
	cr_assert_eq(frame_count(text), 1, "the other one still maps the text");
	cr_assert(pmm_is_used(text));
	uvm_destroy(parent_first ? &c : &p);
	cr_assert(!pmm_is_used(text));
	cr_assert_eq(frame_fini(), STATUS_OK, "no frame is counted any more");
	cr_assert_eq(fix_pmm_free(), free_before, "every frame came back");
	cr_assert_eq(host_trace_count("err.double_free"), errors,
		     "a frame freed twice: %s",
		     host_trace_last("err.double_free"));
}

Test(uvm, destroying_a_forked_pair_frees_every_frame_once_parent_first)
{
	destroy_pair(true);
}

Test(uvm, destroying_a_forked_pair_frees_every_frame_once_child_first)
{
	destroy_pair(false);
}

Test(frame, the_first_share_counts_two_and_unshare_counts_down)
{
	fix_user();
	paddr_t pa;
	cr_assert_eq(frame_share(0x1000000), STATUS_INVALID_ARG,
		     "before frame_init");
	cr_assert_eq(frame_init(), STATUS_OK);
	cr_assert_eq(pmm_alloc_page(PMM_USER, &pa), STATUS_OK);
	cr_assert_eq(frame_count(pa), 0);
	cr_assert_eq(frame_share(pa), STATUS_OK);
	cr_assert_eq(frame_count(pa), 2, "the owner and the new sharer");
	cr_assert_eq(frame_share(pa), STATUS_OK);
	cr_assert_eq(frame_count(pa), 3);
	char want[64];
	snprintf(want, sizeof want, "cow.ref pa=%#lx count=3", pa);
	assert_last("cow.ref", want);
	cr_assert_eq(frame_unshare(pa), 2);
	cr_assert_eq(frame_unshare(pa), 1);
	cr_assert_eq(frame_count(pa), 1);
	snprintf(want, sizeof want, "cow.ref pa=%#lx count=1", pa);
	assert_last("cow.ref", want);
	cr_assert_eq(frame_fini(), STATUS_BUSY, "a frame is still counted");
	cr_assert_eq(frame_unshare(pa), 0);
	cr_assert_eq(frame_fini(), STATUS_OK);
}
