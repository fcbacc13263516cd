#!/usr/bin/env python3
"""test_vtrace - tests of trace/vtrace: every rule caught once, clean traces pass.

  python3 tests/trace/test_vtrace.py [--tap] [--shard K/N] [NAME...]

Each defect test takes the clean generated trace (gen.py), injects ONE
defect and expects `vtrace check` to exit 1 naming the right rule; the
clean trace must pass. --tap prints 'ok I - name' lines for tests/check;
--shard K/N runs only the tests whose number I has I - 1 leave K when
divided by N (N processes share the tests; each prints the numbers and
the plan '1..COUNT' of the whole run).
The allocators' rules are tested in test_vtrace_alloc.py, tlb-late in
test_vtrace_tlb.py, processes, faults and copy-on-write in
test_vtrace_proc.py (on gen_user.py's stories), all run from here;
the helpers both use are in vtrace_base.py.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import gen  # noqa: E402

from vtrace_base import TMP, Base, check, vtrace, vtrace_here, vtrace_process  # noqa: E402
import test_vtrace_alloc  # noqa: E402
import test_vtrace_view  # noqa: E402
import test_vtrace_tlb  # noqa: E402
import test_vtrace_proc  # noqa: E402
import test_vtrace_swap  # noqa: E402
import test_vtrace_fast  # noqa: E402
from vtracelib import tracefile  # noqa: E402


class Frame(Base):
    def test_the_clean_generated_trace_passes(self):
        rc, out, err = check(self.events())
        self.assertEqual((rc, err), (0, ""), out)
        self.assertIn("frame and replay clean", out)

    def test_a_deleted_line_is_a_sequence_gap(self):
        lines = gen.write(self.events()).split(b"\n")
        del lines[10]
        rc, out, _ = vtrace("check", "@", data=b"\n".join(lines))
        self.assertEqual(rc, 1)
        self.assertIn("rule frame-seq: expected event 9", out)
        self.assertIn("rule frame-crc", out)

    def test_a_changed_byte_breaks_the_crc(self):
        data = gen.write(self.events()).replace(b"name=generated failures=0",
                                                b"name=generated failures=1")
        out = self.assertCaughtData(data, "frame-crc")
        self.assertNotIn("frame-seq", out)

    def test_a_missing_end_record_is_a_cut_trace(self):
        rc, out, _ = vtrace("check", "@", data=gen.write(self.events(), end=False))
        self.assertEqual(rc, 1)
        self.assertIn("rule frame-end: no end record: the trace was cut short after event 45", out)

    def test_a_wrong_count_is_found(self):
        data = gen.write(self.events())
        data = re.sub(rb"@end count=\d+", b"@end count=7", data)
        self.assertCaughtData(data, "frame-count")

    def test_an_event_not_in_the_schema_is_found(self):
        ev = self.events()
        ev.insert(3, "boot.bogus x=1")
        out = self.assertCaught(ev, "frame-schema")
        self.assertIn("boot.bogus: not an event of the schema", out)

    def test_keys_out_of_the_schemas_order_are_found(self):
        ev = [e.replace("pmm.set pa=0x100000 n=1 why=bitmap", "pmm.set n=1 pa=0x100000 why=bitmap")
              for e in self.events()]
        out = self.assertCaught(ev, "frame-schema")
        self.assertIn("keys n pa why, the schema wants pa n why", out)

    def test_a_value_of_the_wrong_type_is_found(self):
        ev = [e.replace("pmm.set pa=0x100000 n=1", "pmm.set pa=1048576 n=1") for e in self.events()]
        out = self.assertCaught(ev, "frame-schema")
        self.assertIn("pa=1048576 is not a addr", out)

    def test_a_missing_optional_prefix_is_found(self):
        ev = self.events() + ["cpu.fault vec=14 name=pf err=0x2 rip=0x1000 cr2=0x0 why=x"]
        out = self.assertCaught(ev, "frame-schema")
        self.assertIn("the schema wants vec name err rip [cr2 pf why]", out)

    def test_an_err_event_needs_a_known_status_and_fn_first(self):
        self.assertCaught(self.events() + ["err.no_such_status fn=x"], "frame-schema")
        self.assertCaught(self.events() + ["err.busy id=3"], "frame-schema")
        rc, out, _ = check(self.events()[:-1] + ["err.busy fn=ptp_destroy id=3 cr3=0x1000",
                                                 self.events()[-1]])
        self.assertEqual(rc, 0, out)

    def test_text_must_be_escaped(self):
        good = 'test.fail at=x.c:1 expr="a \\x22b\\x22"'
        rc, out, _ = check(self.events()[:-1] + [good, self.events()[-1]])
        self.assertEqual(rc, 0, out)
        self.assertCaught(self.events()[:-1] + ['test.fail at=x.c:1 expr="a\\b"',
                                                self.events()[-1]], "frame-schema")

    def test_the_docs_tables_agree_with_the_schema_and_a_change_is_found(self):
        doc = os.path.join(ROOT, "docs", "trace-format.md")
        gen_cmd = [sys.executable, os.path.join(ROOT, "trace", "schemagen"), "doc"]
        r = subprocess.run(gen_cmd + [doc, "--check"], stdout=subprocess.PIPE)
        self.assertEqual(r.returncode, 0, r.stdout)
        edited = os.path.join(TMP, "trace-format.md")
        with open(edited, "w") as f:
            f.write(open(doc).read().replace("| `pmm.set` | `pa n why` |", "| `pmm.set` | `pa n` |"))
        r = subprocess.run(gen_cmd + [edited, "--check"], stdout=subprocess.PIPE)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn(b"disagrees with src/lib/trace.schema", r.stdout)

    def assertCaughtData(self, data, rule):
        rc, out, err = vtrace("check", "@", data=data)
        self.assertEqual(rc, 1, out + err)
        self.assertIn(f"rule {rule}:", out)
        return out


class TwoWaysIn(Base):
    """A plain trace's pmm lines go to their handlers as the decoder's
    values (tracefile.parse_plain, Replay.entry); a trace with CRLF line
    ends is read line by line into Events, which reach the same handlers
    through Replay.from_event. Both must give the same findings."""

    DEFECTS = [("pmm.set pa=0x800000 n=4 why=kalloc", "pmm.set pa=0x800000 n=04 why=kalloc"),
               ("pmm.set pa=0x800000 n=4 why=kalloc", "pmm.set pa=0x800000 why=kalloc"),
               ("pmm.set pa=0x800000 n=4 why=kalloc", "pmm.set pa=0xzz n=4 why=kalloc"),
               ("pmm.set pa=0x800000 n=4 why=kalloc", "pmm.set n=4 pa=0x800000 why=kalloc"),
               ("pmm.set pa=0x800000 n=4 why=kalloc", "pmm.set pa=0x800000 n=4"),
               ("pmm.set pa=0x800000 n=4 why=kalloc", "pmm.set pa=0x800000 n=4 why=odd"),
               ("pmm.set pa=0x800000 n=4 why=kalloc", "pmm.set pa=0x800000  n=4 why=kalloc"),
               ("pmm.clear pa=0x800000 n=4 why=free", "pmm.clear pa=0x801000 n=4 why=free"),
               ("pmm.clear pa=0x800000 n=4 why=free", "pmm.clear pa=0x800000 n=4 why="),
               ("pmm.clear pa=0x800000 n=4 why=free", "pmm.clear pa=0x800000 n=4 why=usable"),
               ("pmm.clear pa=0x100000 n=16128 why=usable", "pmm.clear pa=0x100000 n=016128 why=usable"),
               ("stat.pmm total=16384", "stat.pmm total=016384"),
               ("stat.pmm total=16384", "stat.pmm"),
               ("stat.pmm total=16384", "stat.pmm total=1"),
               (" reserved=257", " reserved=9999"),
               (" reserved=257", "")]

    def test_plain_and_line_by_line_reading_give_the_same_findings(self):
        failed = 0
        for old, new in self.DEFECTS:
            ev = [e.replace(old, new, 1) for e in self.events()]
            self.assertNotEqual(ev, self.events(), old)
            data = gen.write(ev)
            plain = vtrace("check", "@", data=data)
            crlf = vtrace("check", "@", data=data.replace(b"\n", b"\r\n"))
            self.assertEqual(plain, crlf, new)
            failed += plain[0] == 1
        self.assertGreaterEqual(failed, len(self.DEFECTS) - 2)  # why=odd, two spaces: no defect


class Bitmap(Base):
    def test_double_alloc_names_the_event_that_set_the_page(self):
        ev = self.events()
        i = gen.index_of(ev, "pmm.set pa=0x800000")
        ev.insert(i + 1, "pmm.set pa=0x801000 n=1 why=alloc")
        out = self.assertCaught(ev, "pmm-double-set")
        self.assertIn(f"page 0x801000 is already used (set by event {i + 1}, why=kalloc)", out)

    def test_a_run_over_a_used_page_names_it_short_or_long(self):
        # pmm_set writes runs shorter than SHORT_RUN pages from ready-made
        # ones, longer runs afresh: both must find the first used page.
        for n, pa in ((2, 0x1ff000), (100, 0x1c0000)):
            ev = self.events()
            i = gen.index_of(ev, "pmm.set pa=0x200000")
            ev.insert(i + 1, f"pmm.set pa={pa:#x} n={n} why=alloc")
            out = self.assertCaught(ev, "pmm-double-set")
            self.assertIn(f"page 0x200000 is already used (set by event {i + 1}, why=kernel)", out)

    def test_a_long_run_freed_twice_is_found_and_the_pages_above_it_stay_put(self):
        # pmm_clear writes runs of SHORT_RUN pages or more afresh: the run
        # must keep its length (a page used above it stays where it was).
        ev = self.events()
        i = gen.index_of(ev, "pmm.set pa=0x200000")
        ev[i + 1:i + 1] = ["pmm.set pa=0x1100000 n=1 why=alloc",
                           "pmm.set pa=0x1000000 n=100 why=alloc",
                           "pmm.clear pa=0x1063000 n=1 why=free",
                           "pmm.clear pa=0x1000000 n=99 why=free",
                           "pmm.clear pa=0x1100000 n=1 why=free"]
        rc, out, _ = check(ev)
        self.assertEqual(rc, 0, out)
        ev.insert(i + 5, "pmm.set pa=0x1100000 n=1 why=alloc")
        out = self.assertCaught(ev, "pmm-double-set")
        self.assertIn(f"page 0x1100000 is already used (set by event {i + 2}, why=alloc)", out)
        del ev[i + 5]
        ev[i + 4] = "pmm.clear pa=0x1000000 n=100 why=free"
        out = self.assertCaught(ev, "pmm-double-clear")
        self.assertIn(f"page 0x1063000 is already free (cleared by event {i + 4})", out)

    def test_double_free_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, "pmm.clear pa=0x800000")
        ev.insert(i + 1, ev[i])
        self.assertCaught(ev, "pmm-double-clear")

    def test_freeing_a_mapped_page_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, "pmm.clear pa=0x800000")
        clear = ev.pop(i)
        ev.insert(gen.index_of(ev, "vm.unmap"), clear)
        out = self.assertCaught(ev, "pmm-free-mapped")
        self.assertIn("still mapped at va=0xffffc00000000000", out)

    def test_freeing_a_page_table_is_found(self):
        ev = self.events()
        ev.insert(len(ev) - 1, "pmm.clear pa=0x401000 n=1 why=free")
        self.assertCaught(ev, "pmm-free-pool")

    def test_a_lying_pmm_snapshot_is_found(self):
        ev = self.events()
        i = len(ev) - 2
        ev[i] = ev[i].replace("free=15855", "free=15856")
        out = self.assertCaught(ev, "stat-pmm")
        self.assertIn("the replayed bitmap has", out)

    def test_a_leak_is_reported_at_the_end(self):
        ev = [e for e in self.events() if not e.startswith("pmm.clear pa=0x800000")
              and not e.startswith("stat.pmm")]
        out = self.assertCaught(ev, "leak")
        self.assertIn("4 page(s) at pa=0x800000", out)

    def test_no_leak_is_reported_for_a_panicked_run(self):
        ev = [e for e in self.events() if not e.startswith("pmm.clear pa=0x800000")
              and not e.startswith("stat.pmm")]
        rc, out, _ = check(ev, status="panic")
        self.assertEqual(rc, 0, out)

    def test_a_lab_stub_that_ran_is_a_finding_not_a_pass(self):
        ev = self.events()
        ev.insert(gen.index_of(ev, "vm.unmap"), "err.not_implemented fn=vm_unmap")
        out = self.assertCaught(ev, "not-implemented")
        self.assertIn("vm_unmap is a lab stub", out)

    def test_a_lab_stub_is_found_in_a_panicked_run_too(self):
        ev = self.events()
        ev.insert(len(ev) - 1, "err.not_implemented fn=vm_find_free")
        rc, out, _ = check(ev, status="panic")
        self.assertEqual(rc, 1, out)
        self.assertIn("rule not-implemented: err.not_implemented fn=vm_find_free", out)

    def test_bitmap_rules_are_skipped_when_pmm_is_off(self):
        ev = [e for e in self.events() if not e.startswith(("pmm.", "stat.pmm"))]
        ev.insert(5, "stat.pmm total=1 usable=1 used=5 free=0 reserved=0")
        rc, out, _ = check(ev, cats="boot,cpu,ptp,pt,vm,tlb,stat,test,err,warn")
        self.assertEqual(rc, 0, out)
        self.assertIn("rules skipped: pmm", out)


class Mappings(Base):
    def test_map_over_a_present_entry_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, "vm.map as=0 va=0xffffc")
        ev.insert(i + 1, gen.vm_map(gen.KALLOC_VA + 0x1000, 0x900000, 1, "P|W|NX"))
        out = self.assertCaught(ev, "vm-map-present")
        self.assertIn(f"already mapped to pa=0x801000 (event {i + 1})", out)

    def test_unmap_of_an_absent_page_is_found(self):
        ev = self.events()
        ev.insert(len(ev) - 1, f"vm.unmap as=0 va={gen.KALLOC_VA + 0x10000:#x} n=1")
        self.assertCaught(ev, "vm-unmap-absent")

    def test_a_pte_that_disagrees_with_pa_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, "vm.map as=0 va=0xffffc")
        ev[i] = ev[i].replace("pte=0x8000000000800203", "pte=0x8000000000801203")
        out = self.assertCaught(ev, "vm-pte")
        self.assertIn("the raw entry says pa=0x801000", out)

    def test_a_pte_that_disagrees_with_flags_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, "vm.map as=0 va=0xffffffff80210000")
        ev[i] = ev[i].replace("flags=P|W|G|NX", "flags=P|G|NX")
        self.assertCaught(ev, "vm-pte")

    def test_a_missing_invalidation_is_found(self):
        ev = [e for e in self.events() if not e.startswith("tlb.invlpg")]
        out = self.assertCaught(ev, "tlb-stale")
        self.assertIn("was unmapped from va=0xffffc00000000000", out)

    def test_a_protect_needs_invalidation_only_when_hardware_bits_change(self):
        def protect(flags):
            ev = self.events()
            ev.insert(len(ev) - 1, f"vm.protect as=0 va=0xffffffff80200000 n=1 flags={flags} "
                      f"pte={gen.pte(0x200000, flags):#x}")
            return ev
        rc, out, _ = check(protect("P|G|PIN"))
        self.assertEqual(rc, 0, out)
        out = self.assertCaught(protect("P|G|NX"), "tlb-stale")
        self.assertIn("never invalidated, first va=0xffffffff80200000", out)

    def test_a_write_and_execute_mapping_is_flagged(self):
        ev = self.events()
        i = gen.index_of(ev, "vm.map as=0 va=0xffffffff80200000")
        ev[i] = gen.vm_map(0xffffffff80200000, 0x200000, 16, "P|W|G")
        self.assertCaught(ev, "vm-wx")

    def test_a_lying_vm_snapshot_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, "stat.vm")
        ev[i] = "stat.vm as=0 mapped=16421 tables=9"
        self.assertCaught(ev, "stat-vm")

    def test_unmapping_part_of_a_2m_page_is_found(self):
        ev = self.events()
        ev.insert(len(ev) - 1, "vm.unmap as=0 va=0xffff800000201000 n=1")
        self.assertCaught(ev, "vm-split-2m")

    def test_unmapping_a_whole_2m_page_leaves_its_neighbours(self):
        ev = self.events()
        ev.insert(len(ev) - 1, "vm.unmap as=0 va=0xffff800000200000 n=512")
        ev.insert(len(ev) - 1, "tlb.flush why=threshold")
        rc, out, _ = check(ev)
        self.assertEqual(rc, 0, out)
        rc, out, _ = vtrace("state", "@", data=gen.write(ev))
        self.assertIn("0xffff800000000000-0xffff8000001fffff -> 0x000000000000-0x0000001fffff", out)
        self.assertIn("0xffff800000400000-0xffff800003ffffff -> 0x000000400000-0x000003ffffff", out)


class Tables(Base):
    def test_a_recursive_entry_that_points_elsewhere_is_found(self):
        ev = [e.replace("ptp.recursive id=0 slot=510 pte=0x8000000000400003",
                        "ptp.recursive id=0 slot=510 pte=0x8000000000401003") for e in self.events()]
        self.assertCaught(ev, "ptp-recursive")

    def test_a_share_into_a_page_that_is_not_a_pml4_is_found(self):
        ev = self.events()
        ev.insert(len(ev) - 1, "pt.share pa=0x401000 from=0x400000 first=256 n=254")
        out = self.assertCaught(ev, "pt-share")
        self.assertIn("0x401000 is not a live PML4", out)

    def test_a_share_of_the_user_half_is_found(self):
        ev = self.events()
        ev.insert(len(ev) - 1, "pt.share pa=0x400000 from=0x400000 first=0 n=2")
        self.assertCaught(ev, "pt-share")

    def test_a_run_of_tables_is_replayed_and_a_taken_entry_in_it_is_found(self):
        ev = self.events()
        at = len(ev) - 1
        ev[at:at] = ["ptp.alloc id=0 pa=0x409000 n=3",
                     "pt.new pa=0x409000 level=3 parent=0x400000 index=300 n=3",
                     "stat.ptp id=0 pages=16 used=12"]
        rc, out, _ = check(ev)
        self.assertEqual(rc, 0, out)
        ev[at + 1] = "pt.new pa=0x409000 level=3 parent=0x400000 index=383 n=3"
        out = self.assertCaught(ev, "pt-slot-taken")
        self.assertIn("entry 384 of 0x400000 already points to 0x406000", out)

    def test_a_table_given_back_before_the_invalidation_is_found(self):
        ev = self.events()
        back = ev.pop(gen.index_of(ev, "ptp.free id=0 pa=0x408000"))
        ev.insert(gen.index_of(ev, "tlb.invlpg"), back)
        out = self.assertCaught(ev, "tlb-stale")
        self.assertIn("table 0x408000 was detached by event", out)

    def test_a_table_freed_while_not_empty_is_found(self):
        ev = self.events()
        free = ev.pop(gen.index_of(ev, "pt.free"))
        ev.insert(gen.index_of(ev, "vm.unmap"), free)
        out = self.assertCaught(ev, "pt-free-not-empty")
        self.assertIn("the table still has 4 present entries", out)

    def test_a_table_page_not_from_the_pool_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, "ptp.alloc id=0 pa=0x406000")
        del ev[i]
        out = self.assertCaught(ev, "pt-not-pool")
        self.assertIn("not handed out by pool 0", out)

    def test_a_table_page_outside_every_pool_is_found(self):
        ev = self.events()
        ev.insert(len(ev) - 1, "pt.new pa=0x900000 level=1 parent=0x405000 index=1")
        self.assertCaught(ev, "pt-not-pool")

    def test_a_table_whose_parent_is_missing_is_found(self):
        ev = self.events()
        ev.insert(len(ev) - 1, "ptp.alloc id=0 pa=0x409000")
        ev.insert(len(ev) - 1, "pt.new pa=0x409000 level=1 parent=0x403000 index=3")
        self.assertCaught(ev, "pt-parent")

    def test_a_pool_page_handed_out_twice_is_found(self):
        ev = self.events()
        ev.insert(len(ev) - 1, "ptp.alloc id=0 pa=0x401000")
        self.assertCaught(ev, "ptp-double-alloc")

    def test_a_mapping_without_its_table_is_found(self):
        ev = self.events()
        ev.insert(len(ev) - 1, gen.vm_map(0x400000, 0x900000, 1, "P|W|NX"))
        self.assertCaught(ev, "vm-no-table")

    def test_a_lying_pool_snapshot_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, "stat.ptp")
        ev[i] = "stat.ptp id=0 pages=16 used=5"
        self.assertCaught(ev, "stat-ptp")


class Hostile(Base):
    def assertUnreadable(self, data, message):
        rc, out, err = vtrace("check", "@", data=data)
        self.assertEqual(rc, 2, out + err)
        self.assertNotIn("Traceback", err)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn(message, err)

    def test_empty_input_is_refused_in_one_line(self):
        self.assertUnreadable(b"", "empty input")

    def test_binary_input_is_refused_in_one_line(self):
        self.assertUnreadable(bytes(range(256)) * 64, "binary data")

    def test_a_wrong_version_is_refused_in_one_line(self):
        self.assertUnreadable(gen.write(self.events(), header='@vitrine v1 cmdline=""'),
                              "format v1 is not supported")

    def test_text_that_is_not_a_trace_is_refused(self):
        self.assertUnreadable(b"hello world\n", "not a Vitrine trace")

    def test_a_missing_file_is_refused(self):
        rc, _, err = vtrace("check", "/nonexistent/trace.log")
        self.assertEqual(rc, 2)
        self.assertIn("cannot read", err)

    def test_a_trace_cut_mid_line_is_a_frame_finding(self):
        data = gen.write(self.events())
        rc, out, err = vtrace("check", "@", data=data[:len(data) // 2])
        self.assertEqual(rc, 1, err)
        self.assertIn("rule frame-end", out)

    def test_an_enormous_line_is_a_frame_finding(self):
        lines = gen.write(self.events()).split(b"\n")
        lines[5] = lines[5] + b" junk=" + b"x" * 5_000_000
        rc, out, err = vtrace("check", "@", data=b"\n".join(lines))
        self.assertEqual(rc, 1, err)
        self.assertIn("rule frame-line-length", out)
        self.assertLess(len(out), 10000)

    def test_a_line_of_line_max_bytes_is_in_the_limit_and_one_more_is_not(self):
        limit = tracefile.LINE_MAX  # bytes, the newline included
        for size, over in ((limit, False), (limit + 1, True)):
            lines = gen.write(self.events()).split(b"\n")
            pad = size - 1 - len(lines[5]) - len(b" junk=")
            lines[5] += b" junk=" + b"x" * pad
            self.assertEqual(len(lines[5]) + 1, size)
            _, out, err = vtrace("check", "@", data=b"\n".join(lines))
            self.assertEqual("rule frame-line-length" in out, over, f"{size} bytes: {out}{err}")

    def test_stdin_is_read_with_a_dash(self):
        rc, out, _ = vtrace("check", "-", stdin=gen.write(self.events()))
        self.assertEqual(rc, 0, out)

    def test_a_usage_error_exits_2(self):
        rc, _, err = vtrace("check")
        self.assertEqual(rc, 2)
        self.assertNotIn("Traceback", err)

    def test_every_subcommand_survives_garbage_keys(self):
        ev = self.events()
        ev.insert(5, "pmm.set pa=zz n=1 why=alloc")
        for cmd in (["check"], ["stats"], ["state"], ["show"]):
            rc, out, err = vtrace(*cmd, "@", data=gen.write(ev))
            self.assertNotIn("Traceback", err)
            self.assertIn(rc, (0, 1), err)


class Tools(Base):
    def test_the_command_as_a_process_says_what_it_says_in_process(self):
        """The other tests call vtrace's cli() in their own process; the
        command the shell runs must give the same status and output: 0
        on a clean trace, 1 on a finding, 2 on garbage and a usage error."""
        events = self.events()
        i = gen.index_of(events, "pmm.set pa=0x800000")
        cases = [(["check", "@"], gen.write(events)),
                 (["check", "@"], gen.write(events[:i + 1] + [events[i]] + events[i + 1:])),
                 (["stats", "@"], b"not a trace\n"), (["check", "--no-such-flag"], None)]
        for want, (args, data) in zip((0, 1, 2, 2), cases):
            path = os.path.join(TMP, f"process{want}.log")
            if data is not None:
                open(path, "wb").write(data)
            args = [path if a == "@" else a for a in args]
            here, there = vtrace_here(args), vtrace_process(args)
            self.assertEqual(here[0], want, here)
            self.assertEqual(here, there)

    def test_diff_of_equal_traces_says_same(self):
        data = gen.write(self.events())
        path = os.path.join(TMP, "a.log")
        open(path, "wb").write(data)
        rc, out, _ = vtrace("diff", path, "@", data=data)
        self.assertEqual(rc, 0, out)

    def test_diff_explains_a_changed_key(self):
        a = os.path.join(TMP, "b.log")
        open(a, "wb").write(gen.write(self.events()))
        ev = self.events()
        i = gen.index_of(ev, "pmm.set pa=0x800000")
        ev[i] = ev[i].replace("n=4", "n=5")
        rc, out, _ = vtrace("diff", a, "@", data=gen.write(ev))
        self.assertEqual(rc, 1)
        self.assertIn("same event pmm.set, n: expected 4, got 5", out)
        self.assertIn(f"  + {i + 1} pmm.set pa=0x800000 n=5", out)

    def test_diff_scrub_pa_ignores_a_different_allocation(self):
        a = os.path.join(TMP, "c.log")
        open(a, "wb").write(gen.write(self.events()))
        moved = [re.sub(r"=0x800000\b", "=0xa00000", e.replace(
            "pte=0x8000000000800203", "pte=0x8000000000a00203")) for e in self.events()]
        self.assertEqual(vtrace("diff", a, "@", data=gen.write(moved))[0], 1)
        rc, out, _ = vtrace("diff", "--scrub-pa", a, "@", data=gen.write(moved))
        self.assertEqual(rc, 0, out)

    def test_diff_finds_an_extra_line(self):
        a = os.path.join(TMP, "d.log")
        open(a, "wb").write(gen.write(self.events()))
        ev = self.events()
        ev.insert(3, "boot.stage name=extra")
        rc, out, _ = vtrace("diff", a, "@", data=gen.write(ev))
        self.assertIn("ACTUAL has 1 extra line(s) here", out)

    def test_show_filters_by_category_and_va(self):
        rc, out, _ = vtrace("show", "--cat", "vm", "--va", "0xffffc00000001000-0xffffc00000001fff",
                            "@", data=gen.write(self.events()))
        self.assertEqual(rc, 0)
        self.assertEqual([l.split()[1] for l in out.splitlines() if not l.startswith("#")],
                         ["vm.map", "vm.unmap"])

    def test_show_filters_by_pa_and_seq(self):
        rc, out, _ = vtrace("show", "--pa", "0x801000-0x801000", "--seq", "5-44",
                            "@", data=gen.write(self.events()))
        names = [l.split()[1] for l in out.splitlines() if not l.startswith("#")]
        self.assertEqual(names, ["vm.map", "pmm.set", "vm.map", "pmm.clear"])  # 2M map first

    def test_stats_reports_counts_peak_pool_and_levels(self):
        rc, out, _ = vtrace("stats", "@", data=gen.write(self.events()))
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"\s9  ptp.alloc")
        self.assertIn("used now 273 (1092 KiB), peak 277", out)
        self.assertIn("handed out now 8, peak 9", out)
        self.assertIn("L4=1, L3=3, L2=3, L1=1", out)

    def test_state_coalesces_like_info_tab(self):
        at = gen.index_of(self.events(), "vm.map as=0 va=0xffffc") + 1
        rc, out, _ = vtrace("state", "--at", str(at), "@", data=gen.write(self.events()))
        self.assertIn("0xffff800000000000-0xffff800003ffffff -> 0x000000000000-0x000003ffffff"
                      "     65536K  P|W|PS|NX", out)
        self.assertIn("0xffffc00000000000-0xffffc00000003fff -> 0x000000800000-0x000000803fff", out)

    def test_state_json_of_a_cut_trace_equals_the_full_trace_at_the_same_event(self):
        ev = self.events()
        at = gen.index_of(ev, "vm.map as=0 va=0xffffc") + 1
        rc, full, _ = vtrace("state", "--json", "--at", str(at), "@", data=gen.write(ev))
        self.assertEqual(rc, 0)
        rc, cut, _ = vtrace("state", "--json", "--at", str(at), "@",
                            data=gen.write(ev[:at], end=False))
        self.assertEqual(rc, 0)
        self.assertEqual(json.loads(full), json.loads(cut))
        st = json.loads(full)
        self.assertEqual(st["after"], at)
        space = st["spaces"][0]
        self.assertEqual((space["as"], space["pml4"]), (0, "0x400000"))
        self.assertIn({"va": "0xffffc00000000000", "pa": "0x800000", "bytes": 16384,
                       "flags": "P|W|NX|OWN", "page": 4096}, space["mappings"])
        self.assertIn({"pa": "0x400000", "level": 4, "parent": "0x0", "index": 0, "pool": 0},
                      st["tables"])
        self.assertEqual(st["bitmap"]["pages"], 16384)

    def test_draw_writes_an_svg_with_the_tables(self):
        path = os.path.join(TMP, "draw.svg")
        rc, out, err = vtrace("draw", "@", "-o", path, data=gen.write(self.events()))
        self.assertEqual(rc, 0, err)
        svg = open(path).read()
        self.assertIn("<svg", svg)
        self.assertIn("PML4 0x400000", svg)
        self.assertIn("#e53935", svg)  # kernel pages are drawn
        self.assertIn("kernel image: 256 page(s), 1.0 MiB", svg)
        self.assertIn("pool 0: 16 page(s)", svg)
        self.assertRegex(svg, r"\d+\.\d MiB free \(folded\)")
        self.assertIn("<title>0x200000&#45;0x2fffff kernel image, 256 pages</title>", svg)
        self.assertNotIn("xlink:title", svg)  # browsers show <title>, not this

    def test_draw_names_the_flags_of_leaves_and_draws_few_empty_tables(self):
        ev = self.events()[:-1]
        i = gen.index_of(ev, "vm.map as=0 va=0xffffc")
        ev = ev[:i + 1] + ["test.end name=generated failures=0"]
        for k in range(3):  # three empty PDPTs: few enough to be drawn
            ev[i:i] = gen.table(0x409000 + k * 0x1000, 3, 0x400000, 300 + k)
        path = os.path.join(TMP, "draw2.svg")
        rc, out, err = vtrace("draw", "@", "-o", path, data=gen.write(ev, status="fail"))
        self.assertEqual(rc, 0, err)
        svg = open(path).read()
        self.assertIn("4 x 4K P|W|NX|OWN", svg)
        self.assertEqual(svg.count(">0 present<"), 3)
        self.assertNotIn("not drawn", svg)

    def test_perfetto_writes_valid_json_with_counters(self):
        path = os.path.join(TMP, "p.json")
        rc, _, err = vtrace("perfetto", "@", "-o", path, data=gen.write(self.events()))
        self.assertEqual(rc, 0, err)
        doc = json.load(open(path))
        free = [e for e in doc["traceEvents"] if e.get("name") == "free pages"]
        self.assertEqual(free[-1]["args"]["free"], 15855)
        spans = [(e["name"], e["ts"], e["dur"]) for e in doc["traceEvents"] if e["ph"] == "X"]
        self.assertIn(("generated", 2, 43), spans)  # test.begin at 2, test.end at 45
        tracks = {e["args"]["name"]: e["tid"] for e in doc["traceEvents"]
                  if e["ph"] == "M" and e["name"] == "thread_name"}
        by_cat = {(e["cat"], e["tid"]) for e in doc["traceEvents"] if e["ph"] == "i"}
        self.assertEqual({tracks[c] for c, _ in by_cat}, {t for _, t in by_cat})
        self.assertGreaterEqual(len(by_cat), 6)

    def test_check_replays_a_200k_event_trace_clean(self):
        # Its speed is measured by `make bench` (vtrace row), not here.
        rc, out, _ = vtrace("check", "@", data=gen.write(gen.big_events(200_000)))
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"^ok: 2000\d\d events")


class MmStory(Base):
    """The real src/mm on the host (tests/trace/mm_story.c), its trace
    checked clean, then with one defect injected per rule."""
    trace = None

    @classmethod
    def story(cls):
        if cls.trace is None:
            cls.trace = build_story()
        return cls.trace

    def mutated(self, edit, rule):
        cats, events, status = self.story()
        out = self.assertCaught(edit(list(events)), rule, cats=cats, status=status)
        return out

    def index(self, events, prefix, nth=0):
        hits = [i for i, e in enumerate(events) if e.startswith(prefix)]
        self.assertGreater(len(hits), nth, f"the story has no {prefix!r}")
        return hits[nth]

    def test_the_real_mm_story_passes_check(self):
        cats, events, status = self.story()
        rc, out, _ = check(events, cats=cats, status=status)
        self.assertEqual((rc, status), (0, "ok"), out)
        for name in ("vm.protect", "tlb.flush", "tlb.invlpg", "pt.free", "as.destroy",
                     "ptp.destroy", "err.already_mapped"):
            self.assertTrue(any(e.startswith(name) for e in events), name)

    def test_real_story_without_an_invlpg_is_caught(self):
        def edit(ev):
            del ev[self.index(ev, "tlb.invlpg va=0x400000")]
            return ev
        self.mutated(edit, "tlb-stale")

    def test_real_story_with_a_repeated_pmm_set_is_caught(self):
        def edit(ev):
            i = self.index(ev, "pmm.set", 3)
            return ev[:i + 1] + [ev[i]] + ev[i + 1:]
        self.mutated(edit, "pmm-double-set")

    def test_real_story_without_a_pt_free_is_caught(self):
        def edit(ev):
            del ev[self.index(ev, "pt.free")]
            return ev
        self.mutated(edit, "ptp-free-table")

    def test_real_story_freeing_before_unmapping_is_caught(self):
        def edit(ev):
            i = self.index(ev, "vm.unmap as=0 va=0xffffc00040000000")
            clear = next(j for j in range(i, len(ev)) if ev[j].startswith("pmm.clear"))
            return ev[:i] + [ev[clear]] + ev[i:clear] + ev[clear + 1:]
        self.mutated(edit, "pmm-free-mapped")

    def test_real_story_with_a_lying_vm_snapshot_is_caught(self):
        def edit(ev):
            i = self.index(ev, "stat.vm")
            ev[i] = re.sub(r"mapped=(\d+)", lambda m: f"mapped={int(m.group(1)) + 1}", ev[i])
            return ev
        self.mutated(edit, "stat-vm")

    def test_real_story_with_a_heap_double_free_is_caught(self):
        def edit(ev):
            i = self.index(ev, "heap.free")
            return ev[:i + 1] + [ev[i]] + ev[i + 1:]
        self.mutated(edit, "heap-double-free")

    def test_real_story_with_a_lying_heap_snapshot_is_caught(self):
        def edit(ev):
            i = self.index(ev, "stat.heap")
            ev[i] = re.sub(r"req=(\d+)", lambda m: f"req={int(m.group(1)) - 1}", ev[i])
            return ev
        self.mutated(edit, "stat-heap")

    def test_real_story_without_a_kalloc_free_is_a_leak(self):
        def edit(ev):  # the story ends before its last kalloc_free
            return ev[:max(i for i, e in enumerate(ev) if e.startswith("kalloc.free"))]
        out = self.mutated(edit, "kalloc-leak")
        self.assertIn("3 page(s) at va=0xffffc00000000000", out)

    def test_real_story_with_a_wrong_pte_is_caught(self):
        def edit(ev):
            i = self.index(ev, "vm.map as=0 va=0xffffffff80004000")
            ev[i] = re.sub(r"pte=0x([0-9a-f]+)", lambda m: f"pte={int(m.group(1), 16) | 2:#x}", ev[i])
            return ev
        self.mutated(edit, "vm-pte")


def build_story():
    """(cats, events, status) of mm_story's trace, built and run in a
    folder of this process (make check runs the tests in two, --shard)."""
    out = os.path.join(ROOT, "build", "trace-test", str(os.getpid()))
    os.makedirs(out, exist_ok=True)
    lib = [f for f in glob.glob(os.path.join(ROOT, "src", "lib", "*.c"))
           if not f.endswith("string.c")]
    srcs = [os.path.join(HERE, "mm_story.c")] + lib + \
        glob.glob(os.path.join(ROOT, "src", "mm", "*.c")) + \
        [os.path.join(ROOT, "tests", "host", f) for f in ("arch_host.c", "trace_host.c")]
    binary = os.path.join(out, "mm_story")
    cc = subprocess.run(["gcc", "-std=gnu11", "-O1", "-Wall", "-Wextra", "-Werror",
                         "-iquote", "src/lib", "-iquote", "src/mm", "-iquote", "tests/host",
                         "-iquote", "build/gen",
                         "-o", binary] + srcs, cwd=ROOT, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT)
    if cc.returncode:
        raise AssertionError("mm_story does not build:\n" + cc.stdout.decode()[-2000:])
    path = os.path.join(out, "mm_story.log")
    r = subprocess.run([binary, path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode:
        raise AssertionError(f"mm_story failed at step {r.returncode}")
    lines = open(path).read().splitlines()
    cats = next(l[6:] for l in lines if l.startswith("#cats "))
    events = [l.split(" ", 1)[1] for l in lines if l[:1].isdigit()]
    return cats, events, lines[-1].rsplit("=", 1)[1]


class RealTraces(Base):
    """Traces the kernel wrote (build/scenarios/*/trace.log, build/run)."""

    def traces(self):
        return sorted(glob.glob(os.path.join(ROOT, "build", "scenarios", "*", "trace.log")))

    def test_every_line_of_the_scenario_traces_fits_the_schema_and_is_ascii(self):
        bad = {}
        for path in self.traces():
            data = open(path, "rb").read()
            if any(b > 0x7e or (b < 0x20 and b != 0x0a) for b in data):
                bad[os.path.relpath(path, ROOT)] = "a byte outside printable ASCII"
            rc, out, _ = vtrace("check", path)
            if "frame-schema" in out:
                bad[os.path.relpath(path, ROOT)] = out.splitlines()[0]
        self.assertTrue(self.traces(), "no build/scenarios/*/trace.log: run the scenarios first")
        self.assertEqual(bad, {})

    def test_a_real_trace_with_one_double_set_injected_is_caught(self):
        for path in self.traces():
            lines = open(path).read().splitlines()
            events = [l.split(" ", 1)[1] for l in lines if l[:1].isdigit()]
            sets = [e for e in events if e.startswith("pmm.set ") and "why=kalloc" not in e]
            if sets and lines[-1].startswith("@end"):
                break
        else:
            self.fail("no scenario trace with pmm.set events: run the scenarios first")
        cats = next(l[6:] for l in lines if l.startswith("#cats "))
        status = lines[-1].rsplit("=", 1)[1]
        clean = check(events, cats=cats, status=status)
        self.assertEqual(clean[0], 0, f"{path} itself fails:\n{clean[1]}")
        i = events.index(sets[-1])
        self.assertCaught(events[:i + 1] + [sets[-1]] + events[i + 1:], "pmm-double-set",
                          cats=cats, status=status)


def main():
    p = argparse.ArgumentParser(prog="test_vtrace")
    p.add_argument("--tap", action="store_true")
    p.add_argument("--shard", default="0/1")
    p.add_argument("names", nargs="*")
    args = p.parse_args()
    tap, names = args.tap, args.names
    m = re.fullmatch(r"(\d+)/(\d+)", args.shard)
    if not m or not int(m.group(1)) < int(m.group(2)):
        p.error(f"--shard wants K/N with 0 <= K < N, not {args.shard!r}")
    k, of = int(m.group(1)), int(m.group(2))
    loader = unittest.TestLoader()
    tests = [t for m in (sys.modules[__name__], test_vtrace_alloc, test_vtrace_view, test_vtrace_tlb,
                      test_vtrace_proc, test_vtrace_swap, test_vtrace_fast)
             for s in loader.loadTestsFromModule(m) for t in s]
    tests = [t for t in tests if not names or any(n in t.id() for n in names)]
    failed = 0
    for n, test in enumerate(tests, 1):
        if (n - 1) % of != k:
            continue
        result = unittest.TestResult()
        test.run(result)
        problems = result.failures + result.errors
        name = test.id().split(".")[-1].removeprefix("test_")
        if problems:
            failed += 1
            detail = problems[0][1].strip().splitlines()[-12:]
            print("\n".join("# " + l for l in detail))
        skip = f" # SKIP {result.skipped[0][1]}" if result.skipped else ""
        print(f"{'not ok' if problems else 'ok'} {n} - {name}{skip}" if tap else
              f"{'FAIL' if problems else 'PASS'}  {name}{skip}", flush=True)
    ran = len(range(k, len(tests), of))
    print(f"1..{len(tests)}" if tap else f"{ran - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
