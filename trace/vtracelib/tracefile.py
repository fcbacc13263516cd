"""tracefile - read a Vitrine trace (docs/trace-format.md) and check its frame.

A trace is bytes: a header, metadata lines, events and an end record. This
module turns it into a Trace (header, enabled categories, a list of Event)
and frame findings (rule 1 of the replay checker: version, sequence without
gaps, end record, count and CRC). Input that is not a trace at all (empty,
binary, wrong version) raises Unreadable, which vtrace turns into one line
and exit status 2.
"""
import re
import zlib

from . import schema

SCHEMA = schema.load()
VERSION = SCHEMA.version
LINE_MAX = SCHEMA.const("LINE_MAX")  # bytes, the newline included
ALWAYS_ENABLED = ("cpu", "err", "warn")

HEADER_RE = re.compile(rb'^@vitrine v(\d+)(?: (.*))?$')
END_RE = re.compile(r'^@end count=(\d+) crc=0x([0-9a-f]{8}) status=([a-z_]+)$')
NAME_RE = re.compile(r'^[a-z0-9_]+\.[a-z0-9_]+$')
KEYS_RE = re.compile(r'^[^\s=]+=')
NAMES = {}  # event name -> (category, event), validated once
SPECS = {}  # event name -> its EventSpec, once met, if it has a decoder
KEY_RE = re.compile(r' ([^\s=]+)=("[^"]*"|\S*)')


class Unreadable(Exception):
    """The input is not a Vitrine trace this tool can read (exit 2)."""


class Finding:
    """A broken rule: where (event number or line), which rule, what broke."""

    def __init__(self, where, rule, text):
        self.where, self.rule, self.text = where, rule, text

    def __str__(self):
        return f"{self.where}: rule {self.rule}: {self.text}"


class Event:
    """One event line: seq, category, name, keys (strings, in order)."""
    __slots__ = ("seq", "cat", "name", "keys", "line", "lineno", "full")

    def __init__(self, seq, cat, name, keys, line, lineno, full=None):
        self.seq, self.cat, self.name = seq, cat, name
        self.keys, self.line, self.lineno = keys, line, lineno
        self.full = full or f"{cat}.{name}"  # "cat.name"

    def text(self):
        """The line without its sequence number."""
        return line_text(self.line)

    def int(self, key, default=None):
        """The value of key as a number (hex with 0x, else decimal)."""
        v = self.keys.get(key)
        if v is None:
            if default is not None:
                return default
            raise KeyError(key)
        return int(v, 0)


def line_text(line):
    """An event line (str, or bytes of a plain trace) without its sequence
    number, as text: what a finding quotes."""
    if isinstance(line, bytes):
        line = line.decode("ascii")
    return line.split(" ", 1)[1]


def event_of(spec, seq, values, line, lineno=None):
    """The Event of a line that its decoder read: values (bytes, in the
    schema's order, None for an optional key left out), line (bytes)."""
    keys = {k: v.decode("ascii") for k, v in zip(spec.keys, values) if v is not None}
    return Event(seq, spec.cat, spec.name.split(".", 1)[1], keys, line.decode("ascii"),
                 lineno, spec.name)


