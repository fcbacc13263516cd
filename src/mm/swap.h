/*
 * swap.h - page replacement and swap (docs/swap.md).
 *
 * Off unless the command line gives frames=N or low=N: then swap_init
 * finds the disk (disk.h) and from there on at most N user pages that
 * came on a fault (demand-zero or swap-in: the "resident set") are in
 * frames at once, and (low=) at least N physical pages stay free. Before
 * a fault maps one more page while either bound is reached, swap_reclaim
 * asks the policy for a victim and evicts it: a page never written since its demand-zero fault
 * (D clear) is simply unmapped (the next touch gets a zero page again);
 * any other is written to a free slot of the disk, its entry becomes the
 * swapped encoding (not present, the slot in the address bits, bit 62
 * set), the TLB entry goes and the frame is freed. A fault on such an
 * entry (uvm_fault) reads the page back into a fresh frame: swap_in.
 *
 * Policy on sharing: a page whose frame is shared by fork (count > 1) or
 * still marked COW is never evicted (verdict skip): its contents belong
 * to several pages, and an eviction would have to find them all. A fork
 * of a process that has pages in swap is refused (BUSY): the child would
 * need a share of slots. Text and data pages are not in the resident set
 * either: they stay in frames.
 *
 * Without a disk (NO_DISK) swapping stays off: frames= is not enforced,
 * processes run as without it.
 */
#ifndef VITRINE_SWAP_H
#define VITRINE_SWAP_H

#include <stdbool.h>
#include <stdint.h>

#include "status.h"

struct uvm;
struct uvm_region;

#define SWAP_MAX_SLOTS 1024  /* 4 MiB of swap at most */
#define SWAP_MAX_FRAMES 1024 /* frames=N: 1..SWAP_MAX_FRAMES */

/* One page of the resident set. */
struct swap_page {
	struct uvm *u;
	uint64_t va;
	bool zero; /* came by demand-zero and not swapped since: D decides */
	uint8_t age; /* aging's history of A, newest in bit 7 (aging only) */
};

/*
 * A replacement policy: victim() returns the index (0..count-1) in the
 * resident set, kept in the order the pages came in, of the page to
 * evict, or count if every page must stay. It may call swap_look to read
 * (and clear) a page's A bit. swap_set_policy picks one by name.
 */
struct swap_policy {
	const char *name;
	unsigned (*victim)(void);
};

/* What swap_look saw: a page to keep (A was set: cleared now), one that
 * may not go (shared, COW), or one that may. */
enum swap_verdict { SWAP_KEEP, SWAP_SKIP, SWAP_EVICT };

/* Policies' view: the resident pages, and a look at one (swap.scan). */
unsigned swap_resident(void);
enum swap_verdict swap_look(unsigned i, bool second_chance);

/* Turns swapping on: policy "clock", "fifo" or "aging", at most frames resident
 * pages (0: SWAP_MAX_FRAMES), and reclaim whenever fewer than low_water
 * physical pages are free (0: no low-water mark). NO_DISK (or DISK_ERROR)
 * leaves it off; INVALID_ARG for an unknown policy, frames over
 * SWAP_MAX_FRAMES, or neither a cap nor a mark. */
status_t swap_init(uint64_t frames, uint64_t low_water, const char *policy);
bool swap_enabled(void);

/* Before a fault maps a page for u: evicts while the resident set is
 * full or free memory is below the low-water mark. SWAP_FULL (no slot
 * left) or DISK_ERROR if it cannot; TABLE_FULL if every page must stay
 * and the resident set holds SWAP_MAX_FRAMES already. If every page must
 * stay below that, the bound gives way: STATUS_OK. */
status_t swap_reclaim(void);

/* The fault mapped a page at va for u: it joins the resident set. */
void swap_track(struct uvm *u, uint64_t va, bool zero);

/* True if the page-table entry raw is a swapped-out page. */
bool swap_entry(uint64_t raw);

/* Brings the swapped page at va (entry raw) back, mapped with flags:
 * NO_MEMORY, DISK_ERROR, SWAP_FULL (no room could be made). */
status_t swap_in(struct uvm *u, uint64_t va, uint64_t raw, uint64_t flags);

/* The pages of u in [va, va + pages) are going: forgets them, frees the
 * slots of those in swap (vm.forget, swap.free). */
void swap_forget(struct uvm *u, uint64_t va, uint64_t pages);

/* Does u have pages in swap? */
bool swap_holds(const struct uvm *u);

/* stat.swap, when swapping is on. */
void swap_stat(void);

/* Forgets everything (host tests start a new machine). */
void swap_reset(void);

#endif
