/*
 * arch_host.c - arch.h and platform.h for the host tests.
 * Physical memory is an allocated block; CR3 loads and invalidations are
 * recorded, and a TLB is modelled (host.h, host_touch): translations are
 * cached when the simulated CPU touches a page and used until invlpg, a CR3
 * load (not for global entries) or a full flush drops them, as a real CPU
 * does. So a test sees the stale translation a missing invalidation leaves.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "host.h"
#include "platform.h"
#include "pte.h"
#include "trace.h"

static uint8_t *memory;
static uint64_t memory_bytes;
struct host_cpu_log host_cpu;

void host_memory_init(uint64_t bytes)
{
	/* Fresh anonymous pages from the host kernel read as zero and cost
	 * nothing until touched: a test that uses a few pages of a large
	 * machine pays for those pages only (a memset of the whole block was
	 * most of the host tests' time, and far more under valgrind, which
	 * counts each byte, and ASan, which poisons and unpoisons it). */
	if (memory)
		munmap(memory, memory_bytes);
	memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (memory == MAP_FAILED) {
		memory = NULL;
		fprintf(stderr, "host: cannot allocate %lu bytes\n", bytes);
		abort();
	}
	memory_bytes = bytes;
	memset(&host_cpu, 0, sizeof host_cpu);
	host_tlb_reset();
}

uint64_t host_memory_size(void)
{
	return memory_bytes;
}

void *arch_phys_to_virt(paddr_t pa)
{
	if (!memory || pa >= memory_bytes) {
		fprintf(stderr, "host: physical address %#lx outside the %#lx "
				"bytes of simulated memory\n",
			pa, memory_bytes);
		abort();
	}
	return memory + pa;
}

void *arch_mapped_ptr(vaddr_t va, paddr_t pa)
{
	(void)va;
	return arch_phys_to_virt(pa);
}

paddr_t arch_read_cr3(void)
{
	return host_cpu.cr3;
}

/* ---- the TLB ----------------------------------------------------------------- */

/* One cached translation: the page (4 KiB, 2 MiB or 1 GiB) at va maps
 * pa, with the rights of the whole walk (W and U of every level, NX of
 * any level) and the leaf's G. Kept sorted by va. */
struct tlb_entry {
	vaddr_t va;     /* aligned to size */
	uint64_t size;
	paddr_t pa;
	uint64_t rights; /* PTE_W | PTE_U | PTE_NX | PTE_G */
};
static struct tlb_entry *tlb;
static size_t tlb_count, tlb_cap;

void host_tlb_reset(void)
{
	tlb_count = 0;
}

size_t host_tlb_entries(void)
{
	return tlb_count;
}

/* Index of the entry whose page holds va, or tlb_count. */
static size_t tlb_find(vaddr_t va)
{
	for (uint64_t size = PAGE_SIZE; size; size = size == PAGE_SIZE
			   ? PAGE_SIZE_2M : size == PAGE_SIZE_2M ? 1ull << 30 : 0) {
		vaddr_t key = va & ~(size - 1);
		size_t lo = 0, hi = tlb_count;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (tlb[mid].va < key)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < tlb_count && tlb[lo].va == key && tlb[lo].size == size)
			return lo;
	}
	return tlb_count;
}

static void tlb_drop_at(size_t i)
{
	memmove(&tlb[i], &tlb[i + 1], (tlb_count - i - 1) * sizeof *tlb);
	tlb_count--;
}

/* Drops every entry that translates va (invlpg; a fault on va). */
static void tlb_drop(vaddr_t va)
{
	size_t i;
	while ((i = tlb_find(va)) < tlb_count)
		tlb_drop_at(i);
}

static void tlb_insert(struct tlb_entry e)
{
	tlb_drop(e.va);
	if (tlb_count == tlb_cap) {
		tlb_cap = tlb_cap ? 2 * tlb_cap : 256;
		tlb = realloc(tlb, tlb_cap * sizeof *tlb);
		if (!tlb)
			abort();
	}
	size_t i = 0;
	while (i < tlb_count && tlb[i].va < e.va)
		i++;
	memmove(&tlb[i + 1], &tlb[i], (tlb_count - i) * sizeof *tlb);
	tlb[i] = e;
	tlb_count++;
}

/* Drops the entries that are not global (flush_global: all of them). */
static void tlb_flush(bool flush_global)
{
	size_t kept = 0;
	for (size_t i = 0; i < tlb_count; i++)
		if (!flush_global && tlb[i].rights & PTE_G)
			tlb[kept++] = tlb[i];
	tlb_count = kept;
}

/* The page walk the MMU does from CR3: true and *e filled if va is mapped
 * (present at every level), false if not. Reads the tables in physical
 * memory, as the CPU does; writes nothing (no accessed or dirty bits). */
static bool walk(vaddr_t va, struct tlb_entry *e)
{
	paddr_t table = host_cpu.cr3;
	uint64_t rights = PTE_W | PTE_U;
	for (int level = PT_LEVELS; level >= 1; level--) {
		const uint64_t *t = arch_phys_to_virt(table);
		uint64_t pte = t[PT_INDEX(va, level)];
		if (!(pte & PTE_P))
			return false;
		rights &= pte | PTE_NX | PTE_G; /* W and U: every level */
		rights |= pte & PTE_NX;          /* NX: any level */
		bool leaf = level == 1 || ((level == 2 || level == 3) &&
					   (pte & PTE_PS));
		if (leaf) {
			uint64_t size = PT_LEVEL_SIZE(level);
			*e = (struct tlb_entry){
				va & ~(size - 1), size,
				(pte & PTE_ADDR_MASK) & ~(size - 1),
				(rights & ~PTE_G) | (pte & PTE_G) };
			return true;
		}
		table = pte & PTE_ADDR_MASK;
	}
	return false;
}

static bool rights_allow(uint64_t rights, enum host_access how, bool user)
{
	if (user && !(rights & PTE_U))
		return false;
	if (how == HOST_WRITE && !(rights & PTE_W)) /* CR0.WP is set */
		return false;
	return !(how == HOST_EXEC && (rights & PTE_NX));
}

struct host_touch host_touch(vaddr_t va, enum host_access how, bool user)
{
	if (!host_cpu.cr3) {
		fprintf(stderr, "host: host_touch(%#lx) with no CR3 loaded\n", va);
		abort();
	}
	struct host_touch r = { 0 };
	size_t i = tlb_find(va);
	struct tlb_entry e;
	if (i < tlb_count) {
		e = tlb[i];
		r.tlb_hit = true;
	} else if (walk(va, &e)) {
		tlb_insert(e);
	} else {
		r.fault = true; /* not present: nothing is cached */
		return r;
	}
	/* A rights fault drops what the TLB held for va (the CPU re-walks
	 * after a #PF), so a stale entry with fewer rights faults once. */
	if (!rights_allow(e.rights, how, user)) {
		r.fault = true;
		tlb_drop(va);
		return r;
	}
	r.pa = e.pa + (va & (e.size - 1));
	return r;
}

void arch_write_cr3(paddr_t pml4_pa)
{
	host_cpu.cr3 = pml4_pa;
	host_cpu.cr3_loads++;
	tlb_flush(false);
}

void arch_invlpg(vaddr_t va)
{
	host_cpu.invlpg_count++;
	host_cpu.last_invlpg = va;
	tlb_drop(va);
}

void arch_flush_tlb_all(void)
{
	host_cpu.full_flushes++;
	tlb_flush(true);
}

void platform_stop(const char *status)
{
	trace_finish(status);
	fprintf(stderr, "host: platform_stop(\"%s\")\n%s", status,
		host_trace_text());
	abort();
}
