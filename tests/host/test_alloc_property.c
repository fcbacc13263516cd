/*
 * test_alloc_property.c - 100,000 random heap and page operations
 * (kmalloc, kzalloc, krealloc, kfree, kalloc, kvmalloc, their frees, and
 * refused calls) against a model: a plain list of the live objects and
 * regions, each with the byte it was filled with. After every call the
 * status must be the model's and a new object must overlap nothing live;
 * periodically the heap's statistics, the kernel window's ranges and the
 * physical free count must equal what the model implies.
 */
#include "alloc_fixture.h"

#define OPS	    100000
#define MAX_OBJECTS 256
#define MAX_REGIONS 16
#define CHECK_EVERY 1000

struct object {
	vaddr_t va;
	uint64_t size, bytes; /* requested, occupied (slot or pages) */
	uint8_t fill;
};
struct region {
	vaddr_t va;
	uint64_t pages;
	uint8_t fill;
};

static struct object objects[MAX_OBJECTS];
static struct region regions[MAX_REGIONS];
static unsigned n_objects, n_regions;
static vaddr_t freed[64]; /* recently freed object addresses */
static unsigned n_freed;
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t done[8]; /* successful calls per kind, to show coverage */

static uint64_t rnd(uint64_t n)
{
	return host_random(&rng, n);
}

static uint64_t random_size(void)
{
	uint64_t r = rnd(10);
	if (r < 6)
		return 1 + rnd(64);
	if (r < 9)
		return 1 + rnd(HEAP_SMALL_MAX);
	return HEAP_SMALL_MAX + 1 + rnd(3 * PAGE_SIZE);
}

