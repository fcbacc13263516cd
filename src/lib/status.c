/* status.c - names of the statuses, from the one list in status.h. */
#include "status.h"

static const char *const names[] = {
#define STATUS_NAME(sym, name) name,
	STATUS_LIST(STATUS_NAME)
#undef STATUS_NAME
};

const char *status_name(status_t st)
{
	if ((unsigned)st >= STATUS_COUNT)
		return "unknown_status";
	return names[st];
}
