# Vitrine - every entry point. `make help` lists them.
#
#   make                 the ISO (build/vitrine.iso); `make iso` too
#   make kernel          build/kernel.elf and its symbols, build/kernel.sym
#   make run             boot the demo in Bochs; the trace is printed and saved [CMDLINE=...]
#   make run-qemu        the same in QEMU (build/run-qemu/trace.log)
#   make view            the demo's trace in the offline viewer (build/view.html)
#   make debug           Bochs at its debugger prompt; BREAK=N, AT=symbol, RC=script
#   make qemu-gdb        QEMU stopped, waiting for gdb on 127.0.0.1:GDB_PORT [BREAK=N]
#   make gdb             QEMU and gdb connected, kernel symbols loaded [BREAK=N]
#   make check           every test (N passed, M failed); T=NAME runs the tests named NAME
#   make host-tests      build/host/tests, the host unit tests (Criterion)
#   make bench           benchmarks into build/bench/results.json (docs/performance.md)
#   make fuzz            each libFuzzer target for FUZZ_TIME s; `make fuzz-build` only builds
#   make handout LAB=N OUT=DIR   the student tree of lab N (docs/labs/)
#   make grade LAB=N     grade lab N of this tree [TRACE=boot trace]
#   make submit          in a handout: the archive to hand in, build/submit-labN.tar.gz
#   make grade-class LAB=N SUBMISSIONS=DIR OUT=grades.csv   grade a class
#   make schema-doc      rewrite the tables of docs/trace-format.md from src/lib/trace.schema
#   make mutate          the mutation run of tests/mutants.txt: K killed of N (docs/robustness.md)
#   make deps            install the Debian packages (run once, automatically)
#   make clean           remove build/
#   make help            this list
#   make fuzz-targets / make lab-cc-flags   answers for tests/check and tests/labs/handout

SHELL      := /bin/bash
BUILD      := build
CMDLINE    ?=
T          ?=

KERNEL_CC  := gcc
HOST_CC    := gcc
NASM       := nasm
PYTHON     := python3

# build/gen holds what trace/schemagen writes from src/lib/trace.schema.
GEN        := $(BUILD)/gen
GEN_H      := $(GEN)/trace_schema.h $(GEN)/trace_events.h $(GEN)/trace_events.inc \
	$(GEN)/trace_events_plain.h $(GEN)/trace_events_pairs.h $(GEN)/trace_schema.inc
INCLUDES   := -iquote src/lib -iquote src/mm -iquote src/boot -iquote src/proc \
	-iquote src/user -iquote $(GEN)
WARNINGS   := -Wall -Wextra -Werror
# -fdebug-prefix-map and no nasm debug records: the kernel's ELF is the
# same file wherever the tree is (the cross-check's kernel.id is its
# SHA-256). The ISO gets a copy without symbols or debug records (tests/vm),
# and each part of the kernel has a slot of fixed size (src/boot/linker.ld),
# so no address in a trace moves with the size of the code.
KERNEL_CFLAGS := -std=gnu11 -O2 -g $(WARNINGS) $(INCLUDES) \
	-ffreestanding -mno-red-zone -mcmodel=kernel -fno-pic \
	-mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables \
	-fno-omit-frame-pointer -mno-sse -mno-mmx -fdebug-prefix-map=$(CURDIR)=.
KERNEL_LDFLAGS := -nostdlib -static -no-pie -z max-page-size=0x1000 -z noexecstack -Wl,--build-id=none \
	-T src/boot/linker.ld
HOST_CFLAGS := -std=gnu11 -O1 -g $(WARNINGS) $(INCLUDES) -iquote tests/host

