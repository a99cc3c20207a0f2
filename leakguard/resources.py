"""Locate the detector, playbook and example files shipped with the package.

In a wheel they live at ``leakguard/_data/{detectors,playbooks,examples}``; in a source checkout
(editable install) they are the top-level ``detectors/``, ``playbooks/`` and ``examples/`` folders.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _data_dir(name: str) -> Path:
    packaged = resources.files("leakguard").joinpath("_data", name)
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parent.parent / name
    return checkout


def detectors_dir() -> Path:
    return _data_dir("detectors")


def playbooks_dir() -> Path:
    return _data_dir("playbooks")


def examples_dir() -> Path:
    """The demo app and estate: ``leakguard/_data/examples`` in a wheel, else ``examples/``."""
    return _data_dir("examples")
