"""test_vtrace_proc - vtrace on user processes, faults and copy-on-write
(trace/vtracelib/procstate.py, vm.remap in vmstate.py): the fork story of
gen_user.py passes, and each rule catches one defect injected into it; the
process part of `stats` and `state`; and the kernel's own traces of the
user scenarios, clean and with one defect injected. Run by test_vtrace.py."""
import json
import os

import gen
import gen_user as u
from vtrace_base import ROOT, Base, check, vtrace
import test_vtrace_view


def first_finding(out):
    return out.splitlines()[0]


class Story(Base):
    def events(self):
        return u.fork_events()

    def at(self, ev, prefix, nth=0):
        hits = [i for i, e in enumerate(ev) if e.startswith(prefix)]
        self.assertGreater(len(hits), nth, f"the story has no {prefix!r}")
        return hits[nth]

    def assertClean(self, ev, **kw):
        rc, out, err = check(ev, **kw)
        self.assertEqual((rc, err), (0, ""), out)
        return out

    def assertFirst(self, ev, rule):
        out = self.assertCaught(ev, rule)
        self.assertIn(f": rule {rule}: ", first_finding(out), out)
        return out


class Clean(Story):
    def test_the_fork_story_passes(self):
        ev = self.events()
        self.assertClean(ev)
        for name in ("proc.create", "proc.region", "proc.resize", "proc.unregion", "proc.exec",
                     "proc.switch", "proc.exit", "proc.end", "proc.reap", "sys.call",
                     "user.write", "pf.fault", "pf.resolve", "cow.ref", "cow.share",
                     "cow.copy", "cow.restore", "vm.remap"):
            self.assertTrue(any(e.startswith(name) for e in ev), name)

    def test_a_kill_and_a_fixed_up_kernel_fault_pass(self):
        out = self.assertClean(u.kill_events())
        self.assertIn("263 events", out)

    def test_the_view_data_follows_the_fork_story(self):
        m = test_vtrace_view.ViewData.assertRebuildsEveryState(self, gen.write(self.events()))
        self.assertTrue(m["deltas"])


class CowWritable(Story):
    def test_a_fork_that_leaves_the_parent_writable_is_caught(self):
        ev = self.events()
        del ev[self.at(ev, f"vm.protect as=1 va={u.DATA_VA:#x} n=2")]
        out = self.assertFirst(ev, "cow-writable")
        self.assertIn(f"cow.ref pa={u.DATA:#x} count=2 but as 1 maps it writable at "
                      f"va={u.DATA_VA:#x}", out)

    def test_w_given_back_while_the_count_is_2_is_caught(self):
        ev = self.events()
        i = self.at(ev, "sys.call pid=1 name=fork")
        ev[i + 1:i + 1] = [u.protect(1, u.DATA_VA, u.DATA, 1, u.RW),
                           f"tlb.invlpg va={u.DATA_VA:#x} n=1"]
        out = self.assertFirst(ev, "cow-writable")
        self.assertIn(f"frame {u.DATA:#x} has count=2: shared, it must be read-only", out)
        self.assertEqual(out.count(": rule "), 1, out)

    def test_a_cow_page_with_w_is_caught(self):
        ev = self.events()
        i = self.at(ev, f"vm.protect as=1 va={u.DATA_VA:#x} n=1")
        ev[i] = u.protect(1, u.DATA_VA, u.DATA, 1, "P|W|U|OWN|COW|NX")
        out = self.assertFirst(ev, "cow-writable")
        self.assertIn("would be COW and W", out)

    def test_w_given_back_at_count_1_passes(self):
        ev = self.events()
        i = self.at(ev, f"vm.protect as=1 va={u.DATA_VA:#x} n=1")
        self.assertLess(self.at(ev, f"cow.ref pa={u.DATA:#x} count=1"), i)
        self.assertClean(ev)


