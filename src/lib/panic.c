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
	trace_warn_panic(where, msg); /* msg is text: its quotes are escaped */
	platform_stop("panic");
}
