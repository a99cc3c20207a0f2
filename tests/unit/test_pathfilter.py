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


def test_bare_names_answered_by_sets_agree_with_pathspec_on_random_paths() -> None:
    import random

    import pathspec

    rng = random.Random(7)
    words = ["node_modules", "vendor", "yarn.lock", "src", "gen", "top.txt", "build", ".gradle"]
    words += ["caches", "x", ".venv", "Pods"]
    extra = ["build/", "*.min.js", "/top.txt", "src/gen/", "!vendor/keep.js", "docs/**/*.md"]
    extra += ["/src/", "x/top.txt", "/gen"]
    for _ in range(200):
        own = rng.sample(extra, rng.randint(0, 3))
        excludes = PathFilter.build(own, defaults=rng.random() < 0.8)
        spec = pathspec.GitIgnoreSpec.from_lines(excludes.patterns, backend="simple")
        for _ in range(40):
            path = "/".join(rng.choice(words) for _ in range(rng.randint(1, 4)))
            is_dir = rng.random() < 0.3
            expected = spec.match_file(path + "/" if is_dir else path)
            assert excludes.excluded(path, is_dir=is_dir) == expected, (own, path, is_dir)


def test_the_defaults_are_answered_without_pathspec() -> None:
    excludes = PathFilter.build([])
    assert excludes._rest == ()  # bare names and one anchored path: no pathspec at all
    assert excludes.excluded("a/node_modules/b.js") and not excludes.excluded("a/b.js")
