"""allocstate - the allocators part of the replay: kalloc.* and heap.* events.

Shadows of src/mm/vrange.c, kalloc.c and heap.c: the VA windows (kalloc.init)
with their reserved ranges, the live kernel allocations (kalloc.alloc), the
heap's slabs (heap.grow) and its live objects (heap.alloc, heap.realloc).
The rules (docs/trace-tools.md): a range is reserved inside its window and
over nothing reserved; an allocation is reserved, mapped and owned; a free
or release names a live one; a slab is a heap allocation of one page; heap
objects lie in their slab or pages and never overlap; a free names a live
object (a double free is told apart from an unknown pointer); a slab goes
back empty; stat.heap and stat.vrange equal the replay; what is live at the
end of an ok or fail run is a leak.
"""
from .tracefile import Finding
from .vmstate import PAGE

HEAP_SMALL_MAX = 1024  # src/mm/heap.h: the largest class; larger is "large"


class Window:
    __slots__ = ("lo", "hi", "ranges")

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi
        self.ranges = {}  # va -> (pages, seq) of reserved ranges


class Object:
    __slots__ = ("p", "size", "slot", "seq")

    def __init__(self, p, size, slot, seq):
        self.p, self.size, self.slot, self.seq = p, size, slot, seq


class AllocState:
    def __init__(self, trace):
        self.kalloc_on = trace.enabled("kalloc")
        self.heap_on = trace.enabled("heap")
        self.windows = {}   # as -> Window
        self.regions = {}   # va -> (pages, why, seq): live kernel allocations
        self.slabs = {}     # page va -> (slot size, seq)
        self.objects = {}   # p -> Object
        self.in_page = {}   # slab page va -> set of p of its live objects
        self.freed = {}     # p -> event that freed it (for double frees)

    def alloc_handlers(self):
        return {"kalloc.init": self.kalloc_init, "kalloc.reserve": self.kalloc_reserve,
                "kalloc.release": self.kalloc_release, "kalloc.alloc": self.kalloc_alloc,
                "kalloc.free": self.kalloc_free, "stat.vrange": self.stat_vrange,
                "heap.init": self.heap_init, "heap.grow": self.heap_grow,
                "heap.shrink": self.heap_shrink, "heap.alloc": self.heap_alloc,
                "heap.free": self.heap_free, "heap.realloc": self.heap_realloc,
                "stat.heap": self.stat_heap}

    # --- kalloc: VA windows and kernel allocations ---------------------------

    def kalloc_init(self, e):
        self.windows[e.int("as")] = Window(e.int("lo"), e.int("hi"))
        if e.int("as") == 0:
            self.regions.clear()

    def kalloc_reserve(self, e):
        w, va, n = self.windows.get(e.int("as")), e.int("va"), e.int("n")
        if w is None or va % PAGE or n <= 0 or not w.lo <= va < va + n * PAGE <= w.hi:
            where = "no window" if w is None else f"the window {w.lo:#x}-{w.hi:#x}"
            self.find(e, "kalloc-window", f"the range is not page-aligned inside {where}")
            return
        for start, (pages, seq) in w.ranges.items():
            if start < va + n * PAGE and va < start + pages * PAGE:
                self.find(e, "kalloc-overlap", f"{start:#x} ({pages} pages) is reserved "
                          f"(event {seq})")
                return
        w.ranges[va] = (n, e.seq)

    def kalloc_release(self, e):
        w, va, n = self.windows.get(e.int("as")), e.int("va"), e.int("n")
        if w is None or w.ranges.get(va, (None,))[0] != n:
            self.find(e, "kalloc-release-unknown", "no range of that size is reserved there")
            return
        if self.vm_on and e.int("as") == 0 and self.mapped_pages(0, va, n):
            self.find(e, "kalloc-release-mapped", "pages of the range are still mapped")
            return
        del w.ranges[va]

    def mapped_pages(self, asid, va, n):
        return [v for v in range(va // PAGE, va // PAGE + n) if self.lookup(asid, v)]

    def kalloc_alloc(self, e):
        va, n, why = e.int("va"), e.int("n"), e.keys.get("why", "?")
        w = self.windows.get(0)
        if w is None or w.ranges.get(va, (None,))[0] != n:
            self.find(e, "kalloc-unreserved", "kalloc.reserve as=0 of that range did not come first")
            return
        if self.vm_on:
            bad = [v for v in range(va // PAGE, va // PAGE + n)
                   if not self.lookup(0, v) or "OWN" not in self.lookup(0, v)[1]]
            if bad:
                self.find(e, "kalloc-not-mapped", f"va={bad[0] * PAGE:#x} is not mapped "
                          "with OWN in as 0")
                return
        self.regions[va] = (n, why, e.seq)

    def kalloc_free(self, e):
        va, n = e.int("va"), e.int("n")
        r = self.regions.get(va)
        if r is None or r[0] != n:
            self.find(e, "kalloc-free-unknown", "no live kernel allocation of that size "
                      "starts there")
            return
        if va in self.slabs:
            self.find(e, "kalloc-free-slab", f"it is a heap slab (event {self.slabs[va][1]}) "
                      "not given back by heap.shrink")
            return
        del self.regions[va]

    def stat_vrange(self, e):
        w = self.windows.get(e.int("as"))
        if w is None:
            self.find(e, "stat-vrange", "the replay has no such window")
            return
        taken, pages = len(w.ranges), sum(n for n, _ in w.ranges.values())
        if e.int("taken") != taken or e.int("pages") != pages:
            self.find(e, "stat-vrange", f"the replayed window has taken={taken} pages={pages}")

    # --- heap -----------------------------------------------------------------

    def heap_init(self, e):
        self.slabs.clear()
        self.objects.clear()
        self.in_page.clear()
        self.freed.clear()

    def heap_grow(self, e):
        va, cls = e.int("va"), e.int("cls")
        r = self.regions.get(va)
        if self.kalloc_on and (r is None or r[0] != 1 or r[1] != "heap"):
            self.find(e, "heap-grow-unbacked", "no live one-page kalloc.alloc why=heap there")
            return
        if va in self.slabs:
            self.find(e, "heap-grow-twice", f"it is a slab already (event {self.slabs[va][1]})")
            return
        self.slabs[va] = (cls, e.seq)
        self.in_page[va] = set()

    def heap_shrink(self, e):
        va = e.int("va")
        if va not in self.slabs:
            self.find(e, "heap-shrink-unknown", "it is not a slab")
            return
        if self.in_page[va]:
            p = min(self.in_page[va])
            self.find(e, "heap-shrink-live", f"object p={p:#x} (event {self.objects[p].seq}) "
                      "still lives in it")
            return
        del self.slabs[va]
        del self.in_page[va]

    def place(self, e, p, size, slot):
        """Checks where a new object lies; None (with a finding) if wrong."""
        if size <= 0 or slot < size:
            self.find(e, "heap-slot", "the slot must hold the size, size >= 1")
            return None
        if slot <= HEAP_SMALL_MAX:
            page = p & ~(PAGE - 1)
            s = self.slabs.get(page)
            if s is None or s[0] != slot or p + slot > page + PAGE:
                self.find(e, "heap-outside", f"no slab of {slot}-byte slots holds it")
                return None
            for q in self.in_page[page]:
                if q < p + slot and p < q + self.objects[q].slot:
                    return self.overlap(e, q)
            return page
        r = self.regions.get(p)
        if self.kalloc_on and (r is None or r[1] != "heap" or r[0] * PAGE != slot):
            self.find(e, "heap-outside", "no kalloc.alloc why=heap of its pages starts there")
            return None
        if p in self.objects:
            return self.overlap(e, p)
        return 0

    def overlap(self, e, q):
        o = self.objects[q]
        self.find(e, "heap-overlap", f"it overlaps p={q:#x} slot={o.slot} (event {o.seq})")
        return None

    def add_object(self, e, p, size, slot):
        page = self.place(e, p, size, slot)
        if page is None:
            return
        self.objects[p] = Object(p, size, slot, e.seq)
        self.freed.pop(p, None)
        if page:
            self.in_page[page].add(p)

    def drop_object(self, e, p):
        o = self.objects.pop(p)
        page = p & ~(PAGE - 1)
        if o.slot <= HEAP_SMALL_MAX and page in self.in_page:
            self.in_page[page].discard(p)
        self.freed[p] = e.seq

    def live_object(self, e, p):
        o = self.objects.get(p)
        if o is None and p in self.freed:
            self.find(e, "heap-double-free", f"p={p:#x} was freed by event {self.freed[p]}")
        elif o is None:
            self.find(e, "heap-free-unknown", f"p={p:#x} is no live heap object")
        return o

    def heap_alloc(self, e):
        self.add_object(e, e.int("p"), e.int("size"), e.int("slot"))

    def heap_free(self, e):
        p = e.int("p")
        o = self.live_object(e, p)
        if o is None:
            return
        if (o.size, o.slot) != (e.int("size"), e.int("slot")):
            self.find(e, "heap-free-size", f"the object has size={o.size} slot={o.slot}")
            return
        self.drop_object(e, p)

    def heap_realloc(self, e):
        p, to, size, slot = e.int("p"), e.int("to"), e.int("size"), e.int("slot")
        o = self.live_object(e, p)
        if o is None:
            return
        if to == p:
            if slot != o.slot or size > slot:
                self.find(e, "heap-slot", f"in place, the slot stays {o.slot} >= size")
                return
            o.size = size
            return
        self.add_object(e, to, size, slot)
        if to in self.objects:
            self.drop_object(e, p)

    def stat_heap(self, e):
        objs = len(self.objects)
        req = sum(o.size for o in self.objects.values())
        large = [o for o in self.objects.values() if o.slot > HEAP_SMALL_MAX]
        held = (len(self.slabs) + sum(o.slot for o in large) // PAGE) * PAGE
        use = {}
        for va, (cls, _) in self.slabs.items():
            u = use.setdefault(cls, [0, 0])
            u[0] += len(self.in_page[va])
            u[1] += 1
        use_text = ",".join(f"{c}:{u[0]}/{u[1]}" for c, u in sorted(use.items())) or "-"
        want = {"req": req, "held": held, "objs": objs, "slabs": len(self.slabs),
                "large": len(large),
                "frag": (held - req) * 1000 // held if held else 0}
        for key, value in want.items():
            if e.int(key) != value:
                self.find(e, "stat-heap", f"the replayed heap has {key}={value}")
                return
        if e.keys.get("use") != use_text:
            self.find(e, "stat-heap", f"the replayed heap has use={use_text}")

    # --- end ------------------------------------------------------------------

    def report_alloc_leaks(self):
        if self.heap_on:
            for o in sorted(self.objects.values(), key=lambda o: o.seq)[:20]:
                self.findings.append(Finding(
                    "end", "heap-leak", f"object p={o.p:#x} size={o.size} allocated by event "
                    f"{o.seq} was never freed"))
            for va in sorted(v for v, objs in self.in_page.items() if not objs)[:20]:
                self.findings.append(Finding(
                    "end", "heap-leak", f"slab va={va:#x} (heap.grow at event "
                    f"{self.slabs[va][1]}) is empty but was never given back"))
        if self.kalloc_on:
            for va, (n, why, seq) in sorted(self.regions.items())[:20]:
                if why == "heap" and self.heap_on:
                    continue  # the heap's own pages: its objects are what leaks
                self.findings.append(Finding(
                    "end", "kalloc-leak", f"{n} page(s) at va={va:#x} allocated by event "
                    f"{seq} (why={why}) were never freed"))