class Trace:
    def __init__(self):
        self.version = None
        self.header = ""
        self.cats = None        # set of enabled categories, None: unknown
        self.meta = []          # metadata lines, without '#'
        self.events = []
        self.end = None         # dict count, crc, status; None: missing
        self.findings = []      # frame findings
        self.count = 0          # events read
        self.last = 0           # number of the last event read
        self.sink = None        # if set: events go to sink.apply(event), not kept
        self.sink_factory = None

    def add(self, e):
        """Takes the next event: checks its number, keeps or passes it on."""
        expected = self.last + 1
        if e.seq != expected:
            self.seq_finding(e, expected)
        self.count += 1
        self.last = e.seq
        if self.sink is None and self.sink_factory:
            self.sink = self.sink_factory(self)
        if self.sink:
            self.sink.apply(e)
        else:
            self.events.append(e)

    def entry(self, spec):
        """What takes an event of spec in sequence, given its decoder's
        values (bytes, in the schema's order; None: an optional key left
        out): entry(seq, values, line, lineno). The sink's own, if it has
        one for the event (Replay.entry), else one that makes the Event
        and takes it as add() does."""
        own = self.sink.entry(spec) if self.sink is not None else None
        if own is not None:
            return own
        take = self.sink.apply if self.sink is not None else self.events.append

        def make_event(seq, values, line, lineno):
            take(event_of(spec, seq, values, line, lineno))
        return make_event

    def rows_entry(self):
        """The sink's fast path over a piece of a plain trace, if it has one
        (Replay.pmm_rows), else None: (findall, take). findall(data, start,
        end) gives a row a line of data[start:end], its first item the
        line's sequence number (b"" for a line without one); take(rows, i,
        end, last) takes rows[i:end], numbered last + 1, last + 2, ..., while
        it can, and returns the first row it did not take. The rows it
        leaves go their usual way (parse_plain)."""
        rows = getattr(self.sink, "pmm_rows", None)
        return rows() if rows is not None else None

    def seq_finding(self, e, expected):
        what = (f"{e.seq - expected} event(s) missing" if e.seq > expected
                else "numbered backwards")
        self.findings.append(Finding(f"event {e.seq}", "frame-seq",
                                     f"expected event {expected} at line {e.lineno}: {what}"))

    def enabled(self, *cats):
        """True if every category named is enabled (or unknown: assume so)."""
        return self.cats is None or all(c in self.cats for c in cats)

    @property
    def status(self):
        return self.end["status"] if self.end else None


def parse_keys(rest):
    """'key=value key="a b"' -> dict, in order."""
    if '"' not in rest:
        try:
            return dict(item.split("=", 1) for item in rest.split())
        except ValueError:
            pass  # an item without '=': the slow path says which
    return {k: v for k, v in KEY_RE.findall(" " + rest.strip())}


def read_bytes(path, stdin):
    """The whole input: a path, or '-' for stdin. Raises Unreadable."""
    try:
        if path == "-":
            return stdin.buffer.read()
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise Unreadable(f"cannot read {path}: {e.strerror}")


def check_bytes(data):
    """Raises Unreadable for an input that cannot be a trace (empty, binary)."""
    if not data:
        raise Unreadable("empty input: not a Vitrine trace")
    nul = data.find(b"\0")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise Unreadable(f"binary data (a NUL byte) at line {line}: not a Vitrine trace")


def split_lines(data):
    """Lines of the input, CR stripped (a pty turns LF into CRLF)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if b"\r" not in data:
        return lines
    return [l[:-1] if l.endswith(b"\r") else l for l in lines]


CHUNK = 1 << 16  # bytes


# plain()'s line-length test without cutting lines: each byte but b"\n"
# made b"a", a line over the limit holds LINE_MAX of them in a row (the
# limit counts its newline).
NOT_NEWLINE = bytes(byte if byte == 10 else 0x61 for byte in range(256))
TOO_LONG = b"a" * LINE_MAX


def pieces(data):
    """data cut after a newline about every CHUNK bytes: (offset of each
    piece, offset of its end)."""
    start, size = 0, len(data)
    while start < size:
        end = data.find(b"\n", start + CHUNK)
        end = size if end < 0 else end + 1
        yield start, end
        start = end


def piece_lines(data, start, end):
    """The lines of the piece data[start:end], as split_lines cuts them
    (without CR stripping). Lines of one piece at a time: their memory is
    used again for the next piece, where a million lines at once would
    each take fresh memory, which costs more than the rest of reading
    them."""
    lines = data[start:end].split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def line_count(data, start=0, end=None):
    """len(split_lines(data[start:end])), without splitting."""
    return data.count(b"\n", start, end) + (not data.endswith(b"\n", start, end))


def check_header(first):
    m = HEADER_RE.match(first[:LINE_MAX * 4])
    if not m:
        shown = first[:40].decode("ascii", "replace")
        raise Unreadable(f"not a Vitrine trace: the first line is {shown!r}, "
                         f"expected '@vitrine v{VERSION} cmdline=...'")
    version = int(m.group(1))
    if version != VERSION:
        raise Unreadable(f"trace format v{version} is not supported "
                         f"(this vtrace reads v{VERSION})")
    return version


def parse(data, sink_factory=None):
    """Parses bytes into a Trace with its frame findings. Raises Unreadable.
    sink_factory(trace), if given, is called at the first event and returns
    what takes each event instead of keeping it (streaming): an object with
    apply(event) and entry(spec) (see Trace.entry)."""
    check_bytes(data)
    t = Trace()
    t.sink_factory = sink_factory
    if plain(data):
        first = data.split(b"\n", 1)[0]
        t.version = check_header(first)
        t.header = first.decode("ascii")
        parse_plain(t, data)
    else:
        lines = split_lines(data)
        t.version = check_header(lines[0])
        t.header = lines[0].decode("ascii", "replace")
        parse_lines(t, lines)
    if t.end is None:
        t.findings.append(Finding(f"line {line_count(data)}", "frame-end",
                                  f"no end record: the trace was cut short after event {t.last}"))
    return t


def parse_lines(t, lines):
    """The general loop: each line checked, CRC'd and parsed on its own."""
    crc = 0
    for i, raw in enumerate(lines):
        lineno = i + 1
        if len(raw) + 1 > LINE_MAX:
            t.findings.append(Finding(f"line {lineno}", "frame-line-length",
                                      f"{len(raw) + 1} bytes, the limit is {LINE_MAX}"))
            raw = raw[:LINE_MAX * 4]
        if raw.startswith(b"@end"):
            if end_found(t, len(lines), parse_end(t, raw, lineno, crc)):
                break
            continue
        crc = zlib.crc32(raw + b"\n", crc)
        if i == 0:
            continue
        parse_line(t, raw, lineno)


