/*
 * trace.h - the trace emitter: the only way anything becomes a trace line.
 *
 * A trace is text, one line per event (docs/trace-format.md):
 *
 *   @vitrine v1 cmdline="run=demo"          header: format version, boot config
 *   #cats boot,mmap,pmm,...                 metadata: enabled categories
 *   1 boot.start magic=0x36d76289 ...       SEQ CAT.EVENT key=value ...
 *   @end count=1 crc=0x1c291ca3 status=ok   end record: events, CRC-32, status
 *
 * The CRC-32 (IEEE, as zlib.crc32) covers every byte before the end record,
 * header and metadata included, so a truncated or edited trace is detected.
 * The sink is the only platform-specific part: port 0xE9 in the kernel, a
 * memory buffer in the host tests, so both see byte-identical lines.
 */
#ifndef VITRINE_TRACE_H
#define VITRINE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* The categories, the version and the constants come from the schema
 * (src/lib/trace.schema, generated into build/gen/trace_schema.h). */
#include "trace_schema.h"

enum trace_category {
#define TRACE_CATEGORY_ENUM(sym, name) TRACE_##sym,
	TRACE_CATEGORY_LIST(TRACE_CATEGORY_ENUM)
#undef TRACE_CATEGORY_ENUM
	TRACE_CATEGORY_COUNT
};

#define TRACE_ALL_CATEGORIES ((1u << TRACE_CATEGORY_COUNT) - 1)
#define TRACE_LINE_MAX ((int)TRACE_CONST_LINE_MAX) /* bytes, with the newline */
#define TRACE_FLAGS_NAME_MAX 48 /* "P|W|U|PWT|PCD|A|D|PS|G|OWN|PIN|NX" and NUL */
#define TRACE_TEXT_MAX 128      /* a quoted value: cut beyond (then "...") */

/* Where finished lines go. write() gets one whole line, newline included. */
struct trace_sink {
	void (*write)(const char *line, size_t len);
	void (*breakpoint)(void); /* called before event break_at; may be NULL */
};

/*
 * Starts a trace: resets the sequence and CRC, writes the header and the
 * metadata lines. category_mask has bit (1 << TRACE_x) set for each enabled
 * category; break_at is the event number to stop before (0: never).
 */
void trace_start(const struct trace_sink *sink, const char *cmdline,
		 uint32_t category_mask, uint64_t break_at);

/*
 * Writes "SEQ <category>.<event> <fields>" if the category is enabled.
 * fields is a format (format.h) producing "key=value key=value".
 */
void trace_event(enum trace_category cat, const char *event,
		 const char *fields, ...) __attribute__((format(printf, 3, 4)));

/*
 * The call an err event names. An API function that can fail starts with
 * TRACE_CALL(); until it returns, every err event written (by it, or by a
 * helper it calls) says fn=<that function>. A nested API call names itself
 * and, when it returns, the outer call is named again. So helpers never
 * carry a "const char *fn" parameter only to name their caller.
 */
#define TRACE_CALL() TRACE_CALL_AS(__func__)
/* The same for a helper that does an API function's work out of line. */
#define TRACE_CALL_AS(name)                                            \
	const char *trace_call_saved_                                  \
		__attribute__((cleanup(trace_call_leave), unused)) =   \
			trace_call_enter(name)

extern const char *trace_call_name; /* the current call; trace.c's */

static inline const char *trace_call_enter(const char *fn)
{
	const char *outer = trace_call_name;
	trace_call_name = fn;
	return outer;
}

static inline void trace_call_leave(const char *const *saved)
{
	trace_call_name = *saved;
}

/*
 * Writes "SEQ err.<status name> fn=<the current call> <fields>" (always
 * enabled) and returns st, so a failing path reads: return trace_error(st,
 * "pa=%#lx", pa). trace_error_in names fn itself, for the few places that
 * report a failure on behalf of another part (kmain for the command line).
 */
status_t trace_error(status_t st, const char *fields, ...)
	__attribute__((format(printf, 2, 3)));
status_t trace_error_in(status_t st, const char *fn, const char *fields, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes "SEQ warn.<what> <fields>" (always enabled). */
void trace_warn(const char *what, const char *fields, ...)
	__attribute__((format(printf, 2, 3)));

/* Writes the end record "@end count=N crc=0x........ status=<status>". */
void trace_finish(const char *status);

extern uint32_t trace_mask; /* the enabled categories; trace.c's */

static inline bool trace_enabled(enum trace_category cat)
{
	return cat < TRACE_CATEGORY_COUNT && (trace_mask & (1u << cat));
}

uint64_t trace_event_count(void);       /* events written so far */
const char *trace_category_name(enum trace_category cat);

/*
 * Parses a category list "pmm,vm" or "all" into a mask. Returns false and
 * leaves *mask unchanged if a name is unknown; *bad then points at it.
 */
bool trace_parse_categories(const char *list, size_t len, uint32_t *mask,
			    const char **bad);

/* CRC-32 (IEEE 802.3, reflected, as zlib.crc32) continued over len bytes. */
uint32_t crc32_update(uint32_t crc, const void *data, size_t len);

/* Value writers of the generated emitters (schema types reason, flags,
 * text). Each returns buf (or a constant name), NUL-terminated. */
const char *trace_reason_name(unsigned why);
const char *trace_flags_name(uint64_t flags, char *buf, size_t cap);
const char *trace_quote(const char *text, char *buf, size_t cap);
/* The same for n bytes that may hold NULs (schema type "bytes"). */
struct trace_bytes {
	const char *p;
	size_t n;
};
const char *trace_quote_bytes(const char *p, size_t n, char *buf, size_t cap);

/* One emitter per event of the schema: trace_<category>_<event>(keys...). */
#include "trace_events.h"

#endif
