"""What start-up costs: ``leakguard scan FILE`` and ``leakguard --help`` do not import what
they do not use (checked in a fresh interpreter, not timed), and values that skip pydantic
come out exactly as Typer's own conversion gives them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer._coercion import build_runtime_param
from typer.main import get_command

import leakguard
from leakguard.cli import plainvalues

PROGRAM = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))
from leakguard.cli.app import main
main(sys.argv[1:])
"""
# heavy, or only for other commands: SDKs, the graph, databases, progress bars, pydantic
NEVER_FOR_A_FILE = {
    "networkx",
    "boto3",
    "botocore",
    "hvac",
    "psycopg",
    "pymysql",
    "dask",
    "jsonschema",
    "pydantic",
    "rich",
    "rich.progress",
    "lark",
    "leakguard.graph",
    "leakguard.rotation",
    "leakguard.backends",
    "leakguard.verify",
    "leakguard.http",
    "leakguard.baseline",  # only with --baseline
}
NEVER_FOR_HELP = {"networkx", "boto3", "botocore", "hvac", "psycopg", "pymysql", "dask"}
NEVER_FOR_HELP |= {"pydantic", "jsonschema"}


def _modules(args: list[str], tmp_path: Path) -> tuple[int, set[str]]:
    root = str(Path(leakguard.__file__).resolve().parent.parent)  # this checkout
    env = dict(os.environ, PYTHONPATH=root, XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    return done.returncode, set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_a_plain_file_scan_imports_no_heavy_module(tmp_path: Path) -> None:
    target = tmp_path / "config.py"
    target.write_text("DEBUG = True\n")
    code, modules = _modules(["scan", str(target), "-q"], tmp_path)
    assert code == 0
    assert "hyperscan" in modules or "leakguard.engine.matcher" in modules  # it did scan
    assert sorted(NEVER_FOR_A_FILE & modules) == []


def test_a_scan_that_finds_a_credential_imports_no_heavy_module(tmp_path: Path) -> None:
    target = tmp_path / "settings.py"
    target.write_text('AWS = "AKIA' + 'QYLPMN5HHHFPZAM2"\n')  # a well-formed, made-up key id
    code, modules = _modules(["scan", str(target), "-q"], tmp_path)
    assert code == 1
    assert sorted(NEVER_FOR_A_FILE & modules) == []


GIT_MODULES = {
    "leakguard.sources.git",
    "leakguard.sources.git_provenance",
    "leakguard.sources.git_run",
}


def test_a_plain_directory_scan_imports_no_git_module(tmp_path: Path) -> None:
    plain = tmp_path / "site"
    (plain / "assets").mkdir(parents=True)
    (plain / "assets" / "app.js").write_text('const AWS = "AKIA' + 'QYLPMN5HHHFPZAM2";\n')
    code, modules = _modules(["scan", str(plain), "-q"], tmp_path)
    assert code == 1  # it did scan, and found the key id
    assert sorted(GIT_MODULES & modules) == []
    # a repository at the same place is still recognised as one
    subprocess.run(["git", "init", "-q", str(plain)], check=True, timeout=60)
    code, modules = _modules(["scan", str(plain), "-q"], tmp_path)
    assert code == 1 and "leakguard.sources.git" in modules
    # and an option only a repository can honour still gets its one-line error on a directory
    code, _ = _modules(["scan", str(plain / "assets"), "--ref", "main", "-q"], tmp_path)
    assert code == 2


def test_help_imports_no_sdk_and_no_pydantic(tmp_path: Path) -> None:
    code, modules = _modules(["--help"], tmp_path)
    assert code == 0
    assert "leakguard.cli.scan" in modules  # every command was registered
    assert sorted(NEVER_FOR_HELP & modules) == []


def test_a_ci_scan_with_a_report_file_and_a_baseline_imports_no_heavy_module(
    tmp_path: Path,
) -> None:
    target = tmp_path / "config.py"
    target.write_text("DEBUG = True\n")
    baseline = tmp_path / "baseline.json"
    code, _ = _modules(["baseline", "create", str(target), "-o", str(baseline)], tmp_path)
    assert code == 0 and baseline.exists()
    report = tmp_path / "leakguard.sarif"
    args = ["scan", str(target), "-f", "sarif", "-o", str(report), "--baseline", str(baseline)]
    code, modules = _modules([*args, "--jobs", "2", "--git-timeout", "600"], tmp_path)
    assert code == 0 and json.loads(report.read_text())["version"] == "2.1.0"
    assert sorted((NEVER_FOR_A_FILE - {"leakguard.baseline"}) & modules) == []


def test_a_value_typed_on_the_command_line_still_gets_typers_conversion(tmp_path: Path) -> None:
    target = tmp_path / "config.py"
    target.write_text("DEBUG = True\n")
    code, modules = _modules(["scan", str(target), "-q", "--jobs", "+2"], tmp_path)
    assert code == 0 and "pydantic" in modules
    code, _ = _modules(["scan", str(target), "--jobs", "two"], tmp_path)
    assert code == 2
    code, _ = _modules(["scan", str(target), "--baseline", str(tmp_path)], tmp_path)
    assert code == 2  # a directory given as the baseline: one usage line


# (annotation, Typer option, value): values Typer receives, right or wrong
CASES: list[tuple[Any, Any, Any]] = [
    (str, typer.Option(), "text"),
    (str, typer.Option(), ""),
    (str, typer.Option(), b"bytes"),
    (int, typer.Option(), 0),
    (int, typer.Option(), 7),
    (int, typer.Option(), "7"),
    (int, typer.Option(min=1), 1),
    (int, typer.Option(min=1, clamp=True), 0),
    (int, typer.Option(max=3, clamp=True), 9),
    (int, typer.Option(), True),
    (float, typer.Option(), 3600.0),
    (float, typer.Option(), 60),
    (float, typer.Option(), "1.5"),
    (list[str], typer.Option(), ("a", "b")),
    (list[str], typer.Option(), ["a"]),
    (list[str], typer.Option(), ()),
    (list[Path], typer.Option(), ()),
    (list[Path], typer.Option(), ("x",)),
    (list[int], typer.Option(), ("1", 2)),
    (Path, typer.Option(), "some/file"),
    (str, typer.Option(parser=str.upper), "lower"),
    # text typed on the command line: digits, paths (existing, missing, odd) and what is not
    (int, typer.Option(), "2"),
    (int, typer.Option(), "02"),
    (int, typer.Option(), "+2"),
    (int, typer.Option(), " 2"),
    (int, typer.Option(), "2.0"),
    (int, typer.Option(), "1_000"),
    (int, typer.Option(), "\u0663"),  # an Arabic-Indic three: a digit to str.isdigit
    (int, typer.Option(), "9" * 16),
    (int, typer.Option(), "two"),
    (int, typer.Option(min=1), "0"),
    (int, typer.Option(max=3, clamp=True), "9"),
    (float, typer.Option(), "30"),
    (float, typer.Option(), "1.5"),
    (float, typer.Option(min=1.0), "0"),
    (list[int], typer.Option(), ("1", "2")),
    (Path, typer.Option(), ""),
    (Path, typer.Option(), "-"),
    (Path, typer.Option(), "donn\u00e9es/r\u00e9sultat.json"),
    (Path, typer.Option(), "not-utf8-\udcff"),
    (Path, typer.Option(), "a\x00b"),
    (Path, typer.Option(), Path("given/as/path")),
    (Path, typer.Option(), "EXISTING_FILE"),
    (Path, typer.Option(), "EXISTING_DIR"),
    (Path, typer.Option(exists=True), "some/file"),
    (Path, typer.Option(exists=True), "EXISTING_FILE"),
    (Path, typer.Option(dir_okay=False), "EXISTING_DIR"),
    (Path, typer.Option(file_okay=False), "EXISTING_FILE"),
    (Path, typer.Option(resolve_path=True), "a/../b"),
    (list[Path], typer.Option(), ("x", "EXISTING_DIR")),
    (list[Path], typer.Option(exists=True), ("EXISTING_FILE", "missing")),
]
#: placeholders in CASES for paths that exist (made in the test's directory)
EXISTING = {"EXISTING_FILE": "a-file.txt", "EXISTING_DIR": "a-directory"}


def _existing(value: Any, root: Path) -> Any:
    if isinstance(value, tuple):
        return tuple(_existing(v, root) for v in value)
    return str(root / EXISTING[value]) if isinstance(value, str) and value in EXISTING else value


def _param(annotation: Any, option: Any) -> Any:
    def command(value: Any = option) -> None:
        pass

    command.__annotations__ = {"value": annotation, "return": None}

    app = typer.Typer()
    app.command()(command)
    click_command = get_command(app)
    return next(p for p in click_command.params if p.name == "value"), click_command


def _outcome(convert: Any, value: Any, param: Any, ctx: Any) -> tuple[str, Any]:
    try:
        result = convert(value, param=param, ctx=ctx)
    except Exception as exc:  # the same error, with the same message
        return type(exc).__name__, str(exc)
    return type(result).__name__, result


@pytest.mark.parametrize(("annotation", "option", "value"), CASES)
def test_plain_values_come_out_as_typer_converts_them(
    annotation: Any, option: Any, value: Any, tmp_path: Path
) -> None:
    (tmp_path / EXISTING["EXISTING_FILE"]).write_text("x")
    (tmp_path / EXISTING["EXISTING_DIR"]).mkdir()
    value = _existing(value, tmp_path)
    param, command = _param(annotation, option)
    ctx = command.context_class(command, info_name="x")  # no parsing: nothing built yet
    typers = build_runtime_param(param.type_descriptor)
    plainvalues.install(command, ctx)
    ours = param.get_runtime_param()
    assert type(ours).__name__ == "_PlainValues"
    for run in (ours.coerce, typers.coerce):  # coerce: None and empty handling included
        assert _outcome(run, value, param, ctx) == _outcome(typers.coerce, value, param, ctx)
    assert _outcome(ours.coerce, None, param, ctx) == _outcome(typers.coerce, None, param, ctx)


def test_a_second_scan_reads_the_rules_and_allowlist_from_the_cache_without_yaml(
    tmp_path: Path,
) -> None:
    """The first run parses the shipped YAML (rules, public examples) into the cache; the
    next one, finding a credential, imports no YAML parser at all."""
    target = tmp_path / "settings.py"
    target.write_text('AWS = "AKIA' + 'QYLPMN5HHHFPZAM2"\n')
    first, before = _modules(["scan", str(target), "-q"], tmp_path)
    second, after = _modules(["scan", str(target), "-q"], tmp_path)
    assert (first, second) == (1, 1)
    assert "yaml" in before and "yaml" not in after
