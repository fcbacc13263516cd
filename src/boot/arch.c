/*
 * arch.c - the kernel's side of src/mm/arch.h, and the trace sink on port
 * 0xE9. Every function here is one or two instructions; they exist so that
 * src/mm/ can run unchanged on the host.
 */
#include "arch.h"

#include "cpu.h"
#include "io.h"
#include "layout.h"
#include "trace.h"

void *arch_phys_to_virt(paddr_t pa)
{
	return (void *)(HHDM_BASE + pa);
}

void *arch_mapped_ptr(vaddr_t va, paddr_t pa)
{
	(void)pa;
	return (void *)va;
}

paddr_t arch_read_cr3(void)
{
	return read_cr3() & 0x000FFFFFFFFFF000ull;
}

void arch_write_cr3(paddr_t pml4_pa)
{
	write_cr3(pml4_pa);
}

void arch_invlpg(vaddr_t va)
{
	invlpg(va);
}

void arch_flush_tlb_all(void)
{
	/* Clearing and setting CR4.PGE flushes global entries too (SDM 4.10.4.1). */
	uint64_t cr4 = read_cr4();
	write_cr4(cr4 ^ CR4_PGE);
	write_cr4(cr4);
}

/* Port 0xE9: Bochs (port_e9_hack) and QEMU (-debugcon) print what arrives. */
static void e9_write(const char *line, size_t len)
{
	outsb(0xE9, line, len);
}

const struct trace_sink e9_sink = {
	.write = e9_write,
	.breakpoint = bochs_breakpoint,
};