# Sources. src/lib and src/mm are portable (kernel and host) except the few
# kernel-only files below; src/boot, src/proc and tests/kernel are
# kernel-only. The user programs (src/user/) are built on their own and
# carried in the kernel image (build/user/programs.asm).
KERNEL_ONLY_LIB := src/lib/string.c
KERNEL_C   := $(wildcard src/boot/*.c src/proc/*.c src/lib/*.c src/mm/*.c tests/kernel/*.c)
KERNEL_ASM := $(wildcard src/boot/*.asm src/proc/*.asm)
PORTABLE_C := $(filter-out $(KERNEL_ONLY_LIB),$(wildcard src/lib/*.c src/mm/*.c))
HOST_TEST_C := $(wildcard tests/host/*.c)

KERNEL_OBJ := $(KERNEL_C:%.c=$(BUILD)/kernel/%.o) $(KERNEL_ASM:%.asm=$(BUILD)/kernel/%.o) \
	$(BUILD)/user/programs.o
# A lab's handout gets the later labs' code as objects (tests/labs/handout);
# in the full tree there are none.
PREBUILT_KERNEL := $(wildcard prebuilt/kernel/*.o)
PREBUILT_HOST   := $(wildcard prebuilt/host/*.o)
HEADERS    := $(wildcard src/*/*.h tests/host/*.h) $(GEN_H)

.PHONY: schema-doc all iso kernel run view run-qemu debug check handout grade deps clean help host-tests bench fuzz fuzz-build fuzz-targets mutate \
	submit grade-class lab-cc-flags qemu-gdb gdb
all: iso

help:
	@sed -n 's/^#   //p' Makefile

# --- packages -------------------------------------------------------------
DEBIAN_PACKAGES := nasm bochs bochsbios vgabios bochs-term grub-pc-bin \
	grub-common xorriso mtools qemu-system-x86 graphviz libcriterion-dev \
	libclang-rt-14-dev llvm-14-tools clang-14 gcc make python3 chromium nodejs \
	parallel gdb ccache
# The browser tests' npm packages (playwright-core, which drives Debian's
# /usr/bin/chromium and downloads no browser), from the committed lock.
BROWSER_NPM := tests/browser/node_modules/.package-lock.json
deps: $(BUILD)/.deps $(BROWSER_NPM)
$(BROWSER_NPM): tests/browser/package-lock.json | $(BUILD)/.deps
	@command -v npm >/dev/null || { SUDO=$$([ $$(id -u) -eq 0 ] || echo sudo); \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm >/dev/null || exit 1; }
	cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent
$(BUILD)/.deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		SUDO=$$([ $$(id -u) -eq 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi
	@mkdir -p $(BUILD) && touch $@

# --- the trace schema (src/lib/trace.schema, docs/trace-format.md) ----------
# The C lists, constants and emitters are generated; the doc's tables are
# committed and `make check` verifies them (`make schema-doc` rewrites them).
SCHEMA_SRC := src/lib/trace.schema trace/schemagen trace/vtracelib/schema.py
$(GEN_H) &: $(SCHEMA_SRC)
	@mkdir -p $(GEN)
	$(PYTHON) trace/schemagen c $(GEN)

schema-doc: $(SCHEMA_SRC)
	$(PYTHON) trace/schemagen doc docs/trace-format.md

# --- kernel ---------------------------------------------------------------
kernel: $(BUILD)/kernel.elf $(BUILD)/kernel.sym

$(BUILD)/kernel/%.o: %.c $(HEADERS) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(KERNEL_CC) $(KERNEL_CFLAGS) -c $< -o $@

$(BUILD)/kernel/%.o: %.asm $(GEN_H) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -i $(GEN)/ $< -o $@

$(BUILD)/kernel.elf: $(KERNEL_OBJ) $(PREBUILT_KERNEL) src/boot/linker.ld
	$(KERNEL_CC) $(KERNEL_LDFLAGS) $(KERNEL_OBJ) $(PREBUILT_KERNEL) -o $@ -lgcc

# The same kernel with every part grown by more than a page
# (tests/layout/grown.c): the runner suite boots it and expects the
# default trace byte for byte (docs/boot.md, "The kernel's layout").
$(BUILD)/layout/kernel-grown.elf: $(KERNEL_OBJ) $(PREBUILT_KERNEL) src/boot/linker.ld tests/layout/grown.c
	@mkdir -p $(dir $@)
	$(KERNEL_CC) $(KERNEL_CFLAGS) -c tests/layout/grown.c -o $(BUILD)/layout/grown.o
	$(KERNEL_CC) $(KERNEL_LDFLAGS) $(KERNEL_OBJ) $(PREBUILT_KERNEL) $(BUILD)/layout/grown.o -o $@ -lgcc

# --- user programs (src/user/, docs/user.md) --------------------------------
# Freestanding static ELF files linked at USER_BASE with the tiny libc
# (src/user/lib/) and the kernel's printf (src/lib/format.c); no SSE, since
# the kernel does not save those registers. src/user/mkbad makes malformed
# copies of forkcow (text and data) for the ELF checks; src/user/embed carries them all.
USER_CFLAGS := -std=gnu11 -O2 -g $(WARNINGS) -iquote src/user/lib $(INCLUDES) \
	-ffreestanding -fno-pic -fno-pie -mgeneral-regs-only -mno-sse -mno-mmx \
	-fno-stack-protector -fno-asynchronous-unwind-tables
USER_LDFLAGS := -nostdlib -static -no-pie -z max-page-size=0x1000 -z noexecstack \
	-Wl,--build-id=none -T src/user/user.ld
USER_LIB   := src/user/lib/ulib.c src/lib/format.c src/lib/string.c
USER_NAMES := $(basename $(notdir $(wildcard src/user/*.c)))
USER_BAD   := truncated machine kernel_half huge overlap filesz
USER_ELF   := $(USER_NAMES:%=$(BUILD)/user/%.elf)
# NAME.debug.elf keeps the symbols (for gdb); the kernel carries NAME.elf.
.PRECIOUS: $(BUILD)/user/%.debug.elf
$(BUILD)/user/%.debug.elf: src/user/%.c $(USER_LIB) src/user/user.ld $(HEADERS) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(KERNEL_CC) $(USER_CFLAGS) $(USER_LDFLAGS) $< $(USER_LIB) -o $@ -lgcc
$(BUILD)/user/%.elf: $(BUILD)/user/%.debug.elf
	objcopy --strip-all $< $@
$(BUILD)/user/bad/.made: $(BUILD)/user/forkcow.elf src/user/mkbad
	$(PYTHON) src/user/mkbad $< $(BUILD)/user/bad && touch $@
$(BUILD)/user/programs.asm: $(USER_ELF) $(BUILD)/user/bad/.made src/user/embed
	$(PYTHON) src/user/embed $@ $(foreach n,$(USER_NAMES),$(n)=$(BUILD)/user/$(n).elf) \
		$(foreach b,$(USER_BAD),bad_$(b)=$(BUILD)/user/bad/bad_$(b).elf)
$(BUILD)/user/programs.o: $(BUILD)/user/programs.asm
	$(NASM) -f elf64 $< -o $@

# Symbols for the Bochs debugger's `ldsym global`: "ADDRESS NAME" lines.
$(BUILD)/kernel.sym: $(BUILD)/kernel.elf
	nm $< | awk 'NF == 3 && $$2 ~ /[tTdDbBrR]/ { print $$1, $$3 }' > $@

iso: $(BUILD)/vitrine.iso
$(BUILD)/vitrine.iso: $(BUILD)/kernel.elf grub/grub.cfg tests/vm
	$(PYTHON) tests/vm iso --cmdline "$(CMDLINE)" -o $@

# --- running --------------------------------------------------------------
run: $(BUILD)/kernel.elf $(BUILD)/kernel.sym
	$(PYTHON) tests/vm run --cmdline "$(CMDLINE)" --out $(BUILD)/run --print

# `make view`: the demo's trace as one offline page (trace/vtrace view),
# opened in a browser when there is a display (docs/trace-tools.md).
view: $(BUILD)/kernel.elf $(BUILD)/kernel.sym
	@[ -f $(BUILD)/run/trace.log ] || $(PYTHON) tests/vm run --cmdline "$(CMDLINE)" --out $(BUILD)/run
	$(PYTHON) trace/vtrace view $(BUILD)/run/trace.log -o $(BUILD)/view.html
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ] && command -v xdg-open >/dev/null; then \
		xdg-open $(BUILD)/view.html; else echo "open $(BUILD)/view.html in a browser"; fi

run-qemu: $(BUILD)/kernel.elf
	$(PYTHON) tests/vm run --emulator qemu --cmdline "$(CMDLINE)" --out $(BUILD)/run-qemu --print

debug: $(BUILD)/kernel.elf $(BUILD)/kernel.sym
	$(PYTHON) tests/vm debug --cmdline "$(CMDLINE)" --out $(BUILD)/debug \
		$(if $(BREAK),--break $(BREAK)) $(if $(AT),--at $(AT)) \
		$(if $(RC),--rc $(abspath $(RC)))

# gdb on QEMU (docs/debugging.md): `make qemu-gdb` boots QEMU stopped, its
# gdb stub on 127.0.0.1:$(GDB_PORT); `make gdb` starts such a QEMU and gdb
# connected to it with the kernel's symbols. BREAK=N (on both, or on `make
# gdb` alone) boots with break=N and breaks just before trace event N.
GDB_PORT ?= 1234
qemu-gdb: $(BUILD)/kernel.elf
	$(PYTHON) tests/vm gdb --serve --cmdline "$(CMDLINE)" --port $(GDB_PORT) \
		$(if $(BREAK),--break $(BREAK)) --out $(BUILD)/qemu-gdb

gdb: $(BUILD)/kernel.elf
	$(PYTHON) tests/vm gdb --cmdline "$(CMDLINE)" --port $(GDB_PORT) \
		$(if $(BREAK),--break $(BREAK)) --out $(BUILD)/gdb-session

# --- tests ----------------------------------------------------------------
host-tests: $(BUILD)/host/tests
# One object a source file, so a change (a student's file, in grading)
# recompiles only that file.
HOST_OBJ := $(patsubst %.c,$(BUILD)/host-obj/%.o,$(PORTABLE_C) $(HOST_TEST_C))
$(BUILD)/host-obj/%.o: %.c $(HEADERS) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) -c $< -o $@
$(BUILD)/host/tests: $(HOST_OBJ) $(PREBUILT_HOST)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) $(HOST_OBJ) $(PREBUILT_HOST) -lcriterion -o $@

check: $(BUILD)/kernel.elf $(BUILD)/kernel.sym $(BUILD)/host/tests $(BROWSER_NPM)
	$(PYTHON) tests/check $(if $(T),--only $(T))

clean:
	rm -rf $(BUILD)

# `make mutate [ONLY=name]`: each bug of tests/mutants.txt in a scratch copy
# (build/mutate/tree); host tests first, the whole suite for survivors;
# prints "K killed of N" (docs/robustness.md). Slow: not part of check.
ONLY ?=
mutate: $(BUILD)/.deps
	$(PYTHON) tests/mutate $(if $(ONLY),--only $(ONLY))

# --- labs (docs/labs/) ------------------------------------------------------
# `make handout LAB=N OUT=DIR` writes the student tree of lab N: the code
# between its LAB N markers becomes stubs that return STATUS_NOT_IMPLEMENTED.
# `make grade LAB=N` prints points per test and a total; lab 1 boots the
# kernel once for its trace unless TRACE=FILE names one.
LAB ?=
OUT ?= $(BUILD)/handout-lab$(LAB)
handout:
	@[ -n "$(LAB)" ] || { echo "usage: make handout LAB=N OUT=DIR"; exit 2; }
	$(PYTHON) tests/labs/handout --lab $(LAB) --out $(OUT)

# The compilers and flags of the build, for the handout's prebuilt objects.
lab-cc-flags:
	@echo $(KERNEL_CC) $(KERNEL_CFLAGS)
	@echo $(HOST_CC) $(HOST_CFLAGS)

grade: $(BUILD)/host/tests $(BUILD)/kernel.elf $(BUILD)/kernel.sym
	@[ -n "$(LAB)" ] || { echo "usage: make grade LAB=N [TRACE=FILE]"; exit 2; }
	@$(PYTHON) tests/labs/grade --lab $(LAB) $(if $(TRACE),--trace $(TRACE))

# `make submit` (in a handout) writes build/submit-labN.tar.gz, the archive
# to hand in; `make grade-class LAB=N SUBMISSIONS=DIR OUT=grades.csv`
# grades every archive of DIR on GNU parallel (JOBS=2, TIME_LIMIT=300 s a
# submission, PARALLEL_ARGS="--sshlogin ..." to spread it over machines).
SUBMISSIONS ?=
JOBS        ?= 2
TIME_LIMIT  ?= 300
PARALLEL_ARGS ?=
submit:
	@$(PYTHON) tests/labs/submit

grade-class: $(BUILD)/.deps
	@[ -n "$(LAB)" ] && [ -n "$(SUBMISSIONS)" ] || { \
		echo "usage: make grade-class LAB=N SUBMISSIONS=DIR OUT=grades.csv"; exit 2; }
	@$(PYTHON) tests/labs/grade-class --lab $(LAB) --submissions $(SUBMISSIONS) \
		--out $(if $(filter command line environment,$(origin OUT)),$(OUT),grades.csv) \
		--jobs $(JOBS) --time-limit $(TIME_LIMIT) --parallel-args "$(PARALLEL_ARGS)"

# --- benchmarks (bench/, docs/performance.md) -------------------------------
# `make bench` measures host operations (ns and callgrind instructions),
# Bochs boot ticks and trace/vtrace speed; writes build/bench/results.json.
# `make bench BENCH_QUICK=1` is the tiny configuration `make check` runs.
BENCH_QUICK ?=
# Not in the quick configuration: grading a class of BENCH_CLASS lab 2
# archives with grade-class (build/bench/grade-class.json).
BENCH_CLASS ?= 100
BENCH_OUT   ?= $(BUILD)/bench
# A cases file is compiled once the sources it measures exist.
BENCH_HAVE_PMM := $(wildcard src/mm/pmm.c)
BENCH_HAVE_VM  := $(and $(BENCH_HAVE_PMM),$(wildcard src/mm/paging.c))
BENCH_CASES := bench/cases_trace.c \
	$(if $(BENCH_HAVE_PMM),bench/cases_pmm.c) \
	$(if $(BENCH_HAVE_VM),bench/cases_vm.c bench/cases_baseline.c) \
	$(if $(and $(BENCH_HAVE_VM),$(wildcard src/mm/heap.c)),bench/cases_heap.c)
BENCH_C := bench/host_bench.c $(BENCH_CASES) tests/host/arch_host.c tests/host/trace_host.c
# -O2 like the kernel: the figures are about the code the kernel runs.
BENCH_CFLAGS := $(subst -O1,-O2,$(HOST_CFLAGS)) -iquote bench

$(BUILD)/bench/host_bench: $(PORTABLE_C) $(BENCH_C) $(HEADERS) bench/bench.h | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(HOST_CC) $(BENCH_CFLAGS) $(PORTABLE_C) $(BENCH_C) $(PREBUILT_HOST) -o $@

bench: $(BUILD)/bench/host_bench $(BUILD)/kernel.elf $(BUILD)/kernel.sym
	$(PYTHON) bench/run $(if $(BENCH_QUICK),--quick) --out $(BENCH_OUT)
	$(if $(BENCH_QUICK),,$(PYTHON) bench/grade_class --students $(BENCH_CLASS) --out $(BENCH_OUT))

# --- sanitizers and fuzzing (tests/fuzz/, docs/robustness.md) ---------------
# build/host/tests-asan: every host test again under AddressSanitizer and
# UndefinedBehaviorSanitizer; any report aborts the test (`make check` suite
# "asan"). `make fuzz [FUZZ_TIME=600]` runs each libFuzzer target for
# FUZZ_TIME seconds from its committed corpus, keeping what it finds in
# build/fuzz/corpus/<target> and crashes in build/fuzz/crashes/<target>;
# `make check` runs each target for FUZZ_RUNS executions over the committed
# corpus tests/fuzz/corpus/<target>/ (suite "fuzz").
FUZZ_CC    := clang-14
SANITIZE   := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
ASAN_CFLAGS := $(HOST_CFLAGS) $(SANITIZE)
FUZZ_CFLAGS := $(HOST_CFLAGS) -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_TIME  ?= 60
FUZZ_RUNS  ?= 2000
export FUZZ_RUNS
# The simulated machine the fuzz targets run on (linked, never copied).
FUZZ_HOST_C := tests/host/arch_host.c tests/host/trace_host.c
# A target is compiled once the sources it drives exist (others write them).
FUZZ_TARGETS := cmdline elf \
	$(if $(wildcard src/mm/mmap.c),mmap) \
	$(if $(and $(wildcard src/mm/pmm.c),$(wildcard src/mm/paging.c)),mm_diff)
FUZZ_BINS  := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)

# One object a source file here too (build/asan-obj, build/fuzz-obj), as
# for the host tests: after a change only that file compiles again.
ASAN_OBJ := $(patsubst %.c,$(BUILD)/asan-obj/%.o,$(PORTABLE_C) $(HOST_TEST_C))
$(BUILD)/asan-obj/%.o: %.c $(HEADERS) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(HOST_CC) $(ASAN_CFLAGS) -c $< -o $@
$(BUILD)/host/tests-asan: $(ASAN_OBJ) $(PREBUILT_HOST)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(ASAN_CFLAGS) $(ASAN_OBJ) $(PREBUILT_HOST) -lcriterion -o $@

# A target links src/lib and src/mm, or only what it names in FUZZ_SRC_<target>,
# and the further parts of its own it names in FUZZ_PARTS_<target>.
FUZZ_SRC_cmdline := $(filter src/lib/%,$(PORTABLE_C))
FUZZ_PARTS_mm_diff := tests/fuzz/mm_diff_pmm.c
fuzz_obj = $(patsubst %.c,$(BUILD)/fuzz-obj/%.o,$(1))
FUZZ_OBJ := $(call fuzz_obj,$(PORTABLE_C) $(FUZZ_HOST_C) $(wildcard tests/fuzz/*.c))
$(FUZZ_OBJ): $(BUILD)/fuzz-obj/%.o: %.c $(wildcard tests/fuzz/*.h) $(HEADERS) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -iquote tests/fuzz -c $< -o $@
.SECONDEXPANSION:
$(BUILD)/fuzz/%: $$(call fuzz_obj,tests/fuzz/fuzz_%.c $$(FUZZ_PARTS_$$*) \
		$$(or $$(FUZZ_SRC_$$*),$$(PORTABLE_C)) $$(FUZZ_HOST_C)) \
		$$(if $$(FUZZ_SRC_$$*),,$$(PREBUILT_HOST))
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $^ -o $@

# `make check` runs the sanitizer build and short fuzz runs too.
check: $(BUILD)/host/tests-asan $(FUZZ_BINS)

fuzz-build: $(FUZZ_BINS)

# The targets buildable now (tests/check asks, so it expects exactly these).
fuzz-targets:
	@echo $(FUZZ_TARGETS)

# Each target: new inputs go to build/fuzz/corpus/<target>, crashes to
# build/fuzz/crashes/<target>/; the figures are in build/fuzz/<target>.log.
fuzz: $(FUZZ_BINS)
	@failed=; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(BUILD)/fuzz/corpus/$$t $(BUILD)/fuzz/crashes/$$t; \
		dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
		echo "fuzz: $$t for $(FUZZ_TIME) s"; \
		$(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
			$$dict -artifact_prefix=$(BUILD)/fuzz/crashes/$$t/ \
			$(BUILD)/fuzz/corpus/$$t tests/fuzz/corpus/$$t \
			> $(BUILD)/fuzz/$$t.log 2>&1 || failed="$$failed $$t"; \
		grep -E '^#[0-9]+ +DONE|^stat::(number_of_executed_units|new_units_added|peak_rss)|^SUMMARY|Test unit written' \
			$(BUILD)/fuzz/$$t.log | sed "s/^/  $$t: /"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: FAILED:$$failed"; exit 1; fi
