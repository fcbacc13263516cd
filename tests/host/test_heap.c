/* test_heap.c - the kmalloc heap (src/mm/heap.c): size classes, slabs
 * that come and go, large objects, krealloc, and every refusal. */
#include "alloc_fixture.h"

static void *must_kmalloc(size_t size)
{
	void *p;
	cr_assert_eq(kmalloc(size, &p), STATUS_OK, "kmalloc(%lu)", size);
	return p;
}

static struct heap_stats stats(void)
{
	struct heap_stats s;
	heap_get_stats(&s);
	return s;
}

Test(heap, kmalloc_rounds_up_to_its_size_class_and_aligns_the_slot)
{
	fix_alloc(512);
	static const size_t sizes[] = {1, 16, 17, 100, 513, 1024};
	static const size_t slots[] = {16, 16, 32, 128, 1024, 1024};
	for (unsigned i = 0; i < 6; i++) {
		vaddr_t p = (vaddr_t)must_kmalloc(sizes[i]);
		char want[80];
		snprintf(want, sizeof want,
			 "heap.alloc p=%#lx size=%lu slot=%lu", p, sizes[i],
			 slots[i]);
		cr_assert_eq(host_trace_count(want), 1, "%s", want);
		uint64_t align = slots[i] < 64 ? slots[i] : 64;
		cr_assert_eq(p % align, 0, "%#lx aligned to %lu", p, align);
	}
}

Test(heap, the_first_object_of_a_class_grows_the_heap_by_one_slab)
{
	fix_alloc(512);
	uint64_t free_before = fix_pmm_free();
	void *a = must_kmalloc(24), *b = must_kmalloc(30);
	cr_assert_eq(((vaddr_t)a & ~PAGE_MASK), ((vaddr_t)b & ~PAGE_MASK),
		     "one slab");
	cr_assert_eq(host_trace_count("heap.grow"), 1);
	cr_assert_eq(host_trace_count("why=heap"), 2,
		     "pmm.set and kalloc.alloc");
	cr_assert_eq(fix_pmm_free(), free_before - 1);
	struct heap_stats s = stats();
	cr_assert_eq(s.slabs, 1);
	cr_assert_eq(s.classes[1].objects, 2);
	cr_assert_eq(s.classes[1].requested, 54);
	cr_assert_eq(s.requested, 54);
	cr_assert_eq(s.held, PAGE_SIZE);
	cr_assert_eq(s.frag_permille, (PAGE_SIZE - 54) * 1000 / PAGE_SIZE);
}

Test(heap, freeing_the_last_object_of_a_slab_gives_the_page_back)
{
	struct ptp *pool = fix_alloc(512);
	uint64_t free_before = fix_pmm_free(), tables = pool->used;
	void *a = must_kmalloc(200), *b = must_kmalloc(200);
	cr_assert_eq(kfree(a), STATUS_OK);
	cr_assert_eq(host_trace_count("heap.shrink"), 0, "b still lives there");
	cr_assert_eq(kfree(b), STATUS_OK);
	cr_assert_eq(host_trace_count("heap.shrink"), 1);
	cr_assert_eq(fix_pmm_free(), free_before);
	cr_assert_eq(pool->used, tables);
	cr_assert_eq(kalloc_space.taken_extents, 0);
	struct heap_stats s = stats();
	cr_assert_eq(s.held + s.requested + s.objects + s.slabs, 0);
}

Test(heap, a_full_slab_leaves_its_list_and_a_second_slab_grows)
{
	fix_alloc(512);
	unsigned cap = stats().classes[6].capacity; /* 1024-byte slots */
	cr_assert_eq(cap, 3);
	void *p[4];
	for (unsigned i = 0; i < cap + 1; i++)
		p[i] = must_kmalloc(1000);
	cr_assert_eq(host_trace_count("heap.grow"), 2);
	cr_assert_eq(kfree(p[0]), STATUS_OK);
	void *again = must_kmalloc(1000);
	cr_assert_eq(again, p[0], "the freed slot is reused, no third slab");
	cr_assert_eq(host_trace_count("heap.grow"), 2);
}

Test(heap, every_class_fills_its_page_without_overlap)
{
	fix_alloc(512);
	for (unsigned c = 0; c < HEAP_CLASSES; c++) {
		struct heap_class_stats k = stats().classes[c];
		vaddr_t first = 0, prev = 0;
		for (unsigned i = 0; i < k.capacity; i++) {
			vaddr_t p = (vaddr_t)must_kmalloc(k.size);
			if (i == 0)
				first = p;
			else
				cr_assert_geq(p, prev + k.size, "no overlap");
			cr_assert_eq(p & ~PAGE_MASK, first & ~PAGE_MASK,
				     "one page");
			cr_assert_leq((p & PAGE_MASK) + k.size, PAGE_SIZE);
			memset(fix_byte(p), (int)i, k.size);
			prev = p;
		}
		for (unsigned i = 0; i < k.capacity; i++)
			cr_assert_eq(*fix_byte(first + i * k.size + k.size - 1),
				     (uint8_t)i);
		cr_assert_eq(stats().classes[c].slabs, 1, "class %u", k.size);
		cr_assert_geq(k.capacity * k.size, PAGE_SIZE / 2,
			      "a page is used well");
	}
}

