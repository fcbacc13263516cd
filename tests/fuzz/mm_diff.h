/*
 * mm_diff.h - what the parts of the mm_diff fuzz target share
 * (fuzz_mm_diff.c: the program, paging and allocator calls, the checks;
 * mm_diff_pmm.c: the physical allocator's calls and their model).
 */
#ifndef VITRINE_MM_DIFF_H
#define VITRINE_MM_DIFF_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "host.h"
#include "pmm.h"
#include "ptp.h"
#include "status.h"

#define MEMORY_BYTES (4ul << 20) /* the simulated machine's RAM */

/* Physical pages: the bitmap's truth, the handed map, and who holds it. */
#define PHYS_PAGES (MEMORY_BYTES / PAGE_SIZE)
#define RAM_FIRST (0x100000ul / PAGE_SIZE) /* usable RAM starts at 1 MiB */
struct phys_page {
	uint8_t used, handed;
	uint8_t held;  /* by a direct pmm_* call of the program */
	uint8_t alloc; /* by kalloc or the heap (slabs, large objects) */
};
extern struct phys_page phys[PHYS_PAGES];

/* The program being run: the bytes not yet read. */
extern const uint8_t *in, *in_end;
/* The next `bytes` bytes of the program, big-endian; 0 past its end. */
uint64_t take(unsigned bytes);

/* The pool every call works on. */
extern struct ptp *pool;

/* Checks a call's status against the model's one or two answers, that a
 * failure changed no pool byte, and that it wrote one err.* (a success
 * none). Aborts with the trace otherwise. */
void expect(status_t got, status_t a, status_t b, const char *call);

#define FAIL(...)                                                    \
	do {                                                         \
		fprintf(stderr, "fuzz_mm_diff: " __VA_ARGS__);       \
		fprintf(stderr, "\n--- trace ---\n%s", host_trace_text()); \
		abort();                                             \
	} while (0)

/* mm_diff_pmm.c */
void do_pmm_alloc(void);
void do_pmm_free(void);
uint64_t model_free_count(void); /* free pages of usable RAM, by the model */

#endif
