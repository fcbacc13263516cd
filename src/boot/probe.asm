; probe.asm - touch an address and learn whether it faulted.
;
; Tests prove page rights by faulting on purpose: a write to kernel text must
; fault, a fetch from the page table pool must fault. Each probe below is a
; single instruction listed in the .fixups table (faulting instruction,
; landing address). When it faults, exception_handler finds it there, records
; the fault, sets RAX = 1 and resumes at the landing instead of stopping the
; kernel. Without a fault RAX stays 0. probe.h has the C side.

bits 64
section .text
global probe_read_asm, probe_write_asm, probe_exec_asm, probe_exec_landing
global probe_exec_target

probe_read_asm:           ; uint64_t probe_read_asm(uint64_t va)
    xor eax, eax
.access:
    mov cl, [rdi]         ; may fault: read one byte
.landing:
    ret

probe_write_asm:          ; uint64_t probe_write_asm(uint64_t va, uint8_t v)
    xor eax, eax
.access:
    mov [rdi], sil        ; may fault: write one byte
.landing:
    ret

probe_exec_asm:           ; uint64_t probe_exec_asm(uint64_t va)
    xor eax, eax
    mov [rel probe_exec_target], rdi  ; tells the handler a fetch fault at
    call rdi              ;   this RIP is expected; it then pops the return
probe_exec_landing:       ;   address and resumes here
    mov qword [rel probe_exec_target], 0
    ret

section .fixups
    dq probe_read_asm.access, probe_read_asm.landing
    dq probe_write_asm.access, probe_write_asm.landing

section .bss
probe_exec_target: resq 1
