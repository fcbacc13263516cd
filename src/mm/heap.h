/*
 * heap.h - the kmalloc heap: small kernel objects (docs/alloc.md, "heap").
 *
 * A slab allocator with power-of-two size classes, 16 to 1024 bytes. A
 * slab is one page from the layer below (kalloc_region, pmm reason heap)
 * cut into equal slots of one class; its first bytes hold a header with the
 * requested size of every slot (0: the slot is free) and a free list
 * threaded through the free slots. An object of more than HEAP_SMALL_MAX
 * bytes gets its own run of pages ("large"). The heap grows by a slab when
 * a class has no free slot and gives a slab back the moment its last object
 * is freed, so it holds exactly the pages its live objects need.
 *
 * Every call writes one heap.* event (or one err.*). A pointer the heap did
 * not hand out is BAD_POINTER: outside the kernel's window, inside a region
 * that is not the heap's, not at the start of a slot or large object. A
 * slot of a live slab that is already free is DOUBLE_FREE. (A pointer whose
 * slab or large object went back is no longer the heap's: BAD_POINTER.)
 */
#ifndef VITRINE_HEAP_H
#define VITRINE_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define HEAP_MIN_SHIFT	   4 /* the smallest class: 16 bytes */
#define HEAP_CLASSES	   7 /* 16, 32, ..., 1024 */
#define HEAP_CLASS_SIZE(c) (1u << (HEAP_MIN_SHIFT + (c)))
#define HEAP_SMALL_MAX	   HEAP_CLASS_SIZE(HEAP_CLASSES - 1)
/* The largest object: 16 MiB (more is a caller's bug, use kalloc). */
#define HEAP_MAX_BYTES (16ull << 20)

struct heap_class_stats {
	uint32_t size;	    /* slot size in bytes */
	uint32_t capacity;  /* slots a slab holds */
	uint64_t slabs;	    /* slabs held */
	uint64_t objects;   /* live objects */
	uint64_t requested; /* bytes asked for by them */
};

struct heap_stats {
	uint64_t requested;   /* bytes asked for by live objects */
	uint64_t held;	      /* bytes of pages the heap holds */
	uint64_t objects;     /* live objects, large ones included */
	uint64_t slabs;	      /* slab pages */
	uint64_t large;	      /* large objects */
	uint64_t large_pages; /* their pages */
	uint32_t
	    frag_permille; /* (held - requested) * 1000 / held; 0 if none */
	struct heap_class_stats classes[HEAP_CLASSES];
};

/* Forgets every object and starts empty (heap.init). INVALID_ARG before
 * kalloc_init. */
status_t heap_init(void);

/* size bytes (1..HEAP_MAX_BYTES): ZERO_COUNT, TOO_LARGE, INVALID_ARG (out
 * NULL), or the layer below's NO_MEMORY, POOL_EXHAUSTED, NOT_FOUND... */
status_t kmalloc(size_t size, void **out);

/* kmalloc, then the size bytes are zeroed. */
status_t kzalloc(size_t size, void **out);

/*
 * Resizes p to size bytes, keeping min(old, new) bytes: in place if the
 * slot still fits and is the right class, else a new object, a copy and a
 * free. p NULL is kmalloc. On failure p is untouched and still valid.
 */
status_t krealloc(void *p, size_t size, void **out);

/* Frees p: BAD_POINTER, DOUBLE_FREE, INVALID_ARG (NULL). */
status_t kfree(void *p);

void heap_get_stats(struct heap_stats *out);

/* Writes stat.heap. */
void heap_dump(void);

#endif
