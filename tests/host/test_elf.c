/* test_elf.c - src/lib/elf.c: which programs the kernel accepts, and why
 * it refuses the others; the user= key and user.write's bytes. */
#include <criterion/criterion.h>
#include <string.h>

#include "cmdline.h"
#include "elf.h"
#include "host.h"
#include "trace.h"

#define LO 0x400000ull
#define HI 0x100000000ull
#define MAX (16ull << 20)

/* A good program: text r-x at 0x400000 (entry inside), data rw- at
 * 0x401000, 0x3000 bytes of file. */
static uint8_t elf[0x3000];

static void put(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t *phdr(unsigned i) { return elf + 64 + 56 * i; }

static void segment(unsigned i, uint32_t flags, uint64_t off, uint64_t va,
		    uint64_t filesz, uint64_t memsz)
{
	put(phdr(i), 1, 4); /* PT_LOAD */
	put(phdr(i) + 4, flags, 4);
	put(phdr(i) + 8, off, 8);
	put(phdr(i) + 16, va, 8);
	put(phdr(i) + 32, filesz, 8);
	put(phdr(i) + 40, memsz, 8);
}

static void good(void)
{
	memset(elf, 0, sizeof elf);
	memcpy(elf, "\x7f" "ELF\x02\x01\x01", 7);
	put(elf + 16, 2, 2);        /* ET_EXEC */
	put(elf + 18, 62, 2);       /* EM_X86_64 */
	put(elf + 24, 0x400010, 8); /* entry */
	put(elf + 32, 64, 8);       /* phoff */
	put(elf + 54, 56, 2);       /* phentsize */
	put(elf + 56, 2, 2);        /* phnum */
	segment(0, ELF_PF_R | ELF_PF_X, 0x1000, 0x400000, 0x800, 0x800);
	segment(1, ELF_PF_R | ELF_PF_W, 0x2000, 0x401000, 0x100, 0x2000);
}

static const char *check(struct elf_image *img)
{
	return elf_check(elf, sizeof elf, LO, HI, MAX, img);
}

Test(elf, a_good_program_is_read_segment_by_segment)
{
	good();
	struct elf_image img;
	cr_assert_null(check(&img));
	cr_assert_eq(img.entry, 0x400010);
	cr_assert_eq(img.count, 2);
	cr_assert_eq(img.seg[1].va, 0x401000);
	cr_assert_eq(img.seg[1].filesz, 0x100);
	cr_assert_eq(img.seg[1].memsz, 0x2000);
	cr_assert_eq(img.seg[1].flags, ELF_PF_R | ELF_PF_W);
}

Test(elf, an_empty_segment_is_skipped_not_refused)
{
	good();
	segment(1, ELF_PF_R | ELF_PF_W, 0, 0, 0, 0);
	struct elf_image img;
	cr_assert_null(check(&img));
	cr_assert_eq(img.count, 1);
}

/* Each flaw, alone, gives its own reason. */
Test(elf, every_flaw_is_refused_with_its_reason)
{
	struct elf_image img;
	good();
	cr_assert_str_eq(elf_check(elf, 40, LO, HI, MAX, &img),
			 "shorter than an ELF header");
	good(); elf[1] = 'X';
	cr_assert_str_eq(check(&img), "not an ELF file");
	good(); elf[4] = 1;
	cr_assert_str_eq(check(&img), "not a 64-bit little-endian ELF file");
	good(); put(elf + 16, 3, 2);
	cr_assert_str_eq(check(&img), "not an executable (ET_EXEC)");
	good(); put(elf + 18, 3, 2);
	cr_assert_str_eq(check(&img), "not an x86-64 program");
	good(); put(elf + 54, 32, 2);
	cr_assert_str_eq(check(&img), "unexpected program header size");
	good(); put(elf + 32, sizeof elf - 60, 8);
	cr_assert_str_eq(check(&img), "program headers past the end of the file");
	good(); put(elf + 56, 0, 2);
	cr_assert_str_eq(check(&img), "program headers past the end of the file");
	good(); segment(1, ELF_PF_R | ELF_PF_W, 0x2000, 0x401000, 0x3000, 0x2000);
	cr_assert_str_eq(check(&img), "segment with more file bytes than memory bytes");
	good(); segment(1, ELF_PF_R | ELF_PF_W, 0x2000, 0x401000, 0x100, MAX + 1);
	cr_assert_str_eq(check(&img), "segment too large");
	good(); segment(1, ELF_PF_R | ELF_PF_W, 0x2f00, 0x401000, 0x200, 0x200);
	cr_assert_str_eq(check(&img), "segment past the end of the file");
	good(); segment(1, ELF_PF_R | ELF_PF_W, ~0ull - 8, 0x401000, 0x100, 0x100);
	cr_assert_str_eq(check(&img), "segment past the end of the file");
	good(); segment(1, ELF_PF_R | ELF_PF_W, 0x2000, 0xFFFF800000000000ull, 0x100, 0x100);
	cr_assert_str_eq(check(&img), "segment outside user space");
	good(); segment(1, ELF_PF_R | ELF_PF_W, 0x2000, HI - 0x1000, 0x100, 0x2000);
	cr_assert_str_eq(check(&img), "segment outside user space");
	good(); segment(1, ELF_PF_R | ELF_PF_W, 0x2000, 0x1000, 0x100, 0x100);
	cr_assert_str_eq(check(&img), "segment outside user space");
	good(); segment(1, ELF_PF_R | ELF_PF_W | ELF_PF_X, 0x2000, 0x401000, 0x100, 0x100);
	cr_assert_str_eq(check(&img), "segment both writable and executable");
	good(); segment(1, ELF_PF_W, 0x2000, 0x401000, 0x100, 0x100);
	cr_assert_str_eq(check(&img), "segment not readable");
	good(); segment(1, ELF_PF_R | ELF_PF_W, 0x2000, 0x400800, 0x100, 0x100);
	cr_assert_str_eq(check(&img), "segments overlap");
	good(); put(elf + 24, 0x401000, 8);
	cr_assert_str_eq(check(&img), "entry point outside the text");
	good(); put(phdr(0), 4, 4); put(phdr(1), 4, 4);
	cr_assert_str_eq(check(&img), "no loadable segment");
}

Test(elf, more_segments_than_the_table_holds_are_refused_not_dropped)
{
	good();
	put(elf + 56, ELF_MAX_SEGMENTS + 1, 2);
	for (unsigned i = 0; i <= ELF_MAX_SEGMENTS; i++)
		segment(i, ELF_PF_R | (i ? ELF_PF_W : ELF_PF_X), 0x1000,
			0x400000 + i * 0x1000, 0x10, 0x10);
	struct elf_image img;
	cr_assert_str_eq(check(&img), "too many segments");
}

Test(elf, segments_too_large_together_are_refused)
{
	good();
	segment(0, ELF_PF_R | ELF_PF_X, 0x1000, 0x400000, 0x800, MAX / 2 + 0x1000);
	segment(1, ELF_PF_R | ELF_PF_W, 0x2000, 0x400000 + MAX, 0x100, MAX / 2);
	struct elf_image img;
	cr_assert_str_eq(check(&img), "segments too large");
}

Test(cmdline, user_alone_means_run_user_and_names_the_program)
{
	struct boot_config cfg;
	struct cmdline_error err;
	cr_assert_eq(cmdline_parse("user=forkcow", &cfg, &err), STATUS_OK);
	cr_assert_str_eq(cfg.run, "user");
	cr_assert_str_eq(cfg.user, "forkcow");
	cr_assert_eq(cmdline_parse("run=demo user=hello", &cfg, &err), STATUS_OK);
	cr_assert_str_eq(cfg.run, "demo");
	cr_assert_eq(cmdline_parse("", &cfg, &err), STATUS_OK);
	cr_assert_str_eq(cfg.user, "");
	cr_assert_eq(cmdline_parse("user=a user=b", &cfg, &err), STATUS_BAD_CMDLINE);
	cr_assert_str_eq(err.reason, "key given twice");
	cr_assert_eq(cmdline_parse("user=Bad!", &cfg, &err), STATUS_BAD_CMDLINE);
}

Test(trace, bytes_keep_their_nul_and_escape_like_text)
{
	char buf[TRACE_TEXT_MAX];
	cr_assert_str_eq(trace_quote_bytes("a\0b\"\n", 5, buf, sizeof buf),
			 "\"a\\x00b\\x22\\x0a\"");
	cr_assert_str_eq(trace_quote_bytes("", 0, buf, sizeof buf), "\"\"");
}
