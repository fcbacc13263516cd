"""vtrace_base - what the vtrace test files share: running trace/vtrace on
generated traces, and the assertion that a rule caught an injected defect."""
import importlib.machinery
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VTRACE = os.path.join(ROOT, "trace", "vtrace")
sys.path.insert(0, HERE)
import gen  # noqa: E402

TMP = tempfile.mkdtemp(prefix="vtrace-test-")


def vtrace(*args, data=None, stdin=None):
    """Runs vtrace; data (bytes) is written to a file passed as the last FILE."""
    args = list(args)
    if data is not None:
        path = os.path.join(TMP, f"t{time.monotonic_ns()}.log")
        with open(path, "wb") as f:
            f.write(data)
        args = [a if a != "@" else path for a in args]
    if os.environ.get("VTRACE_SUBPROCESS"):
        return vtrace_process(args, stdin)
    return vtrace_here(args, stdin)


def vtrace_process(args, stdin=None):
    """trace/vtrace as the shell runs it: a process of its own."""
    r = subprocess.run([sys.executable, VTRACE] + args, input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


_vtrace = None


def vtrace_script():
    """trace/vtrace, loaded once as a module."""
    global _vtrace
    if _vtrace is None:
        loader = importlib.machinery.SourceFileLoader("vtrace_cli", VTRACE)
        spec = importlib.util.spec_from_loader("vtrace_cli", loader)
        _vtrace = importlib.util.module_from_spec(spec)
        loader.exec_module(_vtrace)
    return _vtrace


def vtrace_here(args, stdin=None):
    """trace/vtrace in this process (its captured()): the same code as
    vtrace_process without an interpreter's start-up (~0.3 s, most of
    these tests' time). VTRACE_SUBPROCESS=1 runs every call as a process
    instead."""
    return vtrace_script().captured(args, stdin)


def check(events, **kw):
    return vtrace("check", "@", data=gen.write(events, **kw))


class Base(unittest.TestCase):
    def assertCaught(self, events, rule, **kw):
        rc, out, err = check(events, **kw)
        self.assertEqual(rc, 1, f"exit {rc}, expected 1 for rule {rule}\n{out}{err}")
        self.assertRegex(out, rf": rule {re.escape(rule)}: ", out)
        self.assertNotIn("Traceback", err)
        return out

    def events(self):
        return gen.clean_events()
