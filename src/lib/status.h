/*
 * status.h - the one status type of the whole kernel.
 *
 * Every function that can fail returns a status_t. STATUS_OK is zero; every
 * other value names one distinct reason, so a caller (or a student reading the
 * trace) can tell "double free" from "never allocated" without guessing.
 * Answers to questions (is this range mapped?) are NOT statuses: they are
 * results returned through their own enums.
 *
 * The list is an X-macro so that the enum and status_name() can never drift
 * apart. To add a status: add one line here, document it in
 * docs/trace-format.md (it becomes the event err.<name>).
 */
#ifndef VITRINE_STATUS_H
#define VITRINE_STATUS_H

#define STATUS_LIST(X)                                                       \
	X(OK, "ok")                                                          \
	X(INVALID_ARG, "invalid_arg")       /* NULL pointer, bad enum */   \
	X(ZERO_COUNT, "zero_count")         /* count of 0 pages/bytes */   \
	X(UNALIGNED, "unaligned")           /* address not page aligned */ \
	X(OUT_OF_RANGE, "out_of_range")     /* outside managed memory */   \
	X(WRAP, "wrap")                     /* range wraps the space */    \
	X(NON_CANONICAL, "non_canonical")   /* VA not canonical */         \
	X(NO_MEMORY, "no_memory")           /* physical memory exhausted */\
	X(DOUBLE_FREE, "double_free")       /* page already free */        \
	X(NOT_ALLOCATED, "not_allocated")   /* never handed out */         \
	X(RESERVED, "reserved")             /* page is reserved */         \
	X(ALREADY_MAPPED, "already_mapped") /* map over present entry */   \
	X(NOT_MAPPED, "not_mapped")         /* unmap/protect absent page */\
	X(PINNED, "pinned")                 /* page is pinned */           \
	X(POOL_EXHAUSTED, "pool_exhausted") /* no free page table page */  \
	X(NOT_FOUND, "not_found")           /* no region fits */           \
	X(HUGE_PAGE, "huge_page")           /* op splits a 2 MiB page */   \
	X(NOT_POOL_PAGE, "not_pool_page")   /* pa outside the pool */      \
	X(BUSY, "busy")                     /* object still in use */      \
	X(BAD_POINTER, "bad_pointer")       /* not from this allocator */  \
	X(TOO_LARGE, "too_large")           /* request over the limit */   \
	X(BAD_MMAP, "bad_mmap")             /* malformed memory map */     \
	X(BAD_CMDLINE, "bad_cmdline")       /* malformed command line */   \
	X(SIZE_MISMATCH, "size_mismatch")   /* free with another size */   \
	X(TABLE_FULL, "table_full")         /* no bookkeeping slot left */ \
	X(NOT_IMPLEMENTED, "not_implemented") /* lab stub */

typedef enum status {
#define STATUS_ENUM(sym, name) STATUS_##sym,
	STATUS_LIST(STATUS_ENUM)
#undef STATUS_ENUM
	STATUS_COUNT
} status_t;

/* The short lowercase name of a status ("double_free"); never NULL. */
const char *status_name(status_t st);

#endif