class CowFree(Story):
    def test_freeing_a_frame_before_its_count_drops_to_0_is_caught(self):
        ev = self.events()
        i = self.at(ev, f"cow.ref pa={u.TEXT:#x} count=0")
        ev.insert(i + 1, ev.pop(i))  # after its pmm.clear
        out = self.assertFirst(ev, "cow-free")
        self.assertIn(f"frame {u.TEXT:#x} still has count=1", out)
        self.assertEqual(out.count(": rule "), 1, out)

    def test_freeing_a_shared_frame_on_unmap_is_caught(self):
        ev = self.events()
        i = self.at(ev, f"cow.ref pa={u.TEXT:#x} count=1")
        ev[i] = f"pmm.clear pa={u.TEXT:#x} n=1 why=free"
        out = self.assertFirst(ev, "cow-free")
        self.assertIn("count=2", out)
        self.assertIn("rule pmm-free-mapped", out)


class CowCount(Story):
    def test_a_share_without_its_cow_ref_is_caught(self):
        ev = self.events()
        del ev[self.at(ev, f"cow.ref pa={u.HEAP:#x} count=2")]
        out = self.assertFirst(ev, "cow-count")
        self.assertIn(f"cow.share pid=1 child=2 va={u.TEXT_VA:#x} n=3 but frame {u.HEAP:#x} "
                      "is mapped OWN by 2 user pages (as 1 va=0x402000, as 2 va=0x402000) "
                      "but not counted", out)
        self.assertEqual(out.count(": rule "), 1, out)

    def test_a_wrong_count_is_caught(self):
        ev = self.events()
        i = self.at(ev, f"cow.ref pa={u.TEXT:#x} count=2")
        ev[i] = f"cow.ref pa={u.TEXT:#x} count=3"
        out = self.assertFirst(ev, "cow-count")
        self.assertIn(f"frame {u.TEXT:#x} has count=3 but 2 user page(s) map it OWN", out)

    def test_a_count_not_dropped_on_unmap_is_caught_at_the_next_boundary(self):
        ev = self.events()
        del ev[self.at(ev, f"cow.ref pa={u.STACK:#x} count=1")]
        out = self.assertFirst(ev, "cow-count")
        self.assertIn(f"proc.end pid=2 but frame {u.STACK:#x} has count=2 but 1 user page(s)",
                      out)

    def test_the_end_of_the_trace_is_a_boundary(self):
        ev = self.events()
        ev.insert(len(ev) - 1, "cow.ref pa=0x200000 count=1")  # a kernel page, used
        out = self.assertFirst(ev, "cow-count")
        self.assertIn("end: rule cow-count: frame 0x200000 has count=1 but 0 user page(s)", out)

    def test_counts_are_not_checked_in_the_middle_of_a_fork(self):
        ev = self.events()
        i = self.at(ev, f"cow.share pid=1 child=2 va={u.TEXT_VA:#x}")
        self.assertTrue(ev[i - 4].startswith("vm.map as=2"))  # maps, then the counts
        self.assertClean(ev)

    def test_a_free_frame_cannot_be_counted(self):
        ev = self.events()
        ev.insert(len(ev) - 1, "cow.ref pa=0x3000000 count=2")
        self.assertFirst(ev, "cow-ref")


