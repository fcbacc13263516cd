; boot.asm - from GRUB to C: the multiboot2 header, the 32-bit entry, the
; checks, the bootstrap page tables and the switch to 64-bit long mode.
;
; GRUB leaves us in 32-bit protected mode, paging off, at the physical
; address of boot_entry32, with EAX = multiboot2 magic and EBX = the physical
; address of the boot information (multiboot2 spec, 3.3). Everything in this
; file up to long_entry runs at physical addresses ("low"); the rest of the
; kernel is linked at -2 GiB (KERNEL_VMA) and is reached through the
; bootstrap tables built here. docs/boot.md walks through this file.

KERNEL_VMA      equ 0xFFFFFFFF80000000   ; where the kernel is linked (-2 GiB)
MB2_MAGIC       equ 0xE85250D6           ; header magic GRUB looks for
MB2_ARCH_I386   equ 0                    ; "32-bit protected mode i386"
MB2_BOOT_MAGIC  equ 0x36D76289           ; what GRUB puts in EAX

PTE_P           equ 1 << 0               ; present
PTE_W           equ 1 << 1               ; writable
PTE_PS          equ 1 << 7               ; in a PD entry: a 2 MiB page

CR0_EM          equ 1 << 2               ; no FPU: x87 instructions raise #NM
CR0_WP          equ 1 << 16              ; ring 0 honours read-only pages
CR0_PG          equ 1 << 31              ; paging on
CR4_PAE         equ 1 << 5               ; 64-bit entries, needed by long mode
EFER_MSR        equ 0xC0000080
EFER_LME        equ 1 << 8               ; long mode enable
EFER_NXE        equ 1 << 11              ; bit 63 of an entry means no-execute

E9              equ 0xE9                 ; Bochs/QEMU debug port: the trace
BOCHS_SHUTDOWN  equ 0x8900               ; write "Shutdown" here to stop Bochs
QEMU_EXIT       equ 0xF4                 ; isa-debug-exit

%include "trace_schema.inc"              ; the trace format version (schema)

; ---------------------------------------------------------------------------
; The multiboot2 header: GRUB searches the first 32 KiB of the file for it.
section .multiboot
align 8
mb2_header:
    dd MB2_MAGIC
    dd MB2_ARCH_I386
    dd mb2_header_end - mb2_header
    dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    ; information request tag: we need the command line (1) and memory map (6)
    align 8
    dw 1, 0                              ; type 1, flags 0 = required
    dd 16                                ; size of this tag
    dd 1, 6
    ; end tag
    align 8
    dw 0, 0
    dd 8
mb2_header_end:

; ---------------------------------------------------------------------------
section .boot.text
bits 32
global boot_entry32
boot_entry32:
    cli                                  ; no interrupts: we have no IDT yet
    cld
    mov esp, early_stack_top             ; a small stack at a physical address
    mov [boot_magic], eax                ; keep GRUB's magic and info pointer
    mov [boot_mbi], ebx                  ;   for kmain(magic, mbi)

    cmp eax, MB2_BOOT_MAGIC              ; booted by a multiboot2 loader?
    mov esi, msg_no_multiboot
    jne early_fail

    ; CPUID exists if bit 21 of EFLAGS (ID) can be flipped.
    pushfd
    pop eax
    mov ecx, eax                         ; ecx = original EFLAGS
    xor eax, 1 << 21
    push eax
    popfd                                ; try to flip ID
    pushfd
    pop eax
    push ecx
    popfd                                ; restore the original EFLAGS
    cmp eax, ecx
    mov esi, msg_no_cpuid
    je early_fail                        ; ID did not flip: no CPUID

    mov eax, 0x80000000                  ; highest extended CPUID leaf
    cpuid
    cmp eax, 0x80000001
    mov esi, msg_no_long_mode
    jb early_fail                        ; no leaf 0x80000001: no long mode
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29                    ; EDX.LM: long mode
    mov esi, msg_no_long_mode
    jz early_fail
    test edx, 1 << 20                    ; EDX.NX: the no-execute bit
    mov esi, msg_no_nx
    jz early_fail
    mov eax, 1
    cpuid
    test edx, 1 << 6                     ; EDX.PAE
    mov esi, msg_no_pae
    jz early_fail

    ; Bootstrap tables, all 2 MiB pages (docs/boot.md has the picture):
    ;   PML4[0]   -> boot_pdpt_low : 0..4 GiB identity, so this code survives
    ;                                the moment paging turns on
    ;   PML4[256] -> boot_pdpt_low : the same 4 GiB at 0xFFFF800000000000,
    ;                                the direct map (HHDM) C uses for RAM
    ;   PML4[511] -> boot_pdpt_high: [510] maps the first GiB at -2 GiB,
    ;                                where the kernel is linked
    ; The tables are in .boot.bss, zeroed by us (GRUB does not zero NOLOAD).
    mov edi, boot_tables_start
    mov ecx, (boot_tables_end - boot_tables_start) / 4
    xor eax, eax
    rep stosd

    mov eax, boot_pdpt_low + PTE_P + PTE_W
    mov [boot_pml4 + 0 * 8], eax
    mov [boot_pml4 + 256 * 8], eax
    mov eax, boot_pdpt_high + PTE_P + PTE_W
    mov [boot_pml4 + 511 * 8], eax

    mov edi, boot_pdpt_low               ; four PDPT entries -> four PDs
    mov eax, boot_pd + PTE_P + PTE_W
    mov ecx, 4
