/*
 * swap.c - page replacement and swap (swap.h, docs/swap.md).
 */
#include "swap.h"

#include "disk.h"
#include "frame.h"
#include "paging.h"
#include "paging_change.h"
#include "paging_walk.h"
#include "panic.h"
#include "string.h"
#include "trace.h"
#include "uvm.h"

#define SLOT_SECTORS TRACE_CONST_SWAP_SLOT_SECTORS
#define SWAP_MARK TRACE_CONST_SWAP_PTE_MARK
_Static_assert(SLOT_SECTORS * DISK_SECTOR == PAGE_SIZE, "a slot is a page");
_Static_assert((SWAP_MARK & (PTE_ADDR_MASK | PTE_P)) == 0,
	       "the swap mark is outside the address bits and P");

static bool on;
static uint64_t cap;                        /* frames=N */
static uint64_t low;                        /* low=N: pmm pages kept free */
static const struct swap_policy *policy;
static uint64_t evictions;

/* The resident set, in the order the pages came in. */
static struct swap_page res[SWAP_MAX_FRAMES];
static unsigned count;

/* The slots: a bit each (1: taken), and whose page is in each. */
static uint64_t slot_bits[SWAP_MAX_SLOTS / 64];
static struct swap_page slot_owner[SWAP_MAX_SLOTS];
static unsigned slots;      /* on the disk */
static unsigned slots_used;

/* ---- the policies ----------------------------------------------------------- */

/* FIFO: the oldest page that may go, whatever its A bit says. */
static unsigned fifo_victim(void)
{
	for (unsigned i = 0; i < count; i++)
		if (swap_look(i, false) == SWAP_EVICT)
			return i;
	return count;
}

/*
 * Clock (second chance): a hand goes round the resident set; a page with
 * A set loses it and stays (the CPU sets A again if the page is used
 * before the hand comes back); the first page found with A clear goes.
 * Two turns are enough: after one, every page that may go has A clear.
 */
static unsigned hand;

static unsigned clock_victim(void)
{
	/* LAB 7 begin: clock_victim, stub returns count */
	for (unsigned looked = 0; looked < 2 * count + 1; looked++) {
		if (hand >= count)
			hand = 0;
		if (swap_look(hand, true) == SWAP_EVICT)
			return hand; /* its place goes to the next page: the hand stays */
		hand++;
	}
	return count;
	/* LAB 7 end */
}

/*
 * Aging (an approximation of LRU): each resident page keeps 8 bits of
 * history of its A bit. At each choice every page's history shifts right,
 * its A bit (read and cleared) comes in at the top, and the page with the
 * smallest history goes: the one used least lately, ties to the oldest.
 * A page used in most of the last few choices outlives one used once,
 * which the clock, knowing one bit, cannot tell apart. The histories move
 * at each eviction (Vitrine has no timer tick to move them).
 */
static unsigned aging_victim(void)
{
	unsigned pick = count;
	for (unsigned i = 0; i < count; i++) {
		enum swap_verdict v = swap_look(i, true);
		res[i].age = (uint8_t)(res[i].age >> 1 | (v == SWAP_KEEP ? 0x80 : 0));
		if (v != SWAP_SKIP && (pick == count || res[i].age < res[pick].age))
			pick = i;
	}
	return pick;
}

/* The policy called name, or NULL. */
static const struct swap_policy *policy_named(const char *name)
{
	static const struct swap_policy policies[] = {
		{ "clock", clock_victim },
		{ "fifo", fifo_victim },
		{ "aging", aging_victim },
	};
	for (unsigned i = 0; name && i < sizeof policies / sizeof policies[0]; i++)
		if (strcmp(policies[i].name, name) == 0)
			return &policies[i];
	return NULL;
}

/* ---- the resident set --------------------------------------------------------- */

unsigned swap_resident(void) { return count; }
bool swap_enabled(void) { return on; }

static void res_remove(unsigned i)
{
	for (unsigned k = i; k + 1 < count; k++)
		res[k] = res[k + 1];
	count--;
	if (hand > i)
		hand--;
}

void swap_track(struct uvm *u, uint64_t va, bool zero)
{
	if (!on)
		return;
	ASSERT(count < SWAP_MAX_FRAMES);
	res[count++] = (struct swap_page){ u, va, zero, 0 };
}

/* The PT entry of a resident page (it is mapped: unmaps forget it). */
static pte_t *res_entry(const struct swap_page *p)
{
	int level;
	pte_t *e = vm_walk(p->u->as.pool, p->va, PT_LEVEL_PT, &level);
	ASSERT(level == PT_LEVEL_PT && pte_present(*e));
	return e;
}

