"""The fast path of a plain trace's pmm lines (tracefile.parse_plain's rows,
Replay.take_pmm_rows) against the general path: the same traces, read three
ways, must give the same findings and the same replayed bitmap.

  fast     the usual reading: pieces of pmm.set / pmm.clear rows go to
           take_pmm_rows, the lines it leaves to their handlers
  lines    the same parser, the replay without the rows' fast path: each
           line to its handler (pmm_set, pmm_clear)
  general  CRLF line ends: parse_lines, each line decoded into an Event

The traces are long (five pieces of 64 KiB or more) so that the defects sit in
pieces the fast path takes; each defect is one the fast path must leave to
the handlers, or must take exactly as they would.
"""
import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "trace"))
sys.path.insert(0, HERE)
import gen  # noqa: E402
from vtracelib import replay, tracefile  # noqa: E402


class LinesReplay(replay.Replay):
    """A replay without the rows' fast path: Trace.rows_entry gives None."""
    pmm_rows = None


def read(data, sink=replay.Replay):
    """(findings as text, replayed state) of data read with sink."""
    made = []

    def start(t):
        made.append(sink(t))
        return made[0]
    t = tracefile.parse(data, start)
    r = made[0] if made else sink(t)
    r.finish()
    state = (bytes(r.why), list(r.setter), r.free, r.usable, r.peak_used, t.last, t.count,
             t.status)
    return [str(f) for f in t.findings + r.findings], state


def three_ways(data):
    return {"fast": read(data), "lines": read(data, LinesReplay),
            "general": read(data.replace(b"\n", b"\r\n"))}


def churn(count, base=0x1000000):
    """count events of pmm.set / pmm.clear runs of 1 to 8 pages over 2,048
    pages from base."""
    ev, cursor = [], 0
    while len(ev) < count:
        runs = []
        for k in range(8):
            n = 1 + (cursor + k) % 8
            runs.append((base + (cursor % 2000) * 4096, n))
            cursor += n
        ev += [f"pmm.set pa={pa:#x} n={n} why=alloc" for pa, n in runs]
        ev += [f"pmm.clear pa={pa:#x} n={n} why=free" for pa, n in runs]
    return ev


def bitmap_only(count=8000):
    """gen.big_events: a bitmap and nothing else (every clear is plain),
    with a snapshot also while pages are in use: after each eighth block's
    runs are set (its reserved count is any count up to used)."""
    out, used, block = [], 0, 0
    for e in gen.big_events(count):
        if e.startswith("pmm.clear") and out[-1].startswith("pmm.set"):
            block += 1
            if block % 8 == 0:
                out.append(f"stat.pmm total=262144 usable=261888 used={used} "
                           f"free={261888 - used} reserved={used // 2}")
        if e.startswith(("pmm.set", "pmm.clear")) and "why=usable" not in e:
            n = int(e.split(" n=")[1].split()[0])
            used += n if e.startswith("pmm.set") else -n
        out.append(e)
    return out


def with_tables():
    """gen.clean_events with churn before its end: pools and tables live,
    so the clears go to pmm_clear and only the sets are taken fast."""
    ev = gen.clean_events()
    return ev[:-1] + churn(8000) + ev[-1:]


# (what, old, new): the first line from the middle on (else from the start)
# where the regex old matches gets
# old replaced by new; new None: the line is deleted; "dup": doubled;
DEFECTS = [
    ("a page set twice", "pmm.set", "dup"),
    ("a page cleared twice", "pmm.clear", "dup"),
    ("a line missing", "pmm.set", None),
    ("n with a leading zero", r" n=\d+ ", " n=04 "),
    ("n of 0", r" n=\d+ ", " n=0 "),
    ("a long run", r" n=\d+ why=alloc", " n=70 why=alloc"),
    ("a run past the bitmap", "pmm.set pa=0x", "pmm.set pa=0xfff"),
    ("pa not page-aligned", "000 n=", "800 n="),
    ("pa in capitals", "pmm.set pa=0x", "pmm.set pa=0X"),
    ("a reason not in the schema", "why=alloc", "why=made_up"),
    ("a reason that is not a reason", "why=alloc", "why=Alloc"),
    ("a word not a word", "why=free", "why=fr*ee"),
    ("a clear of the usable pages", "why=free", "why=usable"),
    ("keys out of order", "pa=0x", "n=2 pa=0x"),
    ("two spaces", " n=", "  n="),
    ("a pool page freed", r"pmm.clear pa=0x[0-9a-f]+ n=\d+", "pmm.clear pa=0x400000 n=1"),
    ("a lying snapshot", "stat.pmm total=", "stat.pmm total=1"),
    ("a snapshot one page off", r" free=(\d+)", r" free=\g<1>1"),
    ("a snapshot's number with a leading zero", r" free=(\d+)", r" free=0\1"),
    ("a reserved count with a leading zero", r"(used=[1-9]\d* free=\d+) reserved=\d+",
     r"\1 reserved=01"),
    ("more reserved than used", r" reserved=\d+", " reserved=999999"),
    ("a snapshot's number with a sign", r"(used=[1-9]\d* free=\d+) reserved=(\d+)",
     r"\1 reserved=+\2"),
    ("a snapshot without its last key", r" reserved=\d+", ""),
    ("a snapshot with a key too many", r"(used=[1-9]\d* free=\d+ reserved=\d+)",
     r"\1 extra=1"),
]


