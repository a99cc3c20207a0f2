"""SARIF checks: the official OASIS SARIF 2.1.0 JSON schema (tests/data/sarif-schema-2.1.0.json,
from the OASIS TC's sarif-spec repository, errata 01), then what GitHub code scanning relies on
beyond it (cross references such as ``ruleIndex``, which a JSON schema cannot express)."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_PATH = Path(__file__).parents[2] / "data" / "sarif-schema-2.1.0.json"

LEVELS = {"none", "note", "warning", "error"}
_URI_REFERENCE = re.compile(r"^[^\s]*$")


class SarifError(AssertionError):
    pass


def _require(obj: Any, keys: tuple[str, ...], where: str) -> None:
    if not isinstance(obj, dict):
        raise SarifError(f"{where}: expected an object")
    for key in keys:
        if key not in obj:
            raise SarifError(f"{where}: missing required property {key!r}")


def _message(msg: Any, where: str) -> None:
    if not isinstance(msg, dict) or not ("text" in msg or "id" in msg):
        raise SarifError(f"{where}: a message needs 'text' or 'id'")


def _multiformat(msg: Any, where: str) -> None:
    _require(msg, ("text",), where)


def _location(loc: Any, where: str) -> None:
    if not isinstance(loc, dict):
        raise SarifError(f"{where}: expected an object")
    physical = loc.get("physicalLocation")
    if physical is None:
        raise SarifError(f"{where}: GitHub needs a physicalLocation")
    if "artifactLocation" not in physical and "address" not in physical:
        raise SarifError(f"{where}.physicalLocation: needs artifactLocation or address")
    artifact = physical["artifactLocation"]
    uri = artifact.get("uri")
    if not isinstance(uri, str) or not uri or not _URI_REFERENCE.match(uri):
        raise SarifError(f"{where}: artifactLocation.uri must be a URI reference, got {uri!r}")
    if "uriBaseId" in artifact and (uri.startswith("/") or "://" in uri):
        raise SarifError(f"{where}: a uri with a uriBaseId must be relative")
    region = physical.get("region")
    if region is not None:
        for key in ("startLine", "startColumn", "endLine", "endColumn"):
            if key in region and (not isinstance(region[key], int) or region[key] < 1):
                raise SarifError(f"{where}: region.{key} must be an integer >= 1")
        if "startColumn" in region and "startLine" not in region:
            raise SarifError(f"{where}: startColumn without startLine")
    if "message" in loc:
        _message(loc["message"], f"{where}.message")


def _rule(rule: Any, where: str) -> None:
    _require(rule, ("id",), where)
    for key in ("shortDescription", "fullDescription", "help"):
        if key in rule:
            _multiformat(rule[key], f"{where}.{key}")
    config = rule.get("defaultConfiguration", {})
    if "level" in config and config["level"] not in LEVELS:
        raise SarifError(f"{where}: bad defaultConfiguration.level {config['level']!r}")
    props = rule.get("properties", {})
    if "security-severity" in props:
        value = float(props["security-severity"])  # GitHub reads it as a number in a string
        if not isinstance(props["security-severity"], str) or not 0.0 <= value <= 10.0:
            raise SarifError(f"{where}: security-severity must be a string between 0 and 10")
    if "tags" in props and not all(isinstance(t, str) for t in props["tags"]):
        raise SarifError(f"{where}: tags must be strings")


@functools.cache
def _official() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def check_official(doc: Any) -> None:
    """Raise :class:`SarifError` with the official schema's first complaint."""
    error = jsonschema.exceptions.best_match(_official().iter_errors(doc))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "sarifLog"
        raise SarifError(f"{where}: {error.message}")


def check(doc: Any) -> None:
    """Raise :class:`SarifError` naming the first violation: GitHub's needs, then the schema."""
    _github(doc)
    check_official(doc)


def _github(doc: Any) -> None:
    _require(doc, ("version", "runs"), "sarifLog")
    if doc["version"] != "2.1.0":
        raise SarifError("sarifLog.version must be '2.1.0'")
    if not isinstance(doc["runs"], list):
        raise SarifError("sarifLog.runs must be an array")
    for r, run in enumerate(doc["runs"]):
        where = f"runs[{r}]"
        _require(run, ("tool",), where)
        _require(run["tool"], ("driver",), f"{where}.tool")
        driver = run["tool"]["driver"]
        _require(driver, ("name",), f"{where}.tool.driver")
        rules = driver.get("rules", [])
        ids = [rule.get("id") for rule in rules]
        if len(ids) != len(set(ids)):
            raise SarifError(f"{where}: duplicate rule ids")
        for i, rule in enumerate(rules):
            _rule(rule, f"{where}.tool.driver.rules[{i}]")
        for i, result in enumerate(run.get("results", [])):
            rw = f"{where}.results[{i}]"
            _require(result, ("message",), rw)
            _message(result["message"], f"{rw}.message")
            if "level" in result and result["level"] not in LEVELS:
                raise SarifError(f"{rw}: bad level {result['level']!r}")
            if "ruleIndex" in result:
                index = result["ruleIndex"]
                if not isinstance(index, int) or not 0 <= index < len(rules):
                    raise SarifError(f"{rw}: ruleIndex out of range")
                if rules[index]["id"] != result.get("ruleId"):
                    raise SarifError(f"{rw}: ruleIndex points at another rule than ruleId")
            locations = result.get("locations")
            if not locations:
                raise SarifError(f"{rw}: GitHub needs at least one location")
            for j, loc in enumerate(locations):
                _location(loc, f"{rw}.locations[{j}]")
            for j, loc in enumerate(result.get("relatedLocations", [])):
                _location(loc, f"{rw}.relatedLocations[{j}]")
            fingerprints = result.get("partialFingerprints", {})
            if not isinstance(fingerprints, dict) or not all(
                isinstance(v, str) for v in fingerprints.values()
            ):
                raise SarifError(f"{rw}: partialFingerprints must map names to strings")
