/*
 * syscall.c - the system calls (src/user/sys.h, docs/user.md).
 *
 * Each one reads its arguments from the trap frame, does its work and
 * puts its result in the frame's RAX. A success writes sys.call; a failure
 * writes err.<status> fn=sys_<name> (the system call's own check, or the
 * call below it) and returns the negative status. exit, and wait and yield
 * when they give the CPU to another process, return into another frame.
 */
#include "proc.h"

#include "sys.h"
#include "trace.h"

static const char *const names[SYS_COUNT] = {
	"exit", "write", "getpid", "sbrk", "mmap", "munmap", "fork", "wait",
	"yield",
};

/* Writes the bytes to the trace as user.write events of at most
 * WRITE_PIECE bytes: even if every byte needs its 4-character escape, a
 * piece fits a text value whole (nothing is cut). */
#define WRITE_PIECE ((TRACE_TEXT_MAX - 8) / 4)
static status_t sys_write(uint64_t fd, vaddr_t buf, uint64_t n)
{
	TRACE_CALL();
	struct proc *p = proc_current();
	if (fd != 1 && fd != 2)
		return trace_error(STATUS_INVALID_ARG, "pid=%u fd=%lu", p->pid, fd);
	if (n > SYS_WRITE_MAX)
		return trace_error(STATUS_TOO_LARGE, "pid=%u n=%lu", p->pid, n);
	/* All of it is copied first: a bad pointer halfway writes nothing. */
	static char bytes[SYS_WRITE_MAX];
	status_t st = copy_from_user(bytes, buf, n);
	if (st != STATUS_OK)
		return trace_error(st, "pid=%u va=%#lx n=%lu", p->pid, buf, n);
	for (uint64_t done = 0; done < n;) {
		uint64_t k = n - done < WRITE_PIECE ? n - done : WRITE_PIECE;
		trace_user_write(p->pid, (struct trace_bytes){ bytes + done, k });
		done += k;
	}
	return STATUS_OK;
}

static status_t sys_wait(struct interrupt_frame *f, vaddr_t code_va,
			 unsigned *child)
{
	TRACE_CALL();
	uint64_t code;
	struct proc *p = proc_current();
	/* The pointer is checked against the regions before a child is
	 * collected, so a failed wait collects nothing. */
	if (code_va && !uvm_range_ok(&p->uvm, code_va, sizeof code, true))
		return trace_error(STATUS_BAD_USER_POINTER, "pid=%u va=%#lx",
				   p->pid, code_va);
	status_t st = proc_wait(f, child, &code);
	if (st == STATUS_OK && code_va) {
		st = copy_to_user(code_va, &code, sizeof code);
		if (st != STATUS_OK) /* a page that could not be made */
			return trace_error(st, "pid=%u va=%#lx child=%u code=%lu",
					   p->pid, code_va, *child, code);
	}
	return st;
}

/* Pages that hold `bytes` bytes, without wrapping near 2^64. */
static uint64_t pages_of(uint64_t bytes)
{
	return bytes / PAGE_SIZE + (bytes % PAGE_SIZE != 0);
}

void syscall_dispatch(struct interrupt_frame *f)
{
	struct proc *p = proc_current();
	uint64_t n = f->rax, a0 = f->rdi, a1 = f->rsi;
	uint64_t ret = 0;
	status_t st = STATUS_OK;
	switch (n) {
	case SYS_EXIT:
		proc_exit(f, a0);
		return;
	case SYS_WRITE:
		st = sys_write(a0, a1, f->rdx);
		ret = f->rdx;
		break;
	case SYS_GETPID:
		ret = p->pid;
		break;
	case SYS_SBRK:
		st = uvm_sbrk(&p->uvm, (int64_t)a0, &ret);
		break;
	case SYS_MMAP:
		st = uvm_mmap(&p->uvm, pages_of(a0), a1, &ret);
		break;
	case SYS_MUNMAP:
		st = uvm_munmap(&p->uvm, a0, pages_of(a1));
		break;
	case SYS_FORK: {
		unsigned child;
		st = proc_fork(f, &child);
		ret = child;
		break;
	}
	case SYS_WAIT: {
		unsigned child;
		st = sys_wait(f, a0, &child);
		if (st == STATUS_BUSY)
			return; /* asleep: f is another process's now */
		ret = child;
		break;
	}
	case SYS_YIELD:
		f->rax = 0;
		trace_sys_call(p->pid, names[n], 0);
		proc_yield(f);
		return;
	default: {
		TRACE_CALL();
		st = trace_error(STATUS_BAD_SYSCALL, "pid=%u n=%lu", p->pid, n);
	}
	}
	if (st != STATUS_OK) {
		f->rax = (uint64_t)-(int64_t)st;
		return;
	}
	f->rax = ret;
	trace_sys_call(p->pid, names[n], ret);
}
