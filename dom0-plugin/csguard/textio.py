"""UTF-8 in and out, whatever the locale.

dom0's Python 3.6 takes its encodings from the locale, and what csguard runs under
often has none: a host plugin gets a bare environment from XAPI, cron and ssh
without LANG give the C locale. Python 3.6 then decodes argv as ASCII (bytes above
127 become surrogates) and refuses to print a VM named "modèle". XAPI's names and
csguard's files are UTF-8 (Python 3.7+ switch to UTF-8 in the C locale by
themselves, PEP 538/540), so every entry point calls `utf8_stdio` and `utf8_argv`
first, and csguard opens its text files with encoding="utf-8".
"""
import codecs
import io
import sys


def _is_utf8(encoding):
    try:
        return codecs.lookup(encoding or "ascii").name == "utf-8"
    except LookupError:
        return False


def utf8_argv(argv):
    """argv as the UTF-8 text it was typed as: arguments the locale's codec could
    not read (surrogate escapes) are decoded again from their original bytes; bytes
    that are not UTF-8 either stay escaped, and are refused or shown as escapes."""
    encoding = sys.getfilesystemencoding()
    if _is_utf8(encoding):
        return list(argv)
    fixed = []
    for arg in argv:
        try:
            raw = arg.encode(encoding, "surrogateescape")
        except UnicodeEncodeError:
            fixed.append(arg)
            continue
        fixed.append(raw.decode("utf-8", "surrogateescape"))
    return fixed


def utf8_stdio():
    """Make sys.stdout and sys.stderr write UTF-8; what cannot be encoded (a lone
    surrogate from a non-UTF-8 argument) is written as a backslash escape."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None or not hasattr(stream, "buffer"):
            continue  # replaced by a test or closed by the caller: leave it
        if _is_utf8(stream.encoding):
            continue
        stream.flush()
        line_buffering = stream.line_buffering
        # detach: the old wrapper must not close the file when it is collected
        setattr(sys, name, io.TextIOWrapper(
            stream.detach(), encoding="utf-8", errors="backslashreplace",
            line_buffering=line_buffering))
