"""Python's cyclic garbage collector, paused while the command line starts.

Start-up (importing the CLI and the engine, loading the rules, building the engine) allocates
tens of thousands of objects that live for the whole run: modules, classes, rules, compiled
patterns. Each collection the allocations trigger walks them all again and frees nothing.
The console script (:mod:`leakguard.cli.entry`) pauses the collector first thing; it is
resumed when the work starts: by a scan once its engine is built, before any worker is forked
or a byte is read, and by every other command before it runs. Only a pause made here is
resumed: a program that turned the collector off itself keeps it off.

On resuming, what start-up built is moved out of the collector's sight (``gc.freeze``): it
lives for the whole run anyway, and the first collection after the pause would otherwise walk
all of it (~10 ms before a scan's first byte); forked workers then never touch those objects'
headers either, so their pages stay shared."""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Turn the collector off until :func:`resume`, unless it is off already."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Turn the collector back on if :func:`pause` turned it off (idempotent)."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()  # what start-up built stays: the next collections need not walk it
        gc.enable()
