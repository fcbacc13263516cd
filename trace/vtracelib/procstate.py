"""procstate - the processes part of the replay: proc.*, sys.*, user.*, pf.*,
cow.* and as.* events.

Shadows of the kernel's process table and of its frame reference counts
(docs/user.md, docs/faults.md): each process (pid -> address space, name,
parent, regions, state, exit code or kill cause, faults by resolution), the
count of every frame that fork shares (cow.ref), and who maps each user
frame: every user-half 4K leaf, which vmstate passes to leaf_changed.

The rules (docs/trace-tools.md, "check"): a frame counted 2 or more is never
mapped W, and no COW page is W (cow-writable); a counted frame is not freed
(cow-free); at each boundary (every proc.* event, pf.resolve, cow.share,
cow.copy, cow.restore, and the end) a counted frame's count is the number of
user-half OWN pages that map it, and a frame that 2 or more such pages map
is counted (cow-count); every fault is resolved or its process killed before
that process's next fault, its end and the end of the trace (pf-unresolved),
by a resolution that fits (pf-resolve) or a kill that names its cause
(pf-kill); an ended process leaves no mapping, table or frame behind
(proc-leftover). Unlike the memory manager's rules, these report and go
on: the event is still applied, so that one defect gives one finding, not
a cascade.
"""
from . import schema
from .tracefile import Finding
from .vmstate import PAGE, KERNEL_HALF, flag_set

_S = schema.load()
USER_BASE, USER_END = _S.const("USER_BASE"), _S.const("USER_END")
ALIVE = ("created", "ready", "running")          # may run, fault, call
GONE = ("exited", "killed")                     # its space is being torn down
HOWS = {"zero": ("heap", "mmap"), "stack": ("stack",), "cow_copy": None,
        "cow_restore": None, "fixup": None,
        "swap_in": ("heap", "stack", "mmap")}     # resolution -> region kinds it fits
SHOWN = 3  # cow-count findings at one boundary, at most


class Proc:
    __slots__ = ("pid", "parent", "asid", "name", "regions", "state", "code", "kill",
                 "nfaults", "faults", "calls", "writes", "seq")

    def __init__(self, pid, parent, asid, name, seq):
        self.pid, self.parent, self.asid, self.name, self.seq = pid, parent, asid, name, seq
        self.regions = {}     # va -> [kind, pages, prot]
        self.state = "created"
        self.code = None      # exit code (proc.exit)
        self.kill = None      # (why, va, rip) of proc.kill
        self.nfaults = 0      # pf.fault events
        self.faults = {}      # how they ended: resolution, or "kill" -> count
        self.calls = {}       # system call name -> count
        self.writes = 0       # bytes written with write

    def ending(self):
        """'exit 3' or 'killed write_ro at va=0x...' once it ended, else ''."""
        if self.kill:
            return f"killed {self.kill[0]} at va={self.kill[1]:#x} rip={self.kill[2]:#x}"
        return f"exit {self.code}" if self.code is not None else ""