Test(heap, large_objects_get_their_own_pages)
{
	fix_alloc(512);
	vaddr_t p = (vaddr_t)must_kmalloc(5000);
	cr_assert_eq(p & PAGE_MASK, 0);
	cr_assert_eq(host_trace_count("heap.grow"), 0);
	cr_assert_eq(host_trace_count("kalloc.alloc va="), 1);
	cr_assert_eq(host_trace_count("kalloc.alloc va=0xffffc00000000000 n=2 why=heap"), 1);
	cr_assert_eq(host_trace_count("pmm.set"), 1, "one run of 2 fresh pages");
	struct heap_stats s = stats();
	cr_assert_eq(s.large, 1);
	cr_assert_eq(s.large_pages, 2);
	cr_assert_eq(s.held, 2 * PAGE_SIZE);
	cr_assert_eq(s.requested, 5000);
	*fix_byte(p + 4999) = 1;
	cr_assert_eq(kfree((void *)p), STATUS_OK);
	cr_assert_eq(kalloc_space.taken_extents, 0);
	cr_assert_eq(stats().held, 0);
}

Test(heap, kzalloc_zeroes_a_recycled_slot_and_large_pages)
{
	fix_alloc(512);
	void *keep = must_kmalloc(64), *a = must_kmalloc(64);
	memset(fix_byte((vaddr_t)a), 0xff, 64);
	cr_assert_eq(kfree(a), STATUS_OK);
	void *z;
	cr_assert_eq(kzalloc(64, &z), STATUS_OK);
	cr_assert_eq(z, a, "the same slot again");
	for (int i = 0; i < 64; i++)
		cr_assert_eq(*fix_byte((vaddr_t)z + i), 0);
	cr_assert_eq(kzalloc(3 * PAGE_SIZE, &z), STATUS_OK);
	for (uint64_t i = 0; i < 3 * PAGE_SIZE; i += 511)
		cr_assert_eq(*fix_byte((vaddr_t)z + i), 0);
	(void)keep;
}

Test(heap, krealloc_stays_in_place_inside_the_class)
{
	fix_alloc(512);
	void *p = must_kmalloc(40), *q;
	cr_assert_eq(krealloc(p, 60, &q), STATUS_OK);
	cr_assert_eq(q, p);
	char want[80];
	snprintf(want, sizeof want, "heap.realloc p=%p to=%p size=60 slot=64",
		 p, p);
	cr_assert_eq(host_trace_count(want), 1, "%s\n%s", want,
		     host_trace_text());
	cr_assert_eq(stats().requested, 60);
	void *big = must_kmalloc(6000);
	cr_assert_eq(krealloc(big, 8000, &q), STATUS_OK);
	cr_assert_eq(q, big, "still two pages");
	cr_assert_eq(stats().requested, 60 + 8000);
	cr_assert_eq(vrange_lookup(&kalloc_space, (vaddr_t)big)->cookie, 8000);
}

Test(heap, krealloc_moves_and_keeps_the_bytes)
{
	fix_alloc(512);
	vaddr_t p = (vaddr_t)must_kmalloc(20);
	for (int i = 0; i < 20; i++)
		*fix_byte(p + i) = (uint8_t)(i + 1);
	void *q;
	cr_assert_eq(krealloc((void *)p, 3000, &q), STATUS_OK);
	cr_assert_neq((vaddr_t)q, p);
	for (int i = 0; i < 20; i++)
		cr_assert_eq(*fix_byte((vaddr_t)q + i), i + 1);
	cr_assert_eq(host_trace_count("heap.shrink"), 1,
		     "the old slab went back");
	void *r;
	cr_assert_eq(krealloc(q, 10, &r), STATUS_OK);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(*fix_byte((vaddr_t)r + i), i + 1);
	struct heap_stats s = stats();
	cr_assert_eq(s.objects, 1);
	cr_assert_eq(s.requested, 10);
	cr_assert_eq(s.large, 0);
	cr_assert_eq(krealloc(NULL, 5, &q), STATUS_OK, "NULL is kmalloc");
	cr_assert_eq(stats().objects, 2);
}

