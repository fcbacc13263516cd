/*
 * proc_scenarios.c - user processes (docs/user.md, docs/faults.md): the
 * program the command line names, and the ELF checks.
 */
#include "pmm.h"
#include "proc.h"
#include "scenario.h"
#include "string.h"
#include "trace.h"

/* run=user user=NAME: NAME runs (with whatever it forks) to its end and
 * must exit with 0; then every page it and its children used is free
 * again (the pmm statistics before and after, stat.pmm both times). */
SCENARIO(user, "the user program named by user=NAME runs; it must exit 0")
{
	struct pmm_stats before, after;
	pmm_get_stats(&before);
	trace_stat_pmm(before.total_pages, before.usable_pages, before.used_pages,
		       before.free_pages, before.reserved_pages);
	unsigned pid;
	if (!EXPECT_STATUS(proc_spawn(scenario_user_program, &pid), STATUS_OK))
		return;
	EXPECT(proc_run(pid) == 0);
	pmm_get_stats(&after);
	trace_stat_pmm(after.total_pages, after.usable_pages, after.used_pages,
		       after.free_pages, after.reserved_pages);
	EXPECT(after.used_pages == before.used_pages);
}

/* run=user_killed user=NAME: NAME must be killed (swap full, say:
 * docs/swap.md), and every page it used is free again. */
SCENARIO(user_killed, "the user program named by user=NAME must be killed")
{
	struct pmm_stats before, after;
	pmm_get_stats(&before);
	unsigned pid;
	if (!EXPECT_STATUS(proc_spawn(scenario_user_program, &pid), STATUS_OK))
		return;
	EXPECT(proc_run(pid) == PROC_KILLED_CODE);
	pmm_get_stats(&after);
	trace_stat_pmm(after.total_pages, after.usable_pages, after.used_pages,
		       after.free_pages, after.reserved_pages);
	EXPECT(after.used_pages == before.used_pages);
}

/* Each malformed program is refused with err.bad_elf and nothing made;
 * then a good one runs: the kernel goes on. */
SCENARIO(user_bad_elf, "malformed ELF programs are refused, the kernel goes on")
{
	static const char *const bad[] = {
		"bad_truncated", "bad_machine", "bad_kernel_half", "bad_huge",
		"bad_overlap", "bad_filesz",
	};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
		EXPECT_STATUS(proc_spawn(bad[i], NULL), STATUS_BAD_ELF);
	EXPECT_STATUS(proc_spawn("no_such_program", NULL), STATUS_NOT_FOUND);
	unsigned pid;
	if (!EXPECT_STATUS(proc_spawn("hello", &pid), STATUS_OK))
		return;
	EXPECT(proc_run(pid) == 0);
}
