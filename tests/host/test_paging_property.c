/*
 * test_paging_property.c - 100,000 random map/unmap/protect/translate
 * operations against a model of the mappings: a plain array, one entry a
 * page, whose rules are written out in a few lines each. After every
 * operation the status must be the model's; periodically every page, the
 * pool's table count and the physical free count are compared.
 */
#include "paging_fixture.h"

#include "trace.h"

#define PAGES 4096
/* The universe straddles the boundary of PML4 slots 0 and 1, so tables
 * of every level come and go. */
#define BASE (0x8000000000ull - (PAGES / 2) * PAGE_SIZE)
#define FOREIGN_PA 0x2000000ull /* not owned: mapped, never freed */
#define OPS 100000

struct model_page {
	bool mapped;
	paddr_t pa;
	uint64_t flags; /* PS: part of the 2 MiB page starting at page & ~511 */
};
static struct model_page model[PAGES];
static uint64_t rng = 88172645463325252ull;
static uint64_t succeeded[4]; /* map, unmap, protect, translate: OK results */
static uint64_t huge_maps;   /* 2 MiB maps that succeeded */

static uint64_t rnd(uint64_t n)
{
	return host_random(&rng, n);
}

static uint64_t random_flags(void)
{
	static const uint64_t bits[] = { PTE_W, PTE_U, PTE_NX, PTE_PIN };
	uint64_t f = PTE_P;
	for (int i = 0; i < 4; i++)
		if (rnd(i == 3 ? 8 : 2) == 0)
			f |= bits[i];
	return f;
}

static bool any(uint64_t first, uint64_t n, bool (*pred)(const struct model_page *))
{
	for (uint64_t i = first; i < first + n; i++)
		if (pred(&model[i]))
			return true;
	return false;
}
static bool is_mapped(const struct model_page *p) { return p->mapped; }
static bool is_pinned(const struct model_page *p)
{
	return p->mapped && (p->flags & PTE_PIN);
}

/* Tables the mappings need: one PT per 2 MiB holding a 4K page, one PD
 * per 1 GiB, one PDPT per 512 GiB that holds a mapped page. */
static uint64_t model_tables(void)
{
	uint64_t n = 0;
	for (int level = 2; level <= 4; level++) {
		uint64_t last = ~0ull;
		for (uint64_t i = 0; i < PAGES; i++) {
			uint64_t key = (BASE + i * PAGE_SIZE) >> PT_LEVEL_SHIFT(level);
			bool counts = model[i].mapped &&
				      (level > 2 || !(model[i].flags & PTE_PS));
			if (counts && key != last) {
				n++;
				last = key;
			}
		}
	}
	return n;
}

static void compare_everything(struct ptp *pool, uint64_t free0)
{
	uint64_t mapped = 0, owned = 0;
	for (uint64_t i = 0; i < PAGES; i++) {
		paddr_t pa;
		uint64_t f;
		status_t st = vm_translate(pool, BASE + i * PAGE_SIZE, &pa, &f);
		if (!model[i].mapped) {
			cr_assert_eq(st, STATUS_NOT_MAPPED, "page %lu", i);
			continue;
		}
		mapped++;
		owned += (model[i].flags & PTE_OWN) != 0;
		cr_assert_eq(st, STATUS_OK, "page %lu", i);
		cr_assert_eq(pa, model[i].pa, "page %lu", i);
		cr_assert_eq(f, model[i].flags, "page %lu", i);
	}
	cr_assert_eq(pool->mapped_pages, mapped);
	cr_assert_eq(pool->used - pool->bitmap_pages - 1, model_tables(),
		     "emptied tables went back to the pool");
	cr_assert_eq(fix_pmm_free(), free0 - owned, "owned pages are freed");
}

