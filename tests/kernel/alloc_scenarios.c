/*
 * alloc_scenarios.c - the kernel allocators under a real MMU: the layers
 * from bitmap to kmalloc in one trace, objects written and read through
 * their addresses, every refusal (one err event each, nothing changed),
 * running out of memory halfway, and heap churn. Expectations:
 * tests/scenarios/alloc_*.test.
 */
#include "heap.h"
#include "idt.h"
#include "kalloc.h"
#include "layout.h"
#include "paging.h"
#include "pmm.h"
#include "probe.h"
#include "scenario.h"
#include "string.h"
#include "trace.h"

static uint64_t free_pages(void)
{
	struct pmm_stats s;
	pmm_get_stats(&s);
	return s.free_pages;
}

/* The physical byte behind va, read through the direct map. */
static uint8_t byte_behind(vaddr_t va)
{
	paddr_t pa;
	if (vm_translate(vm_kernel_pool, va, &pa, NULL) != STATUS_OK)
		return 0;
	return *(volatile uint8_t *)arch_phys_to_virt(pa);
}

/*
 * One kalloc and one kmalloc, each shown through every layer, and the
 * memory they return used through the MMU.
 */
SCENARIO(alloc_layers, "kalloc and kmalloc through bitmap, tables and VA")
{
	uint64_t free0 = free_pages();
	vaddr_t va;
	EXPECT_STATUS(kalloc(2, &va), STATUS_OK);
	*(volatile uint8_t *)(va + PAGE_SIZE + 5) = 0x5a;
	EXPECT(byte_behind(va + PAGE_SIZE + 5) == 0x5a);
	struct probe_result r = probe_exec(va);
	EXPECT(r.faulted && r.error_code == (PF_PRESENT | PF_FETCH));
	r = probe_read(va + 2 * PAGE_SIZE);
	EXPECT(r.faulted && r.error_code == 0);
	char *p;
	EXPECT_STATUS(kmalloc(100, (void **)&p), STATUS_OK);
	memset(p, 'v', 100);
	EXPECT(byte_behind((vaddr_t)p + 99) == 'v');
	heap_dump();
	kalloc_dump();
	EXPECT_STATUS(kfree(p), STATUS_OK);
	EXPECT_STATUS(kalloc_free(va, 2), STATUS_OK);
	EXPECT(free_pages() == free0);
}

/* Every refusal of the allocators' API, in the order of kalloc.h and
 * heap.h. Each writes one err event and changes nothing. */
SCENARIO(alloc_errors, "each bad call is refused with its own status")
{
	vaddr_t va, region;
	void *p, *obj;
	EXPECT_STATUS(kalloc(1, &region), STATUS_OK);
	EXPECT_STATUS(kmalloc(30, &obj), STATUS_OK);
	uint64_t free0 = free_pages(), taken = kalloc_space.taken_pages;
	EXPECT_STATUS(kalloc(0, &va), STATUS_ZERO_COUNT);
	EXPECT_STATUS(
	    kalloc_ext(1, PTE_P | PTE_U, KALLOC_BASE, KALLOC_END, &va),
	    STATUS_INVALID_ARG);
	EXPECT_STATUS(
	    kalloc_ext(1, KALLOC_FLAGS, SCRATCH_BASE, SCRATCH_END, &va),
	    STATUS_OUT_OF_RANGE);
	EXPECT_STATUS(
	    kalloc_ext(2, KALLOC_FLAGS, region, region + PAGE_SIZE, &va),
	    STATUS_TOO_LARGE);
	EXPECT_STATUS(
	    kalloc_ext(1, KALLOC_FLAGS, region, region + PAGE_SIZE, &va),
	    STATUS_NOT_FOUND);
	EXPECT_STATUS(kalloc_free(region, 2), STATUS_SIZE_MISMATCH);
	EXPECT_STATUS(kalloc_free(KALLOC_END - PAGE_SIZE, 1),
		      STATUS_NOT_ALLOCATED);
	EXPECT_STATUS(kalloc_free((vaddr_t)obj & ~PAGE_MASK, 1),
		      STATUS_BAD_POINTER);
	EXPECT_STATUS(kvfree((void *)(region + 8)), STATUS_UNALIGNED);
	EXPECT_STATUS(kmalloc(0, &p), STATUS_ZERO_COUNT);
	EXPECT_STATUS(kmalloc(HEAP_MAX_BYTES + 1, &p), STATUS_TOO_LARGE);
	EXPECT_STATUS(kfree((char *)obj + 4), STATUS_BAD_POINTER);
	EXPECT_STATUS(kfree((void *)region), STATUS_BAD_POINTER);
	EXPECT_STATUS(krealloc(obj, 0, &p), STATUS_ZERO_COUNT);
	EXPECT(free_pages() == free0 && kalloc_space.taken_pages == taken);
	void *other;
	EXPECT_STATUS(kmalloc(30, &other), STATUS_OK);
	EXPECT_STATUS(kfree(obj), STATUS_OK);
	EXPECT_STATUS(kfree(obj), STATUS_DOUBLE_FREE);
	EXPECT_STATUS(kfree(other), STATUS_OK);
	EXPECT_STATUS(kfree(other),
		      STATUS_BAD_POINTER); /* its slab went back */
	EXPECT_STATUS(kalloc_free(region, 1), STATUS_OK);
}