class Faults(Story):
    def test_a_fault_without_a_resolution_before_the_next_is_caught(self):
        ev = self.events()
        del ev[self.at(ev, "pf.resolve pid=1 va=0x7ffffffeff8")]
        out = self.assertFirst(ev, "pf-unresolved")
        self.assertIn("pf.fault pid=1 va=0x402010", out)
        self.assertIn("process 1's fault at event", out)
        self.assertEqual(out.count(": rule "), 1, out)

    def test_a_fault_pending_when_its_process_ends_is_caught(self):
        ev = self.events()
        ev.insert(self.at(ev, "proc.exit pid=1"),
                  "pf.fault pid=1 va=0x10 err=U rip=0x400060 mode=user")
        out = self.assertFirst(ev, "pf-unresolved")
        self.assertIn("proc.end pid=1 but its fault at event", out)

    def test_a_fault_pending_at_the_end_of_the_trace_is_caught(self):
        ev = self.events()
        ev = ev[:self.at(ev, "pf.fault pid=2") + 1] + u.END[-1:]
        out = self.assertFirst(ev, "pf-unresolved")
        self.assertIn("end: rule pf-unresolved: process 2's fault at event", out)
        self.assertEqual(out.count(": rule "), 1, out)

    def test_a_pending_fault_is_not_a_finding_of_a_panicked_run(self):
        ev = self.events()
        ev = ev[:self.at(ev, "pf.fault pid=2") + 1] + u.END[-1:]
        self.assertClean(ev, status="panic")

    def test_a_resolution_that_does_not_fit_the_region_is_caught(self):
        ev = self.events()
        i = self.at(ev, "pf.resolve pid=1 va=0x7ffffffeff8")
        ev[i] = ev[i].replace("how=stack", "how=zero")
        out = self.assertFirst(ev, "pf-resolve")
        self.assertIn("is in a stack region (rw-), which how=zero does not fit", out)

    def test_a_resolution_before_the_page_is_mapped_is_caught(self):
        ev = self.events()
        i = self.at(ev, "pf.resolve pid=1 va=0x402010")
        ev.insert(i - 1, ev.pop(i))  # before its vm.map
        out = self.assertFirst(ev, "pf-resolve")
        self.assertIn("va=0x402010 is not mapped in as 1: the access that faulted", out)

    def test_a_resolution_of_another_page_is_caught(self):
        ev = self.events()
        i = self.at(ev, "pf.resolve pid=1 va=0x402010")
        ev[i] = ev[i].replace("va=0x402010", "va=0x403010")
        self.assertFirst(ev, "pf-resolve")


    def test_a_kill_that_does_not_name_the_faults_cause_is_caught(self):
        ev = u.kill_events()
        i = self.at(ev, "proc.kill pid=3")
        ev[i] = ev[i].replace("why=unmapped", "why=write_ro")
        out = self.assertFirst(ev, "pf-kill")
        self.assertIn("is at va=0x10 (err=U), in no region: why=write_ro does not fit", out)

    def test_a_kill_inside_a_region_that_fits_the_access_is_caught(self):
        ev = u.kill_events()
        for k in (self.at(ev, "pf.fault pid=3 va=0x10 err=U"), self.at(ev, "proc.kill pid=3")):
            ev[k] = ev[k].replace("va=0x10 ", "va=0x400010 ")
        out = self.assertFirst(ev, "pf-kill")
        self.assertIn("in a text region (r-x): why=unmapped does not fit", out)

    def test_a_write_to_text_killed_as_write_ro_passes(self):
        ev = u.kill_events()
        i = self.at(ev, "pf.fault pid=3 va=0x10 err=U")
        ev[i] = "pf.fault pid=3 va=0x400010 err=P|W|U rip=0x400004 mode=user"
        j = self.at(ev, "proc.kill pid=3")
        ev[j] = "proc.kill pid=3 why=write_ro va=0x400010 rip=0x400004"
        self.assertClean(ev)


class Leftover(Story):
    def test_a_frame_not_freed_at_exit_is_caught(self):
        ev = self.events()
        del ev[self.at(ev, f"pmm.clear pa={u.COPY:#x}")]
        out = self.assertFirst(ev, "proc-leftover")
        self.assertIn(f"proc.end pid=2 but 1 frame(s) it mapped OWN are still in use and "
                      f"mapped nowhere, first pa={u.COPY:#x}", out)
        self.assertIn("rule leak", out)

    def test_an_end_before_its_space_is_destroyed_is_caught(self):
        ev = self.events()
        end = ev.pop(self.at(ev, "proc.end pid=2"))
        ev.insert(self.at(ev, "as.destroy id=2"), end)
        out = self.assertFirst(ev, "proc-leftover")
        self.assertIn("its space as 2 is not destroyed", out)

    def test_a_space_destroyed_with_a_page_mapped_is_caught(self):
        ev = self.events()
        i = self.at(ev, f"vm.unmap as=2 va={u.STACK_VA:#x}")
        j = self.at(ev, "as.destroy id=2")
        ev[i:j] = []
        out = self.assertCaught(ev, "proc-leftover")
        self.assertIn(f"1 page(s) were still mapped in as 2 at its as.destroy (first "
                      f"va={u.STACK_VA:#x})", out)

    def test_a_killed_process_leaves_nothing_either(self):
        ev = u.kill_events()
        del ev[self.at(ev, "pmm.clear pa=0x520000")]
        ev[self.at(ev, "ptp.destroy id=3")] = "test.begin name=no_destroy"
        out = self.assertFirst(ev, "proc-leftover")
        self.assertIn("its space as 3 is not destroyed", out)


