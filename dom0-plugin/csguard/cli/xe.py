"""Output as xe prints it (xen-api ocaml/xapi-cli-server/cli_printer.ml), with
text from VM records made safe for a terminal."""
import re

# C0/C1 controls, and the bidirectional-text controls and line separators that can
# make a terminal show text in another order than it is (CVE-2021-42574).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
# vm-list's fields that xe would show as a map (MRO) or a set (SRO).
MAP_FIELDS = ("blocked-operations",)
SET_FIELDS = ("csguard-blocked",)


def printable(text):
    """Text with control characters (terminal escapes, newlines) made visible."""
    return CONTROL.sub(_escape, text)


def _escape(match):
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable_lines(lines):
    """Output text of lines, each made printable."""
    return "".join(printable(line) + "\n" for line in lines)


def xe_value(value):
    """A value as xe prints it: maps "k: v; k2: v2", sets "a; b", booleans lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in sorted(value.items()))
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _xe_label(field):
    kind = "MRO" if field in MAP_FIELDS else "SRO" if field in SET_FIELDS else " RO"
    return f"{field} ({kind})"


def xe_records(rows):
    """Records as xe prints them: labels padded to the longest plus 4, the first
    left-aligned and the others right-aligned, two empty lines after each record."""
    out = []
    for row in rows:
        labels = [(_xe_label(field), value) for field, value in row.items()]
        width = 4 + max(len(label) for label, _ in labels)
        lines = []
        for i, (label, value) in enumerate(labels):
            label = label.ljust(width) if i == 0 else label.rjust(width)
            lines.append(f"{label}: {printable(xe_value(value))}")
        out.append("\n".join(lines) + "\n\n\n")
    return "".join(out)


def xe_minimal(values):
    """xe --minimal: one line of comma-separated values, with "\\" and "," escaped."""
    return ",".join(printable(xe_value(v)).replace("\\", "\\\\").replace(",", "\\,")
                    for v in values) + "\n"
