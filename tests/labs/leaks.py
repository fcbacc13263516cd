"""leaks - what of the solutions of labs N and later a handout still holds.

  leaks(root, tree, lab) -> ["where: what", ...]  ([] if nothing leaks)

A leak is a `LAB K begin`/`end` marker with K >= lab anywhere in the tree
(any text file but build/), a line of such a region's body (a
solution or its helpers, wherever the markers are in root's src/) that
appears in the tree, or a value in a lab's answers (docs/labs/labN-answers.txt). A body line counts
only if it appears nowhere else in root (so `return st;` does not), and a
region with no such line is reported: the proof would say nothing about it.
Used by the labs suite of tests/check.
"""
import os
import re

MARK = re.compile(r"LAB (\d+) (begin|end)\b")
C_REGION = re.compile(
    r"^(?P<indent>[ \t]*)/\* LAB (?P<lab>\d+) begin: (?P<name>\w+)"
    r"(?:, stub returns (?P<ret>[^*]+?))? \*/\n(?P<body>.*?)^[ \t]*/\* LAB (?P=lab) end \*/\n",
    re.M | re.S)
ANSWERS = re.compile(r"docs/labs/lab\d+-answers\.txt")


def text_files(tree):
    """(relative path, text) of every UTF-8 file of tree but build/."""
    for top, dirs, names in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if not (top == tree and d in ("build", ".git")))
        for name in sorted(names):
            path = os.path.join(top, name)
            try:
                with open(path, encoding="utf-8") as f:
                    yield os.path.relpath(path, tree), f.read()
            except (UnicodeDecodeError, OSError):
                pass


def code_lines(text):
    return {line.strip() for line in text.splitlines() if len(line.strip()) >= 8}


def solution_lines(root, lab):
    """[(region name, its body's lines found nowhere else in root)]."""
    bodies, outside = [], set()
    for rel, text in text_files(root):
        if rel.startswith("src" + os.sep) and rel.endswith(".c"):
            for m in C_REGION.finditer(text):
                if int(m.group("lab")) >= lab:
                    bodies.append((f"{rel}: {m.group('name')}", code_lines(m.group("body"))))
            text = C_REGION.sub(lambda m: "" if int(m.group("lab")) >= lab else m.group(0), text)
        outside |= code_lines(text)
    return [(name, lines - outside) for name, lines in bodies]


def leaks(root, tree, lab):
    bodies = solution_lines(root, lab)
    found = [f"{name}: no line of its own to look for" for name, lines in bodies if not lines]
    for rel, text in text_files(tree):
        found += [f"{rel}: marker '{m.group(0)}'" for m in MARK.finditer(text)
                  if int(m.group(1)) >= lab]
        present = code_lines(text)
        for name, lines in bodies:
            if lines & present:
                found.append(f"{rel}: a line of {name}: {sorted(lines & present)[0]!r}")
        if ANSWERS.fullmatch(rel.replace(os.sep, "/")):
            found += [f"{rel}: an answer: {line.strip()!r}" for line in text.splitlines()
                      if re.match(r"^\s*\w+\s*=\s*\S", line)]
    return found
