/* status.c - names of the statuses, from the schema's one list. */
#include "status.h"

static const char *const names[] = {
#define STATUS_NAME(sym, name) name,
	TRACE_STATUS_LIST(STATUS_NAME)
#undef STATUS_NAME
};

const char *status_name(status_t st)
{
	if ((unsigned)st >= STATUS_COUNT)
		return "unknown_status";
	return names[st];
}