.next_pdpt:
    mov [edi], eax
    add eax, 4096
    add edi, 8
    loop .next_pdpt
    mov eax, boot_pd + PTE_P + PTE_W     ; -2 GiB -> physical 0
    mov [boot_pdpt_high + 510 * 8], eax

    mov edi, boot_pd                     ; 2048 PD entries: 2048 * 2 MiB = 4 GiB
    mov eax, PTE_P + PTE_W + PTE_PS      ; entry k maps physical k * 2 MiB
    mov ecx, 2048
.next_pd:
    mov [edi], eax                       ; the high dword stays 0: below 4 GiB
    add eax, 1 << 21
    add edi, 8
    loop .next_pd

    ; Into long mode (Intel SDM vol. 3, 10.8.5): PAE, CR3, EFER.LME, paging.
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, boot_pml4
    mov cr3, eax
    mov ecx, EFER_MSR
    rdmsr
    or eax, EFER_LME | EFER_NXE
    wrmsr
    mov eax, cr0
    or eax, CR0_PG | CR0_WP | CR0_EM     ; paging on: now in compatibility mode
    mov cr0, eax
    lgdt [boot_gdt_pointer]
    jmp BOOT_CODE64:long_entry           ; a 64-bit code segment: long mode

; early_fail: the CPU or the loader cannot run Vitrine. Writes a complete,
; checkable trace (header, one boot.fail event, end record with its CRC-32)
; on port 0xE9, then shuts the machine down. ESI = the event's fields.
early_fail:
    mov ebx, 0xFFFFFFFF                  ; ebx = running CRC-32 (inverted)
    push esi
    mov esi, msg_header
    call emit_crc
    mov esi, msg_event
    call emit_crc
    pop esi
    call emit_crc
    mov esi, msg_newline
    call emit_crc
    mov esi, msg_end
    call emit_plain
    not ebx                              ; the final CRC
    mov ecx, 8                           ; eight hex digits, high first
.hex:
    rol ebx, 4
    mov eax, ebx
    and eax, 0xF
    mov al, [hex_digits + eax]
    out E9, al
    loop .hex
    mov esi, msg_end_status
    call emit_plain
    mov dx, BOCHS_SHUTDOWN               ; Bochs: "Shutdown" to port 0x8900
    mov esi, msg_shutdown
.shutdown:
    lodsb
    test al, al
    jz .qemu
    out dx, al
    jmp .shutdown
.qemu:
    mov al, 1                            ; QEMU: exit status (1 << 1) | 1 = 3
    out QEMU_EXIT, al
.halt:
    hlt                                  ; neither emulator took it: stop here
    jmp .halt

; emit_crc: writes the NUL-terminated string at ESI to port 0xE9 and folds
; each byte into the CRC-32 in EBX (reflected, polynomial 0xEDB88320).
emit_crc:
    lodsb
    test al, al
    jz .done
    out E9, al
    xor bl, al
    mov ecx, 8
