"""swapstate - the swap part of the replay: disk.*, swap.*, stat.swap and
the three paging events of swap (vm.age, vm.swapout, vm.forget).

Shadows of the kernel's swap slots and of the swapped-out entries
(docs/swap.md). The rules (docs/trace-tools.md, "check"):
  swap-slot     swap.alloc of a held slot, swap.free of a free one or of
                one that still holds a swapped-out page
  swap-present  a swapped-out page is not present anywhere: vm.swapout of
                a page that is not mapped, or a page mapped while swapped
                out without its swap.in (checked at swap.in, swap.out,
                pf.resolve and proc.end)
  swap-write    a page goes out (vm.swapout) only after its slot was
                written (disk.write of the slot's sectors since its
                swap.alloc); a swap.in only after its slot was read
  swap-leftover a process ended (proc.end) with pages still in swap
  swap-stat     stat.swap's used slots differ from the replay's
  swap-entry    vm.swapout's raw entry is not the encoding of its slot
Like the process rules, these report and go on.
"""
from . import schema
from .vmstate import PAGE

_S = schema.load()
MARK = _S.const("SWAP_PTE_MARK")
SECTORS = _S.const("SWAP_SLOT_SECTORS")


class SwapState:
    def __init__(self, trace):
        self.swap_on = trace.enabled("swap") and trace.enabled("vm")
        self.held = {}         # slot -> seq of its swap.alloc
        self.written = set()   # held slots whose sectors were written since
        self.read = set()      # slots read since they went out
        self.swapped = {}      # (as, vpn) -> slot
        self.slot_page = {}    # slot -> (as, vpn)
        self.evicted = {}      # pid -> {"write": n, "drop": n}
        self.swapins = {}      # pid -> n
        self.scans = 0

    def swap_handlers(self):
        return {"vm.age": self.vm_age, "vm.swapout": self.vm_swapout,
                "vm.forget": self.vm_forget, "disk.read": self.disk_read,
                "disk.write": self.disk_write, "swap.alloc": self.swap_alloc,
                "swap.free": self.swap_free, "swap.scan": self.swap_scan,
                "swap.evict": self.swap_evict, "swap.out": self.swap_out,
                "swap.in": self.swap_in, "stat.swap": self.stat_swap}

    def pid_as(self, pid):
        p = self.procs.get(pid)
        return p.asid if p else None

    def check_absent(self, e):
        """Rule swap-present over every swapped-out page."""
        for (asid, vpn), slot in sorted(self.swapped.items()):
            if self.lookup(asid, vpn) is not None:
                self.find(e, "swap-present", f"va={vpn * PAGE:#x} of as {asid} is mapped "
                          f"while its contents are in slot {slot} (no swap.in)")
                return

    # --- the paging events ---------------------------------------------------

    def vm_age(self, e):
        asid, va = e.int("as"), e.int("va")
        if self.lookup(asid, va // PAGE) is None:
            self.find(e, "swap-present", f"va={va:#x} is not mapped in as {asid}")

    def vm_swapout(self, e):
        asid, va, slot, pte = e.int("as"), e.int("va"), e.int("slot"), e.int("pte")
        vpn = va // PAGE
        if pte != MARK | slot << 12:
            self.find(e, "swap-entry", f"the swapped encoding of slot {slot} is "
                      f"{MARK | slot << 12:#x}")
        if self.lookup(asid, vpn) is None:
            self.find(e, "swap-present", f"va={va:#x} is not mapped in as {asid}")
        else:
            self.unmap_one(e, asid, vpn, vpn + 1)
        if slot not in self.held:
            self.find(e, "swap-slot", f"slot {slot} is not taken (no swap.alloc)")
        elif slot not in self.written:
            self.find(e, "swap-write", f"slot {slot} was not written since its swap.alloc "
                      f"(event {self.held[slot]}): the page's contents would be lost")
        if slot in self.slot_page:
            self.find(e, "swap-slot", f"slot {slot} already holds a page")
        self.swapped[(asid, vpn)] = slot
        self.slot_page[slot] = (asid, vpn)
        self.read.discard(slot)

    def vm_forget(self, e):
        asid, va, slot = e.int("as"), e.int("va"), e.int("slot")
        if self.swapped.get((asid, va // PAGE)) != slot:
            self.find(e, "swap-entry", f"va={va:#x} of as {asid} is not swapped out in slot {slot}")
        self.swapped.pop((asid, va // PAGE), None)
        self.slot_page.pop(slot, None)

    # --- the disk --------------------------------------------------------------

    def slots_of(self, e):
        first, n = e.int("sector"), e.int("n")
        return [s for s in range(first // SECTORS, (first + n + SECTORS - 1) // SECTORS)
                if s * SECTORS >= first and (s + 1) * SECTORS <= first + n]

    def disk_write(self, e):
        self.written.update(s for s in self.slots_of(e) if s in self.held)

    def disk_read(self, e):
        self.read.update(self.slots_of(e))

    # --- slots and the policy -------------------------------------------------------

    def swap_alloc(self, e):
        slot = e.int("slot")
        if slot in self.held:
            self.find(e, "swap-slot", f"slot {slot} is taken since event {self.held[slot]}")
        self.held[slot] = e.seq
        self.written.discard(slot)

    def swap_free(self, e):
        slot = e.int("slot")
        if slot not in self.held:
            self.find(e, "swap-slot", f"slot {slot} is not taken")
        elif slot in self.slot_page:
            asid, vpn = self.slot_page[slot]
            self.find(e, "swap-slot", f"slot {slot} still holds va={vpn * PAGE:#x} of as {asid}")
        self.held.pop(slot, None)
        self.written.discard(slot)

    def swap_scan(self, e):
        self.scans += 1

    def swap_evict(self, e):
        pid, va, how = e.int("pid"), e.int("va"), e.keys.get("how", "?")
        d = self.evicted.setdefault(pid, {"write": 0, "drop": 0})
        d[how] = d.get(how, 0) + 1
        asid = self.pid_as(pid)
        m = self.lookup(asid, va // PAGE) if asid is not None else None
        if m is None or m[0] * PAGE != e.int("pa"):
            self.find(e, "swap-present", f"va={va:#x} of pid {pid} does not map {e.int('pa'):#x}")

    def swap_out(self, e):
        pid, va, slot = e.int("pid"), e.int("va"), e.int("slot")
        if self.swapped.get((self.pid_as(pid), va // PAGE)) != slot:
            self.find(e, "swap-entry", f"va={va:#x} of pid {pid} did not go out to slot {slot} "
                      "(vm.swapout)")
        self.check_absent(e)

    def swap_in(self, e):
        pid, va, slot = e.int("pid"), e.int("va"), e.int("slot")
        asid, vpn = self.pid_as(pid), va // PAGE
        self.swapins[pid] = self.swapins.get(pid, 0) + 1
        if self.swapped.get((asid, vpn)) != slot:
            self.find(e, "swap-entry", f"va={va:#x} of pid {pid} is not in slot {slot}")
        elif slot not in self.read:
            self.find(e, "swap-write", f"slot {slot} was not read (disk.read) before its page came back")
        m = self.lookup(asid, vpn) if asid is not None else None
        if m is None or m[0] * PAGE != e.int("pa"):
            self.find(e, "swap-present", f"va={va:#x} does not map {e.int('pa'):#x} after its swap-in")
        self.swapped.pop((asid, vpn), None)
        self.slot_page.pop(slot, None)
        self.check_absent(e)

    def stat_swap(self, e):
        if e.int("used") != len(self.held):
            self.find(e, "swap-stat", f"the replay holds {len(self.held)} slot(s)")

    def swap_proc_end(self, e):
        """Rule swap-leftover, at proc.end: the process's slots are free."""
        self.check_absent(e)
        asid = self.pid_as(e.int("pid"))
        left = sorted(v for (a, v) in self.swapped if a == asid)
        if left:
            self.find(e, "swap-leftover", f"{len(left)} page(s) of as {asid} are still in swap "
                      f"(first va={left[0] * PAGE:#x})")
