/*
 * boot_scenarios.c - scenarios that prove the boot and exception paths.
 * Their expectations are in tests/scenarios/<name>.test.
 */
#include "probe.h"
#include "scenario.h"
#include "trace.h"

/* An invalid opcode must be reported as vector 6 (UD) with its RIP. */
SCENARIO(fault_ud, "ud2: the invalid-opcode exception is reported")
{
	__asm__ volatile("ud2");
}

/* A write to an unmapped address must be a page fault with W set, P clear. */
SCENARIO(fault_unmapped_write, "a write to an unmapped page faults")
{
	*(volatile char *)0xFFFF900000000000ull = 1;
}

/* The probe mechanism: a faulting read is recorded, not fatal. */
SCENARIO(probe_unmapped, "probes report faults and let the kernel go on")
{
	struct probe_result r = probe_read(0xFFFF900000000000ull);
	EXPECT(r.faulted);
	EXPECT(r.vector == 14);
	EXPECT(r.address == 0xFFFF900000000000ull);
	trace_test_probe(r.address, r.faulted, r.vector, r.error_code);
	static volatile char here = 7;
	r = probe_read((uint64_t)&here);
	EXPECT(!r.faulted);
}
