/*
 * shutdown.c - the end of every run: the trace's end record, then power off.
 * Bochs powers off when "Shutdown" is written to port 0x8900; QEMU exits
 * when a byte is written to its isa-debug-exit device (port 0xF4), with exit
 * status (byte << 1) | 1. If neither is there, the CPU halts for good.
 */
#include "io.h"
#include "platform.h"
#include "trace.h"

#define BOCHS_SHUTDOWN_PORT 0x8900
#define QEMU_EXIT_PORT 0xF4

void platform_stop(const char *status)
{
	trace_finish(status);
	for (const char *s = "Shutdown"; *s; s++)
		outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*s);
	/* ok -> QEMU exit status 1, anything else -> 3 */
	outb(QEMU_EXIT_PORT, status[0] == 'o' && status[1] == 'k' ? 0 : 1);
	for (;;)
		__asm__ volatile("cli; hlt");
}
