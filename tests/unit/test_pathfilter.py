"""Exclude patterns answer the same whichever pathspec backend matches them (the plain one
first, Hyperscan's once a scan has matched many paths)."""

from __future__ import annotations

import pytest

from leakguard import pathfilter
from leakguard.pathfilter import PathFilter

PATHS = [
    ("node_modules/left-pad/index.js", False, True),
    ("web/node_modules", True, True),
    ("package-lock.json", False, True),
    ("sub/yarn.lock", False, True),
    ("src/vendor.js", False, False),
    ("vendor", True, True),
    ("src/app.py", False, False),
    ("build/generated/keys.env", False, True),
    ("dist/app.js", False, False),
]


@pytest.mark.parametrize("switch_after", [1, 4, 10_000])
def test_the_same_paths_are_excluded_before_and_after_the_backend_switch(
    monkeypatch: pytest.MonkeyPatch, switch_after: int
) -> None:
    monkeypatch.setattr(pathfilter, "FAST_BACKEND_AFTER", switch_after)
    excludes = PathFilter.build(["build/"])
    for _ in range(3):  # the switch happens during one of these rounds, or never
        assert [excludes.excluded(p, is_dir=d) for p, d, _ in PATHS] == [e for _, _, e in PATHS]
