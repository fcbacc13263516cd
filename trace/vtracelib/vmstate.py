"""vmstate - the mappings part of the replay: vm.* and tlb.* events.

Mappings are kept per address space as 4K pages (page number -> physical
page, flags, event) and 2M pages (2M number -> physical 2M number, ...), so
a direct map of gigabytes in 2M pages costs one entry per 2M. Physical pages
referenced by mappings are counted, except by the direct map (a mapping with
va == HHDM_BASE + pa), which maps free memory on purpose. VAs unmapped or
protected while their address space is loaded are "stale" until a
tlb.invlpg, tlb.flush or (for non-global entries) tlb.cr3. vm.remap (a
copy-on-write copy) points a present page at another frame: the old
translation is stale, and has lost rights, until its invalidation.

Every change of a user-half 4K leaf is passed to leaf_changed (procstate.py),
which keeps who maps each user frame for the copy-on-write rules.

Rule tlb-late: a stale entry that lost rights (unmapped; W or U removed, NX
added) must be invalidated before the next event of another operation,
which could use it. Only the rest of the same operation (vm.unmap,
vm.protect, pt.free) and tlb.* events may stand between.
"""
from . import schema

_S = schema.load()
PAGE = 1 << _S.const("PAGE_SHIFT")
LARGE = 1 << _S.const("PT_INDEX_BITS")  # 4K pages in a 2M page
HHDM_BASE = _S.const("HHDM_BASE")
KERNEL_HALF = _S.const("KERNEL_HALF")
ADDR_MASK = _S.const("PTE_ADDR_MASK")
BITS = _S.flag_bits
PS = 1 << BITS["PS"]
SOFTWARE = frozenset(("OWN", "PIN", "COW", "A", "D"))  # a change of these alone needs no invalidation
# Reasons of pages that must be freed once nothing maps them (rule leak).
LEAK_REASONS = frozenset(("alloc", "kalloc", "heap", "test", "user"))
# Events of the operation that took rights away, allowed before its invalidation.
SAME_OPERATION = frozenset(("vm.unmap", "vm.protect", "pt.free"))


def rights_reduced(old, new):
    """True if flags new allow less than old: W or U gone, NX come, P gone."""
    old, new = flag_set(old), flag_set(new)
    return bool({"P", "W", "U"} & (old - new)) or ("NX" in new and "NX" not in old)


def flag_set(flags):
    return frozenset() if flags in ("-", "") else frozenset(flags.split("|"))


def pte_flags(pte):
    return frozenset(name for name, bit in BITS.items() if pte >> bit & 1)


