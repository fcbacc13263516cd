/*
 * fuzz_mm_diff.c - libFuzzer target: the paging API against a model.
 *
 * The input is a program: each call is an opcode byte and its argument
 * bytes (decode_* below; the pmm calls are in mm_diff_pmm.c). It runs against the real pmm + ptp + vm_ code on
 * the host's simulated memory, and against a model made of arrays: for each
 * 4 KiB page of two small VA windows, mapped or not, its pa and its flags;
 * for each physical page, used or free, ever handed out, held by a direct
 * pmm_* call of the program. The pmm calls (alloc page, batch, contiguous
 * with limit and alignment, between; free page, batch, region) are first
 * fit from the lowest page, so the model predicts every address they
 * return and every status. After every call (the translations: after the
 * last call):
 *   - the status is one the model allows (OK exactly when the model says
 *     the call is valid);
 *   - a failing call wrote exactly one err.* event, a good one none, and
 *     left every byte of the page table pool as it was;
 *   - every page of both windows translates as the model says (pa, flags);
 *   - every physical page is used or free as the model says (after pmm
 *     calls), and pmm's free count equals the model's (after every call);
 *   - owned pages are in use in the bitmap, and freed once unmapped.
 * A window straddles a 1 GiB boundary (tables at three levels change) and
 * one ends at the top of the lower half (wrap, non-canonical). 2 MiB pages
 * are not modelled.
 *
 * The same pool serves as the kernel's for the allocators (kalloc.h,
 * heap.h): kmalloc, kfree (also of a pointer inside an object), kalloc and
 * kalloc_free (also with a wrong size) against a list of live objects and
 * regions: statuses as the model says, no overlap, and their pages counted
 * in pmm's free count and the pool's mapped count.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "host.h"
#include "kalloc.h"
#include "layout.h"
#include "paging.h"
#include "pmm.h"
#include "mm_diff.h"
#include "pmm_bitmap.h"
#include "ptp.h"
#include "trace.h"

#define WINDOW_PAGES 520
#define WINDOWS 2
#define POOL_PAGES 24
#define PA_BASE 0x200000ul /* pages mapped by pa come from here (not pmm) */
#define CANONICAL_TOP 0x0000800000000000ul

static const vaddr_t window_base[WINDOWS] = {
	0x40000000ul - WINDOW_PAGES / 2 * PAGE_SIZE, /* across 1 GiB */
	CANONICAL_TOP - WINDOW_PAGES * PAGE_SIZE,    /* up to the hole */
};

struct page_model {
	int mapped;
	paddr_t pa;
	uint64_t flags; /* caller flags, P included */
};

static struct page_model model[WINDOWS][WINDOW_PAGES];

/* The allocators' model: live heap objects and kalloc regions. */
#define MAX_LIVE 32
struct live {
	vaddr_t va;
	uint64_t bytes; /* what it occupies: slot, or pages * 4K */
};
static struct live objects[MAX_LIVE], regions[MAX_LIVE];
static unsigned n_objects, n_regions;
struct ptp *pool;
static uint64_t owned;

const uint8_t *in, *in_end;
struct phys_page phys[PHYS_PAGES];

uint64_t take(unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v = v << 8 | (in < in_end ? *in++ : 0);
	return v;
}

/* A window and a page in it; count pages that may run past its end. */
struct range {
	unsigned w, first;
	uint64_t count;
	vaddr_t va;
};

static struct range decode_range(unsigned max_count)
{
	struct range r;
	uint64_t v = take(2);
	r.w = v >> 15;
	r.first = v % WINDOW_PAGES;
	r.count = 1 + take(1) % max_count;
	r.va = window_base[r.w] + (uint64_t)r.first * PAGE_SIZE;
	return r;
}

/* Pages of r inside its window (the rest is outside the model). */
static int inside(const struct range *r)
{
	return r->first + r->count <= WINDOW_PAGES;
}

static uint64_t decode_flags(void)
{
	static const uint64_t choices[] = { PTE_W, PTE_U, PTE_NX, PTE_PIN,
					    PTE_G, PTE_PWT };
	uint8_t b = take(1);
	uint64_t flags = b & 0x80 ? 0 : PTE_P; /* 1 in 2: without P */
	for (unsigned i = 0; i < 6; i++)
		if (b & (1u << i))
			flags |= choices[i];
	return flags;
}

