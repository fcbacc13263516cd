/* idt.h - exceptions: the IDT, the handler and the fault fixups (docs/boot.md). */
#ifndef VITRINE_IDT_H
#define VITRINE_IDT_H

#include <stdint.h>

#include "pte.h"

/* What isr.asm pushes, lowest address first. */
struct interrupt_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/* The page-fault error code bits PF_* are in pte.h. */

/* The short name of exception vector (0..31): "UD", "GP", "PF"... */
const char *idt_exception_name(uint64_t vector);

/* Fills the IDT with the 32 exception stubs and the system-call gate
 * (vector 0x80, callable from ring 3) and loads it. */
void idt_init(void);


#endif