/* The bytes an object of size occupies: its class's slot, or its pages. */
static uint64_t model_bytes(uint64_t size)
{
	if (size > HEAP_SMALL_MAX)
		return (size + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE;
	uint64_t slot = HEAP_CLASS_SIZE(0);
	while (slot < size)
		slot *= 2;
	return slot;
}

static void assert_no_overlap(vaddr_t va, uint64_t bytes, const void *self)
{
	for (unsigned i = 0; i < n_objects; i++)
		if (&objects[i] != self)
			cr_assert(va + bytes <= objects[i].va ||
				      objects[i].va + objects[i].bytes <= va,
				  "%#lx+%lu overlaps object %#lx+%lu", va,
				  bytes, objects[i].va, objects[i].bytes);
	for (unsigned i = 0; i < n_regions; i++)
		if (&regions[i] != self)
			cr_assert(
			    va + bytes <= regions[i].va ||
				regions[i].va + regions[i].pages * PAGE_SIZE <=
				    va,
			    "%#lx overlaps region %#lx", va, regions[i].va);
}

/* Fills the first and last byte (what an overlap would clobber). */
static void fill(vaddr_t va, uint64_t size, uint8_t byte)
{
	*fix_byte(va) = byte;
	*fix_byte(va + size - 1) = byte;
}

static void assert_filled(vaddr_t va, uint64_t size, uint8_t byte)
{
	cr_assert_eq(*fix_byte(va), byte, "first byte of %#lx", va);
	cr_assert_eq(*fix_byte(va + size - 1), byte, "last byte of %#lx", va);
}

static void op_alloc(void)
{
	if (n_objects == MAX_OBJECTS)
		return;
	uint64_t size = random_size();
	bool zero = rnd(4) == 0;
	void *p;
	cr_assert_eq(zero ? kzalloc(size, &p) : kmalloc(size, &p), STATUS_OK);
	struct object o = {(vaddr_t)p, size, model_bytes(size),
			   (uint8_t)rnd(255) + 1};
	assert_no_overlap(o.va, o.bytes, NULL);
	if (zero)
		assert_filled(o.va, size, 0);
	fill(o.va, size, o.fill);
	objects[n_objects++] = o;
	done[0]++;
}

static void remember_freed(vaddr_t va)
{
	freed[n_freed++ % 64] = va;
}

static void op_free(void)
{
	if (n_objects == 0)
		return;
	unsigned i = rnd(n_objects);
	assert_filled(objects[i].va, objects[i].size, objects[i].fill);
	cr_assert_eq(kfree((void *)objects[i].va), STATUS_OK);
	remember_freed(objects[i].va);
	objects[i] = objects[--n_objects];
	done[1]++;
}

static void op_realloc(void)
{
	if (n_objects == 0)
		return;
	struct object *o = &objects[rnd(n_objects)];
	uint64_t size = random_size();
	uint64_t keep = o->size < size ? o->size : size;
	cr_assert_eq(*fix_byte(o->va), o->fill);
	void *q;
	cr_assert_eq(krealloc((void *)o->va, size, &q), STATUS_OK);
	if ((vaddr_t)q != o->va)
		remember_freed(o->va);
	cr_assert_eq(*fix_byte((vaddr_t)q), o->fill, "kept bytes");
	if (keep == o->size)
		cr_assert_eq(*fix_byte((vaddr_t)q + keep - 1), o->fill);
	*o = (struct object){(vaddr_t)q, size, model_bytes(size), o->fill};
	assert_no_overlap(o->va, o->bytes, o);
	fill(o->va, size, o->fill);
	done[2]++;
}

static void op_kalloc(void)
{
	if (n_regions == MAX_REGIONS)
		return;
	struct region r = {0, 1 + rnd(6), (uint8_t)rnd(255) + 1};
	if (rnd(2)) {
		cr_assert_eq(kalloc(r.pages, &r.va), STATUS_OK);
	} else {
		void *p;
		cr_assert_eq(kvmalloc(r.pages * PAGE_SIZE - rnd(PAGE_SIZE), &p),
			     STATUS_OK);
		r.va = (vaddr_t)p;
	}
	assert_no_overlap(r.va, r.pages * PAGE_SIZE, NULL);
	fill(r.va, r.pages * PAGE_SIZE, r.fill);
	regions[n_regions++] = r;
	done[3]++;
}

static void op_kalloc_free(void)
{
	if (n_regions == 0)
		return;
	unsigned i = rnd(n_regions);
	struct region *r = &regions[i];
	assert_filled(r->va, r->pages * PAGE_SIZE, r->fill);
	if (rnd(2))
		cr_assert_eq(kalloc_free(r->va, r->pages), STATUS_OK);
	else
		cr_assert_eq(kvfree((void *)r->va), STATUS_OK);
	regions[i] = regions[--n_regions];
	done[4]++;
}

static bool model_live(vaddr_t va)
{
	for (unsigned i = 0; i < n_objects; i++)
		if (objects[i].va == va)
			return true;
	return false;
}

/* A refused call: a stale or interior pointer, a wrong size, 0 bytes. */
static void op_refused(void)
{
	uint64_t r = rnd(4);
	if (r == 0 && n_freed) {
		vaddr_t va = freed[rnd(n_freed < 64 ? n_freed : 64)];
		if (model_live(va))
			return;
		status_t st = kfree((void *)va);
		cr_assert(st == STATUS_DOUBLE_FREE || st == STATUS_BAD_POINTER,
			  "stale %#lx: %s", va, status_name(st));
	} else if (r == 1 && n_objects) {
		struct object *o = &objects[rnd(n_objects)];
		cr_assert_eq(kfree((void *)(o->va + 1 + rnd(o->bytes - 1))),
			     STATUS_BAD_POINTER);
	} else if (r == 2 && n_regions) {
		struct region *g = &regions[rnd(n_regions)];
		cr_assert_eq(kalloc_free(g->va, g->pages + 1),
			     STATUS_SIZE_MISMATCH);
	} else {
		void *p;
		cr_assert_eq(kmalloc(0, &p), STATUS_ZERO_COUNT);
	}
	done[5]++;
}

/* Slab pages the live small objects of class c occupy (model). */
static uint64_t model_slabs(uint64_t slot, uint64_t *count, uint64_t *bytes)
{
	vaddr_t pages[MAX_OBJECTS];
	uint64_t n = 0;
	*count = *bytes = 0;
	for (unsigned i = 0; i < n_objects; i++) {
		if (objects[i].bytes != slot ||
		    objects[i].size > HEAP_SMALL_MAX)
			continue;
		(*count)++;
		*bytes += objects[i].size;
		vaddr_t page = objects[i].va & ~PAGE_MASK;
		bool seen = false;
		for (uint64_t k = 0; k < n && !seen; k++)
			seen = pages[k] == page;
		if (!seen)
			pages[n++] = page;
	}
	return n;
}

static void assert_vrange_shape(void)
{
	const struct vrange *vr = &kalloc_space;
	cr_assert_eq(vr->ext[0].va, vr->lo);
	for (size_t i = 1; i < vr->count; i++) {
		cr_assert_eq(vr->ext[i].va,
			     vr->ext[i - 1].va +
				 vr->ext[i - 1].pages * PAGE_SIZE);
		cr_assert(vr->ext[i].owner || vr->ext[i - 1].owner,
			  "two free neighbours");
	}
	const struct vrange_extent *last = &vr->ext[vr->count - 1];
	cr_assert_eq(last->va + last->pages * PAGE_SIZE, vr->hi);
}

static void assert_model(uint64_t free_at_start)
{
	struct heap_stats s;
	heap_get_stats(&s);
	uint64_t slabs = 0, requested = 0, objs = 0;
	for (unsigned c = 0; c < HEAP_CLASSES; c++) {
		uint64_t count, bytes;
		uint64_t n = model_slabs(HEAP_CLASS_SIZE(c), &count, &bytes);
		cr_assert_eq(s.classes[c].slabs, n, "class %u slabs", c);
		cr_assert_eq(s.classes[c].objects, count);
		cr_assert_eq(s.classes[c].requested, bytes);
		slabs += n;
		requested += bytes;
		objs += count;
	}
	uint64_t large = 0, large_pages = 0, region_pages = 0;
	for (unsigned i = 0; i < n_objects; i++)
		if (objects[i].size > HEAP_SMALL_MAX) {
			large++;
			large_pages += objects[i].bytes / PAGE_SIZE;
			requested += objects[i].size;
		}
	for (unsigned i = 0; i < n_regions; i++)
		region_pages += regions[i].pages;
	cr_assert_eq(s.requested, requested);
	cr_assert_eq(s.objects, objs + large);
	cr_assert_eq(s.slabs, slabs);
	cr_assert_eq(s.large, large);
	cr_assert_eq(s.large_pages, large_pages);
	cr_assert_eq(s.held, (slabs + large_pages) * PAGE_SIZE);
	cr_assert_eq(s.frag_permille,
		     s.held ? (s.held - requested) * 1000 / s.held : 0);
	cr_assert_eq(kalloc_space.taken_extents, slabs + large + n_regions);
	cr_assert_eq(kalloc_space.taken_pages,
		     slabs + large_pages + region_pages);
	cr_assert_eq(fix_pmm_free(), free_at_start - kalloc_space.taken_pages,
		     "no page leaked or lost");
	assert_vrange_shape();
}

Test(alloc_property, random_heap_and_page_operations_match_the_model,
     .timeout = 60)
{
	fix_alloc(512);
	host_trace_off();
	uint64_t free_at_start = fix_pmm_free();
	for (int op = 0; op < OPS; op++) {
		uint64_t r = rnd(100);
		if (r < 35)
			op_alloc();
		else if (r < 55)
			op_free();
		else if (r < 70)
			op_realloc();
		else if (r < 78)
			op_kalloc();
		else if (r < 86)
			op_kalloc_free();
		else
			op_refused();
		if (op % CHECK_EVERY == 0)
			assert_model(free_at_start);
	}
	assert_model(free_at_start);
	while (n_objects)
		op_free();
	while (n_regions)
		op_kalloc_free();
	assert_model(free_at_start);
	cr_assert_eq(kalloc_space.count, 1, "the window is one free run again");
	for (int k = 0; k < 6; k++)
		cr_assert_gt(done[k], 1000, "kind %d ran %lu times", k,
			     done[k]);
	cr_log_info(
	    "%d operations: %lu alloc, %lu free, %lu realloc, %lu kalloc, "
	    "%lu kalloc frees, %lu refused",
	    OPS, done[0], done[1], done[2], done[3], done[4], done[5]);
}
