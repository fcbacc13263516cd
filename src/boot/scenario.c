/* scenario.c - finding and running scenarios (scenario.h). */
#include "scenario.h"

#include "string.h"
#include "trace.h"

extern const struct scenario __scenarios_start[], __scenarios_end[];

static unsigned failures;

bool scenario_expect(bool ok, const char *expr, const char *file, int line)
{
	if (!ok) {
		failures++;
		trace_event(TRACE_TEST, "fail", "at=%s:%d expr=\"%s\"", file, line,
			    expr);
	}
	return ok;
}

bool scenario_expect_status(status_t got, status_t want, const char *expr,
			    const char *file, int line)
{
	if (got == want)
		return true;
	failures++;
	trace_event(TRACE_TEST, "fail", "at=%s:%d expr=\"%s\" got=%s want=%s",
		    file, line, expr, status_name(got), status_name(want));
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
	trace_event(TRACE_TEST, "begin", "name=%s", s->name);
	s->run();
	trace_event(TRACE_TEST, "end", "name=%s failures=%u", s->name, failures);
	return failures;
}
