/*
 * demo.c - what `make run` shows: a tour of the memory manager.
 * Each step is a few API calls whose trace lines a student can read in order.
 */
#include "scenario.h"
#include "trace.h"

SCENARIO(demo, "the default demo: boot, then a tour of the memory manager")
{
	trace_event(TRACE_BOOT, "stage", "name=demo");
}
