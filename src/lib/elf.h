/*
 * elf.h - reading a user program: the checks an ELF file must pass before
 * the kernel loads it (docs/user.md).
 *
 * Vitrine loads static x86-64 executables (ET_EXEC) and reads only their
 * program headers: each PT_LOAD segment says where it goes (p_vaddr), how
 * many bytes come from the file (p_filesz, at p_offset) and how many it
 * spans (p_memsz; the rest is zero, the bss), and its rights (p_flags).
 * Everything the file says is checked against the file's size and the
 * space it may use before anything is made, so a truncated file, another
 * machine's file, a segment reaching into the kernel half or an absurd
 * size is refused with a reason, never half-loaded.
 */
#ifndef VITRINE_ELF_H
#define VITRINE_ELF_H

#include <stdint.h>

#define ELF_MAX_SEGMENTS 8 /* PT_LOAD segments: more is refused */

/* p_flags */
#define ELF_PF_X 1u
#define ELF_PF_W 2u
#define ELF_PF_R 4u

struct elf_segment {
	uint64_t va, offset, filesz, memsz;
	unsigned flags; /* ELF_PF_* */
};

struct elf_image {
	uint64_t entry;
	unsigned count;
	struct elf_segment seg[ELF_MAX_SEGMENTS];
};

/*
 * Checks the size bytes at data as a program whose segments must lie in
 * [lo, hi) and span at most max_bytes in all. Returns NULL and fills *out
 * if it is acceptable, else the reason (a short phrase for the trace).
 */
const char *elf_check(const uint8_t *data, uint64_t size, uint64_t lo,
		      uint64_t hi, uint64_t max_bytes, struct elf_image *out);

#endif
