/* idt.h - exceptions: the IDT, the handler and the fault fixups (docs/boot.md). */
#ifndef VITRINE_IDT_H
#define VITRINE_IDT_H

#include <stdint.h>

/* What isr.asm pushes, lowest address first. */
struct interrupt_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/* Page-fault error code bits (SDM vol. 3, 4.7). */
#define PF_PRESENT (1u << 0)  /* 0: the page was not present */
#define PF_WRITE (1u << 1)    /* the access was a write */
#define PF_USER (1u << 2)     /* the access came from ring 3 */
#define PF_RESERVED (1u << 3) /* a reserved bit was set in an entry */
#define PF_FETCH (1u << 4)    /* the access was an instruction fetch */

/* Fills the IDT with the 32 exception stubs and loads it. */
void idt_init(void);

/* Writes the page-fault error code as "P|W|U|R|I" (or "-") into buf. */
void idt_decode_pf(uint64_t error_code, char *buf, unsigned cap);

#endif