class ProcState:
    def __init__(self, trace):
        self.proc_on = trace.enabled("proc")
        self.as_on = trace.enabled("as")
        self.cow_on = trace.enabled("cow")
        self.procs = {}        # pid -> Proc (the latest of that pid)
        self.proc_list = []    # every Proc, in order of creation
        self.running = None    # pid of the last proc.switch
        self.cow = {}          # ppn -> count of cow.ref (counts above 0 only)
        self.cow_peak = 0
        self.cow_done = {"share": 0, "copy": 0, "restore": 0}
        self.frame_maps = {}   # ppn -> {(as, vpn): flags}: user-half 4K leaves
        self.dirty = set()     # ppns whose count or leaves changed since the last boundary
        self.as_frames = {}    # as -> {ppn: seq}: frames it mapped OWN, until freed
        self.frame_as = {}     # ppn -> set of as (the reverse of as_frames)
        self.as_live = {}      # as -> as.create event
        self.as_left = {}      # as -> (user pages still mapped, first va) at as.destroy
        self.pending = {}      # pid -> its pf.fault waiting for a resolution
        self.cow_found = 0     # event of the last cow-writable finding (one per event)

    def proc_handlers(self):
        plain = {"sys.call": self.sys_call, "user.write": self.user_write,
                 "pf.fault": self.pf_fault, "cow.ref": self.cow_ref,
                 "as.create": self.as_create, "as.destroy": self.as_destroy}
        bounded = {"proc.create": self.proc_create, "proc.region": self.proc_region,
                   "proc.resize": self.proc_resize, "proc.unregion": self.proc_unregion,
                   "proc.exit": self.proc_exit, "proc.kill": self.proc_kill,
                   "proc.end": self.proc_end, "proc.reap": self.proc_reap,
                   "pf.resolve": self.pf_resolve, "cow.share": self.cow_share,
                   "cow.copy": self.cow_copy, "cow.restore": self.cow_restore,
                   "proc.exec": self.proc_exec, "proc.switch": self.proc_switch}
        for name, h in bounded.items():
            plain[name] = self.at_boundary(h)
        return plain

    def at_boundary(self, h):
        def run(e):
            h(e)
            self.check_counts(e)
        return run

    # --- who maps each user frame (called by vmstate) ---------------------------

    def leaf_changed(self, e, asid, vpn, old, new):
        """A user-half 4K leaf of asid changed: old and new are (ppn, flags)
        or None. Rule cow-writable for the new leaf."""
        if old:
            m = self.frame_maps.get(old[0])
            if m is not None:
                m.pop((asid, vpn), None)
                if not m:
                    del self.frame_maps[old[0]]
            self.dirty.add(old[0])
        if not new:
            return
        ppn, flags = new
        self.frame_maps.setdefault(ppn, {})[(asid, vpn)] = flags
        self.dirty.add(ppn)
        f = flag_set(flags)
        if "OWN" in f:
            self.as_frames.setdefault(asid, {})[ppn] = e.seq
            self.frame_as.setdefault(ppn, set()).add(asid)
        if "W" in f and self.cow_found != e.seq:
            if "COW" in f:
                self.cow_found = e.seq
                self.find(e, "cow-writable", f"va={vpn * PAGE:#x} would be COW and W: a "
                          "copy-on-write page is read-only until its fault")
            elif self.cow.get(ppn, 0) >= 2:
                self.cow_found = e.seq
                self.find(e, "cow-writable", f"frame {ppn * PAGE:#x} has count="
                          f"{self.cow[ppn]}: shared, it must be read-only in every space")

    def own_leaves(self, ppn):
        return sorted(k for k, f in self.frame_maps.get(ppn, {}).items()
                      if "OWN" in flag_set(f))

    def check_counts(self, e, end=False):
        """Rule cow-count over the frames touched since the last boundary."""
        if not self.dirty:
            return
        dirty, self.dirty = self.dirty, set()
        if not (self.cow_on and self.vm_on):
            return
        bad = []
        for ppn in sorted(dirty):
            c, own = self.cow.get(ppn, 0), self.own_leaves(ppn)
            if (c and c != len(own)) or (not c and len(own) >= 2):
                bad.append((ppn, c, own))
        for ppn, c, own in bad[:SHOWN]:
            where = ", ".join(f"as {a} va={v * PAGE:#x}" for a, v in own[:4])
            if c:
                text = (f"frame {ppn * PAGE:#x} has count={c} but {len(own)} user page(s) "
                        "map it OWN" + (f" ({where})" if own else ""))
            else:
                text = (f"frame {ppn * PAGE:#x} is mapped OWN by {len(own)} user pages "
                        f"({where}) but not counted (no cow.ref)")
            if end:
                self.findings.append(Finding("end", "cow-count", text))
            else:
                self.find(e, "cow-count", text)
        if len(bad) > SHOWN:
            more = f"{len(bad) - SHOWN} more frame(s) whose count is not their OWN mappings"
            self.findings.append(Finding("end" if end else f"event {e.seq}", "cow-count", more))

    # --- cow: reference counts ----------------------------------------------------

    def cow_ref(self, e):
        pa, count = e.int("pa"), e.int("count")
        ppn = pa // PAGE
        if pa % PAGE:
            self.find(e, "cow-ref", "pa must be page-aligned")
            return
        if count and self.pmm_on and self.pages and (ppn >= self.pages or not self.why[ppn]):
            self.find(e, "cow-ref", f"frame {pa:#x} is free in the bitmap")
        if count:
            self.cow[ppn] = count
            self.cow_peak = max(self.cow_peak, len(self.cow))
        else:
            self.cow.pop(ppn, None)
        self.dirty.add(ppn)
        if count >= 2:
            for (a, v), f in sorted(self.frame_maps.get(ppn, {}).items()):
                if "W" in flag_set(f):
                    self.find(e, "cow-writable", f"as {a} maps it writable at va={v * PAGE:#x} "
                              f"(event {self.maps[a][v][2]}): a shared frame is read-only")
                    break

    def freeing_counted(self, seq, line, a, n):
        """Rule cow-free, at a pmm.clear (event seq, its line) of pages a..a+n-1."""
        hit = sorted(p for p in self.cow if a <= p < a + n)
        if hit:
            p = hit[0]
            self.find_at(seq, line, "cow-free", f"frame {p * PAGE:#x} still has count={self.cow[p]}: "
                      "a shared frame is freed only when its count reaches 0")

    def frames_freed(self, a, n):
        """pmm.clear: the frames are no longer any space's."""
        fa = self.frame_as
        hit = [p for p in fa if a <= p < a + n] if n > len(fa) else \
            [p for p in range(a, a + n) if p in fa]
        for p in hit:
            for asid in fa.pop(p):
                self.as_frames.get(asid, {}).pop(p, None)

    def cow_share(self, e):
        pid, child, va, n = e.int("pid"), e.int("child"), e.int("va"), e.int("n")
        p, c = self.process(e, pid), self.process(e, child)
        self.cow_done["share"] += n
        if not (p and c and self.vm_on):
            return
        for i in range(n):
            vpn = va // PAGE + i
            a, b = self.lookup(p.asid, vpn), self.lookup(c.asid, vpn)
            if not a or not b:
                what = f"not mapped in process {pid if not a else child}"
            elif a[0] != b[0]:
                what = f"mapped to frames {a[0] * PAGE:#x} and {b[0] * PAGE:#x}"
            elif "W" in flag_set(a[1]) | flag_set(b[1]):
                what = f"writable ({a[1]} and {b[1]})"
            else:
                continue
            self.find(e, "cow-share", f"va={vpn * PAGE:#x} is {what}: both must map the "
                      "same frame read-only")
            return

    def cow_copy(self, e):
        p = self.process(e, e.int("pid"))
        va, old, new = e.int("va"), e.int("from"), e.int("to")
        self.cow_done["copy"] += 1
        if not (p and self.vm_on):
            return
        m = self.lookup(p.asid, va // PAGE)
        if old == new or not m or m[0] != new // PAGE or "W" not in flag_set(m[1]):
            now = f"maps {m[0] * PAGE:#x} with {m[1]}" if m else "is not mapped"
            self.find(e, "cow-copy", f"va={va:#x} {now}: after a copy it maps the new "
                      "frame `to` writable (vm.remap before)")

    def cow_restore(self, e):
        p = self.process(e, e.int("pid"))
        va, pa = e.int("va"), e.int("pa")
        self.cow_done["restore"] += 1
        if not (p and self.vm_on):
            return
        m = self.lookup(p.asid, va // PAGE)
        if not m or m[0] != pa // PAGE or "W" not in flag_set(m[1]) or "COW" in flag_set(m[1]):
            now = f"maps {m[0] * PAGE:#x} with {m[1]}" if m else "is not mapped"
            self.find(e, "cow-restore", f"va={va:#x} {now}: after a restore it maps `pa` "
                      "with W and without COW (vm.protect before)")

    # --- as: spaces created and destroyed ---------------------------------------

    def as_create(self, e):
        asid = e.int("id")
        self.as_live[asid] = e.seq
        self.as_left.pop(asid, None)
        for ppn in self.as_frames.pop(asid, {}):
            self.frame_as.get(ppn, set()).discard(asid)

    def as_destroy(self, e):
        asid = e.int("id")
        self.as_live.pop(asid, None)
        left = sorted(v for v in self.maps.get(asid, {}) if v * PAGE < KERNEL_HALF)
        self.as_left[asid] = (len(left), left[0] * PAGE if left else None)

    # --- proc: processes ------------------------------------------------------------

    def process(self, e, pid, alive=False):
        """The Proc of pid, or None with a finding (proc-unknown; with alive,
        proc-state if it exited or was killed)."""
        p = self.procs.get(pid)
        if p is None or p.state in ("ended", "reaped"):
            if self.proc_on:
                self.find(e, "proc-unknown", f"there is no process {pid}" if p is None else
                          f"process {pid} ended (its proc.end came before)")
            return None
        if alive and p.state in GONE:
            self.find(e, "proc-state", f"process {pid} is {p.state} ({p.ending()})")
        return p

    def proc_create(self, e):
        pid, parent, asid = e.int("pid"), e.int("parent"), e.int("as")
        old = self.procs.get(pid)
        if old and old.state != "reaped":
            self.find(e, "proc-state", f"process {pid} exists (event {old.seq}, {old.state})")
        if parent:
            self.process(e, parent, alive=True)
        if self.as_on and asid not in self.as_live:
            self.find(e, "proc-unknown", f"there is no address space {asid} (as.create)")
        for q in self.procs.values():
            if q.asid == asid and q.pid != pid and q.state in ALIVE + GONE:
                self.find(e, "proc-state", f"as {asid} belongs to process {q.pid}")
                break
        p = Proc(pid, parent, asid, e.keys.get("name", "?"), e.seq)
        self.procs[pid] = p
        self.proc_list.append(p)

    def region_fits(self, e, p, va, n, skip=None):
        """Rule proc-region: aligned, in the user half, over no other region."""
        lo, hi = USER_BASE, USER_END
        if va % PAGE or not lo <= va <= va + n * PAGE <= hi:
            self.find(e, "proc-region", f"a region is page-aligned within {lo:#x}-{hi:#x}")
            return False
        for rva, (kind, rn, _) in p.regions.items():
            if rva != skip and (rva == va or (va < rva + rn * PAGE and rva < va + n * PAGE)):
                self.find(e, "proc-region", f"it overlaps the {kind} region at {rva:#x} "
                          f"({rn} page(s))")
                return False
        return True

    def proc_region(self, e):
        p = self.process(e, e.int("pid"), alive=True)
        va, n = e.int("va"), e.int("n")
        if p and self.region_fits(e, p, va, n):
            p.regions[va] = [e.keys.get("kind", "?"), n, e.keys.get("prot", "?")]

    def proc_resize(self, e):
        p = self.process(e, e.int("pid"), alive=True)
        va, n = e.int("va"), e.int("n")
        if p is None:
            return
        if va not in p.regions:
            self.find(e, "proc-region", f"process {p.pid} has no region at {va:#x}")
        elif self.region_fits(e, p, va, n, skip=va):
            p.regions[va][1] = n

    def proc_unregion(self, e):
        p = self.process(e, e.int("pid"))
        va = e.int("va")
        if p is None:
            return
        r = p.regions.pop(va, None)
        if r is None:
            self.find(e, "proc-region", f"process {p.pid} has no region at {va:#x}")
            return
        still = [v for v in range(va // PAGE, va // PAGE + r[1])
                 if self.lookup(p.asid, v)] if self.vm_on else []
        if still:
            self.find(e, "proc-region", f"{len(still)} page(s) of it are still mapped, first "
                      f"va={still[0] * PAGE:#x}: a region goes after its pages")

    def proc_exec(self, e):
        p = self.process(e, e.int("pid"), alive=True)
        if p and p.state == "created":
            p.state = "ready"

    def proc_switch(self, e):
        p = self.process(e, e.int("pid"), alive=True)
        if p is None or p.state in GONE:
            return
        q = self.procs.get(self.running)
        if q and q.state == "running":
            q.state = "ready"
        p.state, self.running = "running", p.pid

    def proc_exit(self, e):
        p = self.process(e, e.int("pid"), alive=True)
        if p and p.state not in GONE:
            p.state, p.code = "exited", e.int("code")

    def proc_kill(self, e):
        p = self.process(e, e.int("pid"), alive=True)
        faulted = self.pending.pop(e.int("pid"), None)
        if p and faulted:
            self.kill_fits(e, p, faulted)
        if p and p.state not in GONE:
            p.state, p.kill = "killed", (e.keys.get("why", "?"), e.int("va"), e.int("rip"))
            if faulted:
                p.faults["kill"] = p.faults.get("kill", 0) + 1

    def kill_fits(self, e, p, f):
        """Rule pf-kill: a kill that ends a fault names that fault's address
        and a cause the regions agree with."""
        why, va = e.keys.get("why", "?"), f.int("va")
        region, err = self.region_at(p, va), flag_set(f.keys.get("err", "-"))
        fits = {"unmapped": region is None and va < USER_END,
                "write_ro": region is not None and "W" in err and "w" not in region[2],
                "exec_nx": region is not None and "I" in err and "x" not in region[2],
                "kernel_addr": va >= USER_END,
                "stack_overflow": region is None and va < USER_END}.get(why, True)
        if e.int("va") != va or not fits:
            where = "in no region" if region is None else f"in a {region[0]} region ({region[2]})"
            self.find(e, "pf-kill", f"the fault of event {f.seq} is at va={va:#x} (err="
                      f"{f.keys.get('err', '-')}), {where}: why={why} does not fit")

    def region_at(self, p, va):
        """[kind, pages, prot] of the region of p holding va, or None."""
        return next((r for rva, r in p.regions.items() if rva <= va < rva + r[1] * PAGE), None)

    def proc_end(self, e):
        """Rule proc-leftover: the space is gone and nothing of it is left."""
        p = self.process(e, e.int("pid"))
        if p is None:
            return
        if p.state not in GONE:
            self.find(e, "proc-state", f"process {p.pid} is {p.state}: no proc.exit or "
                      "proc.kill came before")
        f = self.pending.pop(p.pid, None)
        if f is not None:
            self.find(e, "pf-unresolved", f"its fault at event {f.seq} (va={f.int('va'):#x}) "
                      "was never resolved")
        p.state = "ended"
        self.leftover(e, p)

    def leftover(self, e, p):
        asid, told = p.asid, []
        if asid in self.as_live or (self.ptp_on and asid in self.pools):
            told.append(f"its space as {asid} is not destroyed (as.destroy, ptp.destroy)")
        left = self.as_left.get(asid)
        if left and left[0]:
            told.append(f"{left[0]} page(s) were still mapped in as {asid} at its as.destroy "
                        f"(first va={left[1]:#x})")
        frames = self.as_frames.pop(asid, {})
        lost = sorted(q for q in frames if self.pmm_on and q < self.pages and self.why[q]
                      and not self.referenced(q))
        if lost:
            told.append(f"{len(lost)} frame(s) it mapped OWN are still in use and mapped "
                        f"nowhere, first pa={lost[0] * PAGE:#x} (mapped by event "
                        f"{frames[lost[0]]}, why={self.reason(lost[0])})")
        for q in frames:
            self.frame_as.get(q, set()).discard(asid)
        for text in told:
            self.find(e, "proc-leftover", text)

    def proc_reap(self, e):
        pid, child, code = e.int("pid"), e.int("child"), e.int("code")
        if pid:
            self.process(e, pid, alive=True)
        c = self.procs.get(child)
        parent = self.procs.get(c.parent) if c else None
        orphan = c and c.parent and (parent is None or parent.state not in ALIVE)
        if c is None or c.state != "ended":
            self.find(e, "proc-state", f"process {child} " + ("does not exist" if c is None
                      else f"is {c.state}: only an ended process (proc.end) is reaped"))
        elif c.parent != pid and not orphan:  # an orphan: whoever adopted it
            self.find(e, "proc-state", f"process {child}'s parent is {c.parent}")
        elif c.code is not None and c.code != code:
            self.find(e, "proc-state", f"process {child} exited with code {c.code}")
        if c is not None and c.state == "ended":
            c.state = "reaped"

    def sys_call(self, e):
        p = self.process(e, e.int("pid"), alive=True)
        if p is None:
            return
        name = e.keys.get("name", "?")
        p.calls[name] = p.calls.get(name, 0) + 1
        if name == "fork" and e.int("ret"):  # the parent's return: the child
            c = self.procs.get(e.int("ret"))
            if c is None or c.parent != p.pid:
                self.find(e, "proc-state", f"fork returned {e.int('ret')}, which is not a "
                          f"child of {p.pid} (proc.create came before)")

    def user_write(self, e):
        p = self.process(e, e.int("pid"), alive=True)
        if p:
            text = e.keys.get("text", '""')[1:-1]
            p.writes += len(text) - 3 * text.count("\\x")

    # --- pf: faults -------------------------------------------------------------------

    def pf_fault(self, e):
        pid = e.int("pid")
        p = self.process(e, pid, alive=True)
        f = self.pending.get(pid)
        if f is not None:
            self.find(e, "pf-unresolved", f"process {pid}'s fault at event {f.seq} "
                      f"(va={f.int('va'):#x}) got no pf.resolve or proc.kill before this one")
        self.pending[pid] = e
        if p:
            p.nfaults += 1

    def pf_resolve(self, e):
        """Rule pf-resolve: the pending fault's page, a region that fits the
        resolution, and the page then mapped for the access that faulted."""
        pid, va, how = e.int("pid"), e.int("va"), e.keys.get("how", "?")
        p = self.process(e, pid, alive=True)
        f = self.pending.pop(pid, None)
        if f is None:
            self.find(e, "pf-resolve", f"process {pid} has no fault waiting (pf.fault)")
            return
        if f.int("va") // PAGE != va // PAGE:
            self.find(e, "pf-resolve", f"the fault of event {f.seq} is at va={f.int('va'):#x}")
            return
        if how not in HOWS:
            self.find(e, "pf-resolve", f"how={how} is not one of {', '.join(HOWS)}")
            return
        if p is None:
            return
        p.faults[how] = p.faults.get(how, 0) + 1
        if how == "fixup":
            return
        region = self.region_at(p, va)
        kinds = HOWS[how]
        if region is None or (kinds and region[0] not in kinds) or \
                (not kinds and "w" not in region[2]):
            self.find(e, "pf-resolve", f"va={va:#x} is " + (
                "in no region of the process" if region is None else
                f"in a {region[0]} region ({region[2]})") + f", which how={how} does not fit")
            return
        m = self.lookup(p.asid, va // PAGE) if self.vm_on else True
        want = {"P", "U"} | ({"W"} & flag_set(f.keys.get("err", "-")))
        if m is not True and (m is None or not want <= flag_set(m[1])):
            self.find(e, "pf-resolve", f"va={va:#x} is " + ("not mapped" if m is None else
                      f"mapped {m[1]}") + f" in as {p.asid}: the access that faulted "
                      f"({'|'.join(sorted(want))}) would fault again")

    def finish_procs(self):
        """End-of-trace rules of a run that ended normally: pending faults, counts."""
        for pid, f in sorted(self.pending.items()):
            self.findings.append(Finding("end", "pf-unresolved", f"process {pid}'s fault at "
                                         f"event {f.seq} (va={f.int('va'):#x}) was never "
                                         "resolved"))
        self.check_counts(None, end=True)
