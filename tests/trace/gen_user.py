"""gen_user - generated traces of user processes (issue 13), in the order
the kernel writes them (docs/trace-format.md, "Order of events").

fork_events() is gen.clean_events followed by a complete, consistent story:
process 1 (`init`, as 1) is spawned with a text and a data page, grows its
stack and its heap by faults (demand-zero), forks process 2 (as 2: four
pages shared, counts 0 -> 2); the child writes its data page (a copy: the
count goes 2 -> 1), writes a line and exits; its space is torn down (counts
drop, its own copy is freed); the parent reaps it, writes its data page
(count 1: W given back, count 0), maps two anonymous pages, touches one
(demand-zero) and unmaps them, exits and is reaped by the kernel, leaving
memory as it found it. kill_events() adds process 3, whose system call gets
a bad pointer (a kernel-mode fault fixed up) and which is then killed by a
fault on an unmapped address. The tests inject one defect into these.
"""
import gen

PAGE = 0x1000
WINDOW = 0xffffa00000000000   # POOL_WINDOW_BASE
STRIDE = 0x40000000           # POOL_WINDOW_STRIDE
TEXT, DATA, HEAP, STACK, COPY = (0xa00000 + i * PAGE for i in range(5))
TEXT_VA, DATA_VA, HEAP_VA = 0x400000, 0x401000, 0x402000
STACK_VA = 0x7ffffffe000      # the page below USER_STACK_TOP (0x7fffffff000)
RO, RW = "P|U|OWN", "P|W|U|OWN|NX"
COW = "P|U|OWN|COW|NX"


def pte(pa, flags):
    return f"{gen.pte(pa, flags):#x}"


def vm_map(asid, va, pa, n, flags):
    return gen.vm_map(va, pa, n, flags, asid=asid)


def protect(asid, va, pa, n, flags):
    return f"vm.protect as={asid} va={va:#x} n={n} flags={flags} pte={pte(pa, flags)}"


class Space:
    """An address space on its own 16-page pool; tables_for() installs the
    tables a user VA needs, teardown() unmaps a run and returns its tables."""

    def __init__(self, asid, pool):
        self.asid, self.pool, self.next = asid, pool, pool + PAGE
        self.tables = {}  # (level, VA it covers) -> pa

    def create(self):
        a, p = self.asid, self.pool
        return [f"pmm.set pa={p:#x} n=16 why=pool",
                f"ptp.create id={a} pa={p:#x} va={WINDOW + a * STRIDE:#x} pages=16 "
                "kind=unmodifiable",
                f"ptp.alloc id={a} pa={p:#x}", f"pt.new pa={p:#x} level=4 parent=0x0 index=0",
                f"pt.share pa={p:#x} from=0x400000 first=256 n=254",
                f"as.create id={a} pool={p:#x} pages=16"]

    def chain(self, va):
        """[(level, covered VA, parent level/VA, index)] from the PDPT down."""
        out = []
        for level in (3, 2, 1):
            span = 1 << (12 + 9 * level)
            up = 1 << (12 + 9 * (level + 1))
            out.append((level, va & ~(span - 1), va & ~(up - 1), (va >> (12 + 9 * level)) & 511))
        return out

    def tables_for(self, va):
        ev = []
        for level, base, upbase, index in self.chain(va):
            if (level, base) in self.tables:
                continue
            parent = self.pool if level == 3 else self.tables[(level + 1, upbase)]
            pa, self.next = self.next, self.next + PAGE
            self.tables[(level, base)] = pa
            ev += [f"ptp.alloc id={self.asid} pa={pa:#x}",
                   f"pt.new pa={pa:#x} level={level} parent={parent:#x} index={index}"]
        return ev

    def teardown(self, va, n, frames, levels=3):
        """Unmap n pages from va (the lowest `levels` tables of their chain
        empty: PT, PD, PDPT), invalidate, then `frames` (the events for each
        frame: cow.ref, pmm.clear), then the tables back to the pool."""
        ev = [f"vm.unmap as={self.asid} va={va:#x} n={n}"]
        gone = []
        for level, base, upbase, index in self.chain(va)[::-1][:levels]:
            pa = self.tables.pop((level, base))
            parent = self.pool if level == 3 else self.tables[(level + 1, upbase)]
            ev.append(f"pt.free pa={pa:#x} level={level} parent={parent:#x} index={index}")
            gone.append(pa)
        ev += [f"tlb.invlpg va={va:#x} n={n}"] + frames
        return ev + [f"ptp.free id={self.asid} pa={pa:#x}" for pa in gone]

    def destroy(self):
        return [f"as.destroy id={self.asid}", f"ptp.destroy id={self.asid}",
                f"pmm.clear pa={self.pool:#x} n=16 why=free"]


def switch(pid, space):
    return [f"proc.switch pid={pid}", f"as.switch id={space.asid}",
            f"tlb.cr3 pa={space.pool:#x} as={space.asid}"]


