"""A credential repeated at more places in one file than are worth reporting (a log line with a
key, written a million times): the first MAX_PLACES places of each are reported, the rest are
counted and named in one warning per file, so memory and reports stay bounded."""

from __future__ import annotations

from pathlib import Path

from leakguard.options import ScanOptions
from leakguard.scanner import MAX_PLACES, run_scan
from tests.support.keys import stripe_key

KEY = stripe_key("places")
OTHER = stripe_key("other places")


def _log(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{n} GET /charge key={k}\n" for n, k in enumerate(lines)))
    return path


def test_the_first_places_of_each_credential_are_reported_and_the_rest_counted(
    tmp_path: Path,
) -> None:
    busy = _log(tmp_path / "busy.log", [KEY] * (MAX_PLACES + 150) + [OTHER] * (MAX_PLACES + 1))
    quiet = _log(tmp_path / "quiet.log", [KEY] * MAX_PLACES)
    for jobs in (1, 2):
        result = run_scan([str(busy), str(quiet)], ScanOptions(jobs=jobs))
        lines = {
            name: sorted(
                f.location.line for f in result.findings if Path(f.location.path).name == name
            )
            for name in ("busy.log", "quiet.log")
        }
        # busy.log: each credential's first places, in order; quiet.log: every place
        first_key = range(1, MAX_PLACES + 1)
        first_other = range(MAX_PLACES + 151, 2 * MAX_PLACES + 151)
        assert lines["busy.log"] == [*first_key, *first_other]
        assert lines["quiet.log"] == list(range(1, MAX_PLACES + 1))
        assert result.stats.counters["findings_not_reported"] == 151
        [warning] = [w for w in result.stats.warnings if "places" in w]
        assert warning == (
            f"{busy}: 2 credential(s) found at more than {MAX_PLACES} places; the first"
            f" {MAX_PLACES} places of each are reported, 151 more are not"
        )
        assert KEY not in warning


def test_a_file_at_the_bound_is_reported_whole_without_a_warning(tmp_path: Path) -> None:
    log = _log(tmp_path / "app.log", [KEY, OTHER] * MAX_PLACES)
    result = run_scan([str(log)], ScanOptions(jobs=1))
    assert len(result.findings) == 2 * MAX_PLACES
    assert "findings_not_reported" not in result.stats.counters
    assert not [w for w in result.stats.warnings if "places" in w]
