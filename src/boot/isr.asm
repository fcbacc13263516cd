; isr.asm - the 32 exception entry points, the system-call entry (int 0x80)
; and their common path.
;
; The CPU pushes SS, RSP, RFLAGS, CS, RIP and, for some vectors, an error
; code. Each stub pushes a zero in place of the missing error code (so every
; frame has the same shape), then the vector number, and jumps to
; isr_common, which saves the general registers and calls
; exception_handler(struct interrupt_frame *). If the handler returns (a
; fault from a probe, see probe.asm), the registers are restored from the
; frame, which the handler may have changed, and iretq resumes there.

bits 64
section .text
extern exception_handler

%macro STUB_NO_ERROR 1
isr_%1:
    push 0                ; no error code from the CPU: push one ourselves
    push %1               ; the vector number
    jmp isr_common
%endmacro

%macro STUB_ERROR 1
isr_%1:
    push %1               ; the CPU already pushed the error code
    jmp isr_common
%endmacro

; Vectors with an error code: 8, 10-14, 17, 21, 29, 30 (SDM vol. 3, 6.15).
STUB_NO_ERROR 0
STUB_NO_ERROR 1
STUB_NO_ERROR 2
STUB_NO_ERROR 3
STUB_NO_ERROR 4
STUB_NO_ERROR 5
STUB_NO_ERROR 6
STUB_NO_ERROR 7
STUB_ERROR    8
STUB_NO_ERROR 9
STUB_ERROR    10
STUB_ERROR    11
STUB_ERROR    12
STUB_ERROR    13
STUB_ERROR    14
STUB_NO_ERROR 15
STUB_NO_ERROR 16
STUB_ERROR    17
STUB_NO_ERROR 18
STUB_NO_ERROR 19
STUB_NO_ERROR 20
STUB_ERROR    21
STUB_NO_ERROR 22
STUB_NO_ERROR 23
STUB_NO_ERROR 24
STUB_NO_ERROR 25
STUB_NO_ERROR 26
STUB_NO_ERROR 27
STUB_NO_ERROR 28
STUB_ERROR    29
STUB_ERROR    30
STUB_NO_ERROR 31
STUB_NO_ERROR 128         ; int 0x80: a system call from ring 3 (src/proc/)

isr_common:
    push rax              ; save every general register: the layout must
    push rbx              ;   match struct interrupt_frame in idt.h
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp          ; the frame is the argument
    cld                   ; the C ABI wants the direction flag clear
    mov rbx, rsp          ; keep the frame in a callee-saved register
    and rsp, -16          ; the C ABI wants a 16-byte aligned stack at a call
    call exception_handler
    mov rsp, rbx
isr_return:               ; restores the frame at RSP and resumes it
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16           ; drop the vector and the error code
    iretq

; void proc_enter(struct interrupt_frame *f, struct kernel_context *k)
; Saves the kernel's callee-saved registers, stack and return address in k,
; then resumes frame f (a process in ring 3) as if returning from a trap.
; proc_leave(k) comes back: proc_enter then returns to its caller.
global proc_enter, proc_leave
proc_enter:
    mov [rsi + 0], rbx
    mov [rsi + 8], rbp
    mov [rsi + 16], r12
    mov [rsi + 24], r13
    mov [rsi + 32], r14
    mov [rsi + 40], r15
    mov rax, [rsp]        ; the return address
    mov [rsi + 56], rax
    lea rax, [rsp + 8]    ; the stack pointer after the return
    mov [rsi + 48], rax
    mov rsp, rdi
    jmp isr_return

; void proc_leave(const struct kernel_context *k): back into proc_enter's
; caller, on the kernel's own stack, from any trap handler.
proc_leave:
    mov rbx, [rdi + 0]
    mov rbp, [rdi + 8]
    mov r12, [rdi + 16]
    mov r13, [rdi + 24]
    mov r14, [rdi + 32]
    mov r15, [rdi + 40]
    mov rsp, [rdi + 48]
    jmp [rdi + 56]

; The table of stub addresses, for idt.c.
section .rodata
global isr_stubs
align 8
isr_stubs:
%assign i 0
%rep 32
    dq isr_ %+ i
%assign i i + 1
%endrep
global isr_syscall_stub
isr_syscall_stub:
    dq isr_128
