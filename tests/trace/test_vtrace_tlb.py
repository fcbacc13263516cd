"""test_vtrace_tlb - vtrace's rule tlb-late (trace/vtracelib/vmstate.py): an
entry that lost rights is invalidated before any event of another operation
could use it. Injected defects on gen.clean_events; run by test_vtrace.py."""

import gen
from vtrace_base import Base, check

KVA = 0xffffffff80200000  # a kernel page of the story, mapped P|W|G|NX


def protect(flags):
    return f"vm.protect as=0 va={KVA:#x} n=1 flags={flags} pte={gen.pte(0x200000, flags):#x}"


class TlbLate(Base):
    def test_an_event_between_an_unmap_and_its_invlpg_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, "tlb.invlpg va=0xffffc00000000000")
        ev.insert(i + 1, ev.pop(i))  # after pmm.clear: the page is free, still reachable
        out = self.assertCaught(ev, "tlb-late")
        self.assertIn("va=0xffffc00000000000 lost rights at event", out)
        self.assertIn("pmm.clear", out)

    def test_the_rest_of_the_unmap_may_come_before_its_invlpg(self):
        ev = self.events()  # the v2 order: vm.unmap, pt.free, tlb.invlpg, pmm.clear, ...
        i = gen.index_of(ev, "tlb.invlpg va=0xffffc00000000000")
        self.assertEqual([e.split()[0] for e in ev[i - 2:i + 1]],
                         ["vm.unmap", "pt.free", "tlb.invlpg"])
        rc, out, err = check(ev)
        self.assertEqual((rc, err), (0, ""), out)

    def test_a_protect_taking_w_away_is_invalidated_before_the_next_event(self):
        ev = self.events()
        ev[-1:-1] = [protect("P|G|NX"), "test.begin name=late",
                     f"tlb.invlpg va={KVA:#x} n=1"]
        out = self.assertCaught(ev, "tlb-late")
        self.assertIn("test.begin", out)

    def test_a_protect_adding_nx_is_a_reduction_too(self):
        ev = self.events()
        i = gen.index_of(ev, f"vm.map as=0 va={KVA:#x}")
        ev[i] = gen.vm_map(KVA, 0x200000, 16, "P|G")
        ev[-1:-1] = [protect("P|G|NX"), "test.begin name=late",
                     f"tlb.invlpg va={KVA:#x} n=1"]
        self.assertCaught(ev, "tlb-late")

    def test_a_protect_invalidated_at_once_passes(self):
        ev = self.events()
        ev[-1:-1] = [protect("P|G|NX"), f"tlb.invlpg va={KVA:#x} n=1", "test.begin name=ok"]
        rc, out, err = check(ev)
        self.assertEqual((rc, err), (0, ""), out)

    def test_a_protect_that_only_adds_rights_may_wait(self):
        ev = self.events()
        i = gen.index_of(ev, f"vm.map as=0 va={KVA:#x}")
        ev[i] = gen.vm_map(KVA, 0x200000, 16, "P|G|NX")
        ev[-1:-1] = [protect("P|W|G|NX"), "test.begin name=wait",
                     f"tlb.invlpg va={KVA:#x} n=1"]
        rc, out, err = check(ev)
        self.assertEqual((rc, err), (0, ""), out)
