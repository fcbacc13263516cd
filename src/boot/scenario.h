/*
 * scenario.h - programs the kernel runs after boot, chosen by run=NAME.
 *
 * The default demo and every emulator test are scenarios. A scenario is a
 * function registered with SCENARIO(name, "summary") { ... } in any kernel
 * source file (src/boot/demo.c, tests/kernel/ *.c); the linker collects them
 * in the .scenarios section. Its trace is compared with the expectations in
 * tests/scenarios/<name>.test. EXPECT() records a failed check as a
 * test.fail event; the run then ends with status=fail.
 */
#ifndef VITRINE_SCENARIO_H
#define VITRINE_SCENARIO_H

#include <stdbool.h>

#include "status.h"

struct scenario {
	const char *name;
	const char *summary;
	void (*run)(void);
};

#define SCENARIO(id, summary_text)                                        \
	static void scenario_run_##id(void);                              \
	static const struct scenario scenario_##id                        \
		__attribute__((used, section(".scenarios"), aligned(8))) = { \
			#id, summary_text, scenario_run_##id                  \
		};                                                        \
	static void scenario_run_##id(void)

/* Records a check; a false one becomes "test.fail expr=... at=file:line". */
#define EXPECT(cond) scenario_expect((cond), #cond, __FILE__, __LINE__)
/* Checks that expr returns the status st (by name in the failure). */
#define EXPECT_STATUS(expr, st) \
	scenario_expect_status((expr), (st), #expr, __FILE__, __LINE__)

bool scenario_expect(bool ok, const char *expr, const char *file, int line);
bool scenario_expect_status(status_t got, status_t want, const char *expr,
			    const char *file, int line);

/* The scenario named name, or NULL. */
const struct scenario *scenario_find(const char *name);

/* The user program the command line names (user=NAME), "" if none. */
extern const char *scenario_user_program;

/* Runs s between test.begin and test.end; returns the number of failures. */
unsigned scenario_run(const struct scenario *s);

#endif