enum swap_verdict swap_look(unsigned i, bool second_chance)
{
	static const char *const names[] = { "keep", "skip", "evict" };
	const struct swap_page *p = &res[i];
	pte_t *e = res_entry(p);
	uint64_t seen = e->raw & (PTE_A | PTE_D);
	enum swap_verdict v = SWAP_EVICT;
	if (e->raw & PTE_COW || frame_count(pte_addr(*e)) > 1) {
		v = SWAP_SKIP;
	} else if (second_chance) {
		seen = vm_leaf_age(p->u->as.pool, e, p->va);
		if (seen & PTE_A) {
			vm_invalidate(p->va, 1); /* or the TLB keeps A set for it */
			v = SWAP_KEEP;
		}
	}
	trace_swap_scan(p->u->pid, p->va, seen, names[v]);
	return v;
}

/* ---- slots ---------------------------------------------------------------------- */

static status_t slot_alloc(unsigned *out)
{
	for (unsigned s = 0; s < slots; s++) {
		if (slot_bits[s / 64] >> (s % 64) & 1)
			continue;
		slot_bits[s / 64] |= 1ull << (s % 64);
		slots_used++;
		trace_swap_alloc(s);
		*out = s;
		return STATUS_OK;
	}
	return trace_error(STATUS_SWAP_FULL, "slots=%u", slots);
}

static void slot_free(unsigned s)
{
	ASSERT(slot_bits[s / 64] >> (s % 64) & 1);
	slot_bits[s / 64] &= ~(1ull << (s % 64));
	slot_owner[s] = (struct swap_page){ 0 };
	slots_used--;
	trace_swap_free(s);
}

/* ---- eviction and swap-in --------------------------------------------------------- */

/* The swapped encoding of a not-present entry: the mark, the slot in the
 * address bits (swap.h). The one place it is written and read. */
static pte_t swap_pte(unsigned slot)
{
	return (pte_t){ SWAP_MARK | (uint64_t)slot << PAGE_SHIFT };
}

static unsigned swap_slot(uint64_t raw)
{
	return (unsigned)((raw & PTE_ADDR_MASK) >> PAGE_SHIFT);
}

bool swap_entry(uint64_t raw)
{
	return !(raw & PTE_P) && (raw & SWAP_MARK);
}

static status_t swap_evict(unsigned i)
{
	struct swap_page p = res[i];
	struct ptp *pool = p.u->as.pool;
	pte_t *e = res_entry(&p);
	paddr_t pa = pte_addr(*e);
	bool dirty = e->raw & PTE_D;
	/* A page that only ever held the zeros of its fault needs no copy. */
	bool write = dirty || !p.zero;
	unsigned slot = 0;
	if (write) {
		status_t st = slot_alloc(&slot); /* first: nothing goes if none is left */
		if (st != STATUS_OK)
			return st;
	}
	trace_swap_evict(p.u->pid, p.va, pa, dirty, write ? "write" : "drop");
	if (!write) {
		res_remove(i);
		status_t st = vm_unmap(pool, p.va, 1); /* frees the frame */
		ASSERT(st == STATUS_OK);
		evictions++;
		return STATUS_OK;
	}
	status_t st = disk_write((uint64_t)slot * SLOT_SECTORS, SLOT_SECTORS,
				 arch_phys_to_virt(pa));
	if (st != STATUS_OK) {
		slot_free(slot);
		return st;
	}
	vm_leaf_swapout(pool, e, p.va, slot, swap_pte(slot));
	vm_invalidate(p.va, 1);
	if (frame_count(pa) == 1)
		frame_unshare(pa); /* counted once by a fork long gone */
	pmm_free_region(pa, 1);
	slot_owner[slot] = p;
	res_remove(i);
	evictions++;
	trace_swap_out(p.u->pid, p.va, slot);
	return STATUS_OK;
}

/* Must a page go before one more is mapped? The resident set is at its
 * cap (frames=), or physical memory is below the low-water mark (low=). */
static bool swap_pressure(void)
{
	if (count >= cap)
		return true;
	if (low == 0)
		return false;
	struct pmm_stats s;
	pmm_get_stats(&s);
	return s.free_pages < low;
}

