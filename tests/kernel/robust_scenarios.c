/*
 * robust_scenarios.c - the kernel reports how it died, whatever the death:
 * a failed ASSERT (status=panic), a fault inside the exception handler
 * (warn.nested_fault, status=fault). Expectations are in
 * tests/scenarios/robust_*.test; docs/robustness.md explains them.
 */
#include <stdint.h>

#include "layout.h"
#include "panic.h"
#include "probe.h"
#include "scenario.h"
#include "trace.h"

#define PAGE 4096ul

extern const char kernel_stack_guard[];

/* A broken invariant must stop the run with warn.panic and status=panic,
 * naming the function and the rule; nothing after it may run. */
static volatile unsigned long tables_in_use = 3;

SCENARIO(robust_panic_assert, "a failed ASSERT ends the run with status=panic")
{
	ASSERT(tables_in_use == 0);
	EXPECT(!"ASSERT returned");
}

/*
 * A stack floor: a page-aligned address whose page is writable while the
 * page just under it is not mapped. The kernel stack's guard page gives one
 * once the kernel runs on its own tables; the bootstrap tables give one at
 * KERNEL_VMA (nothing is mapped under -2 GiB). Returns 0 if neither holds.
 */
static uint64_t find_stack_floor(void)
{
	uint64_t candidates[] = { (uint64_t)kernel_stack_guard + PAGE,
				  KERNEL_VMA };
	for (unsigned i = 0; i < sizeof candidates / sizeof *candidates; i++) {
		uint64_t floor = candidates[i];
		if (probe_write(floor, 0).faulted ||
		    probe_write(floor + PAGE - 1, 0).faulted)
			continue;
		struct probe_result below = probe_read(floor - 1);
		if (below.faulted && below.vector == 14) {
			trace_event(TRACE_TEST, "probe",
				    "va=%#lx faulted=%d vec=%lu err=%#lx",
				    below.address, below.faulted, below.vector,
				    below.error_code);
			return floor;
		}
	}
	return 0;
}

/*
 * A fault inside the exception handler. The stack is moved to 256 bytes
 * above a floor, then ud2: the CPU's frame and the register save fit, but
 * the #UD handler's own frame (its 256-byte trace line buffer) runs into the
 * unmapped page, so it page-faults while reporting the #UD. The #PF comes
 * in on its own IST stack and must report warn.nested_fault, status=fault.
 */
SCENARIO(robust_nested_fault, "a fault inside the exception handler is reported")
{
	uint64_t floor = find_stack_floor();
	if (!EXPECT(floor != 0))
		return;
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "ud2"
			 :
			 : "r"(floor + 256)
			 : "memory");
	__builtin_unreachable();
}
