/* scenario.c - finding and running scenarios (scenario.h). */
#include "scenario.h"

#include "format.h"
#include "string.h"
#include "trace.h"

extern const struct scenario __scenarios_start[], __scenarios_end[];

static unsigned failures;
const char *scenario_user_program = "";

bool scenario_expect(bool ok, const char *expr, const char *file, int line)
{
	if (!ok) {
		char at[80];
		format(at, sizeof at, "%s:%d", file, line);
		failures++;
		trace_test_fail(at, expr);
	}
	return ok;
}

bool scenario_expect_status(status_t got, status_t want, const char *expr,
			    const char *file, int line)
{
	if (got == want)
		return true;
	char at[80];
	format(at, sizeof at, "%s:%d", file, line);
	failures++;
	trace_test_fail_got_want(at, expr, status_name(got), status_name(want));
	return false;
}

const struct scenario *scenario_find(const char *name)
{
	for (const struct scenario *s = __scenarios_start; s < __scenarios_end;
	     s++) {
		if (strcmp(s->name, name) == 0)
			return s;
	}
	return NULL;
}

unsigned scenario_run(const struct scenario *s)
{
	failures = 0;
	trace_test_begin(s->name);
	s->run();
	trace_test_end(s->name, failures);
	return failures;
}