class VmState:
    def __init__(self):
        self.maps = {}       # as -> {vpn: (ppn, flags, seq)}
        self.large = {}      # as -> {va >> 21: (pa >> 21, flags, seq)}
        self.small_in = {}   # (as, va >> 21) -> 4K pages mapped in that 2M
        self.mapped = {}     # as -> mapped 4K pages
        self.refs = {}       # ppn -> [count, va, as] (direct map excluded)
        self.unmapped = {}   # ppn -> event that unmapped it (leak candidates)
        self.stale = {}      # vpn -> (event, global, large)
        self.stale_pa = {}   # ppn -> vpn of a stale entry
        self.reduced = {}    # vpn -> event: stale entries that lost rights (tlb-late)
        self.as_root = {}    # as -> PML4 pa
        self.current_as = None

    # --- queries ---------------------------------------------------------------

    def lookup(self, asid, vpn):
        """(ppn, flags, seq, is_large) of a mapped 4K page, or None."""
        m = self.maps.get(asid, {}).get(vpn)
        if m:
            return m[0], m[1], m[2], False
        big = self.large.get(asid, {}).get(vpn >> 9)
        if big:
            return big[0] * LARGE + (vpn & 511), big[1], big[2], True
        return None

    def referenced(self, ppn):
        """Where a physical page is mapped (not by the direct map), or None."""
        r = self.refs.get(ppn) or self.refs.get(("2M", ppn >> 9))
        return f"va={r[1]:#x} in as {r[2]}" if r else None

    def live(self, asid, va):
        """True if TLB entries of this VA may exist (its space is loaded)."""
        return self.current_as is not None and (asid == self.current_as or va >= KERNEL_HALF)

    def leaf_table(self, e, asid, va, level):
        """The table holding the leaf of va, None if unknown; finding if missing."""
        if not self.pt_on:
            return None
        root = self.as_root.get(0 if va >= KERNEL_HALF else asid)
        if root is None:
            return None
        span = 1 << (12 + 9 * level)
        pa = self.table_at.get((root, level, va & ~(span - 1) & 0xFFFFFFFFFFFFFFFF))
        if pa is None:
            self.find(e, "vm-no-table", f"no level-{level} table covers va={va:#x} "
                      f"under the PML4 at {root:#x}")
            return False
        return self.tables[pa]

    # --- vm.map ----------------------------------------------------------------

    def vm_map(self, e):
        asid, va, pa, n = e.int("as"), e.int("va"), e.int("pa"), e.int("n")
        big = e.keys.get("size") == "2M"
        step = LARGE if big else 1
        flags = e.keys.get("flags", "-")
        if va % (step * PAGE) or pa % (step * PAGE) or n <= 0:
            self.find(e, "vm-align", f"va and pa must be {'2M' if big else '4K'}-aligned, n >= 1")
            return
        if not self.pte_agrees(e, e.int("pte"), pa, flags, big) or not self.wx_ok(e, flags):
            return
        for i in range(n):
            if self.map_conflict(e, asid, va + i * step * PAGE, big):
                return
        for i in range(n):
            self.map_one(e, asid, va + i * step * PAGE, pa + i * step * PAGE, flags, big)

    def pte_agrees(self, e, pte, pa, flags, big):
        """Rule 5: the raw entry holds pa, the flags, and PS for a 2M page."""
        addr = pte & ADDR_MASK & (~(LARGE * PAGE - 1) if big else ~0)
        got = pte_flags(pte)
        if addr != pa or got != flag_set(flags) or bool(pte & PS) != big:
            self.find(e, "vm-pte", f"the raw entry says pa={addr:#x} flags="
                      f"{'|'.join(sorted(got, key=BITS.get)) or '-'}"
                      f" ({'a 2M' if pte & PS else 'a 4K'} page)")
            return False
        return True

    def wx_ok(self, e, flags):
        """Rule 8: a page both writable and executable is flagged."""
        f = flag_set(flags)
        if "W" in f and "NX" not in f and "P" in f:
            self.find(e, "vm-wx", "the page would be writable and executable")
            return False
        return True

    def map_conflict(self, e, asid, va, big):
        """Rule 4 (no map over a present entry) and rule 7 (no reuse of a stale VA)."""
        vpn = va // PAGE
        old = self.lookup(asid, vpn)
        if old is None and big and self.small_in.get((asid, vpn >> 9)):
            old = (0, "?", "?", False)
        if old is not None:
            self.find(e, "vm-map-present", f"va={va:#x} is already mapped to pa="
                      f"{old[0] * PAGE:#x} (event {old[2]})")
            return True
        if self.tlb_on:
            for v in ([vpn] if not big else range(vpn, vpn + LARGE)):
                if v in self.stale:
                    self.find(e, "tlb-stale", f"va={v * PAGE:#x} was unmapped or protected by "
                              f"event {self.stale[v][0]} and not invalidated since")
                    return True
        return False

    def map_one(self, e, asid, va, pa, flags, big):
        vpn, ppn = va // PAGE, pa // PAGE
        table = self.leaf_table(e, asid, va, 2 if big else 1)
        if table:
            table.used += 1
        if big:
            self.large.setdefault(asid, {})[vpn >> 9] = (ppn >> 9, flags, e.seq)
        else:
            self.maps.setdefault(asid, {})[vpn] = (ppn, flags, e.seq)
            key = (asid, vpn >> 9)
            self.small_in[key] = self.small_in.get(key, 0) + 1
            if va < KERNEL_HALF:
                self.leaf_changed(e, asid, vpn, None, (ppn, flags))
        self.mapped[asid] = self.mapped.get(asid, 0) + (LARGE if big else 1)
        if va - pa != HHDM_BASE:
            key = ("2M", ppn >> 9) if big else ppn
            r = self.refs.setdefault(key, [0, va, asid])
            r[0] += 1
            for p in range(ppn, ppn + (LARGE if big else 1)):
                self.unmapped.pop(p, None)

    # --- vm.unmap, vm.protect -----------------------------------------------------

    def vm_unmap(self, e):
        asid, va, n = e.int("as"), e.int("va"), e.int("n")
        if self.pages_absent(e, asid, va, n, "vm-unmap-absent"):
            return
        if self.splits_2m(e, asid, va, n):
            return
        vpn, end = va // PAGE, va // PAGE + n
        while vpn < end:
            vpn += self.unmap_one(e, asid, vpn, end)

    def splits_2m(self, e, asid, va, n):
        """The API refuses to unmap or protect part of a 2M page."""
        for vpn in (va // PAGE, va // PAGE + n - 1):
            big = self.large.get(asid, {}).get(vpn >> 9)
            if big and (va // PAGE > (vpn & ~511) or va // PAGE + n < (vpn & ~511) + LARGE):
                self.find(e, "vm-split-2m", f"the 2M page at va={(vpn & ~511) * PAGE:#x} "
                          f"(event {big[2]}) would be split")
                return True
        return False

    def pages_absent(self, e, asid, va, n, rule):
        if va % PAGE or n <= 0:
            self.find(e, "vm-align", "va must be 4K-aligned, n >= 1")
            return True
        for i in range(n):
            if self.lookup(asid, va // PAGE + i) is None:
                self.find(e, rule, f"va={va + i * PAGE:#x} is not mapped in as {asid}")
                return True
        return False

    def unmap_one(self, e, asid, vpn, end):
        """Removes the mapping at vpn; returns the 4K pages it covered."""
        m = self.lookup(asid, vpn)
        ppn, flags, _, big = m
        va = vpn * PAGE
        pages = LARGE if big else 1
        table = self.leaf_table(e, asid, va, 2 if big else 1)
        if table:
            table.used -= 1
        if big:
            del self.large[asid][vpn >> 9]
        else:
            del self.maps[asid][vpn]
            self.small_in[(asid, vpn >> 9)] -= 1
            if va < KERNEL_HALF:
                self.leaf_changed(e, asid, vpn, (ppn, flags), None)
        self.mapped[asid] -= pages
        if va - ppn * PAGE != HHDM_BASE:
            self.drop_ref(e, ("2M", ppn >> 9) if big else ppn, ppn, pages)
        if self.tlb_on and self.live(asid, va):
            glob = "G" in flag_set(flags)
            for i in range(pages):
                self.stale[vpn + i] = (e.seq, glob, big)
                self.stale_pa[ppn + i] = vpn + i
                self.reduced[vpn + i] = e.seq
        return pages

    def drop_ref(self, e, key, ppn, pages):
        r = self.refs.get(key)
        if r:
            r[0] -= 1
            if not r[0]:
                del self.refs[key]
        for p in range(ppn, ppn + pages):
            if p < self.pages and self.reason(p) in LEAK_REASONS \
                    and not self.referenced(p):
                self.unmapped[p] = e.seq

    def vm_protect(self, e):
        asid, va, n = e.int("as"), e.int("va"), e.int("n")
        flags = e.keys.get("flags", "-")
        if self.pages_absent(e, asid, va, n, "vm-protect-absent"):
            return
        if "P" not in flag_set(flags):
            return self.vm_unmap(e)
        if self.splits_2m(e, asid, va, n):
            return
        first = self.lookup(asid, va // PAGE)
        if not self.pte_agrees(e, e.int("pte"), first[0] * PAGE, flags, first[3]) \
                or not self.wx_ok(e, flags):
            return
        for i in range(n):
            vpn = va // PAGE + i
            m = self.lookup(asid, vpn)
            if m[3]:
                big = self.large[asid][vpn >> 9]
                self.large[asid][vpn >> 9] = (big[0], flags, big[2])
            else:
                self.maps[asid][vpn] = (m[0], flags, m[2])
                if vpn * PAGE < KERNEL_HALF:
                    self.leaf_changed(e, asid, vpn, (m[0], m[1]), (m[0], flags))
            changed = (flag_set(m[1]) ^ flag_set(flags)) - SOFTWARE
            if changed and self.tlb_on and self.live(asid, va):
                self.stale[vpn] = (e.seq, "G" in flag_set(m[1]), m[3])
                if rights_reduced(m[1], flags):
                    self.reduced[vpn] = e.seq

    def vm_remap(self, e):
        """One present 4K page now maps another frame (a copy-on-write copy).
        The old frame loses this reference; the old translation is stale,
        and has lost rights, until an invalidation (rules tlb-stale, tlb-late)."""
        asid, va, pa = e.int("as"), e.int("va"), e.int("pa")
        flags = e.keys.get("flags", "-")
        if va % PAGE or pa % PAGE:
            self.find(e, "vm-align", "va and pa must be 4K-aligned")
            return
        vpn, ppn = va // PAGE, pa // PAGE
        old = self.lookup(asid, vpn)
        if old is None or old[3]:
            self.find(e, "vm-remap-absent", f"va={va:#x} is not mapped by a 4K page in as {asid}")
            return
        if not self.pte_agrees(e, e.int("pte"), pa, flags, False) or not self.wx_ok(e, flags):
            return
        self.maps[asid][vpn] = (ppn, flags, e.seq)
        if va - old[0] * PAGE != HHDM_BASE:
            self.drop_ref(e, old[0], old[0], 1)
        if va - pa != HHDM_BASE:
            self.refs.setdefault(ppn, [0, va, asid])[0] += 1
            self.unmapped.pop(ppn, None)
        if va < KERNEL_HALF:
            self.leaf_changed(e, asid, vpn, (old[0], old[1]), (ppn, flags))
        if self.tlb_on and self.live(asid, va):
            self.stale[vpn] = (e.seq, "G" in flag_set(old[1]), False)
            self.stale_pa[old[0]] = vpn
            self.reduced[vpn] = e.seq

    def check_reductions_covered(self, e):
        """Rule tlb-late, before event e is applied: no entry that lost
        rights may still be stale unless e belongs to the same operation or
        is an invalidation. Reported once per operation."""
        if not self.reduced or e.cat == "tlb" or f"{e.cat}.{e.name}" in SAME_OPERATION:
            return
        late = {v: s for v, s in self.reduced.items() if v in self.stale}
        self.reduced = {}
        if late:
            vpn, seq = min(late.items(), key=lambda kv: kv[1])
            self.find(e, "tlb-late", f"va={vpn * PAGE:#x} lost rights at event {seq} "
                      f"({len(late)} page(s)) and is not invalidated yet: this event "
                      f"may use the stale entry")

    def stat_vm(self, e):
        """mapped: 4K pages of the space; tables: table pages of its pool."""
        asid = e.int("as")
        if e.int("mapped") != self.mapped.get(asid, 0):
            self.find(e, "stat-vm", f"the replay has mapped={self.mapped.get(asid, 0)} "
                      f"in as {asid}")
            return
        if self.pt_on and asid in self.pools:
            n = sum(1 for t in self.tables.values() if t.pool == asid)
            if e.int("tables") != n:
                self.find(e, "stat-vm", f"the replay has tables={n} in pool {asid}")

    def drop_roots(self, e, roots):
        """An address space's pool was destroyed: its mappings go with it
        (as_destroy unmaps its user half first, so normally none are left).
        A frame also mapped elsewhere keeps those references."""
        for asid, root in list(self.as_root.items()):
            if root not in roots:
                continue
            for vpn, (ppn, flags, _) in self.maps.pop(asid, {}).items():
                if vpn * PAGE - ppn * PAGE != HHDM_BASE:
                    self.drop_ref(e, ppn, ppn, 1)
                if vpn * PAGE < KERNEL_HALF:
                    self.leaf_changed(e, asid, vpn, (ppn, flags), None)
            self.large.pop(asid, None)
            self.mapped[asid] = 0
            del self.as_root[asid]

    # --- tlb ---------------------------------------------------------------------

    def tlb_invlpg(self, e):
        self.detached.clear()  # invlpg drops the paging-structure caches too
        vpn, n = e.int("va") // PAGE, e.int("n")
        for v in range(vpn, vpn + n):
            s = self.stale.pop(v, None)
            if s and s[2]:
                for w in range(v & ~511, (v & ~511) + LARGE):
                    self.stale.pop(w, None)
        self.prune_stale_pa()

    def tlb_flush(self, e):
        self.detached.clear()
        self.stale.clear()
        self.stale_pa.clear()

    def tlb_cr3(self, e):
        pa, asid = e.int("pa"), e.int("as")
        if self.pt_on and self.tables.get(pa) is None or \
                (self.pt_on and self.tables[pa].level != 4):
            self.find(e, "tlb-cr3", f"{pa:#x} is not a live PML4")
            return
        self.as_root.setdefault(asid, pa)
        self.current_as = asid
        self.detached.clear()
        self.stale = {v: s for v, s in self.stale.items() if s[1]}
        self.prune_stale_pa()

    def prune_stale_pa(self):
        self.stale_pa = {p: v for p, v in self.stale_pa.items() if v in self.stale}