def defect(events, old, new):
    ev = list(events)
    middle = len(ev) // 2
    i = next(k for k in list(range(middle, len(ev))) + list(range(middle)) if re.search(old, ev[k]))
    if new is None:
        del ev[i]
    elif new == "dup":
        ev.insert(i, ev[i])
    else:
        ev[i] = re.sub(old, new, ev[i], count=1)
    return ev


class FastPath(unittest.TestCase):
    def assertSameThreeWays(self, data, what):
        got = three_ways(data)
        for way in ("lines", "general"):
            self.assertEqual(got["fast"][0], got[way][0], f"{what}: findings, fast vs {way}")
            self.assertTrue(got["fast"][1] == got[way][1], f"{what}: state, fast vs {way}")
        return got["fast"][0]

    def test_clean_traces_give_the_same_state_three_ways(self):
        for events in (bitmap_only(), with_tables()):
            self.assertEqual(self.assertSameThreeWays(gen.write(events), "clean"), [])

    def test_each_defect_gives_the_same_findings_and_state_three_ways(self):
        clean = set()
        for name, events in (("bitmap", bitmap_only()), ("tables", with_tables())):
            for what, old, new in DEFECTS:
                ev = defect(events, old, new)
                if not self.assertSameThreeWays(gen.write(ev), f"{name}: {what}"):
                    clean.add((name, what))
        # No defect at all: parse_keys reads two spaces as one, a reason is
        # any name, and with tables the usable pages cleared come right
        # before the snapshot of clean_events' end, not after it.
        self.assertEqual(clean, {("bitmap", "two spaces"), ("tables", "two spaces"),
                                 ("bitmap", "a reason not in the schema"),
                                 ("tables", "a reason not in the schema"),
                                 ("tables", "a clear of the usable pages")})

    def test_lines_that_are_not_events_or_out_of_order_amid_the_runs(self):
        data = gen.write(bitmap_only())
        at = data.index(b"\n", len(data) // 2) + 1
        for extra in (b"#a comment\n", b"@end count=1 crc=0x00000000 status=ok\n", b"\n",
                      b"garbage\n"):
            self.assertTrue(self.assertSameThreeWays(data[:at] + extra + data[at:], extra))
        first, second, rest = data[at:].split(b"\n", 2)
        swapped = data[:at] + b"\n".join((second, first, rest))
        renumbered = data[:at] + b"9" + data[at:]
        for what, edited in (("two lines swapped", swapped), ("a line renumbered", renumbered)):
            self.assertIn("rule frame-seq", " ".join(self.assertSameThreeWays(edited, what)))

    def test_the_fast_path_takes_most_of_the_rows(self):
        # Not a timing: that the rows go the fast way at all (if they did
        # not, the tests above would compare the general path with itself).
        taken = []

        class Counting(replay.Replay):
            def take_pmm_rows(self, rows, i, end, last):
                k = super().take_pmm_rows(rows, i, end, last)
                taken.append(k - i)
                return k
        # 20,000 events: about one piece of rows (1,550) goes the general
        # way whatever the length, over a quarter of the 8,000 above.
        events = bitmap_only(20000)
        read(gen.write(events), Counting)
        self.assertGreater(sum(taken), len(events) * 3 // 4)


if __name__ == "__main__":
    unittest.main()
