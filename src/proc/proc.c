/*
 * proc.c - processes, the scheduler and the traps from ring 3 (proc.h).
 */
#include "proc.h"
#include "swap.h"

#include "cpu.h"
#include "elf.h"
#include "frame.h"
#include "gdt.h"
#include "paging.h"
#include "panic.h"
#include "format.h"
#include "string.h"
#include "trace.h"

/* What proc_enter saves of the kernel, for proc_leave (isr.asm). */
struct kernel_context {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
};
void proc_enter(struct interrupt_frame *f, struct kernel_context *k);
__attribute__((noreturn)) void proc_leave(const struct kernel_context *k);

extern const struct user_program user_programs[];
extern const uint64_t user_program_count;
extern const char user_copy_access[];

#define TRAP_STACK_SIZE 16384
static uint8_t trap_stack[TRAP_STACK_SIZE] __attribute__((aligned(16)));

static struct proc procs[PROC_MAX];
static struct proc *current;
static unsigned next_pid = 1;
static unsigned watched_pid;       /* proc_run's pid and its code */
static uint64_t watched_code;
static enum uvm_fault_result copy_fault; /* how the last user copy's fault ended */
static struct kernel_context kernel_context;

const struct user_program *proc_program(const char *name)
{
	for (uint64_t i = 0; i < user_program_count; i++)
		if (strcmp(user_programs[i].name, name) == 0)
			return &user_programs[i];
	return NULL;
}

struct proc *proc_current(void)
{
	return current;
}

static struct proc *proc_by_pid(unsigned pid)
{
	for (unsigned i = 0; i < PROC_MAX; i++)
		if (procs[i].state != PROC_FREE && procs[i].pid == pid)
			return &procs[i];
	return NULL;
}

static struct proc *proc_slot(void)
{
	for (unsigned i = 0; i < PROC_MAX; i++)
		if (procs[i].state == PROC_FREE)
			return &procs[i];
	return NULL;
}

/* A new process in slot p: its memory (as.create) and proc.create. */
static status_t proc_make(struct proc *p, unsigned parent, const char *name)
{
	status_t st = uvm_create(&p->uvm, next_pid);
	if (st != STATUS_OK)
		return st;
	p->pid = next_pid++;
	p->parent = parent;
	p->state = PROC_READY;
	size_t i = 0;
	for (; name[i] && i < PROC_NAME_MAX - 1; i++)
		p->name[i] = name[i];
	p->name[i] = '\0';
	trace_proc_create(p->pid, parent, p->uvm.as.pool->id, p->name);
	return STATUS_OK;
}

/* ---- starting a program ----------------------------------------------------- */

static unsigned uvm_prot(unsigned elf_flags)
{
	return UVM_R | (elf_flags & ELF_PF_W ? UVM_W : 0) |
	       (elf_flags & ELF_PF_X ? UVM_X : 0);
}

status_t proc_spawn(const char *name, unsigned *pid)
{
	TRACE_CALL();
	char quoted[TRACE_TEXT_MAX];
	const struct user_program *prog = proc_program(name);
	if (!prog)
		return trace_error(STATUS_NOT_FOUND, "name=%s",
				   trace_quote(name, quoted, sizeof quoted));
	struct elf_image img;
	const char *why = elf_check(prog->elf, prog->size, USER_BASE,
				    UVM_HEAP_END, UVM_MAX_LOAD_PAGES * PAGE_SIZE,
				    &img);
	if (why) {
		char reason[TRACE_TEXT_MAX];
		return trace_error(STATUS_BAD_ELF, "name=%s reason=%s",
				   trace_quote(name, quoted, sizeof quoted),
				   trace_quote(why, reason, sizeof reason));
	}
	struct proc *p = proc_slot();
	if (!p)
		return trace_error(STATUS_TABLE_FULL, "procs=%u", PROC_MAX);
	status_t st = proc_make(p, 0, prog->name);
	if (st != STATUS_OK)
		return st;
	vaddr_t end = 0;
	for (unsigned i = 0; i < img.count && st == STATUS_OK; i++) {
		const struct elf_segment *s = &img.seg[i];
		st = uvm_load(&p->uvm, s->va, prog->elf + s->offset, s->filesz,
			      s->memsz, uvm_prot(s->flags));
		if (s->va + s->memsz > end)
			end = s->va + s->memsz;
	}
	if (st == STATUS_OK)
		st = uvm_add_heap_and_stack(&p->uvm, end);
	if (st != STATUS_OK) {
		uvm_destroy(&p->uvm);
		trace_proc_end(p->pid);
		p->state = PROC_FREE;
		return st;
	}
	p->frame = (struct interrupt_frame){
		.rip = img.entry,
		.cs = GDT_USER_CODE | GDT_RPL_USER,
		.rflags = 0x2, /* bit 1 is always set; IF stays 0: no timer */
		.rsp = USER_STACK_TOP - 8, /* as after a call: the C ABI's */
		.ss = GDT_USER_DATA | GDT_RPL_USER,
	};
	trace_proc_exec(p->pid, p->frame.rip, p->frame.rsp);
	if (pid)
		*pid = p->pid;
	return STATUS_OK;
}

