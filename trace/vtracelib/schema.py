"""schema - the trace's one declaration, src/lib/trace.schema, read once.

Everything vtrace knows about the format comes from here: the version, the
categories, the flag bits, the reasons, the statuses, the layout constants
and every event with its keys and their types. trace/schemagen writes the C
side and the doc's tables from the same object, so the three cannot drift.

An event spec decodes a line's values: `decode(keys)` checks that the keys
are the declared ones in order (the optional ones a prefix) and that each
value has its type's shape, and returns a finding text or None.
"""
import os
import re

HERE = os.path.dirname(os.path.realpath(__file__))
SCHEMA_PATH = os.path.join(HERE, "..", "..", "src", "lib", "trace.schema")

# The shape of a value of each type (docs/trace-format.md, "Values").
SHAPES = {
    "addr": re.compile(r"^0x[0-9a-f]+$"),
    "num": re.compile(r"^[0-9]+$"),
    "word": re.compile(r"^[A-Za-z0-9_:.,/|+-]+$"),
    "reason": re.compile(r"^[a-z0-9_]+$"),
    "flags": re.compile(r"^(-|[A-Z]+(\|[A-Z]+)*)$"),
    "text": re.compile(r'^"([\x21\x23-\x5b\x5d-\x7e ]|\\x[0-9a-f]{2})*"$'),
    "bytes": re.compile(r'^"([\x21\x23-\x5b\x5d-\x7e ]|\\x[0-9a-f]{2})*"$'),
}


class SchemaError(Exception):
    """The schema file itself is malformed (a line and what is wrong)."""


def _inner(shape):
    """A shape's pattern without its anchors, its groups not capturing."""
    return re.sub(r"\((?!\?)", "(?:", shape.pattern[1:-1])


class EventSpec:
    __slots__ = ("name", "cat", "keys", "types", "required", "open", "meaning", "section",
                 "decoder", "byte_decoder")

    def __init__(self, name, keys, types, required, open_, meaning, section):
        self.name, self.keys, self.types = name, keys, types
        self.cat = name.split(".")[0]
        self.required, self.open, self.meaning, self.section = required, open_, meaning, section
        self.decoder = self.make_decoder()
        # The same regex over bytes: a plain trace is read without decoding
        # each line (tracefile.parse_plain); its groups are bytes.
        self.byte_decoder = None if self.decoder is None else \
            re.compile(self.decoder.pattern.encode("ascii"))

    def make_decoder(self):
        """The event's parser: one regex that matches the keys' text
        'k=v k=v' (single spaces, nothing around) exactly where parse_keys
        and check() would accept it, its groups the values in order (None
        for an optional key left out). None for an open event (err.*) or
        one whose keys may all be left out: those take the general path."""
        if self.open or self.required == 0:
            return None
        parts = [f"{re.escape(k)}=({_inner(SHAPES[t])})"
                 for k, t in zip(self.keys, self.types)]
        tail = ""
        for part in reversed(parts[self.required:]):
            tail = f"(?: {part}{tail})?"
        return re.compile(" ".join(parts[:self.required]) + tail)

    def decode(self, rest):
        """The keys of a line's text rest (after the event name) as a dict,
        or None if the decoder does not match (then parse_keys and check
        say what is wrong, or that it is right in a form not canonical)."""
        m = self.decoder.fullmatch(rest) if self.decoder is not None else None
        if m is None:
            return None
        if self.required == len(self.keys):
            return dict(zip(self.keys, m.groups()))
        return {k: v for k, v in zip(self.keys, m.groups()) if v is not None}

    def check(self, keys):
        """None if the keys fit the spec, else what is wrong."""
        names = list(keys)
        if not self.open:
            n = len(names)
            if n < self.required or n > len(self.keys) or names != self.keys[:n]:
                return (f"keys {' '.join(names) or '(none)'}, the schema wants "
                        f"{self.key_text()}")
        else:
            if names[:len(self.keys)] != self.keys:
                return f"keys {' '.join(names)}, the schema wants {self.key_text()} first"
        for k, t in zip(names, self.types):
            if not SHAPES[t].match(keys[k]):
                return f"{k}={keys[k]} is not a {t}"
        return None

    def key_text(self):
        req = self.keys[:self.required]
        opt = self.keys[self.required:]
        return " ".join(req + ([f"[{' '.join(opt)}]"] if opt else []) + (["..."] if self.open else []))


