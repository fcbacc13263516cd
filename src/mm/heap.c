/*
 * heap.c - the kmalloc heap (heap.h, docs/alloc.md).
 *
 * A slab page of class c (slot size s = HEAP_CLASS_SIZE(c)):
 *
 *   page va                       + first              + first + s ...
 *   | header | size[0..cap) | pad | slot 0 | slot 1 | ... | slot cap-1 |
 *
 * size[i] is the requested size of slot i, 0 when the slot is free: it
 * alone says what is live (the free list, threaded through free slots as a
 * 16-bit "next" index, only makes finding one O(1)). Slots are aligned to
 * min(s, 64) bytes. Slabs with a free slot are on their class's partial
 * list, linked by VA through their headers; full slabs are on no list.
 * Large objects keep their requested size in their vrange extent's cookie.
 *
 * Internal functions write no heap.alloc/free; the public ones write
 * exactly one heap.* line each (grow/shrink lines come from the layer
 * changes they make).
 */
#include "heap.h"

#include "format.h"
#include "kalloc.h"
#include "panic.h"
#include "pmm.h"
#include "trace.h"

#define HEAP_MAGIC	0x62616c73u /* "slab" */
#define HEAP_NO_SLOT	0xffffu
#define HEAP_SLOT_ALIGN 64

struct heap_slab {
	uint32_t magic;
	uint16_t cls;
	uint16_t capacity;
	uint16_t live;
	uint16_t free_head;
	vaddr_t prev, next; /* the partial list; 0: none */
	uint16_t size[];
};

struct heap_class {
	uint32_t size, first, capacity;
	vaddr_t partial; /* first slab with a free slot; 0: none */
	uint64_t slabs, objects, requested;
};

static struct {
	bool live;
	struct heap_class cls[HEAP_CLASSES];
	uint64_t large, large_pages, large_requested;
} heap;

/* Where an object is and what it is (heap_locate). */
struct heap_object {
	vaddr_t va;
	bool large;
	vaddr_t slab; /* small: its slab page */
	unsigned cls, slot;
	uint64_t size;	/* requested bytes */
	uint64_t bytes; /* what it occupies: slot size, or its pages */
};

static uint64_t heap_pages(uint64_t bytes)
{
	return bytes / PAGE_SIZE + (bytes % PAGE_SIZE != 0);
}

/* The first slot's offset and the slot count of class c: as many slots as
 * fit behind a header with one size entry per slot. */
static void heap_geometry(struct heap_class *k, unsigned c)
{
	uint32_t s = HEAP_CLASS_SIZE(c);
	uint32_t align = s < HEAP_SLOT_ALIGN ? s : HEAP_SLOT_ALIGN;
	uint32_t cap =
	    (PAGE_SIZE - sizeof(struct heap_slab)) / (s + sizeof(uint16_t));
	uint32_t first;
	for (;; cap--) {
		first = sizeof(struct heap_slab) + cap * sizeof(uint16_t);
		first = (first + align - 1) & ~(align - 1);
		if (first + cap * s <= PAGE_SIZE)
			break;
	}
	*k = (struct heap_class){.size = s, .first = first, .capacity = cap};
}

status_t heap_init(void)
{
	TRACE_CALL();
	if (!kalloc_space.ext)
		return trace_error(STATUS_INVALID_ARG, "kalloc=-");
	heap.live = true;
	heap.large = heap.large_pages = heap.large_requested = 0;
	for (unsigned c = 0; c < HEAP_CLASSES; c++)
		heap_geometry(&heap.cls[c], c);
	trace_heap_init(HEAP_CLASSES, HEAP_CLASS_SIZE(0), HEAP_SMALL_MAX);
	return STATUS_OK;
}

static struct heap_slab *heap_slab(vaddr_t va)
{
	struct heap_slab *h = kalloc_ptr(va);
	ASSERT(h && h->magic == HEAP_MAGIC);
	return h;
}