class Remap(Story):
    def test_a_remap_without_its_invlpg_is_caught(self):
        ev = self.events()
        i = self.at(ev, "vm.remap")
        del ev[i + 1]
        out = self.assertFirst(ev, "tlb-late")
        self.assertIn(f"va={u.DATA_VA:#x} lost rights", out)

    def test_a_remap_of_an_absent_page_is_caught(self):
        ev = self.events()
        i = self.at(ev, "vm.remap")
        ev[i] = ev[i].replace(f"va={u.DATA_VA:#x}", "va=0x404000")
        self.assertFirst(ev, "vm-remap-absent")

    def test_a_remap_with_a_wrong_pte_is_caught(self):
        ev = self.events()
        i = self.at(ev, "vm.remap")
        ev[i] = ev[i].replace(f"pte={u.pte(u.COPY, u.RW)}", f"pte={u.pte(u.DATA, u.RW)}")
        self.assertFirst(ev, "vm-pte")


class Lifecycle(Story):
    def test_a_fault_of_no_process_is_caught(self):
        ev = self.events()
        ev.insert(len(ev) - 1, "pf.fault pid=9 va=0x0 err=U rip=0x0 mode=user")
        self.assertFirst(ev, "proc-unknown")

    def test_a_reap_with_another_code_is_caught(self):
        ev = self.events()
        i = self.at(ev, "proc.reap pid=1 child=2")
        ev[i] = ev[i].replace("code=0", "code=1")
        out = self.assertFirst(ev, "proc-state")
        self.assertIn("process 2 exited with code 0", out)

    def test_a_reap_before_the_end_is_caught(self):
        ev = self.events()
        reap = ev.pop(self.at(ev, "proc.reap pid=1 child=2"))
        ev.insert(self.at(ev, "proc.exit pid=2") + 1, reap)
        out = self.assertFirst(ev, "proc-state")
        self.assertIn("is exited: only an ended process (proc.end) is reaped", out)

    def test_overlapping_regions_are_caught(self):
        ev = self.events()
        i = self.at(ev, "proc.region pid=1 kind=heap")
        ev[i] = ev[i].replace(f"va={u.HEAP_VA:#x}", f"va={u.DATA_VA:#x}")
        out = self.assertFirst(ev, "proc-region")
        self.assertIn("overlaps the data region at 0x401000", out)

    def test_a_region_removed_before_its_pages_is_caught(self):
        ev = self.events()
        i = self.at(ev, "proc.unregion")
        ev.insert(self.at(ev, f"vm.unmap as=1 va={u.MMAP_VA:#x}"), ev.pop(i))
        out = self.assertFirst(ev, "proc-region")
        self.assertIn("1 page(s) of it are still mapped, first va=0x10000000", out)


