/*
 * pte.h - the x86-64 page-table entry as a typed value, and every constant
 * of 4-level paging derived from its first principles (Intel SDM vol. 3,
 * 4.5): 4 levels of 9 index bits each above a 12-bit page offset.
 *
 *   63 62..52 51.............12 11..9 8 7  6 5 4   3   2 1 0
 *   NX  ----  physical address  sw    G PS D A PCD PWT U W P
 *
 * Vitrine uses two of the software bits (ignored by the CPU): OWN, the
 * physical page belongs to the mapping and goes back to the physical
 * allocator on unmap; PIN, unmap and protect refuse the page.
 */
#ifndef VITRINE_PTE_H
#define VITRINE_PTE_H

#include <stdbool.h>
#include <stdint.h>

#include "arch.h"
#include "pmm.h"

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

/* Hardware bits. */
#define PTE_P (1ull << 0)    /* present */
#define PTE_W (1ull << 1)    /* writable */
#define PTE_U (1ull << 2)    /* user accessible */
#define PTE_PWT (1ull << 3)  /* write-through */
#define PTE_PCD (1ull << 4)  /* cache disabled */
#define PTE_A (1ull << 5)    /* accessed (set by the CPU) */
#define PTE_D (1ull << 6)    /* dirty (set by the CPU) */
#define PTE_PS (1ull << 7)   /* in a PD entry: a 2 MiB page */
#define PTE_G (1ull << 8)    /* global: survives CR3 loads */
#define PTE_NX (1ull << 63)  /* no execute (needs EFER.NXE) */
/* Software bits 9..11 are ignored by the CPU. */
#define PTE_OWN (1ull << 9)  /* the page is freed to pmm on unmap */
#define PTE_PIN (1ull << 10) /* unmap and protect refuse the page */

/* Physical address bits: 51..12 (MAXPHYADDR is at most 52). */
#define PTE_PHYS_BITS 52
#define PTE_ADDR_MASK (((1ull << PTE_PHYS_BITS) - 1) & ~PAGE_MASK)
#define PTE_FLAGS_MASK (~PTE_ADDR_MASK)

/* Flags a caller of the paging API may ask for. */
#define PTE_CALLER_FLAGS (PTE_P | PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_PS | \
			  PTE_G | PTE_NX | PTE_OWN | PTE_PIN)

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

/* True if the entry at level maps memory itself (a PT entry, or a PD
 * entry with PS) instead of pointing to a lower table. */
static inline bool pte_is_leaf(pte_t e, int level)
{
	return level == PT_LEVEL_PT || (e.raw & PTE_PS);
}

/*
 * Writes the flags symbolically, "P|W|NX|OWN" (docs/trace-format.md), "-"
 * for none, into buf (cap bytes, NUL-terminated). Returns buf.
 */
char *pte_flags_name(uint64_t flags, char *buf, unsigned cap);
#define PTE_FLAGS_NAME_MAX 48

#endif