static uint16_t *heap_next_of(vaddr_t slab, const struct heap_class *k,
			      unsigned slot)
{
	return (uint16_t *)((char *)kalloc_ptr(slab) + k->first +
			    slot * k->size);
}

/* The smallest class that holds size bytes (size <= HEAP_SMALL_MAX). */
static unsigned heap_class_of(size_t size)
{
	unsigned c = 0;
	while (HEAP_CLASS_SIZE(c) < size)
		c++;
	return c;
}

static void heap_push(struct heap_class *k, vaddr_t slab)
{
	struct heap_slab *h = heap_slab(slab);
	h->prev = 0;
	h->next = k->partial;
	if (k->partial)
		heap_slab(k->partial)->prev = slab;
	k->partial = slab;
}

static void heap_unlink(struct heap_class *k, vaddr_t slab)
{
	struct heap_slab *h = heap_slab(slab);
	if (h->prev)
		heap_slab(h->prev)->next = h->next;
	else
		k->partial = h->next;
	if (h->next)
		heap_slab(h->next)->prev = h->prev;
}

/* A fresh slab for class c, every slot free, on the partial list. */
static status_t heap_grow(unsigned c)
{
	struct heap_class *k = &heap.cls[c];
	vaddr_t va;
	status_t st = kalloc_region(1, KALLOC_FLAGS, PMM_HEAP,
				    KALLOC_OWNER_SLAB, 0, &va);
	if (st != STATUS_OK)
		return st;
	struct heap_slab *h = kalloc_ptr(va);
	*h = (struct heap_slab){
	    .magic = HEAP_MAGIC, .cls = c, .capacity = k->capacity};
	for (unsigned i = 0; i < k->capacity; i++) {
		h->size[i] = 0;
		*heap_next_of(va, k, i) =
		    i + 1 < k->capacity ? i + 1 : HEAP_NO_SLOT;
	}
	heap_push(k, va);
	k->slabs++;
	trace_heap_grow(va, k->size, k->capacity);
	return STATUS_OK;
}

/* Gives an empty slab back (heap.shrink, then the kalloc layer's lines). */
static void heap_shrink(struct heap_class *k, vaddr_t slab)
{
	heap_unlink(k, slab);
	heap_slab(slab)->magic = 0;
	k->slabs--;
	trace_heap_shrink(slab, k->size);
	status_t st = kalloc_release(slab, 1, KALLOC_OWNER_SLAB);
	ASSERT(st == STATUS_OK);
}

static status_t heap_alloc_small(size_t size,
				 struct heap_object *o)
{
	unsigned c = heap_class_of(size);
	struct heap_class *k = &heap.cls[c];
	if (!k->partial) {
		status_t st = heap_grow(c);
		if (st != STATUS_OK)
			return st;
	}
	vaddr_t slab = k->partial;
	struct heap_slab *h = heap_slab(slab);
	unsigned slot = h->free_head;
	ASSERT(slot < h->capacity && h->size[slot] == 0);
	h->free_head = *heap_next_of(slab, k, slot);
	h->size[slot] = (uint16_t)size;
	if (++h->live == h->capacity)
		heap_unlink(k, slab);
	k->objects++;
	k->requested += size;
	*o = (struct heap_object){.va = slab + k->first + slot * k->size,
				  .slab = slab,
				  .cls = c,
				  .slot = slot,
				  .size = size,
				  .bytes = k->size};
	return STATUS_OK;
}

static status_t heap_alloc_large(size_t size,
				 struct heap_object *o)
{
	uint64_t pages = heap_pages(size);
	vaddr_t va;
	status_t st = kalloc_region(pages, KALLOC_FLAGS, PMM_HEAP,
				    KALLOC_OWNER_LARGE, size, &va);
	if (st != STATUS_OK)
		return st;
	heap.large++;
	heap.large_pages += pages;
	heap.large_requested += size;
	*o = (struct heap_object){
	    .va = va, .large = true, .size = size, .bytes = pages * PAGE_SIZE};
	return STATUS_OK;
}

