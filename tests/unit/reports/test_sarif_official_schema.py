"""The SARIF report against the official OASIS 2.1.0 schema, not a hand-written subset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakguard.options import ScanOptions
from leakguard.reports import sarif
from leakguard.scanner import run_scan
from tests.unit.reports.sarif_schema import SarifError, check_official

DEMO = Path(__file__).parents[3] / "examples" / "leaky-app"


def test_the_demo_app_report_is_valid_sarif_2_1_0() -> None:
    result = run_scan([str(DEMO)], ScanOptions(jobs=1))
    assert result.findings, "the demo app holds credentials"
    doc = json.loads(sarif.render(result))
    check_official(doc)


def test_the_official_schema_rejects_what_it_should() -> None:
    result = run_scan([str(DEMO)], ScanOptions(jobs=1))
    doc = json.loads(sarif.render(result))
    doc["runs"][0]["results"][0]["level"] = "critical"  # not one of SARIF's levels
    with pytest.raises(SarifError, match="critical"):
        check_official(doc)
    del doc["version"]
    with pytest.raises(SarifError, match="version"):
        check_official(doc)