KERNEL = ["as.switch id=0", "tlb.cr3 pa=0x400000 as=0"]


def regions(pid, heap_pages):
    return [f"proc.region pid={pid} kind=heap va={HEAP_VA:#x} n={heap_pages} prot=rw-",
            f"proc.region pid={pid} kind=stack va=0x7ffffffb000 n=4 prot=rw-"]


def spawn(s1):
    ev = s1.create() + ["proc.create pid=1 parent=0 as=1 name=init",
                        f"proc.region pid=1 kind=text va={TEXT_VA:#x} n=1 prot=r-x",
                        f"pmm.set pa={TEXT:#x} n=1 why=user"]
    ev += s1.tables_for(TEXT_VA) + [vm_map(1, TEXT_VA, TEXT, 1, RO)]
    ev += [f"proc.region pid=1 kind=data va={DATA_VA:#x} n=1 prot=rw-",
           f"pmm.set pa={DATA:#x} n=1 why=user", vm_map(1, DATA_VA, DATA, 1, RW)]
    return ev + regions(1, 0) + ["proc.exec pid=1 entry=0x400000 sp=0x7fffffff000"]


def grow(s1):
    """The stack's first page and one heap page, by faults."""
    ev = ["pf.fault pid=1 va=0x7ffffffeff8 err=W|U rip=0x400010 mode=user",
          f"pmm.set pa={STACK:#x} n=1 why=user"] + s1.tables_for(STACK_VA)
    ev += [vm_map(1, STACK_VA, STACK, 1, RW), "pf.resolve pid=1 va=0x7ffffffeff8 how=stack",
           f"proc.resize pid=1 va={HEAP_VA:#x} n=1", "sys.call pid=1 name=sbrk ret=0x402000",
           "pf.fault pid=1 va=0x402010 err=W|U rip=0x400020 mode=user",
           f"pmm.set pa={HEAP:#x} n=1 why=user", vm_map(1, HEAP_VA, HEAP, 1, RW),
           "pf.resolve pid=1 va=0x402010 how=zero"]
    return ev


def fork(s2):
    ev = s2.create() + ["proc.create pid=2 parent=1 as=2 name=init",
                        f"proc.region pid=2 kind=text va={TEXT_VA:#x} n=1 prot=r-x",
                        f"proc.region pid=2 kind=data va={DATA_VA:#x} n=1 prot=rw-"]
    ev += regions(2, 1)
    ev += [protect(1, DATA_VA, DATA, 2, COW), f"tlb.invlpg va={DATA_VA:#x} n=2"]
    ev += s2.tables_for(TEXT_VA)
    ev += [vm_map(2, TEXT_VA, TEXT, 1, RO), vm_map(2, DATA_VA, DATA, 2, COW),
           f"cow.ref pa={TEXT:#x} count=2", f"cow.ref pa={DATA:#x} count=2",
           f"cow.ref pa={HEAP:#x} count=2", f"cow.share pid=1 child=2 va={TEXT_VA:#x} n=3"]
    ev += [protect(1, STACK_VA, STACK, 1, COW), f"tlb.invlpg va={STACK_VA:#x} n=1"]
    ev += s2.tables_for(STACK_VA)
    ev += [vm_map(2, STACK_VA, STACK, 1, COW), f"cow.ref pa={STACK:#x} count=2",
           f"cow.share pid=1 child=2 va={STACK_VA:#x} n=1", "sys.call pid=1 name=fork ret=0x2"]
    return ev


def child(s2):
    """Process 2 writes its data page (a copy), writes a line, exits."""
    ev = switch(2, s2)
    ev += ["pf.fault pid=2 va=0x401008 err=P|W|U rip=0x400030 mode=user",
           f"pmm.set pa={COPY:#x} n=1 why=user",
           f"vm.remap as=2 va={DATA_VA:#x} pa={COPY:#x} flags={RW} pte={pte(COPY, RW)}",
           f"tlb.invlpg va={DATA_VA:#x} n=1", f"cow.ref pa={DATA:#x} count=1",
           f"cow.copy pid=2 va={DATA_VA:#x} from={DATA:#x} to={COPY:#x}",
           "pf.resolve pid=2 va=0x401008 how=cow_copy",
           'user.write pid=2 text="child: 2\\x0a"', "sys.call pid=2 name=write ret=0x9",
           "proc.exit pid=2 code=0"] + KERNEL
    ev += s2.teardown(TEXT_VA, 3, [f"cow.ref pa={TEXT:#x} count=1",
                                   f"pmm.clear pa={COPY:#x} n=1 why=free",
                                   f"cow.ref pa={HEAP:#x} count=1"])
    ev += s2.teardown(STACK_VA, 1, [f"cow.ref pa={STACK:#x} count=1"])
    return ev + s2.destroy() + ["proc.end pid=2"]


