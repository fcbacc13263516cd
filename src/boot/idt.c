/*
 * idt.c - the Interrupt Descriptor Table and what happens on an exception.
 *
 * A trap from a user process (a system call, an exception in ring 3, a
 * page fault of a user copy) goes to src/proc/ (proc_trap). Any other
 * exception is either expected (an instruction in the fixup table, from
 * probe.asm) and then recorded and resumed, or it is a bug: then the trace
 * gets one cpu.fault event with the vector, its name, the error code, RIP
 * and, for a page fault, CR2 and the decoded error code, and the run ends
 * with status=fault. Interrupts stay disabled in Vitrine: only the 32
 * exception vectors and the system-call vector 0x80 are filled.
 */
#include "idt.h"

#include <stdbool.h>

#include "cpu.h"
#include "format.h"
#include "gdt.h"
#include "platform.h"
#include "probe.h"
#include "proc.h"
#include "trace.h"
#include "uvm.h"

struct __attribute__((packed)) idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;       /* bits 0-2: IST slot, 0 = the current stack */
	uint8_t type_attr; /* 0x8E: present, DPL 0, 64-bit interrupt gate;
			    * 0xEE: the same with DPL 3 (int 0x80 from ring 3) */
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
};

struct __attribute__((packed)) idt_pointer {
	uint16_t limit;
	uint64_t base;
};

struct fixup {
	uint64_t fault_rip, landing_rip;
};

extern const uint64_t isr_stubs[32];
extern const uint64_t isr_syscall_stub;
extern const struct fixup __fixups_start[], __fixups_end[];
extern uint64_t probe_exec_target;
extern const char probe_exec_landing[];
extern const char kernel_stack_guard[];

#define SYSCALL_VECTOR 0x80
static struct idt_gate idt[SYSCALL_VECTOR + 1];
static struct probe_result last_probe;

static const char *const exception_names[32] = {
	"DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "CSO", "TS",
	"NP", "SS", "GP", "PF", "15", "MF", "AC", "MC", "XM", "VE", "CP",
	"22", "23", "24", "25", "26", "27", "HV", "VC", "SX", "31",
};

static struct idt_gate gate(uint64_t addr, int ist, uint8_t type_attr)
{
	return (struct idt_gate){
		.offset_low = addr & 0xFFFF,
		.selector = GDT_KERNEL_CODE,
		.ist = (uint8_t)ist,
		.type_attr = type_attr,
		.offset_mid = (addr >> 16) & 0xFFFF,
		.offset_high = addr >> 32,
	};
}

void idt_init(void)
{
	for (int v = 0; v < 32; v++) {
		int ist = 0;
		if (v == 8)
			ist = IST_DOUBLE_FAULT;
		else if (v == 14)
			ist = IST_PAGE_FAULT;
		else if (v == 2 || v == 18)
			ist = IST_OTHER;
		idt[v] = gate(isr_stubs[v], ist, 0x8E);
	}
	idt[SYSCALL_VECTOR] = gate(isr_syscall_stub, 0, 0xEE);
	struct idt_pointer ptr = { sizeof idt - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" : : "m"(ptr));
}

/* If the fault came from a probe, records it, redirects f and returns true. */
static bool apply_fixup(struct interrupt_frame *f, uint64_t cr2)
{
	uint64_t landing = 0;
	for (const struct fixup *x = __fixups_start; x < __fixups_end; x++) {
		if (x->fault_rip == f->rip)
			landing = x->landing_rip;
	}
	if (!landing && probe_exec_target && f->rip == probe_exec_target) {
		landing = (uint64_t)probe_exec_landing;
		f->rsp += 8; /* drop the return address pushed by `call` */
	}
	if (!landing)
		return false;
	last_probe = (struct probe_result){ true, f->vector, f->error_code, cr2 };
	f->rip = landing;
	f->rax = 1;
	return true;
}

const char *idt_exception_name(uint64_t vector)
{
	return exception_names[vector & 31];
}

void exception_handler(struct interrupt_frame *f)
{
	static int depth;
	uint64_t cr2 = f->vector == 14 ? read_cr2() : 0;
	if (proc_trap(f, cr2) || apply_fixup(f, cr2))
		return;
	if (++depth > 1) {
		/* A fault while reporting a fault: say so with the least code. */
		trace_warn_nested_fault(f->vector, f->rip, cr2);
		platform_stop("fault");
	}
	const char *name = exception_names[f->vector & 31];
	if (f->vector != 14) {
		trace_cpu_fault(f->vector, name, f->error_code, f->rip);
		platform_stop("fault");
	}
	char pf[16];
	pf_error_text(f->error_code, pf, sizeof pf);
	uint64_t guard = (uint64_t)kernel_stack_guard;
	bool overflow = cr2 >= guard && cr2 - guard < 4096;
	if (overflow)
		trace_cpu_fault_cr2_pf_why(f->vector, name, f->error_code, f->rip,
					   cr2, pf, "stack_overflow");
	else
		trace_cpu_fault_cr2_pf(f->vector, name, f->error_code, f->rip, cr2,
				       pf);
	platform_stop("fault");
}

extern uint64_t probe_read_asm(uint64_t va);
extern uint64_t probe_write_asm(uint64_t va, uint8_t value);
extern uint64_t probe_exec_asm(uint64_t va);

/* Runs one probe and turns its RAX and the recorded fault into a result. */
static struct probe_result finish_probe(uint64_t faulted)
{
	struct probe_result r = faulted ? last_probe : (struct probe_result){ 0 };
	last_probe = (struct probe_result){ 0 };
	return r;
}

struct probe_result probe_read(uint64_t va)
{
	return finish_probe(probe_read_asm(va));
}

struct probe_result probe_write(uint64_t va, uint8_t value)
{
	return finish_probe(probe_write_asm(va, value));
}

struct probe_result probe_exec(uint64_t va)
{
	return finish_probe(probe_exec_asm(va));
}
