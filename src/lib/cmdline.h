/*
 * cmdline.h - the kernel command line, parsed once into a typed
 * configuration (docs/boot.md lists every key).
 *
 *   run=NAME      what to run after boot: "demo" (default) or a scenario
 *   trace=LIST    categories to trace: "all" (default), "none", "pmm,vm"...
 *   break=N       stop in the Bochs debugger just before event N
 *   pool=N        pages in the kernel's page table pool (default 512)
 *   mmap=SPEC     replace the firmware memory map (docs/pmm.md)
 *   user=NAME     the user program that run=user starts (src/user/,
 *                 docs/user.md); given alone, it means run=user too
 *   frames=N      swap on (docs/swap.md): at most N fault-mapped user
 *                 pages in frames at once (1 to 1024)
 *   low=N         swap on (docs/swap.md): reclaim whenever fewer than N
 *                 physical pages are free (1 to 1048576)
 *   policy=NAME   the replacement policy with frames= or low=: clock
 *                 (default), fifo
 *
 * Words are separated by spaces; every word must be key=value with a known
 * key and a valid value, and no key may be given twice. Anything else is an
 * error that names the word, so a typo never silently boots a different
 * configuration.
 */
#ifndef VITRINE_CMDLINE_H
#define VITRINE_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define CMDLINE_MAX 1024          /* bytes kept of the command line */
#define CMDLINE_NAME_MAX 48       /* bytes of run=NAME, NUL included */
#define CMDLINE_DEFAULT_POOL 512  /* pages: 2 MiB of page tables */
#define CMDLINE_POOL_MIN 8
#define CMDLINE_POOL_MAX 65536
#define CMDLINE_FRAMES_MAX 1024 /* swap.h's SWAP_MAX_FRAMES */
#define CMDLINE_LOW_MAX 1048576 /* pages: 4 GiB */

struct boot_config {
	char run[CMDLINE_NAME_MAX]; /* scenario to run */
	char user[CMDLINE_NAME_MAX]; /* user program, "" if none */
	uint32_t trace_mask;        /* enabled trace categories */
	uint64_t break_at;          /* event to break before, 0: none */
	uint64_t pool_pages;        /* kernel page table pool size */
	const char *mmap_spec;      /* NULL, or the text after "mmap=" */
	size_t mmap_spec_len;
	uint64_t frames;            /* frames=N, 0: no cap */
	uint64_t low;               /* low=N, 0: no low-water mark */
	char policy[CMDLINE_NAME_MAX]; /* policy=NAME */
};

struct cmdline_error {
	char word[40];      /* the offending word, cut to fit */
	const char *reason; /* "unknown key", "bad number", ... */
};

/*
 * Parses text (NUL-terminated, may be NULL for an empty line) into *cfg.
 * cfg always receives the defaults first. On a bad word, returns
 * STATUS_BAD_CMDLINE and describes it in *err; cfg then holds the defaults
 * and whatever came before the bad word. mmap_spec points into text, which
 * must outlive cfg.
 */
status_t cmdline_parse(const char *text, struct boot_config *cfg,
		       struct cmdline_error *err);

#endif
