/*
 * pte.h - the x86-64 page-table entry as a typed value, and every constant
 * of 4-level paging derived from its first principles (Intel SDM vol. 3,
 * 4.5): 4 levels of 9 index bits each above a 12-bit page offset.
 *
 *   63 62..52 51.............12 11..9 8 7  6 5 4   3   2 1 0
 *   NX  ----  physical address  sw    G PS D A PCD PWT U W P
 *                                 (11 COW, 10 PIN, 9 OWN)
 *
 * Vitrine uses the three software bits (ignored by the CPU): OWN, the
 * physical page belongs to the mapping and goes back to the physical
 * allocator on unmap; PIN, unmap and protect refuse the page; COW, fork
 * shares the page read-only and a write fault copies it (frame.h).
 */
#ifndef VITRINE_PTE_H
#define VITRINE_PTE_H

#include <stdbool.h>
#include <stdint.h>

#include "arch.h"
#include "pmm.h"
#include "trace_schema.h"

#define PT_INDEX_BITS 9
#define PT_ENTRIES (1u << PT_INDEX_BITS)                /* 512 */
#define PT_LEVELS 4                                     /* PML4 .. PT */
#define PT_LEVEL_SHIFT(level) (PAGE_SHIFT + PT_INDEX_BITS * ((level) - 1))
#define PT_LEVEL_SIZE(level) (1ull << PT_LEVEL_SHIFT(level))
#define PT_INDEX(va, level) \
	((unsigned)(((va) >> PT_LEVEL_SHIFT(level)) & (PT_ENTRIES - 1)))

/* The levels, named as the SDM names their tables. */
enum pt_level { PT_LEVEL_PT = 1, PT_LEVEL_PD = 2, PT_LEVEL_PDPT = 3,
		PT_LEVEL_PML4 = 4 };

#define PAGE_SIZE_2M PT_LEVEL_SIZE(PT_LEVEL_PD)         /* 2 MiB */
#define PAGES_PER_2M (PAGE_SIZE_2M / PAGE_SIZE)        /* 512 */

/* The bits, by the names the schema (src/lib/trace.schema) gives them:
 * the trace writes and reads them by those names. Hardware bits: */
#define PTE_P TRACE_FLAG_P     /* present */
#define PTE_W TRACE_FLAG_W     /* writable */
#define PTE_U TRACE_FLAG_U     /* user accessible */
#define PTE_PWT TRACE_FLAG_PWT /* write-through */
#define PTE_PCD TRACE_FLAG_PCD /* cache disabled */
#define PTE_A TRACE_FLAG_A     /* accessed (set by the CPU) */
#define PTE_D TRACE_FLAG_D     /* dirty (set by the CPU) */
#define PTE_PS TRACE_FLAG_PS   /* in a PD entry: a 2 MiB page */
#define PTE_G TRACE_FLAG_G     /* global: survives CR3 loads */
#define PTE_NX TRACE_FLAG_NX   /* no execute (needs EFER.NXE) */
/* Software bits 9..11 are ignored by the CPU. */
#define PTE_OWN TRACE_FLAG_OWN /* the page is freed to pmm on unmap */
#define PTE_PIN TRACE_FLAG_PIN /* unmap and protect refuse the page */
#define PTE_COW TRACE_FLAG_COW /* shared by fork: copy on a write fault */

/* Physical address bits: 51..12 (MAXPHYADDR is at most 52). */
#define PTE_PHYS_BITS 52
#define PTE_ADDR_MASK (((1ull << PTE_PHYS_BITS) - 1) & ~PAGE_MASK)
_Static_assert(PTE_ADDR_MASK == TRACE_CONST_PTE_ADDR_MASK,
	       "pte.h and trace.schema disagree on the address bits");
_Static_assert(PAGE_SHIFT == TRACE_CONST_PAGE_SHIFT &&
		       PT_INDEX_BITS == TRACE_CONST_PT_INDEX_BITS,
	       "pte.h and trace.schema disagree on the page geometry");
#define PTE_FLAGS_MASK (~PTE_ADDR_MASK)

/* Flags a caller of the paging API may ask for. */
#define PTE_CALLER_FLAGS (PTE_P | PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_PS | \
			  PTE_G | PTE_NX | PTE_OWN | PTE_PIN | PTE_COW)

/* The flags of an entry that points to a lower table. The leaf decides
 * the real rights; U must be set on the path for user pages. */
#define PTE_TABLE_FLAGS (PTE_P | PTE_W)

/* A page-table entry. A struct, not a bare integer, so that an entry can
 * never be mixed up with an address or a flag mask by accident. */
typedef struct pte {
	uint64_t raw;
} pte_t;

static inline pte_t pte_make(paddr_t pa, uint64_t flags)
{
	return (pte_t){ (pa & PTE_ADDR_MASK) | (flags & PTE_FLAGS_MASK) };
}

static inline paddr_t pte_addr(pte_t e) { return e.raw & PTE_ADDR_MASK; }
static inline uint64_t pte_flags(pte_t e) { return e.raw & PTE_FLAGS_MASK; }
static inline bool pte_present(pte_t e) { return e.raw & PTE_P; }


/* Page-fault error code bits (SDM vol. 3, 4.7), for the fault handler. */
#define PF_PRESENT (1u << 0)  /* 0: the page was not present */
#define PF_WRITE (1u << 1)    /* the access was a write */
#define PF_USER (1u << 2)     /* the access came from ring 3 */
#define PF_RESERVED (1u << 3) /* a reserved bit was set in an entry */
#define PF_FETCH (1u << 4)    /* the access was an instruction fetch */

#endif
