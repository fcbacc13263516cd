/*
 * arch_host.c - arch.h and platform.h for the host tests.
 * Physical memory is a calloc'ed block; CR3 and the TLB are just recorded.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "platform.h"
#include "trace.h"

static uint8_t *memory;
static uint64_t memory_bytes;
struct host_cpu_log host_cpu;

void host_memory_init(uint64_t bytes)
{
	free(memory);
	memory = aligned_alloc(4096, bytes);
	if (!memory) {
		fprintf(stderr, "host: cannot allocate %lu bytes\n", bytes);
		abort();
	}
	memset(memory, 0, bytes);
	memory_bytes = bytes;
	memset(&host_cpu, 0, sizeof host_cpu);
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

void arch_write_cr3(paddr_t pml4_pa)
{
	host_cpu.cr3 = pml4_pa;
	host_cpu.cr3_loads++;
}

void arch_invlpg(vaddr_t va)
{
	host_cpu.invlpg_count++;
	host_cpu.last_invlpg = va;
}

void arch_flush_tlb_all(void)
{
	host_cpu.full_flushes++;
}

void platform_stop(const char *status)
{
	trace_finish(status);
	fprintf(stderr, "host: platform_stop(\"%s\")\n%s", status,
		host_trace_text());
	abort();
}