static void op_map(struct ptp *pool, uint64_t first, uint64_t n)
{
	uint64_t flags = random_flags();
	paddr_t pa = FOREIGN_PA + rnd(256) * PAGE_SIZE;
	status_t want = any(first, n, is_mapped) ? STATUS_ALREADY_MAPPED : STATUS_OK;
	cr_assert_eq(vm_map_range(pool, BASE + first * PAGE_SIZE, pa, n, flags), want);
	succeeded[0] += want == STATUS_OK;
	for (uint64_t i = 0; want == STATUS_OK && i < n; i++)
		model[first + i] = (struct model_page){ true, pa + i * PAGE_SIZE, flags };
}

static void op_map_new(struct ptp *pool, uint64_t first, uint64_t n)
{
	uint64_t flags = random_flags() & ~PTE_PIN;
	status_t want = any(first, n, is_mapped) ? STATUS_ALREADY_MAPPED : STATUS_OK;
	cr_assert_eq(vm_map_new(pool, BASE + first * PAGE_SIZE, n, flags, PMM_TEST), want);
	for (uint64_t i = 0; want == STATUS_OK && i < n; i++) {
		paddr_t pa;
		vm_translate(pool, BASE + (first + i) * PAGE_SIZE, &pa, NULL);
		model[first + i] = (struct model_page){ true, pa, flags | PTE_OWN };
	}
}

/* True if a 2 MiB page overlaps [first, first + n) without fitting in it. */
static bool splits_huge(uint64_t first, uint64_t n)
{
	for (uint64_t i = first; i < first + n; i++)
		if (model[i].mapped && (model[i].flags & PTE_PS) &&
		    ((i & ~511ull) < first || (i & ~511ull) + 512 > first + n))
			return true;
	return false;
}

/* protect's answer: the first hole or split 2 MiB page, in VA order. */
static status_t walk_answer(uint64_t first, uint64_t n)
{
	for (uint64_t i = first; i < first + n; i++) {
		if (!model[i].mapped)
			return STATUS_NOT_MAPPED;
		if ((model[i].flags & PTE_PS) &&
		    ((i & ~511ull) < first || (i & ~511ull) + 512 > first + n))
			return STATUS_HUGE_PAGE;
	}
	return STATUS_OK;
}

/* Empties the 2 MiB blocks [first, first + n) (unpins, then unmaps). */
static void clear_blocks(struct ptp *pool, uint64_t first, uint64_t n)
{
	for (uint64_t i = first; i < first + n; i++) {
		if (!is_pinned(&model[i]))
			continue;
		uint64_t leaf = (model[i].flags & PTE_PS) ? 512 : 1;
		cr_assert_eq(vm_unpin(pool, BASE + i * PAGE_SIZE, leaf), STATUS_OK);
		for (uint64_t j = i; j < i + leaf; j++)
			model[j].flags &= ~PTE_PIN;
	}
	status_t want = any(first, n, is_mapped) ? STATUS_OK : STATUS_NOT_MAPPED;
	cr_assert_eq(vm_unmap(pool, BASE + first * PAGE_SIZE, n), want);
	for (uint64_t i = first; i < first + n; i++)
		model[i].mapped = false;
}

static void op_map_huge(struct ptp *pool)
{
	uint64_t blocks = 1 + rnd(2), first = rnd(PAGES / 512 - blocks + 1) * 512;
	if (rnd(2))
		clear_blocks(pool, first, blocks * 512);
	uint64_t n = blocks * 512, flags = random_flags() | PTE_PS;
	paddr_t pa = FOREIGN_PA + rnd(8) * PAGE_SIZE_2M;
	status_t want = any(first, n, is_mapped) ? STATUS_ALREADY_MAPPED : STATUS_OK;
	cr_assert_eq(vm_map_range(pool, BASE + first * PAGE_SIZE, pa, n, flags), want);
	huge_maps += want == STATUS_OK;
	for (uint64_t i = 0; want == STATUS_OK && i < n; i++)
		model[first + i] = (struct model_page){ true, pa + i * PAGE_SIZE, flags };
}

