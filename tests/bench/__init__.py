"""The csguard benchmark: protection latency, adoption, steady-state XAPI load and
memory, next to the cron-style poller an administrator would write instead.

    PYTHONPATH=dom0-plugin:tests python3 -m bench [--sizes 100,1000,5000] [--out FILE]

The simulator, the daemon and every measuring client run in processes of their
own, so none of them competes for another's GIL. The benchmark process itself
needs only the standard library; the daemon and the XenAPI clients run under the
interpreters given with --pythons (or found in .tox).
"""
