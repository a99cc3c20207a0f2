"""The demo estate's evidence files are exactly what its generator writes from the demo app."""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path

ESTATE = Path(__file__).parents[3] / "examples" / "estate"


def test_committed_evidence_is_what_generate_py_writes(tmp_path: Path) -> None:
    copy = tmp_path / "examples"
    shutil.copytree(ESTATE.parent / "leaky-app", copy / "leaky-app")
    shutil.copy(ESTATE / "generate.py", (copy / "estate").mkdir() or copy / "estate")
    runpy.run_path(str(copy / "estate" / "generate.py"), run_name="__main__")
    written = sorted(p.relative_to(copy / "estate") for p in (copy / "estate").rglob("*.*"))
    for rel in written:
        if rel.name == "generate.py":
            continue
        assert (copy / "estate" / rel).read_bytes() == (ESTATE / rel).read_bytes(), rel
    assert len(written) == 3  # generate.py, the audit log, the CloudTrail file


def test_the_cloudtrail_file_names_the_demo_apps_key_id() -> None:
    trail = next((ESTATE / "evidence" / "cloudtrail").glob("*.json")).read_text()
    app = (ESTATE.parent / "leaky-app" / "src" / "deploy.py").read_text()
    key_id = next(word for word in trail.split('"') if word.startswith("AKIA"))
    assert key_id in app
