/*
 * host.h - what the host tests add around src/lib and src/mm: a simulated
 * physical memory behind arch.h, a trace sink into a buffer, and helpers to
 * look at the lines written.
 */
#ifndef VITRINE_HOST_H
#define VITRINE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch.h"

/*
 * Simulated physical memory: `bytes` bytes (a multiple of 4 KiB), physical
 * addresses 0 .. bytes-1, zero-filled. arch_phys_to_virt(pa) points into it
 * and aborts the test for a pa outside it. Calling it again replaces it.
 */
void host_memory_init(uint64_t bytes);
uint64_t host_memory_size(void);

/* What the simulated CPU was told: CR3 loads, invlpg calls, full flushes. */
struct host_cpu_log {
	paddr_t cr3;
	uint64_t cr3_loads;
	uint64_t invlpg_count;
	vaddr_t last_invlpg;
	uint64_t full_flushes;
};
extern struct host_cpu_log host_cpu;

/*
 * The simulated CPU touches va (a read, a write or an instruction fetch;
 * in ring 3 if user), as the MMU would: a translation cached in the TLB is
 * used as it is, however the tables changed since; otherwise the tables
 * are walked from CR3 (present at every level, W and U at every level, NX
 * at any) and the result is cached. The TLB drops a page's entries on
 * invlpg, the non-global ones on a CR3 load, all on a full flush, and
 * va's entry on a fault. Not modelled: accessed and dirty bits, eviction
 * (an entry stays until dropped: staleness is always seen).
 */
enum host_access { HOST_READ, HOST_WRITE, HOST_EXEC };
struct host_touch {
	bool fault;   /* a #PF: not present or not allowed */
	bool tlb_hit; /* the translation came from the TLB */
	paddr_t pa;   /* where the access went (if no fault) */
};
struct host_touch host_touch(vaddr_t va, enum host_access how, bool user);
/* Translations cached now; host_tlb_reset empties the TLB (the machine's
 * host_memory_init does). */
size_t host_tlb_entries(void);
void host_tlb_reset(void);

/* Starts a trace into a fresh buffer with every category enabled. */
void host_trace_start(void);
/* Starts a trace into a fresh buffer with the given categories. */
void host_trace_start_mask(uint32_t mask);
/* Starts a trace whose header names this command line. */
void host_trace_start_with(const char *cmdline);
/* Stops writing trace lines (for speed in long property tests). */
void host_trace_off(void);

/* The whole trace written so far (NUL-terminated). */
const char *host_trace_text(void);
/* Number of lines written so far that contain `needle`. */
size_t host_trace_count(const char *needle);
/* The last line written that contains `needle`, or NULL (static buffer). */
const char *host_trace_last(const char *needle);
/* Forgets what was written so far (the trace goes on). */
void host_trace_clear(void);

/*
 * A number in [0, n) from the xorshift64 generator whose state is *state
 * (any non-zero start): the property tests' dice, the same sequence on
 * every run, so a failure names a reproducible operation.
 */
static inline uint64_t host_random(uint64_t *state, uint64_t n)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state % n;
}

#endif
