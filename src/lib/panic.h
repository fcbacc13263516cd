/*
 * panic.h - stopping on a broken invariant.
 *
 * panic() is for states that must never happen (a corrupted bitmap, a table
 * that should exist but does not). Bad arguments are never a panic: they are
 * a status (status.h). A panic writes "SEQ panic.stop where=... msg=..." and
 * the end record with status=panic, then stops the machine.
 */
#ifndef VITRINE_PANIC_H
#define VITRINE_PANIC_H

__attribute__((noreturn, format(printf, 2, 3))) void
panic_at(const char *where, const char *fmt, ...);

#define panic(...) panic_at(__func__, __VA_ARGS__)

/* Checks an invariant; the message names the function and the rule. */
#define ASSERT(cond)                                                  \
	do {                                                          \
		if (!(cond))                                          \
			panic_at(__func__, "assertion \"%s\" failed", \
				 #cond);                              \
	} while (0)

#endif
