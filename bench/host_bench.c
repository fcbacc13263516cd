/*
 * host_bench.c - runs every registered bench case (bench.h) and prints one
 * row per case and trace mode.
 *
 *   host_bench [--rounds N] [--max-size N] [--only TEXT] [--callgrind]
 *   host_bench --list [--max-size N]     the case names and sizes only
 *
 * Each case runs twice: with tracing off (no category enabled, so every
 * trace_event returns after one mask test) and with every category on into
 * a null sink (the line is formatted and CRC'd, then dropped: the cost of
 * the emitter without the cost of a device).
 *
 * Time: the measured loop of a round is timed with CLOCK_MONOTONIC and
 * divided by its ops; the row shows the median over the rounds.
 * Instructions: with --callgrind (run under valgrind --tool=callgrind
 * --collect-atstart=no) collection is switched on around the measured loop
 * only, and each case's count is dumped under the name
 * "bench/<case>/<trace mode>/<ops>", which bench/run reads back.
 *
 * Output rows (tab-separated, after a header line):
 *   name group size pages ops trace ns_per_op trace_bytes_per_op lines_per_op
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include "bench.h"
#include "host.h"
#include "trace.h"

extern const struct bench_case __start_bench_cases[];
extern const struct bench_case __stop_bench_cases[];

static struct {
	int rounds;
	uint64_t max_size;
	const char *only;
	bool callgrind;
	bool list;
	bool trace_on; /* the mode of the case running now */
} opt = {21, UINT64_MAX, NULL, false, false, false};

/* The null sink: counts what it is given and keeps nothing. */
static uint64_t sink_bytes, sink_lines;
static uint64_t loop_bytes, loop_lines; /* written by the last measured loop */
static void null_write(const char *line, size_t len)
{
	(void)line;
	sink_bytes += len;
	sink_lines++;
}
static const struct trace_sink null_sink = {null_write, NULL};

void bench_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "host_bench: %s:%d: %s is false\n", file, line, what);
	exit(1);
}

void bench_machine(uint64_t bytes)
{
	host_memory_init(bytes);
	trace_start(&null_sink, "bench",
		    opt.trace_on ? TRACE_ALL_CATEGORIES : 0, 0);
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* One round; returns the measured loop's nanoseconds. */
static uint64_t round_once(const struct bench_case *c, bool count)
{
	c->prepare(c->size, c->ops);
	sink_bytes = sink_lines = 0;
	if (count)
		CALLGRIND_TOGGLE_COLLECT;
	uint64_t start = now_ns();
	for (uint64_t i = 0; i < c->ops; i++)
		c->op(c->size, i);
	uint64_t elapsed = now_ns() - start;
	if (count)
		CALLGRIND_TOGGLE_COLLECT;
	loop_bytes = sink_bytes;
	loop_lines = sink_lines;
	c->cleanup(c->size, c->ops);
	return elapsed;
}

/* The case running now, named if it aborts (a panic in src/mm). */
static const struct bench_case *current;

static void on_abort(int sig)
{
	(void)sig;
	static const char msg[] = "host_bench: aborted in case ";
	write(2, msg, sizeof msg - 1);
	if (current)
		write(2, current->name, strlen(current->name));
	write(2, opt.trace_on ? " (trace on)\n" : " (trace off)\n",
	      opt.trace_on ? 12 : 13);
}

static void run_case(const struct bench_case *c)
{
	current = c;
	int rounds = opt.callgrind ? 1 : opt.rounds;
	uint64_t *ns = calloc((size_t)rounds, sizeof *ns);
	BENCH_REQUIRE(ns != NULL);
	if (c->init)
		c->init();
	/* A warm-up round: page faults of first touches are not the op. */
	round_once(c, false);
	for (int r = 0; r < rounds; r++)
		ns[r] = round_once(c, opt.callgrind);
	uint64_t bytes = loop_bytes, lines = loop_lines;
	if (c->fini)
		c->fini();
	if (opt.callgrind) {
		char name[160];
		snprintf(name, sizeof name, "bench/%s/%s/%lu", c->name,
			 opt.trace_on ? "on" : "off", c->ops);
		CALLGRIND_DUMP_STATS_AT(name);
	}
	qsort(ns, (size_t)rounds, sizeof *ns, compare_u64);
	printf("%s\t%s\t%lu\t%lu\t%lu\t%s\t%.1f\t%.1f\t%.2f\n", c->name,
	       c->group, c->size, c->pages, c->ops, opt.trace_on ? "on" : "off",
	       (double)ns[rounds / 2] / (double)c->ops,
	       (double)bytes / (double)c->ops, (double)lines / (double)c->ops);
	fflush(stdout);
	free(ns);
}

static void usage(void)
{
	fprintf(stderr, "usage: host_bench [--rounds N] [--max-size N] "
			"[--only TEXT] [--callgrind] [--list]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		bool has_value = i + 1 < argc;
		if (!strcmp(argv[i], "--rounds") && has_value)
			opt.rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--max-size") && has_value)
			opt.max_size = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--only") && has_value)
			opt.only = argv[++i];
		else if (!strcmp(argv[i], "--callgrind"))
			opt.callgrind = true;
		else if (!strcmp(argv[i], "--list"))
			opt.list = true;
		else
			usage();
	}
	if (opt.rounds < 1)
		usage();
	signal(SIGABRT, on_abort);
	if (!opt.list)
		printf("name\tgroup\tsize\tpages\tops\ttrace\tns_per_op\t"
		       "trace_bytes_per_op\tlines_per_op\n");
	for (int mode = 0; mode < (opt.list ? 1 : 2); mode++) {
		opt.trace_on = mode == 1;
		for (const struct bench_case *c = __start_bench_cases;
		     c < __stop_bench_cases; c++) {
			if (c->size > opt.max_size)
				continue;
			if (opt.only && !strstr(c->name, opt.only))
				continue;
			if (opt.list)
				printf("%s\t%lu\n", c->name, c->size);
			else
				run_case(c);
		}
	}
	return 0;
}
