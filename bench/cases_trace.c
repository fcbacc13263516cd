/*
 * cases_trace.c - the emitter itself: what one trace line costs, so the
 * "trace on" rows of the other cases can be read as (work + lines * this).
 */
#include "bench.h"
#include "pmm.h"
#include "trace.h"

#define TRACE_CASE_MEMORY (1ull << 20)

static void trace_init(void)
{
	bench_machine(TRACE_CASE_MEMORY);
}

static void nothing(uint64_t size, uint64_t ops)
{
	(void)size;
	(void)ops;
}

/* The bitmap's line, "SEQ pmm.set pa=0x... n=1 why=alloc", written as the
 * kernel writes it: by the emitter generated from the schema. */
static void emit_pmm_line(uint64_t size, uint64_t i)
{
	(void)size;
	trace_pmm_set(0x100000ul + (i << 12), 1, PMM_ALLOC);
}

BENCH_CASE(trace_event_pmm_line, .group = "trace", .size = 1, .pages = 0,
	   .ops = 4096, .init = trace_init, .prepare = nothing,
	   .op = emit_pmm_line, .cleanup = nothing);

/* The same line through the plain path, a format string parsed at run
 * time (trace_event, as trace_error and the tests write their lines). */
static void format_pmm_line(uint64_t size, uint64_t i)
{
	(void)size;
	trace_event(TRACE_PMM, "set", "pa=%#lx n=%lu why=%s",
		    0x100000ul + (i << 12), 1ul, "alloc");
}

BENCH_CASE(trace_event_format_line, .group = "trace", .size = 1, .pages = 0,
	   .ops = 4096, .init = trace_init, .prepare = nothing,
	   .op = format_pmm_line, .cleanup = nothing);

/*
 * The harness's own cost: an op that does nothing. Its instructions (the
 * loop and the indirect call) are included in every other row; subtract
 * them when a row is small.
 */
static void empty_op(uint64_t size, uint64_t i)
{
	(void)size;
	(void)i;
}

BENCH_CASE(harness_empty_op, .group = "harness", .size = 1, .pages = 0,
	   .ops = 4096, .init = trace_init, .prepare = nothing, .op = empty_op,
	   .cleanup = nothing);
