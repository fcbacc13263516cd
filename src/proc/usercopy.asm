; usercopy.asm - copying between the kernel and a process's memory.
;
; A system call's pointers come from ring 3 and may point anywhere. The
; copy is one instruction, rep movsb, listed in the .fixups table like the
; probes of probe.asm. When it faults, the page-fault handler first asks
; the process's regions (uvm_fault, mode=kernel): a heap page not yet
; touched, a stack page, a copy-on-write page are made and the copy goes on
; where it stopped (rep movsb keeps its place in RSI, RDI and RCX). If the
; address is not the process's to use that way, the handler writes
; pf.resolve how=fixup and resumes at the landing with RAX = 1: the copy
; fails and the system call returns BAD_USER_POINTER (src/proc/syscall.c).

bits 64
section .text
global user_copy, user_copy_access

; uint64_t user_copy(void *dst, const void *src, uint64_t n): 0, or 1 if
; it faulted without a fix.
user_copy:
    xor eax, eax
    mov rcx, rdx
user_copy_access:
    rep movsb             ; may fault on either side that is the user's
user_copy_landing:
    ret

section .fixups
    dq user_copy_access, user_copy_landing