static void op_unmap(struct ptp *pool, uint64_t first, uint64_t n)
{
	status_t want = splits_huge(first, n)      ? STATUS_HUGE_PAGE
			: any(first, n, is_pinned)  ? STATUS_PINNED
			: !any(first, n, is_mapped) ? STATUS_NOT_MAPPED
						    : STATUS_OK;
	cr_assert_eq(vm_unmap(pool, BASE + first * PAGE_SIZE, n), want);
	succeeded[1] += want == STATUS_OK;
	for (uint64_t i = 0; want == STATUS_OK && i < n; i++)
		model[first + i].mapped = false;
}

static void op_protect(struct ptp *pool, uint64_t first, uint64_t n, bool unpin)
{
	uint64_t flags = random_flags();
	status_t want = walk_answer(first, n);
	if (want == STATUS_OK && !unpin && any(first, n, is_pinned))
		want = STATUS_PINNED;
	vaddr_t va = BASE + first * PAGE_SIZE;
	cr_assert_eq(unpin ? vm_unpin(pool, va, n) : vm_protect(pool, va, n, flags),
		     want);
	succeeded[2] += want == STATUS_OK;
	for (uint64_t i = 0; want == STATUS_OK && i < n; i++) {
		struct model_page *p = &model[first + i];
		p->flags = unpin ? p->flags & ~PTE_PIN
				 : flags | (p->flags & (PTE_OWN | PTE_PS));
	}
}

static void op_translate(struct ptp *pool, uint64_t i)
{
	paddr_t pa;
	uint64_t f;
	status_t st = vm_translate(pool, BASE + i * PAGE_SIZE + 5, &pa, &f);
	cr_assert_eq(st, model[i].mapped ? STATUS_OK : STATUS_NOT_MAPPED);
	succeeded[3] += st == STATUS_OK;
	if (st == STATUS_OK)
		cr_assert(pa == model[i].pa + 5 && f == model[i].flags);
}

Test(property, random_operations_agree_with_a_model_of_the_mappings,
     .timeout = 60)
{
	struct ptp *pool = fix_pool(512);
	uint64_t free0 = fix_pmm_free();
	host_trace_off();
	for (int op = 0; op < OPS; op++) {
		uint64_t n = 1 + rnd(rnd(4) == 0 ? 600 : 24);
		uint64_t first = rnd(PAGES - n + 1);
		switch (rnd(10)) {
		case 0: case 1: op_map(pool, first, n); break;
		case 2: op_map_new(pool, first, n > 32 ? 32 : n); break;
		case 3: case 4: op_unmap(pool, first, n); break;
		case 5: op_protect(pool, first, n, false); break;
		case 6: op_protect(pool, first, n, true); break;
		case 7: if (rnd(8) == 0) op_map_huge(pool); break;
		case 8: if (rnd(2) == 0) clear_blocks(pool, rnd(PAGES / 512) * 512, 512); break;
		default: op_translate(pool, first); break;
		}
		if (op % 5000 == 0)
			compare_everything(pool, free0);
	}
	compare_everything(pool, free0);
	for (int k = 0; k < 4; k++) /* the mix really exercised every path */
		cr_assert_gt(succeeded[k], 1000, "kind %d: %lu", k, succeeded[k]);
	cr_assert_gt(huge_maps, 100, "2 MiB maps: %lu", huge_maps);
	for (uint64_t i = 0; i < PAGES; i++) { /* unpin leaf by leaf */
		if (!model[i].mapped)
			continue;
		uint64_t n = (model[i].flags & PTE_PS) ? 512 : 1;
		cr_assert_eq(vm_unpin(pool, BASE + i * PAGE_SIZE, n), STATUS_OK);
		i += n - 1;
	}
	vm_unmap(pool, BASE, PAGES);
	cr_assert_eq(pool->used, 2, "every table went back");
	cr_assert_eq(fix_pmm_free(), free0);
}
