#!/usr/bin/env python3
"""Web-build benchmark: LeakGuard vs the Kingfisher SDK vs gitleaks (`dir`), with `cat` as the
floor, on a generated build directory of minified bundles, each with its source map.

The build is shaped like a real one (by default 176 bundle/map pairs, ~218 MB in all, under
``benchmarks/.work/scan_web/``): original TypeScript-like modules (imports, functions, fetch
calls, error messages, class names, long hex and base64 constants) are "minified" (whitespace
dropped, local identifiers renamed) into bundles of a few long generated lines, with what
client code is full of (auth headers and tokens in storage, password checks, public API keys,
integrity hashes, inline SVG icons and the odd inline font; ``--plain`` leaves these out);
each bundle has a ``.map`` with ``sources`` (``webpack://app/./src/...``), ``sourcesContent``,
``names`` and a dense ``mappings`` (one segment per token, the renamed identifiers with a name
index), and ends with ``//# sourceMappingURL=``. Keys of several providers are planted in
original modules as string literals, so each appears in a bundle and, JSON-escaped, in its
map's ``sourcesContent``. Modules are drawn from a pool of 600, so most original sources repeat
in several maps (more than real builds do; ``--unique`` generates every module afresh); the run
prints how much of ``sourcesContent`` repeats.

Each tool runs over the same directory with a warm page cache (LeakGuard and Kingfisher with
``--jobs`` workers/threads, 2 by default); it prints wall and CPU seconds, MB/s, the ratios
against the faster peer (of wall and of CPU time: the machine may be shared) and against the
floor, peak RSS, and recall. For LeakGuard, recall is strict: each
planted key must be reported in its bundle with its original path and line (the column of the
key, or of the literal's opening quote) and in its map with the exact path, line and column.

    python benchmarks/scan_web.py --pairs 20            # a small run while developing
    python benchmarks/scan_web.py                       # 176 pairs, ~218 MB
    python benchmarks/scan_web.py --compare /tmp/main/.venv/bin/leakguard   # before/after
    # two checkouts, one venv (leading NAME=value words set a command's environment):
    python benchmarks/scan_web.py --leakguard "PYTHONPATH=$PWD $VENV/bin/leakguard" \\
        --compare "PYTHONPATH=/work/main $VENV/bin/leakguard"
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shlex
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from _peers import GITLEAKS, PEER_PYTHON, Timing, ensure_peers, leakguard_bin, timed
from scan_files import _KINGFISHER, _plant, warm

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "scan_web"
MB = 1_000_000
GENERATOR_VERSION = 3
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
KEY_PROVIDERS = ("stripe", "github", "slack", "gitlab", "sendgrid", "openai")

# ---------------------------------------------------------------------------------------------
# original modules

_NOUNS = (
    "user",
    "account",
    "order",
    "invoice",
    "payment",
    "session",
    "cart",
    "product",
    "review",
    "address",
    "profile",
    "token",
    "settings",
    "message",
    "thread",
    "channel",
    "team",
    "member",
    "project",
    "task",
    "comment",
    "upload",
    "image",
    "report",
    "metric",
    "event",
    "subscription",
    "plan",
    "coupon",
    "shipment",
    "inventory",
    "warehouse",
    "customer",
    "vendor",
)
_VERBS = (
    "fetch",
    "load",
    "save",
    "update",
    "delete",
    "create",
    "render",
    "format",
    "parse",
    "validate",
    "sync",
    "submit",
)
_PACKAGES = ("react", "react-dom", "@tanstack/react-query", "zod", "axios", "date-fns", "clsx")
_CLASSES = (
    "flex",
    "grid",
    "gap-2",
    "px-4",
    "py-2",
    "text-sm",
    "font-medium",
    "rounded-lg",
    "shadow",
    "btn",
    "btn-primary",
)


def _camel(rng: random.Random, parts: int) -> str:
    words = rng.choices(_NOUNS, k=parts)
    return words[0] + "".join(w.title() for w in words[1:])


def _module_lines(rng: random.Random, lines: int, app_code: bool = True) -> list[str]:
    out = [
        f"import {{ {', '.join(_camel(rng, 2) for _ in range(3))} }} "
        f'from "{rng.choice(_PACKAGES)}";',
        f'import {{ {_camel(rng, 2)} }} from "../{rng.choice(_NOUNS)}/{_camel(rng, 1)}";',
        "",
    ]
    while len(out) < lines:
        verb, noun = rng.choice(_VERBS), _camel(rng, 2)
        arg, local, other = _camel(rng, 1), _camel(rng, 2), _camel(rng, 2)
        block = [
            f"export async function {verb}{noun[0].upper()}{noun[1:]}({arg}Id, options = {{}}) {{",
            f"  const {local} = await fetch(`/api/v{rng.randint(1, 3)}/{noun}s/${{{arg}Id}}`, {{",
            f'    method: "{rng.choice(["GET", "POST", "PUT"])}",',
            '    headers: { "Content-Type": "application/json" },',
            "  });",
            f"  if (!{local}.ok) {{",
            f'    throw new Error("could not {verb} {noun} (" + {local}.status + ")");',
            "  }",
            f"  const {other} = await {local}.json();",
            f'  return {{ ...{other}, className: "{" ".join(rng.sample(_CLASSES, 4))}" }};',
            "}",
            "",
        ]
        if rng.random() < 0.3:
            block.insert(
                -1,
                f'export const {noun.upper()}_CHECKSUM = "{rng.randbytes(20).hex()}";',
            )
        if rng.random() < 0.2:
            blob = "".join(rng.choices(_B64, k=rng.randint(40, 120)))
            block.insert(-1, f'export const {noun}Icon = "data:image/png;base64,{blob}";')
        if app_code:
            block[-1:-1] = _app_code(rng, noun, local)
        out.extend(block)
    return out[:lines]


def _app_code(rng: random.Random, noun: str, local: str) -> list[str]:
    """What real client bundles are full of: auth headers, tokens in storage, form checks,
    public configuration, subresource integrity, inline icons and fonts."""
    out: list[str] = []
    if rng.random() < 0.5:
        out += [
            f"export function {noun}AuthHeaders(token) {{",
            '  const accessToken = token || localStorage.getItem("accessToken");',
            '  const refreshToken = sessionStorage.getItem("refreshToken") ?? "";',
            '  return { Authorization: `Bearer ${accessToken}`, "X-Api-Key": config.apiKey,'
            ' "X-Refresh-Token": refreshToken };',
            "}",
        ]
    if rng.random() < 0.3:
        out += [
            f"  if (!{local}.password || {local}.password.length < 8) {{",
            '    errors.password = "password must be at least 8 characters";',
            f'    errors.secret = "the client secret for {noun} is required";',
            "  }",
        ]
    if rng.random() < 0.3:
        out.append(
            f"export const {noun}ApiKey = import.meta.env.VITE_PUBLIC_API_KEY ?? "
            f'"public-{rng.randbytes(6).hex()}"; // api_key for the {noun} widget'
        )
    if rng.random() < 0.2:
        digest = "".join(rng.choices(_B64, k=64))
        out.append(f'export const {noun}Integrity = "sha384-{digest}";')
    if rng.random() < 0.12:  # an inline SVG or PNG icon
        blob = "".join(rng.choices(_B64, k=rng.randint(800, 6000)))
        out.append(f'export const {noun}Logo = "data:image/svg+xml;base64,{blob}";')
    if rng.random() < 0.015:  # an inline web font
        blob = "".join(rng.choices(_B64, k=rng.randint(20_000, 60_000)))
        out.append(f'export const {noun}Font = "data:font/woff2;base64,{blob}";')
    return out


# ---------------------------------------------------------------------------------------------
# minifying with mappings

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|[A-Za-z_$][\w$]*|\d+|[^\w\s]')
_KEYWORDS = frozenset(
    (
        "import",
        "from",
        "export",
        "async",
        "function",
        "const",
        "await",
        "if",
        "throw",
        "new",
        "return",
        "options",
        "method",
        "headers",
        "json",
        "ok",
        "status",
        "Error",
        "fetch",
        "className",
    )
)


@dataclass
class Module:
    """An original module and its minified form: the generated text (one line) and its
    segments (generated column, original line, original column, name index or -1)."""

    path: str
    text: str
    generated: str
    segments: list[tuple[int, int, int, int]]
    names: list[str]


def minify(path: str, lines: list[str]) -> Module:
    renamed: dict[str, str] = {}
    name_of: dict[str, int] = {}
    names: list[str] = []
    pieces: list[str] = []
    segments: list[tuple[int, int, int, int]] = []
    column = 0
    previous_word = False
    for number, line in enumerate(lines):
        for m in _TOKEN.finditer(line):
            token = m.group()
            word = token[0].isalnum() or token[0] in "_$"
            name = -1
            local = word and token[0].islower() and token not in _KEYWORDS and len(token) > 3
            if local:  # renamed, as minifiers do
                if token not in renamed:
                    renamed[token] = _short(len(renamed))
                    name_of[token] = len(names)
                    names.append(token)
                name = name_of[token]
                token = renamed[token]
            if word and previous_word:
                pieces.append(" ")
                column += 1
            segments.append((column, number, m.start(), name))
            pieces.append(token)
            column += len(token)
            previous_word = word
        if line.rstrip().endswith((";", "}", "{")) and pieces and pieces[-1] not in ";{":
            pieces.append(";")
            column += 1
            previous_word = False
    return Module(path, "\n".join(lines) + "\n", "".join(pieces), segments, names)


def _short(n: int) -> str:
    letters = string.ascii_letters
    out = letters[n % 52]
    n //= 52
    while n:
        out += letters[n % 52]
        n //= 52
    return out


def vlq(value: int) -> str:
    rest = (-value << 1) | 1 if value < 0 else value << 1
    out = []
    while True:
        digit, rest = rest & 31, rest >> 5
        out.append(_B64[digit | (32 if rest else 0)])
        if not rest:
            return "".join(out)


def write_pair(root: Path, index: int, modules: list[Module], line_bytes: int) -> tuple[int, int]:
    """Write ``assets/index-<n>.js`` and its map; returns their sizes."""
    name = f"index-{index:04d}-{random.Random(index).randbytes(4).hex()}.js"
    lines: list[list[str]] = [[]]
    mapping_lines: list[list[str]] = [[]]
    names: list[str] = []
    name_index: dict[str, int] = {}
    state = [0, 0, 0, 0]  # source, original line, original column, name (across lines)
    column = previous_column = 0  # where this module starts; the last segment's column
    for source, module in enumerate(modules):
        if column and column + len(module.generated) > line_bytes:
            lines.append([])
            mapping_lines.append([])
            column = previous_column = 0
        generated = mapping_lines[-1]
        for gen_col, orig_line, orig_col, name_ref in module.segments:
            fields = [
                column + gen_col - previous_column,
                source - state[0],
                orig_line - state[1],
                orig_col - state[2],
            ]
            previous_column = column + gen_col
            state[:3] = [source, orig_line, orig_col]
            if name_ref >= 0:
                key = module.names[name_ref]
                if key not in name_index:
                    name_index[key] = len(names)
                    names.append(key)
                fields.append(name_index[key] - state[3])
                state[3] = name_index[key]
            generated.append("".join(vlq(f) for f in fields))
        lines[-1].append(module.generated)
        column += len(module.generated)
    bundle = "\n".join("".join(line) for line in lines) + f"\n//# sourceMappingURL={name}.map\n"
    source_map = {
        "version": 3,
        "file": name,
        "mappings": ";".join(",".join(line) for line in mapping_lines),
        "sources": [f"webpack://app/./{m.path}" for m in modules],
        "sourcesContent": [m.text for m in modules],
        "names": names,
    }
    assets = root / "assets"
    (assets / name).write_text(bundle)
    encoded = json.dumps(source_map)
    (assets / f"{name}.map").write_text(encoded)
    return len(bundle), len(encoded)


@dataclass(frozen=True)
class Planted:
    provider: str
    key: str
    bundle: str  # relative path
    original_path: str
    original_line: int
    original_column: int  # of the key, 1-based


def _new_module(rng: random.Random) -> Module:
    return minify(
        f"src/{rng.choice(_NOUNS)}s/{_camel(rng, 2)}.ts", _module_lines(rng, rng.randint(60, 400))
    )


def generate(
    root: Path, pairs: int, size_mb: int, keys: int, seed: int, app_code: bool, unique: bool
) -> list[Planted]:
    rng = random.Random(seed)
    (root / "assets").mkdir(parents=True)
    pool = [] if unique else [_new_module(rng) for _ in range(600)]
    per_pair = size_mb * MB // pairs
    planted: list[Planted] = []
    every = max(1, pairs // keys) if keys else 0
    for index in range(pairs):
        chosen: list[Module] = []
        estimate = 0
        while estimate < per_pair:
            module = _new_module(rng) if unique else rng.choice(pool)
            module = Module(  # a path of its own, as each chunk bundles different files
                f"src/{rng.choice(_NOUNS)}/{index}/{module.path.rsplit('/', 1)[1]}",
                module.text,
                module.generated,
                module.segments,
                module.names,
            )
            chosen.append(module)
            # bundle + JSON-escaped source + ~5 mapping characters per segment
            estimate += len(module.generated) + len(module.text) * 1.08 + 5 * len(module.segments)
        rel = ""
        if every and index % every == 0 and len(planted) < keys:
            plant = _plant(rng, KEY_PROVIDERS[len(planted) % len(KEY_PROVIDERS)])
            lines = _module_lines(rng, 40, app_code)
            at = rng.randint(5, 35)
            lines.insert(at, f'export const {plant.provider.upper()}_KEY = "{plant.key}";')
            config = minify(f"src/config/{plant.provider}-{index}.ts", lines)
            chosen.insert(rng.randint(0, len(chosen)), config)
            column = lines[at].index(plant.key) + 1
            rel = f"assets/index-{index:04d}-{random.Random(index).randbytes(4).hex()}.js"
            planted.append(Planted(plant.provider, plant.key, rel, config.path, at + 1, column))
        write_pair(root, index, chosen, line_bytes=rng.choice((120_000, 250_000, 10**9)))
    return planted


def build(
    pairs: int, size_mb: int, keys: int, seed: int, app_code: bool, unique: bool = False
) -> tuple[Path, list[Planted], int]:
    kind = ("app" if app_code else "plain") + ("-unique" if unique else "")
    root = WORK / f"build-{pairs}p-{size_mb}mb-{keys}k-s{seed}-{kind}-v{GENERATOR_VERSION}"
    manifest = root.with_suffix(".json")
    if not manifest.exists():
        shutil.rmtree(root, ignore_errors=True)
        planted = generate(root, pairs, size_mb, keys, seed, app_code, unique)
        manifest.write_text(json.dumps([p.__dict__ for p in planted]))
    planted = [Planted(**p) for p in json.loads(manifest.read_text())]
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return root, planted, size


# ---------------------------------------------------------------------------------------------
# tools


@dataclass(frozen=True)
class Run:
    timing: Timing
    found: int  # planted keys reported (anywhere)
    located: int  # LeakGuard: planted keys with both original positions right; else -1


def repeated_share(root: Path) -> str:
    """How much of the maps' ``sourcesContent`` repeats a source of another map: the generator
    draws modules from a pool, so most do (a tool that matches a repeated source once gains
    from it; real builds repeat less: vendor modules in several entry points, client and server
    maps of one build)."""
    seen: set[bytes] = set()
    total = repeated = 0
    for path in sorted(root.rglob("*.map")):
        for text in json.loads(path.read_text()).get("sourcesContent") or ():
            digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
            total += len(text)
            repeated += len(text) if digest in seen else 0
            seen.add(digest)
    share = repeated / total if total else 0.0
    return f"{total / MB:.0f} MB in all, {share:.0%} of it repeating a source of another map"


def median_run(runs: list[Run]) -> Run:
    """The median wall seconds and the median CPU seconds of ``runs`` (each on its own: the
    run with the median wall time need not have the median CPU time), the largest peak RSS."""
    timings = [r.timing for r in runs]
    timing = Timing(
        statistics.median(t.seconds for t in timings),
        statistics.median(t.cpu for t in timings),
        max(t.rss_mb for t in timings),
        timings[-1].returncode,
        b"",
        b"",
    )
    return Run(timing, runs[-1].found, runs[-1].located)


def run_floor(root: Path, out: Path, jobs: int, leakguard: str) -> Run:
    files = sorted(str(p) for p in root.rglob("*") if p.is_file())
    return Run(timed(["sh", "-c", 'cat "$@" > /dev/null', "cat", *files]), 0, -1)


def leakguard_command(command: str) -> tuple[list[str], dict[str, str] | None]:
    """A ``--leakguard``/``--compare`` command: its words, and the environment to run it in
    when it starts with ``NAME=value`` words, as in a shell
    (``PYTHONPATH=/work/wt/web /work/main/.venv/bin/leakguard``)."""
    words = shlex.split(command)
    assignments = {}
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        assignments[name] = value
    if not words:
        sys.exit(f"no command in {command!r}")
    return words, (dict(os.environ, **assignments) if assignments else None)


def imported_from(command: str) -> str:
    """Where the ``leakguard`` package that ``command`` runs is imported from (its script's
    interpreter asked, in the command's environment): two commands of one venv differ only by
    their ``PYTHONPATH``."""
    words, env = leakguard_command(command)
    script = shutil.which(words[0]) or words[0]
    try:
        with open(script, "rb") as fh:
            first = fh.readline()
    except OSError:
        return "?"
    python = first[2:].decode(errors="replace").strip() if first.startswith(b"#!") else ""
    if not python:
        return "?"
    # -P: not the current directory first, as the script's own run does not put it there
    probe = [*shlex.split(python), "-P", "-c", "import leakguard; print(leakguard.__file__)"]
    done = subprocess.run(probe, env=env, capture_output=True, text=True, check=False)
    return done.stdout.strip() or "?"


def run_leakguard(root: Path, out: Path, jobs: int, leakguard: str) -> Run:
    words, env = leakguard_command(leakguard)
    cmd = [*words, "scan", str(root), "-f", "jsonl", "--show-secrets", "-q", "-o", str(out)]
    timing = timed([*cmd, "--jobs", str(jobs), "--no-history"], env=env)
    if timing.returncode not in (0, 1):
        sys.exit(f"leakguard failed ({timing.returncode}): {timing.stderr.decode()[-500:]}")
    return Run(timing, -1, -1)


def run_kingfisher(root: Path, out: Path, jobs: int, leakguard: str) -> Run:
    timing = timed([str(PEER_PYTHON), "-c", _KINGFISHER, str(root), str(out), str(jobs)])
    if timing.returncode != 0:
        sys.exit(f"kingfisher failed: {timing.stderr.decode()[-500:]}")
    return Run(timing, -1, -1)


def run_gitleaks(root: Path, out: Path, jobs: int, leakguard: str) -> Run:
    cmd = [str(GITLEAKS), "dir", str(root), "--no-banner", "-l", "error"]
    timing = timed([*cmd, "--report-format", "json", "--report-path", str(out), "--exit-code", "0"])
    if timing.returncode != 0:
        sys.exit(f"gitleaks failed: {timing.stderr.decode()[-500:]}")
    return Run(timing, -1, -1)


TOOLS: dict[str, Callable[[Path, Path, int, str], Run]] = {
    "floor": run_floor,
    "leakguard": run_leakguard,
    "kingfisher": run_kingfisher,
    "gitleaks": run_gitleaks,
}


def reported(tool: str, out: Path) -> list[dict[str, object]]:
    if tool == "leakguard":
        return [json.loads(line) for line in out.read_text().splitlines()]
    if tool == "gitleaks":
        return [{"secret": f.get("Secret", "")} for f in json.loads(out.read_text() or "[]")]
    if tool == "kingfisher":
        return list(json.loads(out.read_text()))
    return []


def recall(tool: str, out: Path, planted: list[Planted]) -> tuple[int, int]:
    """(keys reported anywhere, keys located in both bundle and map: LeakGuard only, else -1)"""
    rows = reported(tool, out)
    values = "\n".join(str(r.get("secret") or "") for r in rows)
    found = sum(1 for p in planted if p.key in values)
    if tool != "leakguard":
        return found, -1
    located = 0
    for p in planted:
        locs = [r["location"] for r in rows if r.get("secret") == p.key]
        in_bundle = in_map = False
        for loc in locs:
            assert isinstance(loc, dict)
            if loc.get("original_path") != p.original_path:
                continue
            if loc.get("original_line") != p.original_line:
                continue
            column = loc.get("original_column")
            if loc["path"] == p.bundle and isinstance(column, int):
                in_bundle = in_bundle or 0 <= p.original_column - column <= 1
            elif loc["path"] == p.bundle + ".map":
                in_map = in_map or column == p.original_column
        located += in_bundle and in_map
    return found, located


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=176, help="bundle/map pairs (default 176)")
    parser.add_argument(
        "--size-mb",
        type=int,
        default=0,
        help="total MB (default: 1.17 MB per pair as generated, ~218 MB)",
    )
    parser.add_argument(
        "--keys", type=int, default=0, help="planted keys (default: one per two pairs, 88)"
    )
    parser.add_argument("--seed", type=int, default=20261203, help="generator seed")
    parser.add_argument(
        "--plain",
        action="store_true",
        help="modules without the auth, configuration, integrity and inline-asset code real "
        "client bundles carry (fewer keyword hits for every tool)",
    )
    parser.add_argument(
        "--unique",
        action="store_true",
        help="every bundled module generated afresh, none drawn from the pool of 600: no "
        "original source repeats in another map (slower to generate)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="workers/threads per tool (default 2)")
    parser.add_argument(
        "--tools",
        default="floor,leakguard,kingfisher,gitleaks",
        help="comma list of floor, leakguard, kingfisher, gitleaks (default: all)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs per tool, taking turns; medians reported (default 3)",
    )
    parser.add_argument(
        "--leakguard",
        default="",
        help="the leakguard command to time (default: this venv's); leading NAME=value words "
        "set its environment, as in a shell: 'PYTHONPATH=/work/wt/web .venv/bin/leakguard'",
    )
    parser.add_argument(
        "--compare",
        default="",
        help="another leakguard command (an older version, or the same script with another "
        "PYTHONPATH) timed in the same run, as 'before'",
    )
    args = parser.parse_args()
    size_mb = args.size_mb or round(args.pairs * 1.17)
    keys = args.keys or max(1, args.pairs // 2)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if args.compare:
        tools.insert(tools.index("leakguard") if "leakguard" in tools else len(tools), "before")
    if set(tools) - set(TOOLS) - {"before"}:
        parser.error(f"unknown tool(s): {', '.join(sorted(set(tools) - set(TOOLS)))}")
    if {"kingfisher", "gitleaks"} & set(tools):
        ensure_peers()
    leakguard = args.leakguard or leakguard_bin()
    root, planted, size = build(
        args.pairs, size_mb, keys, args.seed, not args.plain, unique=args.unique
    )
    print(f"build: {root} ({size / MB:.0f} MB, {args.pairs} bundle/map pairs, {len(planted)} keys)")
    print(f"sourcesContent: {repeated_share(root)}")
    if "leakguard" in tools:
        print(f"leakguard: {leakguard} imports {imported_from(leakguard)}")
    if args.compare:
        print(f"before: {args.compare} imports {imported_from(args.compare)}")
    warm(root)
    runs: dict[str, list[Run]] = {tool: [] for tool in tools}
    results: dict[str, tuple[Run, tuple[int, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeat):  # tools take turns, so load spikes hit them alike
            for tool in tools:
                out = Path(tmp) / f"{tool}.out"
                if tool == "before":
                    run = run_leakguard(root, out, args.jobs, args.compare)
                else:
                    run = TOOLS[tool](root, out, args.jobs, leakguard)
                runs[tool].append(run)
                print(f"  {tool} #{round_ + 1}: {run.timing.seconds:.2f}s", file=sys.stderr)
                if round_ == args.repeat - 1:
                    found = recall("leakguard" if tool == "before" else tool, out, planted)
                    results[tool] = (median_run(runs[tool]), found)
    floor = results["floor"][0].timing.seconds if "floor" in results else None
    floor_cpu = results["floor"][0].timing.cpu if "floor" in results else None
    peer_names = [t for t in results if t in ("kingfisher", "gitleaks")]
    fastest_name = min(peer_names, key=lambda t: results[t][0].timing.seconds, default="")
    fastest = results[fastest_name][0].timing if fastest_name else None
    print()
    print(
        f"{'tool':<11} {'seconds':>8} {'cpu s':>7} {'MB/s':>8} {'vs faster peer':>15} "
        f"{'cpu vs peer':>12} {'x floor':>8} {'cpu x floor':>12} {'peak MB':>8} {'found':>9} "
        f"{'located':>9}"
    )
    for tool, (run, (found, located)) in results.items():
        seconds, cpu = run.timing.seconds, run.timing.cpu
        peer = fastest is not None and tool != "floor"
        ratio = f"{fastest.seconds / seconds:.2f}x" if fastest and peer else "-"
        cpu_ratio = f"{fastest.cpu / cpu:.2f}x" if fastest and peer and cpu > 0 else "-"
        over = f"{seconds / floor:.1f}" if floor and tool != "floor" else "-"
        cpu_over = f"{cpu / floor_cpu:.1f}" if floor_cpu and tool != "floor" else "-"
        shown = f"{found}/{len(planted)}" if tool != "floor" else "-"
        where = f"{located}/{len(planted)}" if located >= 0 else "-"
        print(
            f"{tool:<11} {seconds:>8.2f} {cpu:>7.2f} {size / MB / seconds:>8.1f} "
            f"{ratio:>15} {cpu_ratio:>12} {over:>8} {cpu_over:>12} {run.timing.rss_mb:>8.0f} "
            f"{shown:>9} {where:>9}"
        )
    print(
        f"\n'vs faster peer': the faster peer's seconds over the tool's (>1: faster); 'cpu vs "
        f"peer': the same peer's CPU seconds over the tool's (steadier than wall time on a "
        f"loaded machine); 'cpu s': user + system seconds of the whole process tree; 'x floor': "
        f"the tool's seconds over `cat` of every file ('cpu x floor': CPU seconds over cat's); "
        f"'located': keys reported both in the bundle and in the map with their original path, "
        f"line and column; --jobs {args.jobs}; "
        f"medians of {args.repeat} runs (wall and CPU each), process start-up included; "
        f"{os.cpu_count()} cores."
    )
    print_paired(runs, fastest_name)


def paired(runs: dict[str, list[Run]], tool: str, other: str) -> tuple[float, float]:
    """The medians, over the rounds, of ``other``'s wall and CPU seconds over ``tool``'s in the
    same round (the tools take turns, so a load spike weighs on both sides of a ratio)."""
    pairs = list(zip(runs[tool], runs[other], strict=True))
    wall = statistics.median(o.timing.seconds / t.timing.seconds for t, o in pairs)
    cpu = statistics.median(o.timing.cpu / max(t.timing.cpu, 1e-9) for t, o in pairs)
    return wall, cpu


def print_paired(runs: dict[str, list[Run]], peer: str) -> None:
    """Round-by-round ratios: each LeakGuard against the faster peer, and against 'before'."""
    lines = []
    for tool in ("leakguard", "before"):
        if tool in runs and peer:
            wall, cpu = paired(runs, tool, peer)
            lines.append(f"{tool} vs {peer}: {wall:.2f}x wall, {cpu:.2f}x CPU")
    if "leakguard" in runs and "before" in runs:
        wall, cpu = paired(runs, "leakguard", "before")
        lines.append(f"leakguard vs before: {wall:.2f}x wall, {cpu:.2f}x CPU")
    if lines:
        print("\npaired by round (medians of the per-round ratios, >1: leakguard faster):")
        print("\n".join(f"  {line}" for line in lines))


if __name__ == "__main__":
    main()
