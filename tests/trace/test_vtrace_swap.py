"""test_vtrace_swap - vtrace on swap (trace/vtracelib/swapstate.py): the
kernel's traces of the swap scenarios (build/scenarios/user_swap and
user_swap_full, which the scenario suite writes) pass, and each rule
catches one defect injected into them; `stats` prints evictions and
swap-ins per process. Run by test_vtrace.py."""
import re

from vtrace_base import Base, check, vtrace
import gen
import test_vtrace_proc


def first_finding(out):
    return out.splitlines()[0]


class RealSwapTraces(Base):
    def story(self, name="user_swap"):
        return test_vtrace_proc.RealUserTraces.story(self, name)

    def at(self, ev, prefix, nth=0):
        hits = [i for i, e in enumerate(ev) if e.startswith(prefix)]
        self.assertGreater(len(hits), nth, f"the story has no {prefix!r}")
        return hits[nth]

    def caught_first(self, ev, kw, rule):
        out = self.assertCaught(ev, rule, **kw)
        self.assertIn(f": rule {rule}: ", first_finding(out), out)
        return out

    def test_the_kernels_swap_traces_pass(self):
        for name in ("user_swap", "user_swap_full"):
            ev, kw = self.story(name)
            rc, out, err = check(ev, **kw)
            self.assertEqual((rc, err), (0, ""), out)
            for event in ("vm.age", "swap.scan", "swap.evict", "swap.alloc", "disk.write",
                          "vm.swapout", "swap.out", "swap.free", "stat.swap"):
                self.assertTrue(any(e.startswith(event) for e in ev), f"{name}: {event}")
        ev, _ = self.story("user_swap")
        self.assertTrue(any(e.startswith("swap.in ") for e in ev))

    def test_a_page_that_goes_out_unwritten_is_caught(self):
        ev, kw = self.story()
        del ev[self.at(ev, "disk.write")]
        self.assertIn("was not written", first_finding(self.caught_first(ev, kw, "swap-write")))

    def test_a_frame_freed_while_still_mapped_is_caught(self):
        ev, kw = self.story()
        del ev[self.at(ev, "vm.swapout")]
        self.assertIn("pmm-free-mapped", self.assertCaught(ev, "pmm-free-mapped", **kw))

    def test_a_page_present_while_swapped_out_is_caught(self):
        ev, kw = self.story()
        del ev[self.at(ev, "swap.in ")]  # mapped again, the slot still its own
        out = self.assertCaught(ev, "swap-present", **kw)
        self.assertIn("while its contents are in slot", out)

    def test_a_slot_freed_twice_is_caught(self):
        ev, kw = self.story()
        i = self.at(ev, "swap.free")
        ev.insert(i + 1, ev[i])
        self.assertIn("is not taken", first_finding(self.caught_first(ev, kw, "swap-slot")))

    def test_a_slot_freed_while_it_holds_a_page_is_caught(self):
        ev, kw = self.story()
        slot = re.search(r"slot=(\d+)", ev[self.at(ev, "swap.out")]).group(1)
        ev.insert(self.at(ev, "swap.out") + 1, f"swap.free slot={slot}")
        self.assertIn("still holds", first_finding(self.caught_first(ev, kw, "swap-slot")))

    def test_a_process_ending_with_pages_in_swap_is_caught(self):
        ev, kw = self.story("user_swap_full")
        forgets = [i for i, e in enumerate(ev) if e.startswith("vm.forget")]
        self.assertTrue(forgets)
        i = forgets[0]
        del ev[i:i + 2]  # its vm.forget and swap.free
        out = self.assertCaught(ev, "swap-leftover", **kw)
        self.assertIn("still in swap", out)

    def test_a_wrong_slot_count_is_caught(self):
        ev, kw = self.story()
        i = self.at(ev, "stat.swap")
        ev[i] = re.sub(r"used=\d+", "used=7", ev[i])
        self.assertIn("the replay holds 0 slot(s)", self.caught_first(ev, kw, "swap-stat"))

    def test_stats_prints_faults_and_evictions_per_process(self):
        ev, kw = self.story()
        rc, out, err = vtrace("stats", "@", data=gen.write(ev, **kw))
        self.assertEqual(rc, 0, err)
        m = re.search(r"swap: pid 1 swapper: (\d+) fault\(s\), (\d+) eviction\(s\) "
                      r"\(write=(\d+) drop=(\d+)\), (\d+) swap-in\(s\)", out)
        self.assertTrue(m, out)
        self.assertEqual(int(m.group(2)), sum(e.startswith("swap.evict") for e in ev))
        self.assertEqual(int(m.group(5)), sum(e.startswith("swap.in ") for e in ev))