/* Checks a request; then a slot or a large object (no heap.alloc line). */
static status_t heap_alloc(size_t size, void **out,
			   struct heap_object *o)
{
	if (!heap.live || !out)
		return trace_error(STATUS_INVALID_ARG, "size=%lu", size);
	if (size == 0)
		return trace_error(STATUS_ZERO_COUNT, "size=0");
	if (size > HEAP_MAX_BYTES)
		return trace_error(STATUS_TOO_LARGE, "size=%lu max=%llu",
				   size, HEAP_MAX_BYTES);
	if (size <= HEAP_SMALL_MAX)
		return heap_alloc_small(size, o);
	return heap_alloc_large(size, o);
}

/* What p is, if the heap handed it out and it is live. */
static status_t heap_locate(void *p, struct heap_object *o)
{
	vaddr_t va = (vaddr_t)p;
	if (!heap.live || !p)
		return trace_error(STATUS_INVALID_ARG, "p=%#lx", va);
	const struct vrange_extent *e = vrange_lookup(&kalloc_space, va);
	if (e && e->owner == KALLOC_OWNER_LARGE && e->va == va) {
		*o = (struct heap_object){.va = va,
					  .large = true,
					  .size = e->cookie,
					  .bytes = e->pages * PAGE_SIZE};
		return STATUS_OK;
	}
	if (!e || e->owner != KALLOC_OWNER_SLAB)
		return trace_error(STATUS_BAD_POINTER, "p=%#lx why=%s", va,
				   e && e->owner == KALLOC_OWNER_LARGE
				       ? "inside"
				       : "not_heap");
	struct heap_slab *h = heap_slab(e->va);
	struct heap_class *k = &heap.cls[h->cls];
	uint64_t off = va - e->va;
	if (off < k->first || (off - k->first) % k->size ||
	    (off - k->first) / k->size >= k->capacity)
		return trace_error(STATUS_BAD_POINTER, "p=%#lx why=inside",
				   va);
	unsigned slot = (off - k->first) / k->size;
	if (h->size[slot] == 0)
		return trace_error(STATUS_DOUBLE_FREE, "p=%#lx cls=%u", va,
				   k->size);
	*o = (struct heap_object){.va = va,
				  .slab = e->va,
				  .cls = h->cls,
				  .slot = slot,
				  .size = h->size[slot],
				  .bytes = k->size};
	return STATUS_OK;
}

/* Frees a located object (no heap.free line); may shrink the heap. */
static void heap_release(const struct heap_object *o)
{
	if (o->large) {
		heap.large--;
		heap.large_pages -= o->bytes / PAGE_SIZE;
		heap.large_requested -= o->size;
		status_t st = kalloc_release(o->va, o->bytes / PAGE_SIZE,
					     KALLOC_OWNER_LARGE);
		ASSERT(st == STATUS_OK);
		return;
	}
	struct heap_class *k = &heap.cls[o->cls];
	struct heap_slab *h = heap_slab(o->slab);
	h->size[o->slot] = 0;
	*heap_next_of(o->slab, k, o->slot) = h->free_head;
	h->free_head = o->slot;
	k->objects--;
	k->requested -= o->size;
	if (h->live-- == h->capacity)
		heap_push(k, o->slab);
	if (h->live == 0)
		heap_shrink(k, o->slab);
}


status_t kmalloc(size_t size, void **out)
{
	TRACE_CALL();
	struct heap_object o;
	status_t st = heap_alloc(size, out, &o);
	if (st != STATUS_OK)
		return st;
	trace_heap_alloc(o.va, o.size, o.bytes);
	*out = (void *)o.va;
	return STATUS_OK;
}