.bit:
    shr ebx, 1                           ; shift out the low bit ...
    jnc .no_xor
    xor ebx, 0xEDB88320                  ; ... and if it was 1, apply the poly
.no_xor:
    loop .bit
    jmp emit_crc
.done:
    ret

; emit_plain: writes the NUL-terminated string at ESI to port 0xE9.
emit_plain:
    lodsb
    test al, al
    jz .done
    out E9, al
    jmp emit_plain
.done:
    ret

; ---------------------------------------------------------------------------
bits 64
long_entry:
    mov ax, BOOT_DATA                    ; data segments: flat, ignored in
    mov ds, ax                           ;   long mode but must be valid
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rax, higher_half_entry           ; leave the identity map: jump to
    jmp rax                              ;   the kernel's linked address

; ---------------------------------------------------------------------------
section .boot.data
align 16
boot_gdt:                                ; flat segments; kmain loads the real GDT
    dq 0                                 ; 0x00: the null descriptor
    dq 0x00AF9A000000FFFF                ; 0x08: code, 64-bit (L=1), ring 0
    dq 0x00CF92000000FFFF                ; 0x10: data, writable
boot_gdt_end:
BOOT_CODE64 equ 0x08
BOOT_DATA   equ 0x10
boot_gdt_pointer:
    dw boot_gdt_end - boot_gdt - 1
    dd boot_gdt

global boot_magic, boot_mbi
boot_magic: dd 0
boot_mbi:   dd 0

hex_digits:       db "0123456789abcdef"
msg_header:       db '@vitrine v', TRACE_FORMAT_VERSION_TEXT, ' cmdline="" early=1', 10, 0
msg_event:        db "1 boot.fail ", 0
msg_newline:      db 10, 0
msg_end:          db "@end count=1 crc=0x", 0
msg_end_status:   db " status=reject", 10, 0
msg_shutdown:     db "Shutdown", 0
msg_no_multiboot: db 'reason=no_multiboot2 msg="not started by a multiboot2 loader: boot Vitrine with GRUB (multiboot2)"', 0
msg_no_cpuid:     db 'reason=no_cpuid msg="this CPU has no CPUID instruction: Vitrine needs an x86-64 CPU"', 0
msg_no_long_mode: db 'reason=no_long_mode msg="this CPU has no long mode (CPUID 80000001h EDX bit 29): Vitrine needs an x86-64 CPU"', 0
msg_no_nx:        db 'reason=no_nx msg="this CPU has no no-execute bit (CPUID 80000001h EDX bit 20): Vitrine needs it"', 0
msg_no_pae:       db 'reason=no_pae msg="this CPU has no PAE (CPUID 1 EDX bit 6): long mode needs it"', 0

; ---------------------------------------------------------------------------
section .boot.bss nobits alloc write
align 4096
boot_tables_start:
boot_pml4:      resb 4096
boot_pdpt_low:  resb 4096
boot_pdpt_high: resb 4096
boot_pd:        resb 4 * 4096           ; four PDs: 0..4 GiB in 2 MiB pages
boot_tables_end:
early_stack:    resb 4096
early_stack_top:

; ---------------------------------------------------------------------------
; From here on: linked in the higher half.
section .text
bits 64
extern kmain

higher_half_entry:
    mov rsp, kernel_stack_top            ; the real stack (guard page below)
    xor ebp, ebp                         ; end of the frame-pointer chain
    mov edi, [abs boot_magic]            ; kmain(magic, mbi physical address)
    mov esi, [abs boot_mbi]
    call kmain
.hang:                                   ; kmain never returns; if it did:
    cli
    hlt
    jmp .hang

; ---------------------------------------------------------------------------
; The kernel stack, with one guard page under it. Once the kernel runs on its
; own page table pool the guard page is left unmapped, so an overflow faults
; at a known address and the page-fault handler (on its own IST stack)
; reports it as a stack overflow instead of corrupting memory. Its own
; section, placed by linker.ld after the data slot, at the same address in
; every build.
section .kernel_stack nobits alloc write align=4096
global kernel_stack_guard, kernel_stack_top
kernel_stack_guard: resb 4096
kernel_stack:       resb 16384
kernel_stack_top:
