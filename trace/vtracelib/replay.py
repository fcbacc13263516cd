"""replay - rebuild the memory manager's state from a trace, checking rules.

The replay keeps a shadow of what the kernel keeps: the physical bitmap (a
byte a page: 0 free, else the reason it is used, and the event that set it),
the page table pools, the page-table pages, the mappings of each address
space and the VAs whose TLB entries may be stale. Each event is applied in
O(1) a page; an event that breaks a rule of TRACE-NOTES.md ("What a replay
checker can prove") becomes a Finding naming the event, the rule and the
state that broke it. The rules are listed in docs/trace-tools.md.

Categories disabled in the trace (#cats) switch off the rules that need
their events: without pmm there is no bitmap, without vm no mappings.
Processes, faults and copy-on-write counts are procstate.py's.
"""
import re
from array import array

from . import schema
from .allocstate import AllocState
from .procstate import ProcState
from .swapstate import SwapState
from .tracefile import Finding, event_of, line_text
from .vmstate import VmState, PAGE, HHDM_BASE, ADDR_MASK

# Reasons a page can be in use (the schema's); index + 1 in the map.
SCHEMA = schema.load()
REASONS = SCHEMA.reason_names
REASON_CODES = {name: i + 1 for i, name in enumerate(REASONS)}  # names as str and as bytes
REASON_BYTE = [bytes((code,)) for code in range(256)]  # code -> its byte in the bitmap
# The runs of the usual sizes, made once: a run of n free pages (b"\0" * n),
# and of n pages used for a reason (REASON_BYTE[code] * n), n < SHORT_RUN.
# A bitmap write of a ready-made run costs half a fresh one's.
SHORT_RUN = 64
FREE_RUN = [bytes(n) for n in range(SHORT_RUN)]
USED_RUNS = {}  # code -> [REASON_BYTE[code] * n for n < SHORT_RUN], made at its first use
ENDED_NORMALLY = ("ok", "fail")


def pmm_row_pattern():
    """The regex whose findall over a piece of a plain trace gives a row a
    line, for take_pmm_rows: (seq, set, pa, n, why, stat) of a line
    `SEQ pmm.set|pmm.clear pa=.. n=.. why=..` whose values have the shapes
    of pmm.clear's decoder (set is b"set" for pmm.set, b"" for pmm.clear,
    stat b""); (seq, b"", b"", b"", b"", keys) of a `SEQ stat.pmm keys`
    line; (seq, b"", b"", b"", b"", b"") for another event line, six b""
    for any other line. A reason (pmm.set's why) is a word too
    (pmm.clear's): take_pmm_rows takes a pmm.set only with a reason of the
    schema, and a snapshot only in the one form it writes itself."""
    pmm_set, pmm_clear = SCHEMA.spec("pmm.set"), SCHEMA.spec("pmm.clear")
    assert pmm_set.keys == pmm_clear.keys == ["pa", "n", "why"], "the rows' keys"
    assert pmm_set.types[:2] == pmm_clear.types[:2] and pmm_clear.required == 3
    assert SCHEMA.spec("stat.pmm").keys == ["total", "usable", "used", "free", "reserved"]
    keys = pmm_clear.decoder.pattern.encode("ascii")  # pa=(..) n=(..) why=(..)
    return re.compile(rb"^(?:([1-9][0-9]*) (?:pmm\.(?:(set)|clear) %s$|stat\.pmm (.*)|.*)|.*)$"
                      % keys, re.MULTILINE)


PMM_ROWS = pmm_row_pattern()
RUN_LENGTH = {b"%d" % n: n for n in range(1, SHORT_RUN)}  # n as a line writes it -> n
# pmm.set's why (bytes) -> its runs, for the schema's reasons only: a reason
# a trace makes up is checked by the line's decoder (frame-schema).
SET_RUNS = {name.encode("ascii"): [REASON_BYTE[code] * n for n in range(SHORT_RUN)]
            for code, name in enumerate(REASONS, 1) if code < 256}
# pa as a line writes it (bytes, "0x..") -> its page number, for the
# page-aligned addresses met: a lookup costs a tenth of int(pa, 16).
PAGE_OF = {}
PAGE_OF_MAX = 1 << 16  # addresses kept; more are converted each time


def snapshot_agrees(keys, pages, usable, free):
    """True if keys, a stat.pmm line's, are those of a bitmap of pages pages,
    usable of them usable and free of them free, each number as the kernel
    writes it (digits, no leading 0: stat_pmm's int(.., 0) refuses "01"),
    and reserved at most used. Only a snapshot that stat_pmm would take
    without a finding passes; stat_pmm takes a few more (reserved=00),
    which go to it."""
    used = usable - free
    head = b"total=%d usable=%d used=%d free=%d reserved=" % (pages, usable, used, free)
    reserved = keys[len(head):]
    return keys.startswith(head) and reserved.isdigit() and \
        (reserved[:1] != b"0" or reserved == b"0") and int(reserved) <= used


def page_of(pa):
    """The page number of an address as a line writes it (b"0x.."), None
    if it is not page-aligned (PAGE_OF, made at its first use)."""
    number = int(pa, 16)
    if number % PAGE:
        return None
    if len(PAGE_OF) < PAGE_OF_MAX:
        PAGE_OF[pa] = number // PAGE
    return number // PAGE


def text_error(x):
    """The ValueError of int(value, 0) for a value as bytes (a values
    handler's: a num or an addr) as int() words it for the value as str
    (an Event's), the text the finding quotes."""
    return ValueError(str(x).replace(": b'", ": '", 1))


class Pool:
    __slots__ = ("id", "pa", "va", "pages", "kind", "allocated", "seq")

    def __init__(self, pid, pa, va, pages, kind, seq):
        self.id, self.pa, self.va, self.pages = pid, pa, va, pages
        self.kind, self.seq = kind, seq
        self.allocated = {}  # pa -> event that allocated it


class Table:
    __slots__ = ("pa", "level", "parent", "index", "root", "va", "used", "pool", "seq")

    def __init__(self, pa, level, parent, index, root, va, pool, seq):
        self.pa, self.level, self.parent, self.index = pa, level, parent, index
        self.root, self.va, self.pool, self.seq = root, va, pool, seq
        self.used = 0  # present entries: child tables and leaf mappings


class Replay(VmState, AllocState, ProcState, SwapState):
    """Feed events with apply(); read findings and the state afterwards.
    The allocators' events (kalloc.*, heap.*) are AllocState's; processes,
    faults and copy-on-write (proc.*, sys.*, user.*, pf.*, cow.*, as.*)
    ProcState's."""

    def __init__(self, trace):
        VmState.__init__(self)
        AllocState.__init__(self, trace)
        ProcState.__init__(self, trace)
        SwapState.__init__(self, trace)
        self.trace = trace
        self.findings = []
        self.pmm_on = trace.enabled("pmm")
        self.vm_on = trace.enabled("vm")
        self.ptp_on = trace.enabled("ptp")
        self.pt_on = trace.enabled("pt")
        self.tlb_on = trace.enabled("tlb")
        self.pages = 0           # pages the bitmap covers; 0: no pmm.init yet
        self.why = bytearray()   # page -> 0 free, else REASONS index + 1
        self.setter = []         # page -> event that last changed it
        self.free = self.usable = 0
        self.peak_used = 0
        self.pools = {}          # id -> Pool
        self.pool_of = {}        # page number -> pool id
        self.tables = {}         # pa -> Table
        self.slots = {}          # (parent pa, index) -> child pa
        self.table_at = {}       # (root, level, va) -> pa
        self.levels = [0] * 5    # live tables per level
        self.recursive = {}      # pool id -> (slot, pte, event) of its recursive entry
        self.shared = {}         # PML4 pa -> (PML4 pa its kernel half comes from, slots)
        self.detached = {}       # table pa -> pt.free event, until a TLB invalidation
        self.seq = 0
        self.handlers = {
            "pmm.init": self.pmm_init, "pmm.set": self.pmm_set,
            "pmm.clear": self.pmm_clear, "stat.pmm": self.stat_pmm,
            "ptp.create": self.ptp_create, "ptp.alloc": self.ptp_alloc,
            "ptp.free": self.ptp_free, "ptp.destroy": self.ptp_destroy,
            "stat.ptp": self.stat_ptp, "ptp.recursive": self.ptp_recursive,
            "pt.new": self.pt_new, "pt.share": self.pt_share, "pt.free": self.pt_free,
            "vm.map": self.vm_map, "vm.unmap": self.vm_unmap,
            "vm.protect": self.vm_protect, "vm.remap": self.vm_remap,
            "stat.vm": self.stat_vm,
            "tlb.invlpg": self.tlb_invlpg, "tlb.flush": self.tlb_flush,
            "tlb.cr3": self.tlb_cr3,
            "err.not_implemented": self.not_implemented,
        }
        # The pmm events are most of a trace (a run of pages each): their
        # handlers take the line's values (bytes, in the schema's key order,
        # None for an optional key left out) and no Event: entry() gives
        # them to the parser; apply() reaches them through from_event().
        # With each, the keys it reads first without a default, in order.
        self.value_handlers = {"pmm.set": (self.pmm_set, ("pa", "n")),
                               "pmm.clear": (self.pmm_clear, ("pa", "n")),
                               "stat.pmm": (self.stat_pmm, ())}
        for name, (handler, first) in self.value_handlers.items():
            self.handlers[name] = self.from_event(SCHEMA.spec(name), handler, first)
        self.handlers.update(self.alloc_handlers())
        self.handlers.update(self.proc_handlers())
        self.handlers.update(self.swap_handlers())
        for name in ("proc.end", "pf.resolve"):  # swap-present, swap-leftover
            self.handlers[name] = self.then(self.handlers[name], self.swap_after)

    @staticmethod
    def then(first, second):
        def run(e):
            first(e)
            second(e)
        return run

    def swap_after(self, e):
        if e.full == "proc.end":
            self.swap_proc_end(e)
        else:
            self.check_absent(e)

    # --- driving -----------------------------------------------------------

    def find(self, e, rule, text):
        self.find_at(e.seq, e.line, rule, text)

    def find_at(self, seq, line, rule, text):
        """A finding at the event numbered seq, whose line (str or bytes) it quotes."""
        self.findings.append(Finding(f"event {seq}", rule, f"{line_text(line)} but {text}"))

    def garbled(self, seq, line, x):
        """The finding of a handler that met a key missing or not a number."""
        self.findings.append(Finding(f"event {seq}", "event-keys",
                                     f"{line_text(line)} lacks or garbles key {x}"))

    def apply(self, e):
        self.seq = e.seq
        if self.reduced:
            self.check_reductions_covered(e)
        h = self.handlers.get(e.full)
        if h is None:
            return
        try:
            h(e)
        except (KeyError, ValueError) as x:
            self.garbled(e.seq, e.line, x)

    def entry(self, spec):
        """What the parser hands an event of spec that its decoder read
        (tracefile.Trace.entry): the event's values handler itself, called
        as handler(seq, values, line, lineno) with no Event; None for an
        event without one (the parser then makes the Event and calls
        apply). A values handler does apply()'s steps itself: the tlb-late
        check first (values_first), a garbled number as event-keys. It does
        not set self.seq, which only `vtrace state` reads (after run())."""
        return self.value_handlers.get(spec.name, (None,))[0]

    def values_first(self, seq, values, line, lineno):
        """apply()'s first step for a values handler: rule tlb-late."""
        if self.reduced:
            name = line.split(b" ", 2)[1].decode("ascii")
            self.check_reductions_covered(event_of(SCHEMA.spec(name), seq, values, line,
                                                   lineno))

    @staticmethod
    def from_event(spec, handler, first):
        """The Event handler of a values handler, for apply(): the values by
        name from the event's keys, which may be any when the line did not
        fit its decoder. The keys `first` are read and converted before, in
        the order the handler reads them, so that a key missing or garbled
        raises the same error as there."""
        def h(e):
            for k in first:
                int(e.keys[k], 0)
            values = tuple(None if e.keys.get(k) is None else e.keys[k].encode("ascii")
                           for k in spec.keys)
            handler(e.seq, values, e.line, e.lineno)
        return h

    def run(self, events, at=None, observe=None):
        for e in events:
            if at is not None and e.seq > at:
                return
            self.apply(e)
            if observe:
                observe(self, e)
        if at is None:
            self.finish()

    def finish(self):
        """End-of-trace rules: leaks and never-invalidated TLB entries."""
        if self.trace.status not in ENDED_NORMALLY:
            return
        if self.pmm_on and self.vm_on:
            self.report_leaks()
        self.report_alloc_leaks()
        self.finish_procs()
        if self.vm_on and self.tlb_on and self.stale:
            va, (seq, _, _) = min(self.stale.items(), key=lambda kv: kv[1][0])
            self.findings.append(Finding(
                "end", "tlb-stale", f"{len(self.stale)} page(s) unmapped or protected and "
                f"never invalidated, first va={va * PAGE:#x} (event {seq})"))

    def report_leaks(self):
        leaked = sorted(p for p in self.unmapped if self.why[p] and not self.referenced(p))
        runs = []
        for p in leaked:
            if runs and runs[-1][1] == p:
                runs[-1][1] = p + 1
            else:
                runs.append([p, p + 1])
        for a, b in runs[:20]:
            self.findings.append(Finding(
                "end", "leak", f"{b - a} page(s) at pa={a * PAGE:#x} allocated (event "
                f"{self.setter[a]}, why={self.reason(a)}), unmapped (event "
                f"{self.unmapped[a]}) and never freed"))

    def not_implemented(self, e):
        """A lab handout's stub ran (tests/labs/handout): what follows is not
        what the kernel does once the function is written."""
        self.find(e, "not-implemented", f"{e.keys.get('fn', '?')} is a lab stub, not written yet "
                  "(docs/labs/)")

    # --- pmm: the bitmap ---------------------------------------------------

    def reason(self, page):
        w = self.why[page]
        return REASONS[w - 1] if w else "free"

    def reason_code(self, name):
        """The code of a reason, given as bytes (a values handler's) or str."""
        code = REASON_CODES.get(name)
        if code is None:
            text = name.decode("ascii") if isinstance(name, bytes) else name
            code = REASON_CODES.get(text)
            if code is None:
                REASONS.append(text)
                code = REASON_CODES[text] = len(REASONS)
            REASON_CODES[name] = code
        return code

    # The handlers of the pmm events take (seq, values, line, lineno) (see
    # value_handlers in __init__ and entry); values are the bytes of the
    # schema's keys pmm.set pa n why, pmm.clear pa n why, stat.pmm total
    # usable used free reserved.

    def pmm_range(self, seq, values, line, lineno):
        """(first page, page count) of a pmm event, or None with a finding.
        Also apply()'s steps for pmm.set and pmm.clear (see entry)."""
        if self.reduced:
            self.values_first(seq, values, line, lineno)
        try:
            pa, n = int(values[0], 0), int(values[1], 0)
        except ValueError as x:  # a num with a leading 0: int(.., 0) refuses it
            self.garbled(seq, line, text_error(x))
            return None
        if not self.pages:
            self.find_at(seq, line, "pmm-uninit", "no pmm.init came before it")
            return None
        if pa % PAGE or n <= 0 or pa // PAGE + n > self.pages:
            self.find_at(seq, line, "pmm-range", f"the bitmap covers pages "
                         f"0x0-{self.pages * PAGE:#x} and runs are page-aligned with n >= 1")
            return None
        return pa // PAGE, n

    def pmm_init(self, e):
        self.pages = e.int("pages")
        self.why = bytearray(b"\x01") * self.pages
        self.setter = [e.seq] * self.pages
        self.free = self.usable = 0

    def pmm_set(self, seq, values, line, lineno=None):
        r = self.pmm_range(seq, values, line, lineno)
        if not r:
            return
        a, n = r
        why = self.why
        if not why.startswith(FREE_RUN[n] if n < SHORT_RUN else bytes(n), a):  # not all free
            p = next(i for i in range(a, a + n) if why[i])
            self.find_at(seq, line, "pmm-double-set", f"page {p * PAGE:#x} is already used "
                         f"(set by event {self.setter[p]}, why={self.reason(p)})")
            return
        reason = b"?" if values[2] is None else values[2]
        code = REASON_CODES.get(reason) or self.reason_code(reason)
        if code > 255:  # what bytes((code,)) says: a byte a page holds 255 reasons
            self.garbled(seq, line, ValueError("bytes must be in range(0, 256)"))
            return
        if n < SHORT_RUN:
            runs = USED_RUNS.get(code) or USED_RUNS.setdefault(
                code, [REASON_BYTE[code] * k for k in range(SHORT_RUN)])
            why[a:a + n] = runs[n]
        else:
            why[a:a + n] = REASON_BYTE[code] * n
        self.setter[a:a + n] = [seq] * n
        self.free -= n
        used = self.usable - self.free
        if used > self.peak_used:
            self.peak_used = used

    def pmm_clear(self, seq, values, line, lineno=None):
        r = self.pmm_range(seq, values, line, lineno)
        if not r:
            return
        a, n = r
        why = self.why
        p = why.find(0, a, a + n)
        if p >= 0:
            self.find_at(seq, line, "pmm-double-clear", f"page {p * PAGE:#x} is already free "
                         f"(cleared by event {self.setter[p]})")
            return
        if self.cow:
            self.freeing_counted(seq, line, a, n)
        if (self.pool_of or self.tables or self.refs or self.stale_pa) and \
                self.freeing_in_use(seq, line, a, n):
            return
        if self.frame_as:
            self.frames_freed(a, n)
        if values[2] == b"usable":
            self.usable += n
        why[a:a + n] = FREE_RUN[n] if n < SHORT_RUN else bytes(n)
        self.setter[a:a + n] = [seq] * n
        self.free += n
        if self.unmapped:
            for p in range(a, a + n):
                self.unmapped.pop(p, None)

    # --- pmm: the fast path beside pmm_set and pmm_clear --------------------
    # A trace is mostly pmm.set and pmm.clear, with snapshots (stat.pmm)
    # between them. Their handlers above are the rules; calling them costs
    # as much as their work (two calls a line, the values through a tuple).
    # For a plain trace (tracefile.parse_plain) the lines of a piece come as
    # rows (PMM_ROWS.findall) and take_pmm_rows applies a run of them in one
    # loop. It takes a row only where the handler would find nothing and
    # would change just what it changes here; at any other row it stops,
    # and the parser gives that line to the general path, which finds what
    # is wrong. tests/trace/test_vtrace_fast.py reads traces both ways and
    # compares findings and state.

    def pmm_rows(self):
        """What tracefile.Trace.rows_entry hands the parser: (findall, take)."""
        return PMM_ROWS.findall, self.take_pmm_rows

    def take_pmm_rows(self, rows, i, end, last):
        """Applies rows[i:end], numbered last + 1, last + 2, ... (the parser
        checked it), while each is a pmm.set or pmm.clear of 1 to
        SHORT_RUN - 1 pages inside the bitmap, page-aligned, all free (set,
        with a reason of the schema) or all used (clear), or a stat.pmm the
        bitmap agrees with (snapshot_agrees), and no rule but
        the bitmap's looks at it: no tlb-late check pending (reduced) and,
        for a clear, nothing a page could still belong to (pmm_clear's cow,
        pool, table, mapping, stale entry, frame and leak checks). Returns
        the first row it did not take."""
        if self.reduced or not self.pages:
            return i
        why, setter, pages = self.why, self.setter, self.pages
        free, usable, peak = self.free, self.usable, self.peak_used
        clear_plain = not (self.cow or self.pool_of or self.tables or self.refs or
                           self.stale_pa or self.frame_as or self.unmapped)
        for i in range(i, end):
            _, is_set, pa, n, reason, stat = rows[i]
            n = RUN_LENGTH.get(n)  # None also for a row that is not pmm.set or pmm.clear
            if n is None:
                if not (stat and snapshot_agrees(stat, pages, usable, free)):
                    break
                last += 1
                continue
            a = PAGE_OF.get(pa)
            if a is None:
                a = page_of(pa)
                if a is None:
                    break
            if a + n > pages:
                break
            if is_set:
                runs = SET_RUNS.get(reason)
                if runs is None or not why.startswith(FREE_RUN[n], a):
                    break
                why[a:a + n] = runs[n]
                free -= n
                if usable - free > peak:
                    peak = usable - free
            else:
                if not clear_plain or why.find(0, a, a + n) >= 0:
                    break
                if reason == b"usable":
                    usable += n
                why[a:a + n] = FREE_RUN[n]
                free += n
            last += 1
            setter[a:a + n] = [last] * n
        else:
            i = end
        self.free, self.usable, self.peak_used = free, usable, peak
        return i

    def freeing_in_use(self, seq, line, a, n):
        """Rule 3: a page freed must not be mapped, a table or a pool page.
        (The caller skips it when there are no pools, tables, mappings or
        stale entries: nothing a page could still belong to.)"""
        pool_of, tables, refs, stale_pa = self.pool_of, self.tables, self.refs, self.stale_pa
        for p in range(a, a + n):
            if p in pool_of:
                pid = pool_of[p]
                self.find_at(seq, line, "pmm-free-pool", f"page {p * PAGE:#x} belongs to "
                             f"pool {pid} (created by event {self.pools[pid].seq}), not destroyed")
                return True
            if tables and p * PAGE in tables:
                t = tables[p * PAGE]
                self.find_at(seq, line, "pmm-free-table", f"page {p * PAGE:#x} is a "
                             f"level-{t.level} page table (pt.new at event {t.seq})")
                return True
            if refs and (p in refs or ("2M", p >> 9) in refs):
                self.find_at(seq, line, "pmm-free-mapped", f"page {p * PAGE:#x} is still "
                             f"mapped at {self.referenced(p)}")
                return True
            if stale_pa and p in stale_pa and self.tlb_on:
                self.find_at(seq, line, "tlb-stale", f"page {p * PAGE:#x} was unmapped from "
                             f"va={stale_pa[p] * PAGE:#x} and that VA was never invalidated")
                return True
        return False

    def stat_pmm(self, seq, values, line, lineno=None):
        """The snapshot's keys are compared in the order total, usable,
        free, used; one left out (a line not in the schema's shape) is not."""
        if self.reduced:
            self.values_first(seq, values, line, lineno)
        if not self.pages:
            return
        total, usable, used, free, reserved = values
        try:
            for key, got, value in (("total", total, self.pages),
                                    ("usable", usable, self.usable), ("free", free, self.free),
                                    ("used", used, self.usable - self.free)):
                if got is not None and int(got, 0) != value:
                    self.find_at(seq, line, "stat-pmm", f"the replayed bitmap has {key}={value}")
                    return
            if (0 if reserved is None else int(reserved, 0)) > \
                    (0 if used is None else int(used, 0)):
                self.find_at(seq, line, "stat-pmm", "reserved pages cannot exceed used pages")
        except ValueError as x:  # a num with a leading 0: int(.., 0) refuses it
            self.garbled(seq, line, text_error(x))

    # --- ptp: pools ---------------------------------------------------------

    def ptp_create(self, e):
        pid, pa, n = e.int("id"), e.int("pa"), e.int("pages")
        if pid in self.pools:
            self.find(e, "ptp-exists", f"pool {pid} exists (event {self.pools[pid].seq})")
            return
        if self.pmm_on and self.pages:
            a = pa // PAGE
            bad = [p for p in range(a, a + n) if p >= self.pages or self.reason(p) != "pool"]
            if bad:
                self.find(e, "ptp-not-pool", f"page {bad[0] * PAGE:#x} is "
                          f"{'outside the bitmap' if bad[0] >= self.pages else 'why=' + self.reason(bad[0])}, "
                          "not taken with why=pool")
        self.pools[pid] = Pool(pid, pa, e.int("va"), n, e.keys.get("kind"), e.seq)
        for p in range(pa // PAGE, pa // PAGE + n):
            self.pool_of[p] = pid

    def pool_page(self, e):
        pid, pa = e.int("id"), e.int("pa")
        pool = self.pools.get(pid)
        if pool is None:
            self.find(e, "ptp-unknown", f"there is no pool {pid}")
            return None, pa
        if pa % PAGE or not pool.pa <= pa < pool.pa + pool.pages * PAGE:
            self.find(e, "ptp-outside", f"pool {pid} spans {pool.pa:#x}-"
                      f"{pool.pa + pool.pages * PAGE:#x}")
            return None, pa
        return pool, pa

    def ptp_alloc(self, e):
        pool, pa = self.pool_page(e)
        if pool is None:
            return
        n = e.int("n", 1)
        if n < 1 or pa + n * PAGE > pool.pa + pool.pages * PAGE:
            self.find(e, "ptp-outside", f"pool {pool.id} spans {pool.pa:#x}-"
                      f"{pool.pa + pool.pages * PAGE:#x}")
            return
        for p in range(pa, pa + n * PAGE, PAGE):
            if p in pool.allocated:
                self.find(e, "ptp-double-alloc", f"page {p:#x} was handed out by event "
                          f"{pool.allocated[p]} and not given back")
                return
        for p in range(pa, pa + n * PAGE, PAGE):
            pool.allocated[p] = e.seq

    def ptp_free(self, e):
        pool, pa = self.pool_page(e)
        if pool is None:
            return
        if pa not in pool.allocated:
            self.find(e, "ptp-double-free", f"page {pa:#x} is not handed out by pool {pool.id}")
            return
        if pa in self.tables:
            self.find(e, "ptp-free-table", f"page {pa:#x} is still a level-"
                      f"{self.tables[pa].level} table (pt.new at event {self.tables[pa].seq})")
            return
        if pa in self.detached:
            self.find(e, "tlb-stale", f"table {pa:#x} was detached by event "
                      f"{self.detached[pa]} and no invalidation came since: a CPU may "
                      "still walk it")
            return
        del pool.allocated[pa]

    def ptp_destroy(self, e):
        pid = e.int("id")
        pool = self.pools.pop(pid, None)
        if pool is None:
            self.find(e, "ptp-unknown", f"there is no pool {pid}")
            return
        for p in range(pool.pa // PAGE, pool.pa // PAGE + pool.pages):
            self.pool_of.pop(p, None)
        self.recursive.pop(pid, None)
        self.shared.pop(pool.pa, None)
        dead = [t for t in self.tables.values() if t.pool == pid]
        for t in dead:
            self.drop_table(t)
        self.drop_roots(e, {t.pa for t in dead if t.level == 4})

    def ptp_recursive(self, e):
        """The pool's PML4 entry `slot` points to the PML4 itself."""
        pool = self.pools.get(e.int("id"))
        pte, slot = e.int("pte"), e.int("slot")
        if pool is None:
            self.find(e, "ptp-unknown", f"there is no pool {e.int('id')}")
            return
        if pte & ADDR_MASK != pool.pa or not pte & 1 or not 0 <= slot < 512:
            self.find(e, "ptp-recursive", f"the entry must be present and point to the "
                      f"pool's PML4 at {pool.pa:#x}")
            return
        self.recursive[pool.id] = (slot, pte, e.seq)

    def stat_ptp(self, e):
        """used counts the pages handed out plus the pool's own allocation
        bitmap, kept in its last ceil(pages / 32768) pages (src/mm/ptp.c)."""
        pool = self.pools.get(e.int("id"))
        if pool is None:
            self.find(e, "stat-ptp", "the replay has no such pool")
            return
        used = len(pool.allocated) + -(-pool.pages // (PAGE * 8))
        if e.int("pages") != pool.pages or e.int("used") != used:
            self.find(e, "stat-ptp", f"the replayed pool {pool.id} has pages={pool.pages} "
                      f"used={used} ({len(pool.allocated)} handed out + its bitmap)")

    # --- pt: page-table pages -------------------------------------------------

    def pt_new(self, e):
        """One table, or n tables at consecutive pages in consecutive entries."""
        pa, level = e.int("pa"), e.int("level")
        parent, index = e.int("parent"), e.int("index")
        n = e.int("n", 1)
        if n < 1 or (level == 4 and n != 1):
            self.find(e, "pt-parent", "n must be at least 1 (and 1 for a PML4)")
            return
        for i in range(n):
            if not self.pt_new_one(e, pa + i * PAGE, level, parent, index + i):
                return

    def pt_new_one(self, e, pa, level, parent, index):
        if pa in self.tables:
            self.find(e, "pt-double-new", f"page {pa:#x} is already a level-"
                      f"{self.tables[pa].level} table (event {self.tables[pa].seq})")
            return False
        pid = self.pool_of.get(pa // PAGE)
        if self.ptp_on and (pid is None or pa not in self.pools[pid].allocated):
            where = "in no pool" if pid is None else f"not handed out by pool {pid}"
            self.find(e, "pt-not-pool", f"page {pa:#x} is {where}")
            return False
        if self.pmm_on and self.pages and (pa // PAGE >= self.pages or not self.why[pa // PAGE]):
            self.find(e, "pt-not-used", f"page {pa:#x} is free in the bitmap")
            return False
        if level == 4:
            if parent:
                self.find(e, "pt-parent", "a PML4 has parent=0x0")
                return False
            t = Table(pa, 4, 0, 0, pa, 0, pid, e.seq)
        else:
            t = self.child_table(e, pa, level, parent, index, pid)
            if t is None:
                return False
        self.tables[pa] = t
        self.table_at[(t.root, level, t.va)] = pa
        self.levels[level] += 1
        if level == 4 and pid is not None:
            self.as_root[pid] = pa  # an address space is numbered by its pool
        return True

    def child_table(self, e, pa, level, parent, index, pid):
        up = self.tables.get(parent)
        if up is None or up.level != level + 1:
            what = "no table" if up is None else f"a level-{up.level} table"
            self.find(e, "pt-parent", f"parent {parent:#x} is {what}, expected level {level + 1}")
            return None
        if not 0 <= index < 512 or (parent, index) in self.slots:
            self.find(e, "pt-slot-taken", f"entry {index} of {parent:#x} already points to "
                      f"{self.slots.get((parent, index), 0):#x}")
            return None
        va = up.va + (index << (12 + 9 * level))
        if level == 3 and index >= 256:
            va |= 0xFFFF000000000000
        self.slots[(parent, index)] = pa
        up.used += 1
        return Table(pa, level, parent, index, up.root, va, pid, e.seq)

    def pt_share(self, e):
        """Entries first..first+n-1 of a PML4 copied from another PML4: the
        kernel half, whose mappings stay those of as 0's tables."""
        pa, src, first, n = e.int("pa"), e.int("from"), e.int("first"), e.int("n")
        for p in (pa, src):
            if self.pt_on and (p not in self.tables or self.tables[p].level != 4):
                self.find(e, "pt-share", f"{p:#x} is not a live PML4")
                return
        if first < 256 or n < 1 or first + n > 512:
            self.find(e, "pt-share", "only entries of the kernel half (256..511) are shared")
            return
        slots = self.shared.setdefault(pa, (src, set()))[1]
        slots.update(range(first, first + n))

    def pt_free(self, e):
        pa, level = e.int("pa"), e.int("level")
        t = self.tables.get(pa)
        if t is None or t.level != level:
            self.find(e, "pt-free-unknown", f"page {pa:#x} is not a level-{level} table")
            return
        if (t.parent, t.index) != (e.int("parent"), e.int("index")):
            self.find(e, "pt-parent", f"the table sits in entry {t.index} of {t.parent:#x}")
            return
        if t.used:
            self.find(e, "pt-free-not-empty", f"the table still has {t.used} present "
                      f"entr{'y' if t.used == 1 else 'ies'}")
            return
        self.drop_table(t)
        if self.tlb_on and self.current_as is not None:
            self.detached[pa] = e.seq

    def drop_table(self, t):
        self.tables.pop(t.pa, None)
        self.table_at.pop((t.root, t.level, t.va), None)
        if self.slots.pop((t.parent, t.index), None) is not None:
            up = self.tables.get(t.parent)
            if up:
                up.used -= 1
        self.levels[t.level] -= 1