/* ---- the scheduler ---------------------------------------------------------- */

/* The next ready process after `after` in slot order (round-robin). */
static struct proc *proc_next_ready(const struct proc *after)
{
	unsigned start = after ? (unsigned)(after - procs) + 1 : 0;
	for (unsigned k = 0; k < PROC_MAX; k++) {
		struct proc *p = &procs[(start + k) % PROC_MAX];
		if (p->state == PROC_READY)
			return p;
	}
	return NULL;
}

/* Makes p the running process: proc.switch, its CR3. */
static void proc_switch_to(struct proc *p)
{
	if (p != current)
		trace_proc_switch(p->pid);
	current = p;
	if (arch_read_cr3() != p->uvm.as.pool->pa)
		aspace_switch(&p->uvm.as);
}

/*
 * The trap frame f goes back to ring 3 into the next ready process. The
 * caller saved the current one's registers if it is to go on. With no
 * process left, back to proc_run.
 */
static void proc_schedule(struct interrupt_frame *f)
{
	struct proc *next = proc_next_ready(current);
	if (!next) {
		current = NULL;
		proc_leave(&kernel_context);
	}
	proc_switch_to(next);
	*f = next->frame;
}

uint64_t proc_run(unsigned pid)
{
	watched_pid = pid;
	watched_code = PROC_KILLED_CODE;
	struct proc *first = proc_next_ready(NULL);
	if (!first)
		return watched_code;
	gdt_set_kernel_stack((uint64_t)(trap_stack + TRAP_STACK_SIZE));
	proc_switch_to(first);
	struct interrupt_frame *f =
		(void *)(trap_stack + TRAP_STACK_SIZE - sizeof *f);
	*f = first->frame;
	proc_enter(f, &kernel_context);
	/* proc_leave: every process has ended, so no frame is shared. */
	if (arch_read_cr3() != vm_kernel_pool->pa)
		aspace_switch(NULL);
	status_t st = frame_fini();
	ASSERT(st == STATUS_OK);
	return watched_code;
}

void proc_yield(struct interrupt_frame *f)
{
	current->frame = *f;
	proc_schedule(f);
}

/* ---- ending ----------------------------------------------------------------- */

/* Frees the slot of ended process p, whose parent (or the kernel)
 * collects code: proc.reap. */
static void proc_reap(struct proc *p, unsigned by)
{
	trace_proc_reap(by, p->pid, p->code);
	if (by == 0 && p->pid == watched_pid)
		watched_code = p->code;
	p->state = PROC_FREE;
}

/* The current process ends: its memory goes (as.destroy, proc.end), its
 * children go to the kernel, its parent is woken or it is collected. */
static void proc_end(struct interrupt_frame *f, uint64_t code)
{
	struct proc *p = current;
	aspace_switch(NULL);
	uvm_destroy(&p->uvm);
	swap_stat(); /* its slots are free again (docs/swap.md) */
	trace_proc_end(p->pid);
	p->code = code;
	p->state = PROC_ZOMBIE;
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *c = &procs[i];
		if (c->state == PROC_FREE || c->parent != p->pid)
			continue;
		c->parent = 0;
		if (c->state == PROC_ZOMBIE)
			proc_reap(c, 0);
	}
	struct proc *parent = p->parent ? proc_by_pid(p->parent) : NULL;
	if (!parent)
		proc_reap(p, 0);
	else if (parent->state == PROC_WAITING)
		parent->state = PROC_READY; /* its wait() runs again */
	proc_schedule(f);
}