class Commands(Story):
    def test_stats_counts_processes_faults_and_sharing(self):
        rc, out, _ = vtrace("stats", "@", data=gen.write(u.kill_events()))
        self.assertEqual(rc, 0)
        self.assertIn("processes: 3 created, 0 not ended", out)
        self.assertIn("pid 1 init: as 1, parent 0, reaped (exit 0), 4 region(s); 4 fault(s): "
                      "zero=2 stack=1 cow_restore=1; system calls: fork=1 mmap=1 munmap=1 "
                      "sbrk=1 wait=1 write=1", out)
        self.assertIn("pid 3 bad: as 3, parent 0, reaped (killed unmapped at va=0x10 "
                      "rip=0x400004), 1 region(s); 2 fault(s): fixup=1 kill=1", out)
        self.assertIn("copy-on-write: 4 page(s) shared, 1 copied, 1 restored; frames counted "
                      "now 0, peak 4", out)

    def test_state_shows_processes_regions_and_counted_frames(self):
        ev = self.events()
        at = self.at(ev, "pf.resolve pid=2") + 1
        rc, out, _ = vtrace("state", "--at", str(at), "@", data=gen.write(ev))
        self.assertEqual(rc, 0)
        self.assertIn("pid 1 init (as 1, parent 0): ready; 2 fault(s): zero=1 stack=1", out)
        self.assertIn("pid 2 init (as 2, parent 1): running; 1 fault(s): cow_copy=1", out)
        self.assertIn("  heap   0x0000000000402000-0x0000000000402fff", out)
        self.assertIn(f"  {u.DATA:#014x} count=1: as 1 va={u.DATA_VA:#x}", out)
        self.assertIn(f"  {u.TEXT:#014x} count=2: as 1 va={u.TEXT_VA:#x}, as 2 "
                      f"va={u.TEXT_VA:#x}", out)
        self.assertIn(f"0x0000000000401000-0x0000000000401fff -> {u.COPY:#014x}", out)

    def test_state_of_one_space_shows_its_process_only(self):
        ev = self.events()
        at = self.at(ev, "pf.resolve pid=2") + 1
        rc, out, _ = vtrace("state", "--at", str(at), "--as", "2", "@", data=gen.write(ev))
        self.assertIn("pid 2 init", out)
        self.assertNotIn("pid 1 init", out)

    def test_state_json_has_processes_and_counts(self):
        ev = self.events()
        at = self.at(ev, "sys.call pid=1 name=fork") + 1
        rc, out, _ = vtrace("state", "--json", "--at", str(at), "@", data=gen.write(ev))
        st = json.loads(out)
        p1, p2 = st["processes"]
        self.assertEqual((p1["pid"], p1["as"], p1["state"], p1["faults"], p1["resolved"]),
                         (1, 1, "running", 2, {"stack": 1, "zero": 1}))
        self.assertEqual((p2["parent"], p2["state"]), (1, "created"))
        self.assertIn({"kind": "stack", "va": "0x7ffffffb000", "pages": 4, "prot": "rw-"},
                      p1["regions"])
        self.assertEqual([(c["pa"], c["count"], len(c["mapped"])) for c in st["cow"]],
                         [(f"{pa:#x}", 2, 2) for pa in (u.TEXT, u.DATA, u.HEAP, u.STACK)])

    def test_state_json_at_the_end_has_every_process_and_what_it_wrote(self):
        rc, out, _ = vtrace("state", "--json", "@", data=gen.write(u.kill_events()))
        st = json.loads(out)
        self.assertEqual([(p["pid"], p["state"], p["code"], p["written"]) for p in st["processes"]],
                         [(1, "reaped", 0, 10), (2, "reaped", 0, 9), (3, "reaped", None, 0)])
        self.assertEqual(st["processes"][2]["kill"],
                         {"why": "unmapped", "va": "0x10", "rip": "0x400004"})
        self.assertEqual(st["cow"], [])

    def test_a_kernel_spawned_process_is_reaped_by_the_kernel_only(self):
        ev = self.events()
        i = self.at(ev, "proc.reap pid=0 child=1")
        ev.insert(i, ev.pop(i).replace("pid=0", "pid=2"))
        self.assertFirst(ev, "proc-unknown")  # process 2 ended long before
        ev = u.kill_events()
        i = self.at(ev, "proc.reap pid=0 child=3")
        ev[i] = ev[i].replace("pid=0", "pid=3")
        self.assertCaught(ev, "proc-state")

    def test_check_names_the_process_categories_when_off(self):
        ev = [e for e in self.events() if not e.startswith(("proc.", "pf.", "cow.", "sys.",
                                                            "user."))]
        cats = "boot,cpu,mmap,pmm,ptp,pt,vm,tlb,as,kalloc,heap,stat,test,err,warn"
        rc, out, _ = check(ev, cats=cats)
        self.assertEqual(rc, 0, out)
        self.assertIn("rules skipped: proc,pf,cow", out)