static unsigned count_in(const struct range *r, int mapped, uint64_t flag)
{
	unsigned n = 0;
	for (uint64_t i = 0; i < r->count && r->first + i < WINDOW_PAGES; i++) {
		struct page_model *p = &model[r->w][r->first + i];
		n += p->mapped == mapped && (!flag || (p->flags & flag));
	}
	return n;
}

/* The pool's bytes before the current call: a failing call changes none. */
static uint8_t before[POOL_PAGES * PAGE_SIZE];

void expect(status_t got, status_t a, status_t b, const char *call)
{
	if (got != STATUS_OK &&
	    memcmp(before, arch_phys_to_virt(pool->pa), sizeof before))
		FAIL("%s failed with %s but changed the tables", call,
		     status_name(got));
	if (got != a && got != b)
		FAIL("%s returned %s, the model expects %s or %s", call,
		     status_name(got), status_name(a), status_name(b));
	size_t errs = host_trace_count(" err.");
	if (errs != (got != STATUS_OK))
		FAIL("%s returned %s and wrote %zu err events", call,
		     status_name(got), errs);
}

static void model_unmap(const struct range *r)
{
	for (uint64_t i = 0; i < r->count; i++) {
		struct page_model *p = &model[r->w][r->first + i];
		if (p->mapped && (p->flags & PTE_OWN)) {
			owned--;
			phys[p->pa / PAGE_SIZE].used = 0;
			if (pmm_is_used(p->pa))
				FAIL("owned page %#lx still used after unmap",
				     p->pa);
		}
		p->mapped = 0;
	}
}

static void do_map(void)
{
	struct range r = decode_range(40);
	paddr_t pa = PA_BASE + take(1) % 256 * PAGE_SIZE;
	uint64_t flags = decode_flags();
	if (!inside(&r))
		r.count = WINDOW_PAGES - r.first;
	status_t st = r.count == 1 ? vm_map(pool, r.va, pa, flags)
				   : vm_map_range(pool, r.va, pa, r.count, flags);
	if (!(flags & PTE_P)) /* and maybe over mapped pages: either */
		return expect(st, STATUS_INVALID_ARG,
			      count_in(&r, 1, 0) ? STATUS_ALREADY_MAPPED
						 : STATUS_INVALID_ARG,
			      "map without P");
	if (count_in(&r, 1, 0))
		return expect(st, STATUS_ALREADY_MAPPED, STATUS_ALREADY_MAPPED,
			      "map over mapped");
	expect(st, STATUS_OK, STATUS_POOL_EXHAUSTED, "map");
	for (uint64_t i = 0; st == STATUS_OK && i < r.count; i++)
		model[r.w][r.first + i] = (struct page_model){
			1, pa + i * PAGE_SIZE, flags
		};
}

static void do_map_new(void)
{
	struct range r = decode_range(16);
	uint64_t flags = decode_flags() | PTE_P;
	if (!inside(&r))
		r.count = WINDOW_PAGES - r.first;
	status_t st = vm_map_new(pool, r.va, r.count, flags, PMM_TEST);
	if (count_in(&r, 1, 0))
		return expect(st, STATUS_ALREADY_MAPPED, STATUS_ALREADY_MAPPED,
			      "map_new over mapped");
	if (st == STATUS_NO_MEMORY)
		return expect(st, STATUS_NO_MEMORY, STATUS_NO_MEMORY, "map_new");
	expect(st, STATUS_OK, STATUS_POOL_EXHAUSTED, "map_new");
	for (uint64_t i = 0; st == STATUS_OK && i < r.count; i++) {
		paddr_t pa;
		vaddr_t va = r.va + i * PAGE_SIZE;
		if (vm_translate(pool, va, &pa, NULL))
			FAIL("map_new left va %#lx unmapped", va);
		if (!pmm_is_used(pa) || phys[pa / PAGE_SIZE].used)
			FAIL("map_new mapped page %#lx, free or already used",
			     pa);
		phys[pa / PAGE_SIZE].used = phys[pa / PAGE_SIZE].handed = 1;
		model[r.w][r.first + i] =
			(struct page_model){ 1, pa, flags | PTE_OWN };
		owned++;
	}
}

