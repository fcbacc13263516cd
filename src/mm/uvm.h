/*
 * uvm.h - a user process's memory: its address space, its regions, and the
 * page-fault resolution on top of them (docs/user.md, docs/faults.md).
 *
 * A process's address space is an aspace (aspace.h: its own unmodifiable
 * pool, the kernel half shared) plus a short list of regions, each a run
 * of pages the process may use with some rights:
 *
 *   text   r-x  loaded from the program, mapped at once
 *   data   rw-  loaded from the program (its bss zeroed), mapped at once
 *               (r-- for a read-only segment that is not text)
 *   heap   rw-  grows and shrinks with sbrk; its pages come on a fault
 *   stack  rw-  below USER_STACK_TOP, UVM_STACK_PAGES at most; pages come
 *               on a fault: the stack grows down to its limit
 *   mmap   rw-  or r--: anonymous memory from mmap; pages come on a fault
 *
 * Pages come "on a fault": the region says the process may use them, but
 * no page is mapped until the process touches it; the fault handler then
 * maps a fresh zeroed page (demand-zero). Fork (uvm_fork) shares every
 * mapped page with the child read-only, marked COW where it was writable,
 * and counts the frame's sharers (frame.h); a write to a COW page copies
 * it, or gives W back to the last sharer.
 *
 * Every change writes its event (proc.region, proc.resize, pf.*, cow.*)
 * after the paging events of the change; every failing call returns a
 * distinct status, writes one err.* event and changes nothing.
 */
#ifndef VITRINE_UVM_H
#define VITRINE_UVM_H

#include <stdbool.h>
#include <stdint.h>

#include "aspace.h"
#include "layout.h"
#include "status.h"

/* Rights of a region. */
#define UVM_R 1u
#define UVM_W 2u
#define UVM_X 4u

enum uvm_kind { UVM_TEXT, UVM_DATA, UVM_HEAP, UVM_STACK, UVM_MMAP };

#define UVM_MAX_REGIONS 16                /* per process: TABLE_FULL past it */
#define UVM_STACK_PAGES 64                /* 256 KiB of stack at most */
#define USER_STACK_TOP 0x7FFFFFFF000ull   /* the first byte above the stack */
#define UVM_STACK_BASE (USER_STACK_TOP - UVM_STACK_PAGES * PAGE_SIZE)
#define UVM_MMAP_BASE 0x100000000ull      /* 4 GiB: mmap regions go above */
#define UVM_STACK_GUARD_PAGES 16          /* a fault this close below: overflow */
#define UVM_MMAP_END (UVM_STACK_BASE - UVM_STACK_GUARD_PAGES * PAGE_SIZE)
#define UVM_HEAP_END UVM_MMAP_BASE        /* the heap stays below mmap */
#define UVM_MAX_LOAD_PAGES 4096           /* 16 MiB: a program's text+data */

_Static_assert(USER_STACK_TOP == TRACE_CONST_USER_STACK_TOP,
	       "USER_STACK_TOP differs in trace.schema");

struct uvm_region {
	vaddr_t va;
	uint64_t pages;
	enum uvm_kind kind;
	unsigned prot; /* UVM_R | UVM_W | UVM_X */
};

struct uvm {
	unsigned pid;          /* for the events */
	struct aspace as;
	vaddr_t brk;           /* the heap's end, in bytes (sbrk) */
	unsigned count;        /* regions, sorted by va */
	struct uvm_region region[UVM_MAX_REGIONS];
};

/* How a fault ended: resolved (the access is retried) or the process dies. */
enum uvm_fault_result {
	UVM_FIX_ZERO,        /* a fresh zeroed page (heap, mmap) */
	UVM_FIX_STACK,       /* a fresh zeroed page of the stack */
	UVM_FIX_COW_COPY,    /* a shared page copied */
	UVM_FIX_COW_RESTORE, /* the last sharer gets W back */
	UVM_FIX_SWAP_IN,     /* a swapped-out page read back (swap.h) */
	UVM_KILL_UNMAPPED,   /* no region holds the address */
	UVM_KILL_WRITE_RO,   /* a write to a read-only region */
	UVM_KILL_EXEC_NX,    /* a fetch from a region without X */
	UVM_KILL_KERNEL_ADDR,/* a kernel-half address (a non-canonical one
			      * raises #GP, not #PF: a cpu_GP kill) */
	UVM_KILL_NO_MEMORY,  /* the fix needs a frame or a table: none left */
	UVM_KILL_STACK_OVERFLOW, /* just below the stack's limit (no region) */
	UVM_KILL_SWAP_FULL,  /* a page must go to swap to make room: no slot */
	UVM_KILL_SWAP_ERROR, /* the swap disk failed (a page is lost) */
};
#define UVM_FAULT_FIXED(r) ((r) <= UVM_FIX_SWAP_IN)