class Schema:
    def __init__(self):
        self.version = None
        self.categories = []   # (name, meaning)
        self.types = {}        # name -> meaning
        self.flags = []        # (name, bit, meaning)
        self.levels = []       # (n, name, meaning)
        self.reasons = []      # (name, symbol, meaning)
        self.statuses = []     # (name, symbol, meaning)
        self.consts = {}       # name -> (int value, meaning)
        self.sections = []     # titles, in order
        self.events = {}       # "cat.name" -> EventSpec ("err.*" for the family)

    # --- what the readers use ---------------------------------------------------

    def const(self, name):
        return self.consts[name][0]

    @property
    def flag_bits(self):
        return {name: bit for name, bit, _ in self.flags}

    @property
    def reason_names(self):
        return [r[0] for r in self.reasons]

    @property
    def status_names(self):
        return {s[0] for s in self.statuses}

    def spec(self, full):
        """The EventSpec of an event name, the err.* family for err.<status>."""
        s = self.events.get(full)
        if s is None and full.startswith("err.") and full[4:] in self.status_names:
            return self.events.get("err.*")
        return s


def parse(text, path="trace.schema"):
    s = Schema()
    section = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip() if not raw.lstrip().startswith("event") \
            else raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        head, _, meaning = line.partition(" | ")
        words = head.split()
        kind, args = words[0], words[1:]
        where = f"{path}:{lineno}"
        try:
            if kind == "version":
                s.version = int(args[0])
            elif kind == "category":
                s.categories.append((args[0], meaning))
            elif kind == "type":
                if args[0] not in SHAPES:
                    raise SchemaError(f"{where}: type {args[0]} has no shape in schema.py")
                s.types[args[0]] = meaning
            elif kind == "flag":
                s.flags.append((args[0], int(args[1]), meaning))
            elif kind == "level":
                s.levels.append((int(args[0]), args[1], meaning))
            elif kind == "reason":
                s.reasons.append((args[0], args[1], meaning))
            elif kind == "status":
                s.statuses.append((args[0], args[1], meaning))
            elif kind == "const":
                s.consts[args[0]] = (int(args[1], 0), meaning)
            elif kind == "section":
                section = " ".join(args)
                s.sections.append(section)
            elif kind == "event":
                s.events[args[0]] = event_spec(args, meaning, section, where, s)
            else:
                raise SchemaError(f"{where}: unknown line kind {kind!r}")
        except (IndexError, ValueError) as x:
            raise SchemaError(f"{where}: malformed {kind} line ({x})")
    return s


def event_spec(args, meaning, section, where, s):
    name, keys, types, required, open_ = args[0], [], [], None, False
    if not re.match(r"^[a-z0-9_]+\.([a-z0-9_]+|\*)$", name):
        raise SchemaError(f"{where}: bad event name {name!r}")
    if name.split(".")[0] not in {c for c, _ in s.categories} | {"err", "warn"}:
        raise SchemaError(f"{where}: {name}: no such category")
    for a in args[1:]:
        if a == "...":
            open_ = True
            continue
        if a.startswith("?"):
            required = len(keys)
            a = a[1:]
        k, _, t = a.partition(":")
        if t not in s.types:
            raise SchemaError(f"{where}: {name}: key {k} has unknown type {t!r}")
        keys.append(k)
        types.append(t)
    return EventSpec(name, keys, types, len(keys) if required is None else required,
                     open_, meaning, section)


_loaded = None


def load():
    """The schema of this tree (read once)."""
    global _loaded
    if _loaded is None:
        with open(SCHEMA_PATH) as f:
            _loaded = parse(f.read(), "src/lib/trace.schema")
    return _loaded