static void do_unmap(void)
{
	struct range r = decode_range(64);
	if (!inside(&r))
		r.count = WINDOW_PAGES - r.first;
	status_t st = vm_unmap(pool, r.va, r.count);
	if (!count_in(&r, 1, 0))
		return expect(st, STATUS_NOT_MAPPED, STATUS_NOT_MAPPED, "unmap");
	if (count_in(&r, 1, PTE_PIN))
		return expect(st, STATUS_PINNED, STATUS_PINNED, "unmap pinned");
	expect(st, STATUS_OK, STATUS_OK, "unmap");
	model_unmap(&r);
}

static void do_protect(void)
{
	struct range r = decode_range(32);
	uint64_t flags = decode_flags();
	if (!inside(&r))
		r.count = WINDOW_PAGES - r.first;
	int unpin = take(1) & 1;
	status_t st = unpin ? vm_unpin(pool, r.va, r.count)
			    : vm_protect(pool, r.va, r.count, flags);
	/* A hole and a pinned page: the contract allows either status. */
	status_t pinned = !unpin && count_in(&r, 1, PTE_PIN) ? STATUS_PINNED
							  : STATUS_NOT_MAPPED;
	/* Without P, protect is vm_unmap, which skips holes (paging.c);
	 * paging.h says every page must be mapped: accepted, reported. */
	if (!unpin && !(flags & PTE_P) && count_in(&r, 1, 0) &&
	    st == STATUS_OK) {
		model_unmap(&r);
		return expect(st, STATUS_OK, STATUS_OK, "protect without P");
	}
	if (count_in(&r, 0, 0))
		return expect(st, STATUS_NOT_MAPPED, pinned, "protect");
	if (unpin) {
		expect(st, STATUS_OK, STATUS_OK, "unpin");
		for (uint64_t i = 0; i < r.count; i++)
			model[r.w][r.first + i].flags &= ~PTE_PIN;
		return;
	}
	if (count_in(&r, 1, PTE_PIN))
		return expect(st, STATUS_PINNED, STATUS_PINNED, "protect pinned");
	expect(st, STATUS_OK, STATUS_OK, "protect");
	if (!(flags & PTE_P))
		return model_unmap(&r);
	for (uint64_t i = 0; i < r.count; i++) {
		struct page_model *p = &model[r.w][r.first + i];
		p->flags = flags | (p->flags & PTE_OWN);
	}
}

static void do_find(void)
{
	struct range r = decode_range(64);
	uint64_t span = 1 + take(2) % WINDOW_PAGES;
	uint64_t align = 1ull << take(1) % 6;
	if (r.first + span > WINDOW_PAGES)
		span = WINDOW_PAGES - r.first;
	vaddr_t got, want = 0;
	status_t st = vm_find_free(pool, r.va, r.va + span * PAGE_SIZE, r.count,
				   align, &got);
	for (uint64_t s = r.first; !want && s + r.count <= r.first + span; s++) {
		vaddr_t va = window_base[r.w] + s * PAGE_SIZE;
		struct range c = { r.w, s, r.count, va };
		if (va / PAGE_SIZE % align == 0 && !count_in(&c, 1, 0))
			want = va;
	}
	if (!want)
		return expect(st, STATUS_NOT_FOUND, STATUS_NOT_FOUND, "find");
	expect(st, STATUS_OK, STATUS_OK, "find");
	if (got != want)
		FAIL("find_free gave %#lx, the model %#lx", got, want);
}

