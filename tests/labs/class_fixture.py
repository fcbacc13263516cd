"""class_fixture - a class of 20 lab 2 submissions, some broken on purpose,
for the classroom suite of tests/check.

  make_class(root, student_tree, folder) -> {student: expected status}

student_tree is a fresh lab 2 handout; each submission is made by editing
src/mm/pmm.c there and running its `make submit` (tests/labs/submit), or
by writing a bad file by hand. The tree is left as the handout made it.
"""
import gzip
import io
import json
import os
import random
import subprocess
import sys
import tarfile

PMM = os.path.join("src", "mm", "pmm.c")
GRADER = os.path.join("tests", "labs", "grade")


def solved(root):
    with open(os.path.join(root, PMM)) as f:
        return f.read()


def at_body_of(text, function, statement):
    """text with statement put first in function's body."""
    head = text.index(f"\n{function}(") if f"\n{function}(" in text else text.index(f" {function}(")
    brace = text.index("{\n", head) + 2
    return text[:brace] + "\t" + statement + "\n" + text[brace:]


def submit(tree, out, edits):
    """Writes edits ({path: text}) into tree, runs its submit, restores."""
    saved = {}
    for rel, text in edits.items():
        with open(os.path.join(tree, rel)) as f:
            saved[rel] = f.read()
        with open(os.path.join(tree, rel), "w") as f:
            f.write(text)
    try:
        subprocess.run([sys.executable, os.path.join(tree, "tests", "labs", "submit"),
                        "--out", out], check=True, stdout=subprocess.DEVNULL)
    finally:
        for rel, text in saved.items():
            with open(os.path.join(tree, rel), "w") as f:
                f.write(text)


def tar_gz(entries, manifest=None):
    """A gzip'd tar of entries [(TarInfo fields dict, bytes)]."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        if manifest is not None:
            data = json.dumps(manifest).encode()
            info = tarfile.TarInfo("MANIFEST.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for fields, data in entries:
            info = tarfile.TarInfo(fields["name"])
            info.type = fields.get("type", tarfile.REGTYPE)
            info.linkname = fields.get("linkname", "")
            info.size = len(data) if info.type == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    return gzip.compress(raw.getvalue(), mtime=0)


def rewrite(path, change):
    """The archive at path with its manifest passed through change."""
    with tarfile.open(path, "r:gz") as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]
    manifest = json.loads(dict(members)["MANIFEST.json"])
    change(manifest)
    return tar_gz([({"name": n}, d) for n, d in members if n != "MANIFEST.json"], manifest)


def make_class(root, tree, folder):
    os.makedirs(folder, exist_ok=True)
    good = solved(root)
    path = lambda name: os.path.join(folder, name + ".tar.gz")
    expect = {}

    def made(name, status, edits=None):
        submit(tree, path(name), edits or {})
        expect[name] = status

    for name in ("ada", "grace", "linus"):
        made(name, "ok", {PMM: good})
    for name in ("stub1", "stub2"):
        made(name, "ok")
    half = at_body_of(good, "status_t pmm_free_batch",
                      "return trace_error_in(STATUS_NOT_IMPLEMENTED, __func__, NULL);")
    made("half1", "ok", {PMM: half})
    made("half2", "ok", {PMM: half})
    made("typo", "build_failed", {PMM: good + "\nthis is not C\n"})
    made("spin", "timeout", {PMM: at_body_of(good, "status_t pmm_alloc_batch", "for (;;) ;")})
    made("crash", "ok", {PMM: at_body_of(good, "status_t pmm_alloc_batch",
                                         "*(volatile int *)0 = 0;")})
    with open(os.path.join(tree, GRADER)) as f:
        grader = f.read()
    made("cheat", "tampered", {PMM: good, GRADER: grader.replace(
        "ok, detail = host[arg]", "ok, detail = True, ''")})
    with open(path("wrong_lab"), "wb") as f:
        f.write(rewrite(path("ada"), lambda m: m.update(lab=3)))
    expect["wrong_lab"] = "wrong_lab"
    with open(path("forged"), "wb") as f:  # a file changed after make submit
        f.write(rewrite(path("ada"), lambda m: m["files"].update({PMM: "0" * 64})))
    expect["forged"] = "broken"
    entries = {
        "escape": [({"name": "files/../../../etc/x"}, b"x")],
        "link": [({"name": "files/src/mm/pmm.c", "type": tarfile.SYMTYPE,
                   "linkname": "/etc/passwd"}, b"")],
    }
    for name, members in entries.items():
        with open(path(name), "wb") as f:
            f.write(tar_gz(members, {"lab": 2, "files": {}}))
        expect[name] = "broken"
    with open(path("no_manifest"), "wb") as f:
        f.write(tar_gz([({"name": "files/src/mm/pmm.c"}, good.encode())]))
    expect["no_manifest"] = "broken"
    with open(path("nothing"), "wb") as f:
        f.write(tar_gz([], {"lab": 2, "files": {}}))
    expect["nothing"] = "empty"
    open(path("zero"), "wb").close()
    expect["zero"] = "empty"
    with open(path("noise"), "wb") as f:
        f.write(random.Random(1).randbytes(3000))
    expect["noise"] = "broken"
    with open(path("huge"), "wb") as f:
        f.write(gzip.compress(random.Random(2).randbytes(1100 * 1024), mtime=0))
    expect["huge"] = "oversized"
    return expect
