"""gen - write syntactically perfect Vitrine traces from a list of events.

A trace is built from event texts without sequence numbers ("pmm.set pa=..
n=1 why=alloc"); write() numbers them, computes the count and the CRC-32,
so a test injects a defect in the events (semantically) and only the rule
it breaks can fire. clean_events() is a small, complete and consistent
memory-manager story: bitmap, a pool, kernel tables, the kernel image and a
2M direct map, CR3, then a kalloc-style allocation mapped, unmapped,
invalidated and freed, with statistics snapshots that equal the state.
"""
import os
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "trace"))
from vtracelib import schema  # noqa: E402

SCHEMA = schema.load()
FLAG_BITS = SCHEMA.flag_bits
ALL_CATS = ",".join([c for c, _ in SCHEMA.categories] + ["err", "warn"])


def pte(pa, flags, big=False):
    """The raw entry the kernel writes for pa with flags (docs/trace-format.md)."""
    raw = pa
    for f in flags.split("|"):
        raw |= 1 << FLAG_BITS[f]
    return raw


def vm_map(va, pa, n, flags, big=False, asid=0):
    return (f"vm.map as={asid} va={va:#x} pa={pa:#x} n={n} size={'2M' if big else '4K'} "
            f"flags={flags} pte={pte(pa, flags, big):#x}")


def table(pa, level, parent, index):
    return [f"ptp.alloc id=0 pa={pa:#x}",
            f"pt.new pa={pa:#x} level={level} parent={parent:#x} index={index}"]


KALLOC_VA = 0xffffc00000000000
KALLOC_PA = 0x800000


def clean_events():
    ev = ["boot.start magic=0x36d76289 mbi=0x12d390", "test.begin name=generated",
          "pmm.init pages=16384 bitmap=0x100000 bitmap_pages=1",
          "pmm.clear pa=0x100000 n=16128 why=usable",
          "pmm.set pa=0x100000 n=1 why=bitmap",
          "pmm.set pa=0x200000 n=256 why=kernel",
          "pmm.set pa=0x400000 n=16 why=pool",
          "ptp.create id=0 pa=0x400000 va=0xffffa00000000000 pages=16 kind=modifiable"]
    ev += table(0x400000, 4, 0, 0)
    ev += ["ptp.recursive id=0 slot=510 pte=0x8000000000400003"]
    ev += table(0x401000, 3, 0x400000, 511) + table(0x402000, 2, 0x401000, 510)
    ev += table(0x403000, 1, 0x402000, 1)
    ev += [vm_map(0xffffffff80200000, 0x200000, 16, "P|G"),
           vm_map(0xffffffff80210000, 0x210000, 16, "P|W|G|NX")]
    ev += table(0x404000, 3, 0x400000, 256) + table(0x405000, 2, 0x404000, 0)
    ev += [vm_map(0xffff800000000000, 0, 32, "P|W|PS|NX", big=True),
           "tlb.cr3 pa=0x400000 as=0",
           "stat.ptp id=0 pages=16 used=7",
           "stat.pmm total=16384 usable=16128 used=273 free=15855 reserved=257",
           f"pmm.set pa={KALLOC_PA:#x} n=4 why=kalloc"]
    ev += table(0x406000, 3, 0x400000, 384) + table(0x407000, 2, 0x406000, 0)
    ev += table(0x408000, 1, 0x407000, 0)
    ev += [vm_map(KALLOC_VA, KALLOC_PA, 4, "P|W|NX|OWN"),
           "stat.vm as=0 mapped=16420 tables=9",
           f"vm.unmap as=0 va={KALLOC_VA:#x} n=4",
           "pt.free pa=0x408000 level=1 parent=0x407000 index=0",
           f"tlb.invlpg va={KALLOC_VA:#x} n=4",
           f"pmm.clear pa={KALLOC_PA:#x} n=4 why=free",
           "ptp.free id=0 pa=0x408000",
           "stat.ptp id=0 pages=16 used=9",
           "stat.vm as=0 mapped=16416 tables=8",
           "stat.pmm total=16384 usable=16128 used=273 free=15855 reserved=257",
           "test.end name=generated failures=0"]
    return ev


def write(events, cats=ALL_CATS, status="ok", header='@vitrine v2 cmdline="run=generated"',
          end=True):
    """The bytes of a trace of these events, with an exact frame."""
    lines = [header, f"#cats {cats}"] + [f"{i + 1} {e}" for i, e in enumerate(events)]
    body = "".join(l + "\n" for l in lines).encode()
    if not end:
        return body
    return body + f"@end count={len(events)} crc={zlib.crc32(body):#010x} status={status}\n".encode()


def index_of(events, prefix):
    """Index of the first event starting with prefix."""
    return next(i for i, e in enumerate(events) if e.startswith(prefix))


def big_events(count):
    """About count events of pmm set/clear churn with snapshots (speed test)."""
    ev = ["pmm.init pages=262144 bitmap=0x100000 bitmap_pages=8",
          "pmm.clear pa=0x100000 n=261888 why=usable"]
    free = 261888
    cursor = 0
    while len(ev) < count:
        runs = []
        for k in range(8):
            n = 1 + (cursor + k) % 8
            runs.append((0x200000 + (cursor % 200000) * 4096, n))
            cursor += n
        ev += [f"pmm.set pa={pa:#x} n={n} why=alloc" for pa, n in runs]
        ev += [f"pmm.clear pa={pa:#x} n={n} why=free" for pa, n in runs]
        ev.append(f"stat.pmm total=262144 usable=261888 used=0 free={free} reserved=0")
    return ev


