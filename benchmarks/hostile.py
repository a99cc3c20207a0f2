"""Hostile-input benchmark: peak memory and throughput of `leakguard scan` on each bomb class.

Each input is generated here (deterministically) under benchmarks/.work/hostile, then scanned by
the real command in a fresh process; `/usr/bin/time` reports the peak RSS, and the MB/s is the
input's size on disk over the wall time. A planted key sits in every input, so the table also
says whether it was still found. Classes (issue #15):

* zip-entries: a zip whose central directory lists many tiny members (cap: max_entries);
* tar-dirs: a tar.gz of many directory entries;
* gzip-ratio: a gzip of zeros with a high compression ratio (cap: max_ratio / total bytes);
* map-empty-lists: a source map whose `mappings` is huge and `sources` a long list of empty lists;
* basic-header-log: a log with an `Authorization: Basic` header on every line;
* basic-no-trigger: lines of a few MB, each of many `BASIC <base64>` headers (no header as
  clients write it, so each line must be searched for one: once, not once per header);
* long-line: one line of many megabytes with the key in the middle;
* prefix-lines: a line per base64 run that encodes a credential prefix (``QUtJQQ==``, "AKIA"),
  each of which is looked back from for its run's start;
* key-every-line: a log with the same AWS key id on every line (reported at its first places,
  the others counted: memory and report stay bounded).

    python benchmarks/hostile.py               # every class at its default size
    python benchmarks/hostile.py --scale 0.2   # smaller inputs while developing
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import random
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent
WORK = ROOT / ".work" / "hostile"
KEY = "sk_live_" + "51Hx9QeWJKY40uvSwMFLZDe1f8rESQedUStPKR0CsTy4Q"  # leakguard:allow (made up)
LEAKGUARD = Path(sys.executable).parent / "leakguard"


def zip_entries(path: Path, scale: float) -> None:
    count = int(600_000 * scale)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("config/.env", f"STRIPE_SECRET_KEY={KEY}\n")
        for i in range(count):
            archive.writestr(f"d/{i}.txt", b"")


def tar_dirs(path: Path, scale: float) -> None:
    count = int(1_000_000 * scale)
    with tarfile.open(path, "w:gz") as archive:
        data = f"STRIPE_SECRET_KEY={KEY}\n".encode()
        info = tarfile.TarInfo("config/.env")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        for i in range(count):
            entry = tarfile.TarInfo(f"dirs/{i}")
            entry.type = tarfile.DIRTYPE
            archive.addfile(entry)


def gzip_ratio(path: Path, scale: float) -> None:
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(f"STRIPE_SECRET_KEY={KEY}\n".encode())
        block = b"\0" * (1 << 20)
        for _ in range(int(2048 * scale)):
            out.write(block)


def map_empty_lists(path: Path, scale: float) -> None:
    count = int(30_000_000 * scale)
    with path.open("w") as out:
        out.write('{"version":3,"file":"app.js","sourcesContent":["const k = \'' + KEY + "'\"],")
        out.write('"names":[' + ",".join(["[]"] * count) + '],"mappings":"AAAA"}')


def basic_header_log(path: Path, scale: float) -> None:
    rng = random.Random(5)
    lines = int(160_000 * scale)
    with path.open("w") as out:
        for i in range(lines):
            user = f"svc{rng.randrange(10**6)}:{rng.randrange(10**12)}"
            token = base64.b64encode(user.encode()).decode()
            out.write(
                f'10.0.0.{i % 255} - - "GET /api/{i} HTTP/1.1" 200 Authorization: Basic {token}\n'
            )
        out.write(f"STRIPE_SECRET_KEY={KEY}\n")


def basic_no_trigger(path: Path, scale: float) -> None:
    header = "BASIC " + base64.b64encode(b"svc:not-a-trigger-at-all").decode() + " "
    line = header * int(100_000 * scale)
    with path.open("w") as out:
        for _ in range(8):
            out.write(line + "\n")
        out.write(f"STRIPE_SECRET_KEY={KEY}\n")


def long_line(path: Path, scale: float) -> None:
    half = int(45 * (1 << 20) * scale)  # under the default 100 MB file limit at scale 1
    with path.open("wb") as out:
        out.write(b"x" * half)
        out.write(f" {KEY} ".encode())
        out.write(b"y" * half)


def prefix_lines(path: Path, scale: float) -> None:
    with path.open("w") as out:
        out.write("QUtJQQ==\n" * int(3_000_000 * scale))
        out.write(f"STRIPE_SECRET_KEY={KEY}\n")


def key_every_line(path: Path, scale: float) -> None:
    # a key id made here (not the documentation's example, which is dropped as a decoy at
    # once; nor written in this file, which scans clean), one request's log line after another
    rng = random.Random(7)
    key_id = "AKIA" + "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", k=16))
    with path.open("w") as out:
        for i in range(int(100_000 * scale)):
            out.write(f"{i} GET /s3 200 {key_id}\n")
        out.write(f"STRIPE_SECRET_KEY={KEY}\n")


CLASSES: dict[str, tuple[str, Callable[[Path, float], None]]] = {
    "zip-entries": ("bomb.zip", zip_entries),
    "tar-dirs": ("bomb.tar.gz", tar_dirs),
    "gzip-ratio": ("zeros.log.gz", gzip_ratio),
    "map-empty-lists": ("app.js.map", map_empty_lists),
    "basic-header-log": ("access.log", basic_header_log),
    "basic-no-trigger": ("headers.log", basic_no_trigger),
    "long-line": ("one-line.txt", long_line),
    "prefix-lines": ("prefixes.log", prefix_lines),
    "key-every-line": ("requests.log", key_every_line),
}


def measure(path: Path) -> tuple[float, int, bool, int]:
    """(wall seconds, peak RSS KiB, key found, exit code) of one scan."""
    started = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", str(LEAKGUARD), "scan", str(path), "-f", "json", "-j", "1"],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    wall = time.perf_counter() - started
    peak = int(proc.stderr.strip().splitlines()[-1])
    return wall, peak, "stripe-live-secret-key" in proc.stdout, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="input size factor (default 1)")
    parser.add_argument("--only", action="append", choices=sorted(CLASSES), help="one class")
    args = parser.parse_args()
    if not Path("/usr/bin/time").exists():
        print("needs /usr/bin/time (apt-get install time)", file=sys.stderr)
        return 2
    WORK.mkdir(parents=True, exist_ok=True)
    print("| class | input | wall | MB/s | peak RSS | key found | exit |")
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
    for name in args.only or list(CLASSES):
        filename, make = CLASSES[name]
        folder = WORK / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        path = folder / filename
        make(path, args.scale)
        size = path.stat().st_size / 1e6
        wall, peak, found, code = measure(path)
        print(
            f"| {name} | {size:,.1f} MB | {wall:.2f} s | {size / wall:,.1f} | "
            f"{peak / 1024:,.0f} MiB | {'yes' if found else 'NO'} | {code} |",
            flush=True,
        )
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