void proc_exit(struct interrupt_frame *f, uint64_t code)
{
	trace_proc_exit(current->pid, code);
	proc_end(f, code);
}

static void proc_kill(struct interrupt_frame *f, const char *why, uint64_t va)
{
	trace_proc_kill(current->pid, why, va, f->rip);
	proc_end(f, PROC_KILLED_CODE);
}

status_t proc_wait(struct interrupt_frame *f, unsigned *child, uint64_t *code)
{
	TRACE_CALL();
	bool any = false;
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *c = &procs[i];
		if (c->state == PROC_FREE || c->parent != current->pid)
			continue;
		if (c->state == PROC_ZOMBIE) {
			*child = c->pid;
			*code = c->code;
			proc_reap(c, current->pid);
			return STATUS_OK;
		}
		any = true;
	}
	if (!any)
		return trace_error(STATUS_NO_CHILD, "pid=%u", current->pid);
	/* Sleep; when a child ends, the same int 0x80 (2 bytes) runs again. */
	current->frame = *f;
	current->frame.rip -= 2;
	current->state = PROC_WAITING;
	proc_schedule(f);
	return STATUS_BUSY;
}

/* ---- fork ------------------------------------------------------------------- */

status_t proc_fork(struct interrupt_frame *f, unsigned *child)
{
	TRACE_CALL();
	struct proc *c = proc_slot();
	if (!c)
		return trace_error(STATUS_TABLE_FULL, "procs=%u", PROC_MAX);
	status_t st = proc_make(c, current->pid, current->name);
	if (st != STATUS_OK)
		return st;
	st = uvm_fork(&current->uvm, &c->uvm);
	if (st != STATUS_OK) {
		uvm_destroy(&c->uvm);
		trace_proc_end(c->pid);
		c->state = PROC_FREE;
		return st;
	}
	c->frame = *f;
	c->frame.rax = 0;
	*child = c->pid;
	return STATUS_OK;
}

/* ---- traps ------------------------------------------------------------------ */

static status_t user_copy_checked(void *dst, const void *src, vaddr_t uva,
				  uint64_t n)
{
	uint64_t user_copy(void *dst, const void *src, uint64_t n);
	if (uva >= USER_END || n > USER_END - uva)
		return STATUS_BAD_USER_POINTER; /* a kernel address: never */
	if (!user_copy(dst, src, n))
		return STATUS_OK;
	return copy_fault == UVM_KILL_NO_MEMORY ? STATUS_NO_MEMORY
						: STATUS_BAD_USER_POINTER;
}

status_t copy_from_user(void *dst, vaddr_t uva, uint64_t n)
{
	return user_copy_checked(dst, (const void *)uva, uva, n);
}

status_t copy_to_user(vaddr_t uva, const void *src, uint64_t n)
{
	return user_copy_checked((void *)uva, src, uva, n);
}

bool proc_trap(struct interrupt_frame *f, uint64_t cr2)
{
	if (f->vector == 0x80 && (f->cs & 3) == GDT_RPL_USER) {
		syscall_dispatch(f);
		return true;
	}
	if (!current)
		return false;
	bool user = (f->cs & 3) == GDT_RPL_USER;
	if (f->vector == 14 && !user && f->rip == (uint64_t)user_copy_access) {
		/* A user copy: fix the page if the process may use it so;
		 * else the copy fails (the fixup table lands it). */
		copy_fault = uvm_fault(&current->uvm, cr2, f->error_code, f->rip,
				       false);
		if (UVM_FAULT_FIXED(copy_fault))
			return true;
		trace_pf_resolve(current->pid, cr2 & ~PAGE_MASK, "fixup");
		return false; /* not the kernel's fault: apply_fixup lands it */
	}
	if (!user)
		return false;
	if (f->vector == 2 || f->vector == 18)
		return false; /* NMI, machine check: not the process's doing */
	if (f->vector != 14) {
		char why[16];
		format(why, sizeof why, "cpu_%s", idt_exception_name(f->vector));
		proc_kill(f, why, 0);
		return true;
	}
	enum uvm_fault_result r =
		uvm_fault(&current->uvm, cr2, f->error_code, f->rip, true);
	if (!UVM_FAULT_FIXED(r))
		proc_kill(f, uvm_fault_name(r), cr2);
	return true;
}