HEAP_PA = 0x900000
HEAP_PT = 0x409000  # the PT under the PD 0x407000 that clean_events keeps


def kalloc_map(va, pa, n, why, new_pt=False):
    """The lines of a kernel allocation (docs/trace-format.md, kalloc)."""
    ev = table(HEAP_PT, 1, 0x407000, 0) if new_pt else []
    ev += [f"pmm.set pa={pa:#x} n={n} why={why}"]
    return ev + [vm_map(va, pa, n, "P|W|NX|OWN"),
                 f"kalloc.reserve as=0 va={va:#x} n={n}",
                 f"kalloc.alloc va={va:#x} n={n} why={why}"]


def kalloc_unmap(va, pa, n, last=False):
    """The lines of its free; last: the PT empties and goes back."""
    ev = [f"kalloc.free va={va:#x} n={n}", f"vm.unmap as=0 va={va:#x} n={n}"]
    if last:
        ev += [f"pt.free pa={HEAP_PT:#x} level=1 parent=0x407000 index=0"]
    ev += [f"tlb.invlpg va={va:#x} n={n}", f"pmm.clear pa={pa:#x} n={n} why=free"]
    if last:
        ev += [f"ptp.free id=0 pa={HEAP_PT:#x}"]
    return ev + [f"kalloc.release as=0 va={va:#x} n={n}"]


def heap_stat(objects, slabs, large_pages, use):
    req = sum(objects)
    held = (slabs + large_pages) * 4096
    frag = (held - req) * 1000 // held if held else 0
    return (f"stat.heap req={req} held={held} frag={frag} objs={len(objects)} "
            f"slabs={slabs} large={1 if large_pages else 0} use={use}")


def alloc_events():
    """clean_events, then the allocators: a slab with two objects, a large
    object, an in-place krealloc, snapshots, and everything given back."""
    slab, big = KALLOC_VA, KALLOC_VA + 0x1000
    ev = clean_events()[:-1]
    ev += ["kalloc.init as=0 lo=0xffffc00000000000 hi=0xffffe00000000000",
           "heap.init classes=7 min=16 max=1024"]
    ev += kalloc_map(slab, HEAP_PA, 1, "heap", new_pt=True)
    ev += [f"heap.grow va={slab:#x} cls=32 slots=120",
           f"heap.alloc p={slab + 0x100:#x} size=24 slot=32",
           f"heap.alloc p={slab + 0x120:#x} size=30 slot=32"]
    ev += kalloc_map(big, HEAP_PA + 0x1000, 2, "heap")
    ev += [f"heap.alloc p={big:#x} size=5000 slot=8192",
           f"heap.realloc p={slab + 0x100:#x} to={slab + 0x100:#x} size=28 slot=32",
           heap_stat([28, 30, 5000], 1, 2, "32:2/1"),
           "stat.vrange as=0 taken=2 pages=3 free=1 largest=536870909",
           f"heap.free p={big:#x} size=5000 slot=8192"]
    ev += kalloc_unmap(big, HEAP_PA + 0x1000, 2)
    ev += [f"heap.free p={slab + 0x100:#x} size=28 slot=32",
           f"heap.free p={slab + 0x120:#x} size=30 slot=32",
           f"heap.shrink va={slab:#x} cls=32"]
    ev += kalloc_unmap(slab, HEAP_PA, 1, last=True)
    ev += [heap_stat([], 0, 0, "-"), "test.end name=generated failures=0"]
    return ev


def churn_events(count):
    """About count events of a kernel that maps and unmaps all the time (the
    viewer's speed bench): clean_events' bring-up minus its kalloc story,
    one PT kept for the kalloc window, then allocations of 1 to 8 pages
    (pmm.set, vm.map) with up to 32 alive; the oldest is unmapped,
    invalidated and freed first. Consistent under replay."""
    ev = clean_events()[:26]  # up to and with the first stat.pmm
    ev += table(0x406000, 3, 0x400000, 384) + table(0x407000, 2, 0x406000, 0)
    ev += table(0x408000, 1, 0x407000, 0)
    live, slot, frame, k = [], 0, 0, 0
    while len(ev) < count - 1:
        n = 1 + k % 8
        k += 1
        if len(live) == 32:
            va, pa, m = live.pop(0)
            ev += [f"vm.unmap as=0 va={va:#x} n={m}", f"tlb.invlpg va={va:#x} n={m}",
                   f"pmm.clear pa={pa:#x} n={m} why=free"]
        slot = 0 if slot + n > 512 else slot
        frame = 0 if frame + n > 4096 else frame
        va, pa = KALLOC_VA + slot * 4096, KALLOC_PA + frame * 4096
        ev += [f"pmm.set pa={pa:#x} n={n} why=alloc", vm_map(va, pa, n, "P|W|NX")]
        live.append((va, pa, n))
        slot, frame = slot + n, frame + n
    return ev + ["test.end name=generated failures=0"]
