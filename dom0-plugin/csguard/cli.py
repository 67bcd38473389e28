"""xe-style command line: `csguard <command> key=value ...`."""
import sys


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "daemon":
        from csguard import daemon
        return daemon.main(argv[1:])
    sys.stderr.write("usage: csguard daemon [options]\n")
    return 2
