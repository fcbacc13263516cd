/*
 * status.h - the one status type of the whole kernel.
 *
 * Every function that can fail returns a status_t. STATUS_OK is zero; every
 * other value names one distinct reason, so a caller (or a student reading the
 * trace) can tell "double free" from "never allocated" without guessing.
 * Answers to questions (is this range mapped?) are NOT statuses: they are
 * results returned through their own enums.
 *
 * The statuses are declared in the trace schema (src/lib/trace.schema), so
 * the enum, status_name() and the err.<name> events of the trace tools come
 * from one list. To add a status: add one line there.
 */
#ifndef VITRINE_STATUS_H
#define VITRINE_STATUS_H

#include "trace_schema.h"

typedef enum status {
#define STATUS_ENUM(sym, name) STATUS_##sym,
	TRACE_STATUS_LIST(STATUS_ENUM)
#undef STATUS_ENUM
	STATUS_COUNT
} status_t;

/* The short lowercase name of a status ("double_free"); never NULL. */
const char *status_name(status_t st);

#endif