Test(heap, a_failed_krealloc_leaves_the_object_valid)
{
	fix_alloc(512);
	vaddr_t p = (vaddr_t)must_kmalloc(100);
	*fix_byte(p) = 9;
	fix_eat_pmm(0);
	host_trace_clear();
	struct heap_stats before = stats();
	void *q = (void *)1;
	cr_assert_eq(krealloc((void *)p, 2000, &q), STATUS_NO_MEMORY);
	fix_one_error("no_memory", "vm_map_new");
	cr_assert_eq(q, (void *)1, "out untouched");
	struct heap_stats after = stats();
	cr_assert_eq(memcmp(&before, &after, sizeof before), 0);
	cr_assert_eq(*fix_byte(p), 9);
	cr_assert_eq(krealloc((void *)p, 0, &q), STATUS_ZERO_COUNT);
	fix_one_error("zero_count", "krealloc");
	cr_assert_eq(krealloc((void *)p, 50, NULL), STATUS_INVALID_ARG);
	fix_one_error("invalid_arg", "krealloc");
	cr_assert_eq(krealloc((void *)(p + 1), 50, &q), STATUS_BAD_POINTER);
	fix_one_error("bad_pointer", "krealloc");
	cr_assert_eq(kfree((void *)p), STATUS_OK);
}

Test(heap, a_double_free_is_told_apart_from_a_foreign_pointer)
{
	fix_alloc(512);
	void *keep = must_kmalloc(48), *p = must_kmalloc(48);
	void *big = must_kmalloc(9000);
	void *wide = must_kmalloc(256); /* 15 slots end at 3904: a tail */
	vaddr_t tail = ((vaddr_t)wide & ~PAGE_MASK) + 3904;
	vaddr_t region;
	cr_assert_eq(kalloc(1, &region), STATUS_OK);
	cr_assert_eq(kfree(p), STATUS_OK);
	host_trace_clear();
	struct heap_stats before = stats();
	cr_assert_eq(kfree(p), STATUS_DOUBLE_FREE);
	fix_one_error("double_free", "kfree");
	cr_assert_eq(kfree((char *)keep + 8), STATUS_BAD_POINTER);
	fix_one_error("bad_pointer", "kfree");
	cr_assert_eq(kfree((void *)((vaddr_t)keep & ~PAGE_MASK)),
		     STATUS_BAD_POINTER, "the slab header");
	fix_one_error("bad_pointer", "kfree");
	cr_assert_eq(kfree((void *)tail), STATUS_BAD_POINTER,
		     "past the last slot");
	fix_one_error("bad_pointer", "kfree");
	cr_assert_eq(kfree((char *)big + PAGE_SIZE), STATUS_BAD_POINTER);
	fix_one_error("bad_pointer", "kfree");
	cr_assert_eq(kfree((void *)region), STATUS_BAD_POINTER, "kalloc's");
	fix_one_error("bad_pointer", "kfree");
	cr_assert_eq(kfree((void *)SCRATCH_BASE), STATUS_BAD_POINTER);
	fix_one_error("bad_pointer", "kfree");
	cr_assert_eq(kfree((void *)(KALLOC_BASE + (1ull << 40))),
		     STATUS_BAD_POINTER, "free VA of the window");
	fix_one_error("bad_pointer", "kfree");
	cr_assert_eq(kfree(NULL), STATUS_INVALID_ARG);
	fix_one_error("invalid_arg", "kfree");
	struct heap_stats after = stats();
	cr_assert_eq(memcmp(&before, &after, sizeof before), 0);
}

Test(heap, bad_kmalloc_requests_change_nothing)
{
	fix_alloc(512);
	void *p;
	cr_assert_eq(kmalloc(0, &p), STATUS_ZERO_COUNT);
	fix_one_error("zero_count", "kmalloc");
	cr_assert_eq(kmalloc(HEAP_MAX_BYTES + 1, &p), STATUS_TOO_LARGE);
	fix_one_error("too_large", "kmalloc");
	cr_assert_eq(kzalloc(8, NULL), STATUS_INVALID_ARG);
	fix_one_error("invalid_arg", "kzalloc");
	fix_eat_pmm(0);
	host_trace_clear();
	cr_assert_eq(kmalloc(8, &p), STATUS_NO_MEMORY);
	fix_one_error("no_memory", "vm_map_new");
	cr_assert_eq(kalloc_space.taken_extents, 0);
	struct heap_stats s = stats();
	cr_assert_eq(s.slabs + s.objects, 0);
}

Test(heap, the_snapshot_shows_bytes_fragmentation_and_classes)
{
	fix_alloc(512);
	must_kmalloc(10);
	must_kmalloc(16);
	must_kmalloc(100);
	must_kmalloc(5000);
	host_trace_clear();
	heap_dump();
	uint64_t held = 4 * PAGE_SIZE, req = 5126;
	char want[160];
	snprintf(want, sizeof want,
		 "stat.heap req=%lu held=%lu frag=%lu objs=4 slabs=2 large=1 "
		 "use=16:2/1,128:1/1",
		 req, held, (held - req) * 1000 / held);
	cr_assert_eq(host_trace_count(want), 1, "%s\n%s", want,
		     host_trace_text());
}

Test(heap, init_before_kalloc_is_refused)
{
	fix_kernel(512);
	kalloc_space.ext = NULL;
	host_trace_clear();
	cr_assert_eq(heap_init(), STATUS_INVALID_ARG);
	fix_one_error("invalid_arg", "heap_init");
	cr_assert_eq(kalloc_init(), STATUS_OK);
}