/* The word of a result in the trace: pf.resolve how= or proc.kill why=. */
const char *uvm_fault_name(enum uvm_fault_result r);

/* The decoded page-fault error code, "P|W|U|R|I" or "-", into buf. */
void pf_error_text(uint64_t err, char *buf, unsigned cap);

/* A new, empty process memory for pid: its address space (as.create). */
status_t uvm_create(struct uvm *u, unsigned pid);

/* Unmaps everything, frees its tables and its pool (as.destroy): the
 * space may not be in CR3. Shared frames only lose a reference. */
void uvm_destroy(struct uvm *u);

/*
 * Adds a region (proc.region). The pages must be inside the user half
 * (OUT_OF_RANGE), not overlap another region (ALREADY_MAPPED); kind and
 * prot must make sense (INVALID_ARG); TABLE_FULL past UVM_MAX_REGIONS.
 */
status_t uvm_add_region(struct uvm *u, enum uvm_kind kind, vaddr_t va,
			uint64_t pages, unsigned prot);

/*
 * A loaded segment: a text (prot with X) or data region over
 * [va, va + memsz) rounded out to pages, mapped at once with fresh zeroed
 * pages (pmm why=user), the first filesz bytes copied from data. Fails
 * like uvm_add_region or with NO_MEMORY/POOL_EXHAUSTED, nothing left.
 */
status_t uvm_load(struct uvm *u, vaddr_t va, const void *data,
		  uint64_t filesz, uint64_t memsz, unsigned prot);

/* The heap region from brk (page aligned, past the loaded segments) and
 * the stack region below USER_STACK_TOP; pages come on a fault. */
status_t uvm_add_heap_and_stack(struct uvm *u, vaddr_t brk);

/*
 * The page fault at va with error code err (PF_* bits), written as
 * pf.fault with rip and mode (user or kernel): resolves it (pf.resolve)
 * or says why the process must die (its proc.kill is the caller's).
 */
enum uvm_fault_result uvm_fault(struct uvm *u, vaddr_t va, uint64_t err,
				vaddr_t rip, bool user_mode);

/*
 * sbrk: moves the heap's end by delta bytes and returns the old end.
 * Shrinking unmaps the pages past the new end (frames freed or
 * unshared). OUT_OF_RANGE below the heap's start or past UVM_HEAP_END.
 */
status_t uvm_sbrk(struct uvm *u, int64_t delta, vaddr_t *old);

/* An mmap region of `pages` pages (prot UVM_R or UVM_R|UVM_W) at the
 * lowest free place in [UVM_MMAP_BASE, UVM_MMAP_END). NOT_FOUND if none. */
status_t uvm_mmap(struct uvm *u, uint64_t pages, uint64_t prot, vaddr_t *out);

/* Removes the mmap region that starts at va and has `pages` pages,
 * unmapping its pages (proc.unregion). NOT_FOUND if there is none. */
status_t uvm_munmap(struct uvm *u, vaddr_t va, uint64_t pages);

/*
 * Copy-on-write fork: child (made by uvm_create) gets the parent's
 * regions and every mapped page, shared read-only in both (COW where it
 * was writable) with the frames' counts raised (cow.ref, cow.share).
 * NO_MEMORY or POOL_EXHAUSTED before anything is shared if the counts or
 * the child's tables cannot be had; the caller destroys the child then.
 */
status_t uvm_fork(struct uvm *parent, struct uvm *child);

/* The region holding va, or NULL. */
const struct uvm_region *uvm_find(const struct uvm *u, vaddr_t va);

/*
 * True if the process may access [va, va + n) that way (write: the
 * regions are writable): the check a system call makes before it copies.
 */
bool uvm_range_ok(const struct uvm *u, vaddr_t va, uint64_t n, bool write);

#endif