def end_found(t, n_lines, end_at):
    """True if the end record is at line end_at (not None) of n_lines:
    reports the lines after it."""
    if end_at is None:
        return False
    after = n_lines - end_at
    if after:
        t.findings.append(Finding(f"line {end_at + 1}", "frame-after-end",
                                  f"{after} line(s) after the end record"))
    return True


def plain(data):
    """True if the whole input is ASCII, without CR, every line within
    LINE_MAX: then parse_plain reads it with the same results, faster."""
    return data.isascii() and b"\r" not in data and \
        all(TOO_LONG not in data[start:end].translate(NOT_NEWLINE) for start, end in pieces(data))


def parse_plain(t, data):
    """parse_lines for a plain input, with the same results, faster: an
    event line whose keys fit its decoder (schema.EventSpec.byte_decoder,
    the usual case) and that comes in sequence goes straight to its entry
    (Trace.entry: a replay's handler, or the list of events), without
    decoding the line or checking its frame again; any other line takes
    parse_text_line. Before that, a piece whose lines are all events
    numbered in order goes as rows to the sink's fast path, if it has one
    (Trace.rows_entry), and only the lines it leaves come here. The CRC of
    the bytes before the end record is one call (every line before it is
    CRC'd but an "@end" line that is not an end record). The input is read a
    piece at a time (pieces), and a piece is cut into lines only if the rows
    left some of it."""
    skipped = []  # (offset, length) of the "@end" lines that are not the end record
    fast = {}     # event name (bytes) -> (its decoder's fullmatch, its entry)
    rows_entry = None  # the sink's (findall, take), once the first event came
    last, count = t.last, t.count
    lineno = 0
    get = fast.get  # the loop's names bound once: a local is cheaper than a lookup
    for start, end in pieces(data):
        n_lines = line_count(data, start, end)
        rows, first, lines = None, last + 1, None
        if rows_entry is not None:
            rows = rows_entry[0](data, start, end)
            if not in_sequence(rows, n_lines, first):
                rows = None
        j = 0
        while j < n_lines:
            if rows is not None and last == first + j - 1:  # line j is event last + 1
                taken = rows_entry[1](rows, j, n_lines, last) - j
                last, count, j = last + taken, count + taken, j + taken
                if j == n_lines:
                    break
            if lines is None:  # only now: a piece the rows took whole is not split
                lines = piece_lines(data, start, end)
            line = lines[j]
            j += 1
            try:
                seq, name, rest = line.split(b" ", 2)
            except ValueError:  # fewer than three words: not the usual event line
                name = None
            entry = get(name)
            if entry is not None and seq == b"%d" % (last + 1):
                decode, take = entry
                values = decode(rest)
                if values is not None:
                    last += 1
                    count += 1
                    take(last, values.groups(), line, lineno + j)
                    continue
            t.last, t.count = last, count
            if line.startswith(b"@end"):
                offset = start + sum(map(len, lines[:j - 1])) + j - 1  # bytes before the line
                crc = crc_before(data, offset, skipped)
                if end_found(t, line_count(data), parse_end(t, line, lineno + j, crc)):
                    return
                skipped.append((offset, len(line) + 1))
            elif lineno + j - 1:
                parse_text_line(t, line.decode("ascii"), lineno + j)
            last, count = t.last, t.count
            if not fast and t.count:  # the first event came: its consumer exists
                fast.update((spec.name.encode("ascii"), (spec.byte_decoder.fullmatch, t.entry(spec)))
                            for spec in SCHEMA.events.values() if spec.byte_decoder is not None)
                rows_entry = t.rows_entry()
        lineno += n_lines
    t.last, t.count = last, count