class RealUserTraces(Story):
    """build/scenarios/user_forkcow and user_kills/trace.log, which the
    scenario suite writes (as the kernel wrote them), clean and then with
    one defect injected per rule."""

    def story(self, name):
        path = os.path.join(ROOT, "build", "scenarios", name, "trace.log")
        self.assertTrue(os.path.exists(path), f"no {path}: run the scenarios first")
        lines = open(path).read().splitlines()
        self.assertTrue(lines[-1].startswith("@end"), f"{path} has no end record")
        cats = next(l[6:] for l in lines if l.startswith("#cats "))
        events = [l.split(" ", 1)[1] for l in lines if l[:1].isdigit()]
        return events, {"cats": cats, "status": lines[-1].rsplit("=", 1)[1]}

    def test_the_kernels_fork_and_kill_traces_pass(self):
        for name in ("user_forkcow", "user_kills"):
            ev, kw = self.story(name)
            self.assertClean(ev, **kw)
            for event in ("cow.share", "vm.remap", "cow.copy", "cow.restore", "proc.end"):
                self.assertTrue(any(e.startswith(event) for e in ev), f"{name}: {event}")

    def test_a_real_fork_without_a_cow_ref_is_caught(self):
        ev, kw = self.story("user_forkcow")
        del ev[self.at(ev, "cow.ref", 1)]
        out = self.assertCaught(ev, "cow-count", **kw)
        self.assertIn("but not counted (no cow.ref)", first_finding(out))

    def test_a_real_fork_that_leaves_the_parent_writable_is_caught(self):
        ev, kw = self.story("user_forkcow")
        del ev[self.at(ev, "vm.protect as=1")]
        out = self.assertCaught(ev, "cow-writable", **kw)
        self.assertIn("cow-writable", first_finding(out))

    def test_a_real_copy_without_its_invlpg_is_caught(self):
        ev, kw = self.story("user_forkcow")
        del ev[self.at(ev, "vm.remap") + 1]
        self.assertIn("tlb-late", first_finding(self.assertCaught(ev, "tlb-late", **kw)))

    def test_a_real_fault_without_its_resolution_is_caught(self):
        ev, kw = self.story("user_forkcow")
        del ev[self.at(ev, "pf.resolve")]
        self.assertIn("pf-unresolved", first_finding(self.assertCaught(ev, "pf-unresolved",
                                                                           **kw)))

    def test_a_real_frame_freed_while_counted_is_caught(self):
        ev, kw = self.story("user_forkcow")
        i = max(k for k, e in enumerate(ev) if e.startswith("cow.ref") and e.endswith("count=0"))
        j = next(k for k in range(i, len(ev)) if ev[k].startswith("pmm.clear"))
        ev.insert(j, ev.pop(i))  # the last count=0 moved after the next pmm.clear
        self.assertIn("cow-free", first_finding(self.assertCaught(ev, "cow-free", **kw)))

    def test_a_real_killed_child_that_leaves_a_frame_is_caught(self):
        ev, kw = self.story("user_kills")
        kill = self.at(ev, "proc.kill")
        end = next(k for k in range(kill, len(ev)) if ev[k].startswith("proc.end"))
        clear = next(k for k in range(kill, end) if ev[k].startswith("pmm.clear") and
                     ev[k].endswith("n=1 why=free"))
        del ev[clear]
        out = self.assertCaught(ev, "proc-leftover", **kw)
        self.assertIn("frame(s) it mapped OWN are still in use and mapped nowhere",
                      first_finding(out))

    def test_a_real_kill_with_another_cause_is_caught(self):
        ev, kw = self.story("user_kills")
        i = self.at(ev, "proc.kill pid=3 why=write_ro")
        ev[i] = ev[i].replace("why=write_ro", "why=unmapped")
        self.assertIn("pf-kill", first_finding(self.assertCaught(ev, "pf-kill", **kw)))
