/* panic.c - report a broken invariant in the trace, then stop. */
#include "panic.h"

#include "format.h"
#include "platform.h"
#include "trace.h"

void panic_at(const char *where, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	format_v(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* msg is written between double quotes: one inside (an ASSERT of a
	 * string compare, or ASSERT's own quotes) would end it early. */
	for (char *c = msg; *c; c++)
		if (*c == '"')
			*c = '\'';
	trace_warn("panic", "where=%s msg=\"%s\"", where, msg);
	platform_stop("panic");
}
