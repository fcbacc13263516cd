/*
 * fuzz_elf.c - libFuzzer target: elf_check on any bytes.
 *
 * The input is a candidate user program. Whatever elf_check answers, it
 * must not read outside the input (ASan watches) and, when it accepts,
 * everything the loader will trust must hold, checked again here in the
 * plainest way: every segment inside the user window and the file, no
 * two segments on one page, none both writable and executable, the entry
 * inside an executable segment, the total within the limit. Any breach
 * aborts and libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf.h"

#define LO 0x400000ull
#define HI 0x100000000ull
#define MAX (16ull << 20)

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_elf: accepted, but %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so ASan sees any read past the end. */
	uint8_t *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	struct elf_image img;
	const char *why = elf_check(copy, size, LO, HI, MAX, &img);
	if (!why) {
		unsigned __int128 total = 0;
		int entry_ok = 0;
		if (img.count == 0 || img.count > ELF_MAX_SEGMENTS)
			fail("the segment count is out of range");
		for (unsigned i = 0; i < img.count; i++) {
			const struct elf_segment *s = &img.seg[i];
			if (s->va < LO || (unsigned __int128)s->va + s->memsz > HI)
				fail("a segment leaves the user window");
			if ((unsigned __int128)s->offset + s->filesz > size)
				fail("a segment reads past the file");
			if (s->filesz > s->memsz || s->memsz == 0)
				fail("a segment's sizes are inconsistent");
			if ((s->flags & ELF_PF_W) && (s->flags & ELF_PF_X))
				fail("a segment is writable and executable");
			total += s->memsz;
			if ((s->flags & ELF_PF_X) && img.entry >= s->va &&
			    img.entry < s->va + s->memsz)
				entry_ok = 1;
			for (unsigned k = 0; k < i; k++) {
				const struct elf_segment *t = &img.seg[k];
				uint64_t a0 = s->va / 4096, a1 = (s->va + s->memsz + 4095) / 4096;
				uint64_t b0 = t->va / 4096, b1 = (t->va + t->memsz + 4095) / 4096;
				if (a0 < b1 && b0 < a1)
					fail("two segments share a page");
			}
		}
		if (total > MAX)
			fail("the segments are larger than the limit");
		if (!entry_ok)
			fail("the entry is outside every executable segment");
	}
	free(copy);
	return 0;
}