#define EAT_RUNS 64

/*
 * With two free pages left, a 4-page kalloc fails before it takes any
 * (vm_map_new counts the free pages first): bitmap, tables and VA as
 * before. A large kmalloc (3 pages) fails the same way; then every page
 * is returned.
 */
SCENARIO(alloc_out_of_memory, "a kalloc with too few free pages leaves nothing")
{
	static struct {
		paddr_t pa;
		uint64_t pages;
	} eaten[EAT_RUNS];
	size_t n = 0;
	while (n < EAT_RUNS && free_pages() > 2 &&
	       pmm_alloc_between(1, free_pages() - 2, PMM_TEST, &eaten[n].pa,
				 &eaten[n].pages) == STATUS_OK)
		n++;
	EXPECT(free_pages() == 2);
	uint64_t tables = vm_kernel_pool->used,
		 taken = kalloc_space.taken_pages;
	vaddr_t va;
	void *p;
	EXPECT_STATUS(kalloc(4, &va), STATUS_NO_MEMORY);
	EXPECT(free_pages() == 2 && vm_kernel_pool->used == tables &&
	       kalloc_space.taken_pages == taken);
	EXPECT_STATUS(kmalloc(9000, &p), STATUS_NO_MEMORY);
	EXPECT(free_pages() == 2 && kalloc_space.taken_pages == taken);
	for (size_t i = 0; i < n; i++)
		EXPECT_STATUS(pmm_free_region(eaten[i].pa, eaten[i].pages),
			      STATUS_OK);
}

#define CHURN_OBJECTS 48

/*
 * Objects of every class and a few large ones, each filled with its own
 * byte through the MMU, freed in a shuffled order and checked first: no
 * object was written over by another. The heap ends empty.
 */
SCENARIO(alloc_heap_churn, "objects of every class keep their bytes")
{
	static uint8_t *obj[CHURN_OBJECTS];
	static size_t size[CHURN_OBJECTS];
	for (unsigned i = 0; i < CHURN_OBJECTS; i++) {
		size[i] = i % 8 == 7 ? 5000 + i : 1 + (i * 37) % HEAP_SMALL_MAX;
		if (!EXPECT_STATUS(kmalloc(size[i], (void **)&obj[i]),
				   STATUS_OK))
			return;
		memset(obj[i], (int)i, size[i]);
	}
	heap_dump();
	for (unsigned k = 0; k < CHURN_OBJECTS; k++) {
		unsigned i = (k * 29) % CHURN_OBJECTS;
		EXPECT(obj[i][0] == i && obj[i][size[i] - 1] == i);
		EXPECT_STATUS(kfree(obj[i]), STATUS_OK);
	}
	heap_dump();
}
