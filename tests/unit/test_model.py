"""The hand-written constructors of the model's hottest values (see ``model._quick_inits``)."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from leakguard.model import Chunk, Location, SourceKind


@pytest.mark.parametrize("cls", [Location, Chunk])
def test_quick_init_takes_exactly_the_fields_with_their_defaults(cls: type) -> None:
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # not self
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields, strict=True):
        assert f.default_factory is dataclasses.MISSING  # a factory would need code here
        expected = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
        assert p.default == expected, f.name


def test_quick_init_sets_every_field_and_keeps_the_instances_frozen() -> None:
    loc = Location("a.py", 3, 7, "c0ffee", (("k", 1),))
    assert (loc.path, loc.line, loc.column, loc.commit, loc.extras) == (
        "a.py",
        3,
        7,
        "c0ffee",
        (("k", 1),),
    )
    assert Location("a.py") == Location("a.py", 0, 0, None, ())
    assert hash(loc) == hash(
        Location(path="a.py", line=3, column=7, commit="c0ffee", extras=loc.extras)
    )
    chunk = Chunk(b"x", loc, SourceKind.GIT, 1, 2, True, 3)
    assert dataclasses.astuple(chunk)[2:] == (SourceKind.GIT, 1, 2, True, 3)
    assert Chunk(b"x", loc) == Chunk(b"x", loc, SourceKind.FILE, 0, None, False, 0)
    assert dataclasses.replace(chunk, depth=4).depth == 4
    assert pickle.loads(pickle.dumps(chunk)) == chunk
    with pytest.raises(dataclasses.FrozenInstanceError):
        loc.line = 4  # type: ignore[misc]
    with pytest.raises(TypeError):
        Location()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Chunk(b"x", loc, unknown=1)  # type: ignore[call-arg]
