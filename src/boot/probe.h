/*
 * probe.h - access an address on purpose and report whether it faulted
 * (kernel only). The fault is recorded, not fatal: see probe.asm.
 * probe_exec calls va; the bytes there must be a `ret` (0xC3) if the page
 * turns out to be executable, so put one there first when the page is
 * writable.
 */
#ifndef VITRINE_PROBE_H
#define VITRINE_PROBE_H

#include <stdbool.h>
#include <stdint.h>

struct probe_result {
	bool faulted;
	uint64_t vector;     /* 14 for a page fault */
	uint64_t error_code; /* PF_* bits in idt.h */
	uint64_t address;    /* CR2: the address that faulted */
};

struct probe_result probe_read(uint64_t va);
struct probe_result probe_write(uint64_t va, uint8_t value);
struct probe_result probe_exec(uint64_t va);

#endif
