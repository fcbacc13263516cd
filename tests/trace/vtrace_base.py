"""vtrace_base - what the vtrace test files share: running trace/vtrace on
generated traces, and the assertion that a rule caught an injected defect."""
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
    r = subprocess.run([sys.executable, VTRACE] + args, input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


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
