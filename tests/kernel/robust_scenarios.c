/*
 * robust_scenarios.c - the kernel reports how it died, whatever the death:
 * a failed ASSERT (status=panic), a kernel stack overflow (cpu.fault ...
 * why=stack_overflow), a fault inside the exception handler
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
			trace_test_probe(below.address, below.faulted, below.vector, below.error_code);
			return floor;
		}
	}
	return 0;
}

/*
 * A fault inside the exception handler. The stack is moved to 384 bytes
 * above a floor, then ud2: the CPU's frame, the register save and the
 * handler's first calls (proc_trap, which declines a kernel #UD) fit, but
 * the #UD handler's own frame (its 256-byte trace line buffer) runs into the
 * unmapped page, so it page-faults while reporting the #UD. (At 256 bytes
 * the call of proc_trap already faults, before the handler counts itself:
 * that is reported as a plain stack overflow.) The #PF comes
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
			 : "r"(floor + 384)
			 : "memory");
	__builtin_unreachable();
}

/* Recurses with a 512-byte frame until the stack runs out (the limit only
 * keeps the compiler from calling the recursion infinite). */
static volatile uint64_t descend_limit = ~0ul;

static uint64_t descend(uint64_t depth)
{
	volatile char frame[512];
	frame[0] = (char)depth;
	if (depth >= descend_limit)
		return frame[0];
	return descend(depth + 1) + frame[0];
}

/*
 * A kernel stack overflow: the page under the 16 KiB kernel stack is left
 * unmapped (docs/paging.md), so running off the stack page-faults there
 * instead of overwriting .bss. The #PF runs on its own IST stack (RSP is
 * unusable) and reports cpu.fault ... why=stack_overflow, status=fault. If
 * the guard page is mapped, recursing would corrupt memory: fail instead.
 */
SCENARIO(robust_stack_overflow, "a kernel stack overflow is reported as such")
{
	struct probe_result guard = probe_read((uint64_t)kernel_stack_guard);
	if (!EXPECT(guard.faulted && guard.vector == 14))
		return;
	descend(0);
	EXPECT(!"the recursion returned");
}
