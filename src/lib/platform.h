/*
 * platform.h - the few things src/lib needs from whatever it runs on.
 * The kernel implements them in src/boot/, the host tests in tests/host/.
 */
#ifndef VITRINE_PLATFORM_H
#define VITRINE_PLATFORM_H

/*
 * Ends the run: writes the trace's end record with the given status ("ok",
 * "fail", "panic", "fault", "oom", "reject") and stops: the kernel shuts the
 * emulator down, the host aborts the test process.
 */
__attribute__((noreturn)) void platform_stop(const char *status);

#endif