/* The requested size's slot: its power-of-two class, or whole pages. */
static uint64_t slot_of(uint64_t size)
{
	uint64_t slot = HEAP_CLASS_SIZE(0);
	if (size > HEAP_SMALL_MAX)
		return (size + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE;
	while (slot < size)
		slot *= 2;
	return slot;
}

static void assert_alone(vaddr_t va, uint64_t bytes)
{
	const struct live *sets[] = { objects, regions };
	const unsigned counts[] = { n_objects, n_regions };
	for (unsigned k = 0; k < 2; k++)
		for (unsigned i = 0; i < counts[k]; i++)
			if (va < sets[k][i].va + sets[k][i].bytes &&
			    sets[k][i].va < va + bytes)
				FAIL("%#lx+%lu overlaps %#lx+%lu", va, bytes,
				     sets[k][i].va, sets[k][i].bytes);
}

/* Out of pages or table pages is allowed; anything else is the model's. */
static status_t out_of_memory(status_t st)
{
	return st == STATUS_POOL_EXHAUSTED ? st : STATUS_NO_MEMORY;
}

static void do_kmalloc(void)
{
	uint64_t size = 1 + take(2) % (3 * PAGE_SIZE);
	void *p;
	status_t st = kmalloc(size, &p);
	expect(st, STATUS_OK, out_of_memory(st), "kmalloc");
	if (st != STATUS_OK || n_objects == MAX_LIVE) {
		if (st == STATUS_OK && kfree(p) != STATUS_OK)
			FAIL("kfree of a fresh object failed");
		return;
	}
	assert_alone((vaddr_t)p, slot_of(size));
	objects[n_objects++] = (struct live){ (vaddr_t)p, slot_of(size) };
}

static void do_kfree(void)
{
	uint8_t b = take(1);
	if (n_objects == 0)
		return expect(kfree((void *)KALLOC_BASE), STATUS_BAD_POINTER,
			      STATUS_BAD_POINTER, "kfree of nothing");
	struct live *o = &objects[b % n_objects];
	if (b & 0x80)
		return expect(kfree((void *)(o->va + 1 + b % (o->bytes - 1))),
			      STATUS_BAD_POINTER, STATUS_BAD_POINTER,
			      "kfree inside");
	expect(kfree((void *)o->va), STATUS_OK, STATUS_OK, "kfree");
	*o = objects[--n_objects];
}

static void do_kalloc(void)
{
	uint64_t pages = 1 + take(1) % 8;
	vaddr_t va;
	status_t st = kalloc(pages, &va);
	expect(st, STATUS_OK, out_of_memory(st), "kalloc");
	if (st != STATUS_OK || n_regions == MAX_LIVE) {
		if (st == STATUS_OK && kalloc_free(va, pages) != STATUS_OK)
			FAIL("kalloc_free of a fresh region failed");
		return;
	}
	assert_alone(va, pages * PAGE_SIZE);
	regions[n_regions++] = (struct live){ va, pages * PAGE_SIZE };
}

static void do_kalloc_free(void)
{
	uint8_t b = take(1);
	if (n_regions == 0)
		return;
	struct live *r = &regions[b % n_regions];
	uint64_t pages = r->bytes / PAGE_SIZE;
	if (b & 0x80)
		return expect(kalloc_free(r->va, pages + 1),
			      STATUS_SIZE_MISMATCH, STATUS_SIZE_MISMATCH,
			      "kalloc_free size");
	expect(kalloc_free(r->va, pages), STATUS_OK, STATUS_OK, "kalloc_free");
	*r = regions[--n_regions];
}

/*
 * The pages kalloc and the heap took or gave back in the last call: the
 * model cannot predict which (slabs come and go), so it follows pmm here,
 * but only in the allowed directions: a free page may become the
 * allocators', an allocators' page may become free. Any other page freed
 * (held by the program, owned by a mapping, reserved, the pool's) fails; a
 * page taken that is not theirs shows in the count checked in compare_all.
 */
static void model_follow_allocators(void)
{
	for (uint64_t p = RAM_FIRST; p < PHYS_PAGES; p++) {
		bool used = pmm_is_used(pmm_page_pa(p));
		/* Free before and after, yet handed out: the call took the
		 * page and gave it back (kalloc, then its free). pmm keeps it
		 * as handed, so a later free of it is a double free. */
		if (!used && !phys[p].used && pmm_bitmap_is_handed(p))
			phys[p].handed = 1;
		if (used == phys[p].used)
			continue;
		if (!used && !phys[p].alloc) /* a free page may become theirs */
			FAIL("page %#lx was freed, not the allocators' to free",
			     pmm_page_pa(p));
		phys[p].used = phys[p].alloc = used;
		phys[p].handed |= used;
	}
}

/* Pages the allocators hold (heap slabs and large objects, regions). */
static uint64_t allocator_pages(void)
{
	struct heap_stats s;
	heap_get_stats(&s);
	uint64_t pages = s.held / PAGE_SIZE;
	for (unsigned i = 0; i < n_regions; i++)
		pages += regions[i].bytes / PAGE_SIZE;
	if (pages != kalloc_space.taken_pages)
		FAIL("allocators hold %lu pages, kalloc's window %lu", pages,
		     kalloc_space.taken_pages);
	return pages;
}

/* Every page of both windows, and every physical page, against the model. */
static void compare_all(void)
{
	for (unsigned w = 0; w < WINDOWS; w++)
		for (unsigned i = 0; i < WINDOW_PAGES; i++) {
			vaddr_t va = window_base[w] + (uint64_t)i * PAGE_SIZE;
			struct page_model *p = &model[w][i];
			paddr_t pa = 0;
			uint64_t flags = 0;
			status_t st = vm_translate(pool, va, &pa, &flags);
			if ((st == STATUS_OK) != p->mapped)
				FAIL("va %#lx: translate %s, model %s", va,
				     status_name(st), p->mapped ? "mapped" : "not");
			flags &= PTE_CALLER_FLAGS;
			if (p->mapped && (pa != p->pa || flags != p->flags))
				FAIL("va %#lx: pa %#lx flags %#lx, model %#lx %#lx",
				     va, pa, flags, p->pa, p->flags);
		}
	for (uint64_t p = 0; p < PHYS_PAGES; p++)
		if (pmm_is_used(p * PAGE_SIZE) != phys[p].used)
			FAIL("physical page %#lx: pmm says %s, the model not",
			     pmm_page_pa(p), phys[p].used ? "free" : "used");
	uint64_t alloc = 0;
	for (uint64_t p = 0; p < PHYS_PAGES; p++)
		alloc += phys[p].alloc;
	if (alloc != allocator_pages())
		FAIL("the model gives the allocators %lu pages, they hold %lu",
		     alloc, allocator_pages());
}

/* After each call (a full compare_all every call is 50x slower): the
 * pool's own count of mapped pages equals the model's, so a page mapped or
 * unmapped anywhere else is seen; compare_all runs at the end. */
static void compare_count(void)
{
	uint64_t mapped = 0;
	for (unsigned w = 0; w < WINDOWS; w++)
		for (unsigned i = 0; i < WINDOW_PAGES; i++)
			mapped += model[w][i].mapped;
	mapped += allocator_pages();
	if (pool->mapped_pages != mapped)
		FAIL("pool counts %lu mapped pages, the model %lu",
		     pool->mapped_pages, mapped);
	struct pmm_stats s;
	pmm_get_stats(&s);
	if (s.free_pages != model_free_count())
		FAIL("pmm counts %lu free pages, the model %lu (%lu owned)",
		     s.free_pages, model_free_count(), owned);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* From do_kmalloc on, the calls go through kalloc and the heap. */
	enum { FIRST_ALLOCATOR_OP = 7 };
	static void (*const ops[])(void) = {
		do_map,	      do_map_new,  do_unmap,  do_protect,
		do_find,      do_pmm_alloc, do_pmm_free, do_kmalloc,
		do_kfree,     do_kalloc,   do_kalloc_free,
	};
	in = data, in_end = data + size;
	host_memory_init(MEMORY_BYTES);
	host_trace_start();
	memset(model, 0, sizeof model);
	owned = n_objects = n_regions = 0;
	struct pmm_region ram = { 0x100000, (MEMORY_BYTES - 0x100000) / PAGE_SIZE,
				  PMM_FIRMWARE };
	/* pa-mapped pages (PA_BASE..) are taken first so map_new never
	 * hands them out: a page is either the model's by pa or owned. */
	struct pmm_region taken = { PA_BASE, 256, PMM_TEST };
	if (pmm_init(&ram, 1, &taken, 1) ||
	    ptp_create(POOL_PAGES, PTP_MODIFIABLE, &pool))
		FAIL("setup failed");
	ptp_seal(pool); /* the bitmap allocator, as after bring-up */
	vm_kernel_pool = pool; /* the allocators' space: KALLOC_BASE.. */
	if (kalloc_init() || heap_init())
		FAIL("allocators' setup failed");
	for (uint64_t p = 0; p < PHYS_PAGES; p++) /* the start, as read */
		phys[p] = (typeof(phys[0])){ pmm_is_used(p * PAGE_SIZE),
					     pmm_bitmap_is_handed(p), 0, 0 };
	for (unsigned calls = 0; in < in_end && calls < 64; calls++) {
		host_trace_clear();
		memcpy(before, arch_phys_to_virt(pool->pa), sizeof before);
		unsigned op = take(1) % (sizeof ops / sizeof *ops);
		ops[op]();
		if (op >= FIRST_ALLOCATOR_OP)
			model_follow_allocators();
		compare_count();
	}
	compare_all();
	/* Pinned pages stay; the next input starts from a fresh machine. */
	vm_kernel_pool = NULL;
	ptp_destroy(pool);
	return 0;
}
