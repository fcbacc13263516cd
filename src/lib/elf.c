/*
 * elf.c - checking a user program (elf.h). The layouts are those of the
 * System V ABI (ELF-64 object file format, version 1.5).
 */
#include "elf.h"

#include <stdbool.h>
#include <stddef.h>

#define EHDR_SIZE 64
#define PHDR_SIZE 56
#define ET_EXEC 2
#define EM_X86_64 62
#define PT_LOAD 1
#define PAGE 4096ull

/* Little-endian reads at any offset (the file may be unaligned). */
static uint64_t get(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = bytes; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* a + b <= limit, without overflow. */
static bool fits(uint64_t a, uint64_t b, uint64_t limit)
{
	return a <= limit && b <= limit - a;
}

static const char *check_segment(const struct elf_segment *s, uint64_t size,
				 uint64_t lo, uint64_t hi, uint64_t max_bytes)
{
	if (s->filesz > s->memsz)
		return "segment with more file bytes than memory bytes";
	if (s->memsz > max_bytes)
		return "segment too large";
	if (!fits(s->offset, s->filesz, size))
		return "segment past the end of the file";
	if (s->va < lo || !fits(s->va, s->memsz, hi))
		return "segment outside user space";
	if ((s->flags & (ELF_PF_W | ELF_PF_X)) == (ELF_PF_W | ELF_PF_X))
		return "segment both writable and executable";
	if (!(s->flags & ELF_PF_R))
		return "segment not readable";
	return NULL;
}

/* The pages [va & ~4095, va + memsz rounded up) of two segments meet. */
static bool pages_overlap(const struct elf_segment *a,
			  const struct elf_segment *b)
{
	uint64_t a0 = a->va & ~(PAGE - 1), a1 = (a->va + a->memsz + PAGE - 1) & ~(PAGE - 1);
	uint64_t b0 = b->va & ~(PAGE - 1), b1 = (b->va + b->memsz + PAGE - 1) & ~(PAGE - 1);
	return a0 < b1 && b0 < a1;
}

const char *elf_check(const uint8_t *data, uint64_t size, uint64_t lo,
		      uint64_t hi, uint64_t max_bytes, struct elf_image *out)
{
	if (!data || size < EHDR_SIZE)
		return "shorter than an ELF header";
	if (data[0] != 0x7f || data[1] != 'E' || data[2] != 'L' || data[3] != 'F')
		return "not an ELF file";
	if (data[4] != 2 || data[5] != 1 || data[6] != 1)
		return "not a 64-bit little-endian ELF file";
	if (get(data + 16, 2) != ET_EXEC)
		return "not an executable (ET_EXEC)";
	if (get(data + 18, 2) != EM_X86_64)
		return "not an x86-64 program";
	uint64_t phoff = get(data + 32, 8), phentsize = get(data + 54, 2),
		 phnum = get(data + 56, 2);
	if (phentsize != PHDR_SIZE)
		return "unexpected program header size";
	if (phnum == 0 || !fits(phoff, phnum * PHDR_SIZE, size))
		return "program headers past the end of the file";
	out->entry = get(data + 24, 8);
	out->count = 0;
	uint64_t total = 0;
	for (uint64_t i = 0; i < phnum; i++) {
		const uint8_t *ph = data + phoff + i * PHDR_SIZE;
		if (get(ph, 4) != PT_LOAD)
			continue;
		if (out->count == ELF_MAX_SEGMENTS)
			return "too many segments";
		struct elf_segment s = {
			.flags = (unsigned)get(ph + 4, 4),
			.offset = get(ph + 8, 8),
			.va = get(ph + 16, 8),
			.filesz = get(ph + 32, 8),
			.memsz = get(ph + 40, 8),
		};
		if (s.memsz == 0 && s.filesz == 0)
			continue; /* an empty segment (no data): nothing to load */
		const char *why = check_segment(&s, size, lo, hi, max_bytes);
		if (why)
			return why;
		for (unsigned k = 0; k < out->count; k++)
			if (pages_overlap(&s, &out->seg[k]))
				return "segments overlap";
		if (!fits(total, s.memsz, max_bytes))
			return "segments too large";
		total += s.memsz;
		out->seg[out->count++] = s;
	}
	if (out->count == 0)
		return "no loadable segment";
	for (unsigned k = 0; k < out->count; k++) {
		const struct elf_segment *s = &out->seg[k];
		if (s->flags & ELF_PF_X && out->entry >= s->va &&
		    out->entry - s->va < s->memsz)
			return NULL;
	}
	return "entry point outside the text";
}
