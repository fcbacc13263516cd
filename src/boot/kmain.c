/*
 * kmain.c - the kernel's C entry: from boot.asm to the end record.
 *
 * Order matters and is the order of the trace: read the command line (it
 * chooses the trace categories), start the trace, install the GDT and IDT (so
 * every later fault is reported, not a triple fault), bring up memory
 * management, run the scenario the command line names, and shut down.
 */
#include <stdint.h>

#include "arch.h"
#include "cmdline.h"
#include "swap.h"
#include "gdt.h"
#include "idt.h"
#include "mm.h"
#include "multiboot2.h"
#include "platform.h"
#include "scenario.h"
#include "trace.h"

extern const struct trace_sink e9_sink;

/* The linker script's and boot.asm's symbols: where the kernel is. */
extern const char __kernel_phys_start[], __kernel_phys_end[];
extern const char __text_start[], __text_end[], __rodata_start[],
	__rodata_end[], __data_start[], __data_end[], kernel_stack_guard[];

/* The command line, copied out of the boot information, one byte more than
 * the parser accepts so that an over-long line is reported, not cut. */
static char cmdline[CMDLINE_MAX + 2];

static void copy_cmdline(const struct mb2_info *mbi)
{
	const struct mb2_tag_cmdline *tag = (const void *)mb2_next_tag(
		mbi, NULL, MB2_TAG_CMDLINE);
	if (!tag)
		return;
	size_t max = tag->tag.size - sizeof tag->tag;
	for (size_t i = 0; i < max && i < sizeof cmdline - 1 && tag->string[i];
	     i++)
		cmdline[i] = tag->string[i];
}

static void kernel_image_fill(struct kernel_image *k)
{
	k->phys_start = (paddr_t)__kernel_phys_start;
	k->phys_end = (paddr_t)__kernel_phys_end;
	k->text_start = (vaddr_t)__text_start;
	k->text_end = (vaddr_t)__text_end;
	k->rodata_start = (vaddr_t)__rodata_start;
	k->rodata_end = (vaddr_t)__rodata_end;
	k->data_start = (vaddr_t)__data_start;
	k->data_end = (vaddr_t)__data_end;
	k->stack_guard = (vaddr_t)kernel_stack_guard;
}

__attribute__((noreturn)) void kmain(uint32_t magic, uint32_t mbi_pa)
{
	const struct mb2_info *mbi = arch_phys_to_virt(mbi_pa);
	copy_cmdline(mbi);

	struct boot_config cfg;
	struct cmdline_error err;
	status_t parsed = cmdline_parse(cmdline, &cfg, &err);
	trace_start(&e9_sink, cmdline, cfg.trace_mask, cfg.break_at);
	trace_boot_start(magic, mbi_pa);

	gdt_init();
	idt_init();
	trace_boot_stage("cpu");
	if (parsed != STATUS_OK) {
		char word[TRACE_TEXT_MAX], reason[TRACE_TEXT_MAX];
		trace_error_in(parsed, "cmdline_parse", "word=%s reason=%s",
			       trace_quote(err.word, word, sizeof word),
			       trace_quote(err.reason, reason, sizeof reason));
		platform_stop("reject");
	}

	struct kernel_image image;
	kernel_image_fill(&image);
	status_t mm = mm_init(mbi, mbi_pa, &image, &cfg);
	if (mm != STATUS_OK)
		platform_stop(mm == STATUS_BAD_MMAP || mm == STATUS_BAD_CMDLINE
				      ? "reject" : "oom");

	const struct scenario *s = scenario_find(cfg.run);
	if (!s) {
		char run[TRACE_TEXT_MAX];
		trace_error_in(STATUS_NOT_FOUND, "scenario_find", "run=%s",
			       trace_quote(cfg.run, run, sizeof run));
		platform_stop("reject");
	}
	scenario_user_program = cfg.user;
	if (cfg.frames || cfg.low) /* memory pressure asked for: swap on (docs/swap.md) */
		swap_init(cfg.frames, cfg.low, cfg.policy); /* err.* and off if it cannot */
	unsigned failures = scenario_run(s);
	platform_stop(failures ? "fail" : "ok");
}
