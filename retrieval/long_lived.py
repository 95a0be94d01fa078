"""Objects that live as long as the process, kept out of the garbage collector's full passes."""

from __future__ import annotations

import gc


def freeze_long_lived() -> None:
    """Move every object alive now to the collector's permanent generation.

    Called once a process has loaded what it keeps until it exits: the bot process after start-up
    (libraries, the application, its services), an answer worker after its first answer (the
    snapshot and the compiled search kernel, hundreds of thousands of objects), a reindex's
    analysis worker after each batch (its word table only grows, by hundreds of thousands of
    words). Full passes otherwise walk all of them every so often: a stall of tens of
    milliseconds every reply then waits out, about 8% of an analysis worker's time at a million
    passages. Refcounting still frees them: a snapshot replaced by a reindex is freed when its
    last reference drops, an analyzed batch when it has been sent.
    """
    gc.freeze()
