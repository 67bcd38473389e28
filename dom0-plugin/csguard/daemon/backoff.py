"""How long to wait before the next attempt after a failure."""
import random

BACKOFF_FIRST = 0.5
BACKOFF_CAP = 30.0


class Backoff:
    """Capped exponential delays with jitter, so a pool's daemons do not retry
    in lockstep after a xapi restart."""

    def __init__(self, first=BACKOFF_FIRST, cap=BACKOFF_CAP):
        self.first = first
        self.cap = cap
        self.failures = 0

    def next_delay(self):
        delay = min(self.cap, self.first * (2 ** self.failures))
        self.failures += 1
        return delay * random.uniform(0.5, 1.0)

    def reset(self):
        self.failures = 0
