"""Where the course's own messages go: expected events on stdout, real errors on stderr.

A loop Lambda stopped or a record a handler rejected is something the course means to show: in Jupyter it should read
as ordinary output, not as a red stderr box that looks like a crash. ``logger(name)`` gives a logger whose INFO and
WARNING messages are printed to stdout and whose ERROR and CRITICAL messages still go to stderr.
"""
from __future__ import annotations

import logging
import sys


class _Stream(logging.StreamHandler):
    """A handler that writes to the current ``sys.stdout`` or ``sys.stderr`` (Jupyter replaces them per kernel)."""

    def __init__(self, name: str, errors: bool):
        super().__init__()
        self._name = name
        self.addFilter(lambda record: (record.levelno >= logging.ERROR) == errors)

    @property
    def stream(self):
        return getattr(sys, self._name)

    @stream.setter
    def stream(self, value):  # StreamHandler.__init__ sets it; the stream is always looked up at emit time
        pass


def logger(name: str) -> logging.Logger:
    """The logger ``name``, set up once: below ERROR to stdout (plain output), ERROR and above to stderr."""
    log = logging.getLogger(name)
    if not any(isinstance(h, _Stream) for h in log.handlers):
        log.addHandler(_Stream("stdout", errors=False))
        log.addHandler(_Stream("stderr", errors=True))
        log.setLevel(logging.INFO)
        log.propagate = False  # printed here once; a root handler would print it a second time
    return log