def in_sequence(rows, n, first):
    """True if rows[:n] are numbered first, first + 1, ... (each row's first
    item, its line's sequence number): n event lines in order."""
    return b" ".join([row[0] for row in rows[:n]]) == \
        " ".join(map(str, range(first, first + n))).encode("ascii")


def crc_before(data, offset, skipped):
    """The CRC of data[:offset] without the skipped (start, length) parts."""
    view = memoryview(data)  # its slices are not copies
    crc, at = 0, 0
    for start, n in skipped:
        crc = zlib.crc32(view[at:start], crc)
        at = start + n
    return zlib.crc32(view[at:offset], crc)


def parse_end(t, raw, lineno, crc):
    text = raw.decode("ascii", "replace")
    m = END_RE.match(text)
    if not m:
        t.findings.append(Finding(f"line {lineno}", "frame-syntax",
                                  f"malformed end record {text[:80]!r}"))
        return None
    t.end = {"count": int(m.group(1)), "crc": int(m.group(2), 16),
             "status": m.group(3), "lineno": lineno}
    if t.end["count"] != t.count:
        t.findings.append(Finding(f"line {lineno}", "frame-count",
                                  f"end record says count={t.end['count']} but the trace "
                                  f"has {t.count} events"))
    if t.end["crc"] != crc:
        t.findings.append(Finding(f"line {lineno}", "frame-crc",
                                  f"end record says crc={t.end['crc']:#010x} but the bytes "
                                  f"before it have crc={crc:#010x}: the trace was edited"))
    return lineno


def parse_line(t, raw, lineno):
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        t.findings.append(Finding(f"line {lineno}", "frame-syntax",
                                  "non-ASCII bytes in a trace line"))
        return
    parse_text_line(t, text, lineno)


def parse_text_line(t, text, lineno):
    """One line (not the header, not the end record) into t. The usual
    event line goes through its event's decoder (schema.EventSpec.decode):
    one regex for the frame, the keys and their shapes."""
    seq, _, rest = text.partition(" ")
    name, _, rest = rest.partition(" ")
    cat_event = NAMES.get(name)
    if cat_event is not None and seq.isdigit() and seq[0] != "0":
        spec = SPECS.get(name)
        keys = spec.decode(rest) if spec is not None else None
        if keys is not None:
            t.add(Event(int(seq), cat_event[0], cat_event[1], keys, text, lineno, name))
            return
    if text.startswith("#"):
        t.meta.append(text[1:])
        if text.startswith("#cats "):
            t.cats = set(text[6:].split(",")) | set(ALWAYS_ENABLED)
        return
    seq, _, rest = text.partition(" ")
    name, _, rest = rest.partition(" ")
    cat_event = NAMES.get(name)
    if cat_event is None and NAME_RE.match(name):
        cat_event = NAMES[name] = tuple(name.split("."))
    if cat_event is None or not seq.isdigit() or seq[0] == "0" or \
            (rest and not KEYS_RE.match(rest)):
        t.findings.append(Finding(f"line {lineno}", "frame-syntax",
                                  f"not 'SEQ CAT.EVENT key=value...': {text[:80]!r}"))
        return
    keys = parse_keys(rest) if rest else {}
    spec = SCHEMA.spec(name)
    if spec is not None and spec.decoder is not None:
        SPECS[name] = spec
    wrong = "not an event of the schema (src/lib/trace.schema)" if spec is None \
        else spec.check(keys)
    if wrong:
        t.findings.append(Finding(f"line {lineno}", "frame-schema", f"{name}: {wrong}"))
    t.add(Event(int(seq), cat_event[0], cat_event[1], keys, text, lineno, name))


def load(path, stdin, sink_factory=None):
    """Reads and parses a trace file ('-': stdin)."""
    return parse(read_bytes(path, stdin), sink_factory)