status_t swap_reclaim(void)
{
	TRACE_CALL();
	while (on && count > 0 && swap_pressure()) {
		unsigned v = policy->victim();
		if (v >= count && count < SWAP_MAX_FRAMES)
			return STATUS_OK; /* every page must stay: the cap gives way */
		if (v >= count) /* ... but the resident set's table is full */
			return trace_error(STATUS_TABLE_FULL, "resident=%u", count);
		status_t st = swap_evict(v);
		if (st != STATUS_OK)
			return st;
	}
	return STATUS_OK;
}

status_t swap_in(struct uvm *u, uint64_t va, uint64_t raw, uint64_t flags)
{
	TRACE_CALL();
	/* LAB 7 begin: swap_in */
	unsigned slot = swap_slot(raw);
	ASSERT(slot < slots && slot_owner[slot].u == u && slot_owner[slot].va == va);
	status_t st = swap_reclaim();
	if (st != STATUS_OK)
		return st;
	paddr_t pa;
	st = pmm_alloc_page(PMM_USER, &pa);
	if (st != STATUS_OK)
		return st;
	st = disk_read((uint64_t)slot * SLOT_SECTORS, SLOT_SECTORS,
		       arch_phys_to_virt(pa));
	if (st != STATUS_OK) {
		pmm_free_region(pa, 1);
		return st;
	}
	/* The entry still holds the slot: the eviction above only touched
	 * others, and a table with a nonzero entry is never freed. */
	int level;
	pte_t *e = vm_walk(u->as.pool, va, PT_LEVEL_PT, &level);
	ASSERT(level == PT_LEVEL_PT && e->raw == raw);
	vm_leaves_write(u->as.pool, e, va, pa, NULL, 1, PAGE_SIZE, flags | PTE_OWN);
	trace_swap_in(u->pid, va, slot, pa);
	slot_free(slot);
	swap_track(u, va, false);
	return STATUS_OK;
	/* LAB 7 end */
}

void swap_forget(struct uvm *u, uint64_t va, uint64_t pages)
{
	uint64_t end = va + pages * PAGE_SIZE;
	for (unsigned i = count; i-- > 0;)
		if (res[i].u == u && res[i].va >= va && res[i].va < end)
			res_remove(i);
	for (unsigned s = 0; s < slots; s++) {
		struct swap_page p = slot_owner[s];
		if (p.u != u || p.va < va || p.va >= end)
			continue;
		int level;
		pte_t *e = vm_walk(u->as.pool, p.va, PT_LEVEL_PT, &level);
		ASSERT(level == PT_LEVEL_PT && swap_entry(e->raw) &&
		       swap_slot(e->raw) == s);
		vm_leaf_forget(u->as.pool, e, p.va, s);
		slot_free(s);
	}
}

bool swap_holds(const struct uvm *u)
{
	for (unsigned s = 0; s < slots; s++)
		if (slot_owner[s].u == u)
			return true;
	return false;
}

void swap_stat(void)
{
	if (on)
		trace_stat_swap(slots_used, slots - slots_used, evictions);
}

/* ---- setting up --------------------------------------------------------------------- */

status_t swap_init(uint64_t frames, uint64_t low_water, const char *name)
{
	TRACE_CALL();
	const struct swap_policy *pick = policy_named(name);
	if (!pick)
		return trace_error(STATUS_INVALID_ARG, "policy=%s", name ? name : "none");
	if (frames > SWAP_MAX_FRAMES || (frames == 0 && low_water == 0))
		return trace_error(STATUS_INVALID_ARG, "frames=%lu low=%lu", frames,
				   low_water);
	uint64_t sectors;
	status_t st = disk_probe(&sectors);
	if (st != STATUS_OK)
		return st; /* its err.no_disk said why: swapping stays off */
	swap_reset();
	slots = sectors / SLOT_SECTORS < SWAP_MAX_SLOTS
			? (unsigned)(sectors / SLOT_SECTORS) : SWAP_MAX_SLOTS;
	if (slots == 0)
		return trace_error(STATUS_NO_DISK, "sectors=%lu", sectors);
	cap = frames ? frames : SWAP_MAX_FRAMES;
	low = low_water;
	policy = pick;
	on = true;
	trace_swap_init(slots, cap, low, pick->name);
	return STATUS_OK;
}

void swap_reset(void)
{
	on = false;
	cap = low = 0;
	policy = NULL;
	evictions = 0;
	count = hand = 0;
	slots = slots_used = 0;
	memset(slot_bits, 0, sizeof slot_bits);
	memset(slot_owner, 0, sizeof slot_owner);
}