def parent(s1):
    """Process 1 reaps 2, writes its data page (count 1: W back), exits."""
    ev = switch(1, s1) + ["proc.reap pid=1 child=2 code=0", "sys.call pid=1 name=wait ret=0x2",
                          "pf.fault pid=1 va=0x401000 err=P|W|U rip=0x400040 mode=user",
                          protect(1, DATA_VA, DATA, 1, RW), f"tlb.invlpg va={DATA_VA:#x} n=1",
                          f"cow.ref pa={DATA:#x} count=0",
                          f"cow.restore pid=1 va={DATA_VA:#x} pa={DATA:#x}",
                          "pf.resolve pid=1 va=0x401000 how=cow_restore",
                          'user.write pid=1 text="parent: 1\\x0a"',
                          "sys.call pid=1 name=write ret=0xa"]
    ev += mmap(s1) + ["proc.exit pid=1 code=0"]
    ev += KERNEL + s1.teardown(TEXT_VA, 3, [
        f"cow.ref pa={TEXT:#x} count=0", f"pmm.clear pa={TEXT:#x} n=1 why=free",
        f"pmm.clear pa={DATA:#x} n=1 why=free", f"cow.ref pa={HEAP:#x} count=0",
        f"pmm.clear pa={HEAP:#x} n=1 why=free"])
    ev += s1.teardown(STACK_VA, 1, [f"cow.ref pa={STACK:#x} count=0",
                                    f"pmm.clear pa={STACK:#x} n=1 why=free"])
    return ev + s1.destroy() + ["proc.end pid=1", "proc.reap pid=0 child=1 code=0"]


MMAP_VA, MMAP = 0x10000000, 0xa05000


def mmap(s1):
    """Process 1 maps 2 anonymous pages, touches one (demand-zero), unmaps them."""
    ev = [f"proc.region pid=1 kind=mmap va={MMAP_VA:#x} n=2 prot=rw-",
          f"sys.call pid=1 name=mmap ret={MMAP_VA:#x}",
          "pf.fault pid=1 va=0x10000000 err=U rip=0x400050 mode=user",
          f"pmm.set pa={MMAP:#x} n=1 why=user"] + s1.tables_for(MMAP_VA)
    ev += [vm_map(1, MMAP_VA, MMAP, 1, RW), "pf.resolve pid=1 va=0x10000000 how=zero"]
    ev += s1.teardown(MMAP_VA, 1, [f"pmm.clear pa={MMAP:#x} n=1 why=free"], levels=1)
    return ev + [f"proc.unregion pid=1 va={MMAP_VA:#x}", "sys.call pid=1 name=munmap ret=0x0"]


END = ["stat.pmm total=16384 usable=16128 used=273 free=15855 reserved=257",
       "test.end name=generated failures=0"]


def fork_events():
    s1, s2 = Space(1, 0x500000), Space(2, 0x510000)
    ev = gen.clean_events()[:-1] + spawn(s1) + switch(1, s1) + grow(s1) + fork(s2)
    return ev + child(s2) + parent(s1) + END


def kill_events():
    """fork_events, then process 3 (as 3, pool 0x520000, one text page):
    write() with a bad pointer (a kernel-mode fault, fixed up), then a
    fault on an unmapped address that kills it."""
    s3 = Space(3, 0x520000)
    ev = fork_events()[:-len(END)]
    ev += s3.create() + ["proc.create pid=3 parent=0 as=3 name=bad",
                         f"proc.region pid=3 kind=text va={TEXT_VA:#x} n=1 prot=r-x",
                         f"pmm.set pa={TEXT:#x} n=1 why=user"]
    ev += s3.tables_for(TEXT_VA) + [vm_map(3, TEXT_VA, TEXT, 1, RO)]
    ev += ["proc.exec pid=3 entry=0x400000 sp=0x7fffffff000"] + switch(3, s3)
    ev += ["pf.fault pid=3 va=0x10 err=- rip=0xffffffff80201234 mode=kernel",
           "pf.resolve pid=3 va=0x10 how=fixup", "err.bad_user_pointer fn=sys_write va=0x10 n=4",
           "pf.fault pid=3 va=0x10 err=U rip=0x400004 mode=user",
           "proc.kill pid=3 why=unmapped va=0x10 rip=0x400004"] + KERNEL
    ev += s3.teardown(TEXT_VA, 1, [f"pmm.clear pa={TEXT:#x} n=1 why=free"])
    return ev + s3.destroy() + ["proc.end pid=3", "proc.reap pid=0 child=3 code=139"] + END


if __name__ == "__main__":  # python3 tests/trace/gen_user.py fork|kill OUT.log
    import sys
    story = {"fork": fork_events, "kill": kill_events}[sys.argv[1]]
    with open(sys.argv[2], "wb") as f:
        f.write(gen.write(story()))