status_t kzalloc(size_t size, void **out)
{
	TRACE_CALL();
	struct heap_object o;
	status_t st = heap_alloc(size, out, &o);
	if (st != STATUS_OK)
		return st;
	kalloc_zero(o.va, size);
	trace_heap_alloc(o.va, o.size, o.bytes);
	*out = (void *)o.va;
	return STATUS_OK;
}

status_t kfree(void *p)
{
	TRACE_CALL();
	struct heap_object o;
	status_t st = heap_locate(p, &o);
	if (st != STATUS_OK)
		return st;
	trace_heap_free(o.va, o.size, o.bytes);
	heap_release(&o);
	return STATUS_OK;
}

/* True if an object of size bytes would sit where o is. */
static bool heap_fits_in_place(const struct heap_object *o, size_t size)
{
	if (o->large)
		return size > HEAP_SMALL_MAX &&
		       heap_pages(size) * PAGE_SIZE == o->bytes;
	return size <= HEAP_SMALL_MAX && heap_class_of(size) == o->cls;
}

/* Changes the requested size of a live object that stays where it is. */
static void heap_resize(struct heap_object *o, size_t size)
{
	if (o->large) {
		heap.large_requested += size - o->size;
		vrange_set_cookie(&kalloc_space, o->va, size);
	} else {
		heap_slab(o->slab)->size[o->slot] = (uint16_t)size;
		heap.cls[o->cls].requested += size - o->size;
	}
	o->size = size;
}

status_t krealloc(void *p, size_t size, void **out)
{
	TRACE_CALL();
	if (!p)
		return kmalloc(size, out);
	struct heap_object old, new;
	status_t st = heap_locate(p, &old);
	if (st == STATUS_OK && !out)
		st = trace_error(STATUS_INVALID_ARG, "p=%#lx out=NULL", old.va);
	if (st == STATUS_OK && size == 0)
		st = trace_error(STATUS_ZERO_COUNT, "p=%#lx size=0",
				 old.va);
	if (st == STATUS_OK && heap_fits_in_place(&old, size)) {
		heap_resize(&old, size);
		trace_heap_realloc(old.va, old.va, size, old.bytes);
		*out = p;
		return STATUS_OK;
	}
	if (st == STATUS_OK)
		st = heap_alloc(size, out, &new);
	if (st != STATUS_OK)
		return st;
	kalloc_copy(new.va, old.va, old.size < size ? old.size : size);
	trace_heap_realloc(old.va, new.va, size, new.bytes);
	heap_release(&old);
	*out = (void *)new.va;
	return STATUS_OK;
}

void heap_get_stats(struct heap_stats *out)
{
	*out = (struct heap_stats){.large = heap.large,
				   .large_pages = heap.large_pages,
				   .requested = heap.large_requested,
				   .objects = heap.large};
	for (unsigned c = 0; c < HEAP_CLASSES; c++) {
		const struct heap_class *k = &heap.cls[c];
		out->classes[c] =
		    (struct heap_class_stats){.size = k->size,
					      .capacity = k->capacity,
					      .slabs = k->slabs,
					      .objects = k->objects,
					      .requested = k->requested};
		out->slabs += k->slabs;
		out->objects += k->objects;
		out->requested += k->requested;
	}
	out->held = (out->slabs + out->large_pages) * PAGE_SIZE;
	if (out->held)
		out->frag_permille =
		    (out->held - out->requested) * 1000 / out->held;
}

void heap_dump(void)
{
	struct heap_stats s;
	heap_get_stats(&s);
	char use[HEAP_CLASSES * 24] = "-";
	size_t n = 0;
	for (unsigned c = 0; c < HEAP_CLASSES; c++) {
		const struct heap_class_stats *k = &s.classes[c];
		if (k->slabs)
			n +=
			    format(use + n, sizeof use - n, "%s%u:%lu/%lu",
				   n ? "," : "", k->size, k->objects, k->slabs);
	}
	trace_stat_heap(s.requested, s.held, s.frag_permille, s.objects, s.slabs, s.large, use);
}
