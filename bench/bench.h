/*
 * bench.h - the host benchmark harness: what a benchmark case is.
 *
 * A case measures one operation of src/mm on the host, over the same code
 * the kernel runs (linked like the host tests, arch_host.c underneath). One
 * round is:
 *
 *   prepare(size, ops)        not measured: bring the state to "before"
 *   op(size, i) for i < ops   measured: the operation, ops times
 *   cleanup(size, ops)        not measured: back to the state before prepare
 *
 * so that every round starts from the same state and the measured part
 * holds nothing but the operation (and a loop). `size` is the case's size
 * (pages, bytes) and `pages` says how many pages one op covers, so the
 * harness can print a cost per page. A case registers itself with
 * BENCH_CASE in any bench/cases_*.c file; the Makefile compiles a cases
 * file only once the sources it measures exist.
 */
#ifndef VITRINE_BENCH_H
#define VITRINE_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bench_case {
	const char *name;   /* "pmm_alloc_page", one token */
	const char *group;  /* "pmm", "vm", "heap", "trace" */
	uint64_t size;	    /* the case's size, shown in the row */
	uint64_t pages;	    /* pages one op covers (0: not a page op) */
	uint64_t ops;	    /* ops a round (a small cost: many per round) */
	void (*init)(void); /* once before the first round (may be NULL) */
	void (*prepare)(uint64_t size, uint64_t ops);
	void (*op)(uint64_t size, uint64_t i);
	void (*cleanup)(uint64_t size, uint64_t ops);
	void (*fini)(void); /* once after the last round (may be NULL) */
};

#define BENCH_CASE(id, ...)                                                    \
	static const struct bench_case bench_case_##id                         \
	    __attribute__((used, section("bench_cases"), aligned(8))) = {      \
		.name = #id, __VA_ARGS__}

/*
 * Aborts the benchmark with a message when an operation that must succeed
 * did not: a benchmark of a failing call measures the error path instead.
 * The test is inline, so a check that passes costs the op a compare and a
 * branch, not a call with four arguments.
 */
void bench_fail(const char *what, const char *file, int line)
	__attribute__((noreturn, cold));
#define BENCH_REQUIRE(cond)                                                    \
	do {                                                                   \
		if (__builtin_expect(!(cond), 0))                              \
			bench_fail(#cond, __FILE__, __LINE__);                 \
	} while (0)

/*
 * Sets up the simulated machine every mm case starts from: `bytes` of
 * simulated physical memory and the trace in the mode of this run (off, or
 * on into a null sink). Cases call it from init.
 */
void bench_machine(uint64_t bytes);

#endif
