"""test_vtrace_view - the data `vtrace view` embeds (trace/vtracelib/view.py):
after every event, the state rebuilt from the checkpoints and deltas the way
the page's script does it (Shadow, a mirror of view.js's Engine) equals a
replay run alongside; and the subcommand's errors. Run by test_vtrace.py."""
import json
import os
import sys

import gen
from vtrace_base import ROOT, TMP, Base, vtrace

sys.path.insert(0, os.path.join(ROOT, "trace"))
from vtracelib import view  # noqa: E402
from vtracelib.replay import Replay  # noqa: E402
from vtracelib.tracefile import parse  # noqa: E402


class Shadow:
    """The state as the page rebuilds it: a checkpoint, then deltas."""

    def __init__(self, cp):
        self.why = bytearray(cp["pages"])
        for a, n, c in cp["bitmap"]:
            self.why[a:a + n] = bytes([c]) * n
        self.maps = {a: {} for a in cp["spaces"][0]}
        self.large = {a: {} for a in cp["spaces"][1]}
        for a, k, p, f, s in cp["maps"]:
            self.maps.setdefault(a, {})[k] = (p, f, s)
        for a, k, p, f, s in cp["large"]:
            self.large.setdefault(a, {})[k] = (p, f, s)
        self.tables = {t[0]: tuple(t) for t in cp["tables"]}
        self.roots = dict(map(tuple, cp["roots"]))
        self.summary = dict(cp["summary"])

    def apply(self, ops):
        for op in ops:
            t = op[0]
            if t == "b":
                a, n, c = op[1:]
                self.why[a:a + n] = bytes([c]) * n
            elif t == "M":
                for k in range(op[6]):
                    self.maps.setdefault(op[1], {})[op[2] + k] = (op[3] + k, op[4], op[5])
            elif t == "M-":
                for k in range(op[3]):
                    self.maps.setdefault(op[1], {}).pop(op[2] + k)
            elif t == "L":
                self.large.setdefault(op[1], {})[op[2]] = tuple(op[3:6])
            elif t == "L-":
                self.large.setdefault(op[1], {}).pop(op[2])
            elif t in ("M0", "L0"):
                d = self.maps if t == "M0" else self.large
                d.pop(op[1], None)
                if op[2]:
                    d[op[1]] = {}
            elif t == "T":
                self.tables[op[1]] = tuple(op[1:])
            elif t == "T-":
                del self.tables[op[1]]
            elif t == "R":
                self.roots[op[1]] = op[2]
            elif t == "R-":
                del self.roots[op[1]]
            elif t == "s":
                self.summary.update(op[1])


def replayed(r, flags):
    """The replay's state in the shadow's shape."""
    maps = {a: {k: (m[0], flags.index(m[1]), m[2]) for k, m in d.items()} for a, d in r.maps.items()}
    large = {a: {k: (m[0], flags.index(m[1]), m[2]) for k, m in d.items()} for a, d in r.large.items()}
    tables = {t.pa: (t.pa, t.level, t.parent, t.index, (t.va & (2 ** 64 - 1)) >> 12, t.pool, t.seq)
              for t in r.tables.values()}
    return bytes(r.why), maps, large, tables, dict(r.as_root), r.free


class ViewData(Base):
    def assertRebuildsEveryState(self, data):
        t = parse(data)
        m = view.model("t.log", t)
        deltas = [json.loads(d) for d in m["deltas"]]
        cps = {c["at"]: c for c in m["checkpoints"]}
        shadow, r = Shadow(cps[-1]), Replay(t)
        for i, e in enumerate(t.events):
            r.apply(e)
            shadow.apply(deltas[i])
            got = (bytes(shadow.why), shadow.maps, shadow.large, shadow.tables, shadow.roots,
                   shadow.summary["free"])
            self.assertEqual(got, replayed(r, m["flags"]), f"state after event {e.seq}")
            if i in cps:  # a checkpoint is the same state again
                again = Shadow(cps[i])
                self.assertEqual((again.maps, again.tables, bytes(again.why)),
                                 (shadow.maps, shadow.tables, bytes(shadow.why)))
        return m

    def test_view_data_rebuilds_the_replayed_state_after_every_event(self):
        m = self.assertRebuildsEveryState(gen.write(gen.alloc_events()))
        self.assertIn("kernel image", [name for name, _, _ in m["checkpoints"][-1]["summary"]["regions"]])

    def test_view_data_follows_an_address_space_created_and_destroyed(self):
        from test_vtrace import MmStory
        cats, events, status = MmStory.story()
        self.assertTrue(any(e.startswith("ptp.destroy") for e in events))
        self.assertRebuildsEveryState(gen.write(events, cats=cats, status=status))

    def test_view_data_of_churn_keeps_checkpoints_apart(self):
        m = self.assertRebuildsEveryState(gen.write(gen.churn_events(3000)))
        ats = [c["at"] for c in m["checkpoints"]]
        self.assertTrue(all(b - a <= view.CHECKPOINT_EVERY for a, b in zip(ats, ats[1:])), ats)

    def test_view_refuses_a_file_that_is_not_a_trace_in_one_line(self):
        rc, out, err = vtrace("view", "@", "-o", os.path.join(TMP, "x.html"), data=b"hello\n")
        self.assertEqual(rc, 2)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn("not a Vitrine trace", err)
        self.assertFalse(os.path.exists(os.path.join(TMP, "x.html")))

    def test_view_says_in_one_line_when_it_cannot_write(self):
        rc, _, err = vtrace("view", "@", "-o", "/nonexistent/dir/v.html",
                            data=gen.write(gen.clean_events()))
        self.assertEqual((rc, err.count("\n")), (2, 1), err)
        self.assertIn("cannot write /nonexistent/dir/v.html", err)
