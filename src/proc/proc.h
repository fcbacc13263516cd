/*
 * proc.h - user processes: the process table, the scheduler, the traps
 * from ring 3 (docs/user.md).
 *
 * A process is a uvm (its address space and regions, uvm.h) and the
 * registers it had when it last entered the kernel (a trap frame). The
 * kernel never sleeps inside a system call: a process that must wait is
 * marked so and another one runs. So one kernel stack for all traps from
 * ring 3 is enough (the TSS's RSP0), and switching processes is copying
 * trap frames: the interrupted process's frame is saved in its slot, the
 * next one's frame is copied over it, and the trap returns into the next
 * process (after loading its CR3).
 *
 * Scheduling is round-robin in pid order on yield, wait and exit; there is
 * no timer, so every run of the same programs is the same trace.
 */
#ifndef VITRINE_PROC_H
#define VITRINE_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include "idt.h"
#include "status.h"
#include "uvm.h"

#define PROC_MAX 16          /* processes at once: TABLE_FULL past it */
#define PROC_NAME_MAX 16
#define PROC_KILLED_CODE 255 /* the exit code wait() sees for a killed one */

enum proc_state {
	PROC_FREE,    /* the slot is unused */
	PROC_READY,   /* can run */
	PROC_WAITING, /* in wait(), for a child to end */
	PROC_ZOMBIE,  /* ended: its memory is gone, its code not collected */
};

struct proc {
	unsigned pid;                 /* 1, 2, ...; never reused in a run */
	enum proc_state state;
	unsigned parent;              /* 0: the kernel */
	char name[PROC_NAME_MAX];
	struct uvm uvm;
	struct interrupt_frame frame; /* its registers while it does not run */
	uint64_t code;                /* exit code, once a zombie */
};

/* A program the kernel carries (src/user/, embedded at build time). */
struct user_program {
	const char *name;
	const uint8_t *elf;
	uint64_t size;
};

/* The program called name, or NULL. */
const struct user_program *proc_program(const char *name);

/*
 * Starts program name as a new process of the kernel: checks its ELF
 * (err.bad_elf, nothing made), makes its memory (as.create, proc.create,
 * proc.region, the segments' pages), its heap and stack regions and its
 * first registers (proc.exec). NOT_FOUND for an unknown program,
 * TABLE_FULL if every slot is taken, or the memory's failure.
 */
status_t proc_spawn(const char *name, unsigned *pid);

/*
 * Runs the ready processes until none is left (each ends by exit or is
 * killed); the kernel collects the codes of its own and of orphans
 * (proc.reap pid=0). Returns the exit code of process pid (one the kernel
 * started), or PROC_KILLED_CODE if it was never collected.
 */
uint64_t proc_run(unsigned pid);

/*
 * Called by exception_handler first for every trap: a system call, an
 * exception in ring 3 (a page fault is resolved or kills the process;
 * any other kills it), or a page fault of a user copy. Returns false if
 * the trap is none of these (the kernel's own fault).
 */
bool proc_trap(struct interrupt_frame *f, uint64_t cr2);

/* ---- for syscall.c ---- */

/* The process running now (NULL outside proc_run). */
struct proc *proc_current(void);

/* The process that called fork gets a child: a copy-on-write copy of its
 * memory (uvm_fork) and of its registers, but RAX = 0. */
status_t proc_fork(struct interrupt_frame *f, unsigned *child);

/* Ends the current process with code (proc.exit), then runs the next. */
void proc_exit(struct interrupt_frame *f, uint64_t code);

/* wait(): collects an ended child (proc.reap) into *child and *code, or
 * returns BUSY after putting the caller to sleep until one ends (the call
 * is then made again); NO_CHILD if it has no child. */
status_t proc_wait(struct interrupt_frame *f, unsigned *child, uint64_t *code);

/* Lets the next ready process run (yield). */
void proc_yield(struct interrupt_frame *f);

/* Copies n bytes from or to the current process's memory at user address
 * uva: BAD_USER_POINTER if any byte is not the process's to read (or
 * write), NO_MEMORY if a page it may use could not be made. The caller
 * writes the err.* event. */
status_t copy_from_user(void *dst, vaddr_t uva, uint64_t n);
status_t copy_to_user(vaddr_t uva, const void *src, uint64_t n);

/* The system call in f (syscall.c). */
void syscall_dispatch(struct interrupt_frame *f);

#endif
