"""Hostile input at the edges: exit codes, signals, worker processes, paths, terminal output.

Every case runs the real entry point in a subprocess and asserts the exit code, that no
traceback was printed and that no planted secret reached stdout, stderr or a file.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from leakguard.redact import fingerprint
from tests.support.keys import stripe_key

pytestmark = pytest.mark.integration

KEY = stripe_key("hostile-cli")
KEY2 = stripe_key("hostile-cli-2")
SECRETS = (KEY, KEY2, KEY[8:], KEY2[8:])
ENTRY = "from leakguard.cli.entry import main; main()"  # the installed command's
NESTING = 50_000


def _command(args: Sequence[str], prelude: str = "") -> list[str]:
    return [sys.executable, "-c", prelude + ENTRY, *map(str, args)]


def run(
    args: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    prelude: str = "",
    stdout: int | None = subprocess.PIPE,
    preexec: Callable[[], None] | None = None,
) -> tuple[int, str, str]:
    proc = subprocess.run(
        _command([str(a) for a in args], prelude),
        cwd=cwd,
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=120,
        preexec_fn=preexec,
    )
    out = (proc.stdout or b"").decode("utf-8", "replace")
    return proc.returncode, out, proc.stderr.decode("utf-8", "replace")


def clean(out: str, err: str, *files: Path) -> None:
    """No traceback and no planted secret anywhere."""
    assert "Traceback" not in out + err
    for text in (out, err, *(f.read_text(errors="replace") for f in files if f.is_file())):
        for secret in SECRETS:
            assert secret not in text


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if not line.startswith("  hint:")]
    assert len(lines) == 1, err
    assert lines[0].startswith("leakguard: error: "), err
    return lines[0]


def git_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(root.parent)}
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env)
    for name, text in files.items():
        (root / name).write_text(text)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True, env=env)
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
        check=True,
        env=env,
    )
    return root


def dense(path: Path, megabytes: int) -> Path:
    """Keyword-dense text with no credential: slow enough to catch a scan mid-way."""
    line = b"sk_live_a AKIAb ghp_c xoxb-d\n"
    path.write_bytes(line * (megabytes * 1024 * 1024 // len(line)))
    return path


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def gone(pid: int) -> bool:
    """Exited (a zombie nobody reaped counts: it holds no pipe and runs nothing)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError:
        return True


def wait_for(condition: Callable[[], bool], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return git_repo(tmp_path / "repo", {"app.env": f"STRIPE_KEY={KEY}\n"})


# --- exit codes ---------------------------------------------------------------------------


def test_an_internal_error_exits_3_with_one_line_and_no_secret(tmp_path: Path) -> None:
    # the bug is injected from outside: the scan core raises an exception holding a key
    prelude = (
        "import leakguard.cli.scan as s\n"
        "def boom(*a, **k):\n"
        f"    raise ValueError('cannot parse {KEY}')\n"
        "s.scan_then_record = boom\n"
    )
    (tmp_path / "a.txt").write_text("nothing\n")
    code, out, err = run(["scan", tmp_path / "a.txt"], prelude=prelude)
    assert code == 3
    assert err.startswith("leakguard: internal error: ValueError at cli/"), err
    assert "rerun with -v for the traceback" in err
    assert len(err.splitlines()) == 1
    clean(out, err)
    code, out, err = run(["-v", "scan", tmp_path / "a.txt"], prelude=prelude)
    assert code == 3
    assert "Traceback" in err and "boom" in err  # -v: the traceback, still without the key
    for secret in SECRETS:
        assert secret not in err
    assert fingerprint(KEY) in err


@pytest.mark.parametrize("kind", ["rules", "sweep", "baseline", "playbook"])
def test_deep_nesting_is_an_input_error(tmp_path: Path, kind: str) -> None:
    deep_yaml = "a: " + "[" * NESTING + "]" * NESTING + "\n"
    target = tmp_path / "a.txt"
    target.write_text(f"k={KEY}\n")
    if kind == "rules":
        (tmp_path / "rules").mkdir()
        (tmp_path / "rules" / "deep.yaml").write_text(deep_yaml)
        args: list[str | Path] = ["scan", target, "--rules", tmp_path / "rules"]
    elif kind == "sweep":
        (tmp_path / "sweep.yaml").write_text(deep_yaml)
        args = ["sweep", tmp_path / "sweep.yaml", "--db", tmp_path / "lg.db"]
    elif kind == "baseline":
        nested = '{"version": 1, "credentials": ' + "[" * NESTING + "]" * NESTING + "}"
        (tmp_path / "base.json").write_text(nested)
        args = ["scan", target, "--baseline", tmp_path / "base.json"]
    else:
        (tmp_path / "deep.yaml").write_text(deep_yaml)
        args = ["playbook", "validate", tmp_path / "deep.yaml"]
    code, out, err = run(args)
    assert code == 2, err
    assert "nested too deeply" in one_error_line(err)
    clean(out, err)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda t: t / ("x" * 300), id="ENAMETOOLONG"),
        pytest.param(lambda t: t / "file.txt" / "below", id="ENOTDIR"),
    ],
)
def test_bad_paths_give_one_line_and_exit_2(tmp_path: Path, make: Callable[[Path], Path]) -> None:
    (tmp_path / "file.txt").write_text("x\n")
    code, out, err = run(["scan", make(tmp_path)])
    assert code == 2, err
    one_error_line(err)
    clean(out, err)
    code, out, err = run(["scan", tmp_path / "file.txt", "-o", make(tmp_path)])
    assert code == 2, err
    one_error_line(err)


def _without_dac_override() -> None:
    """As root, drop the capabilities that ignore file modes (so chmod 000 means something)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_an_unreadable_directory_target_is_an_input_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.env").write_text(f"k={KEY}\n")
    locked.chmod(0)
    try:
        code, out, err = run(["scan", locked], preexec=_without_dac_override)
    finally:
        locked.chmod(0o700)
    assert code == 2, err
    assert "Permission denied" in one_error_line(err)
    clean(out, err)


# --- signals and workers ------------------------------------------------------------------


_SPAWNED: list[int] = []


@pytest.fixture(autouse=True)
def _no_strays() -> Iterator[None]:
    """Whatever a failing test leaves behind is killed (by pid, only what we saw started)."""
    yield
    while _SPAWNED:
        pid = _SPAWNED.pop()
        if not gone(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _as_in_a_terminal() -> None:
    """Ctrl-C as a foreground command gets it: a suite started in the background (``&`` in a
    script) hands its children SIGINT ignored, which Python then keeps."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _workers_of(proc: subprocess.Popen[bytes], count: int) -> list[int]:
    assert wait_for(lambda: len(children(proc.pid)) >= count or proc.poll() is not None)
    assert proc.poll() is None, proc.communicate()
    workers = children(proc.pid)
    _SPAWNED.extend(workers)
    return workers


def _read_all(stream: object, box: list[bytes]) -> None:
    box.append(stream.read())  # type: ignore[attr-defined]


def _assert_eof_and_no_survivors(proc: subprocess.Popen[bytes], workers: list[int]) -> None:
    box: list[bytes] = []
    reader = threading.Thread(target=_read_all, args=(proc.stdout, box), daemon=True)
    reader.start()
    reader.join(60)
    assert not reader.is_alive(), "stdout never reached EOF: a worker holds the pipe"
    assert wait_for(lambda: all(gone(pid) for pid in workers))


def _sweep_config(tmp_path: Path) -> Path:
    for name in ("t1", "t2"):
        (tmp_path / name).mkdir()
        dense(tmp_path / name / "big.txt", 40)
    config = tmp_path / "sweep.yaml"
    config.write_text("targets:\n  - path: t1\n  - path: t2\n")
    return config


def _signal_args(tmp_path: Path, command: str) -> tuple[list[str], int]:
    """A command line of ``command`` that runs for a while on two workers, and how many
    processes it forks: the pool's two workers, or a directory scan's one early worker (the
    scan's own process is the other)."""
    if command == "scan":
        files = [str(dense(tmp_path / name, 40)) for name in ("a.txt", "b.txt")]
        return ["scan", *files, "-j", "2", "-f", "json"], 2
    if command == "directory":
        (tmp_path / "tree").mkdir()
        for name in ("a.txt", "b.txt"):
            dense(tmp_path / "tree" / name, 40)
        return ["scan", str(tmp_path / "tree"), "-j", "2", "-f", "json"], 1
    config = _sweep_config(tmp_path)
    return ["sweep", str(config), "--db", str(tmp_path / "lg.db"), "-j", "2"], 2


def _reading(pid: int, names: tuple[str, ...] = ("a.txt", "b.txt")) -> bool:
    """The process has one of ``names`` open: it is scanning (past start-up and planning)."""
    try:
        return any(os.readlink(fd).endswith(names) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("command", ["scan", "directory", "sweep"])
def test_sigkill_to_the_parent_takes_the_workers_with_it(tmp_path: Path, command: str) -> None:
    args, forked = _signal_args(tmp_path, command)
    proc = subprocess.Popen(_command(args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        workers = _workers_of(proc, forked)
        proc.kill()
        proc.wait(60)
        assert proc.returncode == -signal.SIGKILL  # killed mid-scan, not finished already
        _assert_eof_and_no_survivors(proc, workers)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["scan", "directory", "sweep"])
@pytest.mark.parametrize(
    ("signum", "code", "message"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
)
def test_signals_exit_with_the_conventional_code(
    tmp_path: Path, command: str, signum: int, code: int, message: str
) -> None:
    args, forked = _signal_args(tmp_path, command)
    # SIGINT goes to the whole process group, as Ctrl-C on a terminal; SIGTERM to the parent
    proc = subprocess.Popen(
        _command(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_as_in_a_terminal,
    )
    try:
        workers = _workers_of(proc, forked)
        if command == "directory":  # forked first thing: wait until it scans beside them
            assert wait_for(lambda: _reading(proc.pid) or proc.poll() is not None)
        if signum == signal.SIGINT:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert err.decode().strip() == f"leakguard: {message}"
    assert out == b""
    assert wait_for(lambda: all(gone(pid) for pid in workers))
    if command == "sweep":
        with sqlite3.connect(tmp_path / "lg.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.slow
def test_ctrl_c_in_an_incremental_git_scan_keeps_the_store_consistent(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    stream = []
    for i in range(1500):
        data = (f"line {i} sk_live_a AKIAb ghp_c xoxb-d\n" * 600).encode()
        if i == 3:
            data += f"STRIPE={KEY}\n".encode()
        stream.append(b"commit refs/heads/main\ncommitter a <a@b> %d +0000\ndata 2\nx\n" % i)
        stream.append(b"M 644 inline f%d.txt\ndata %d\n%s\n" % (i % 40, len(data), data))
    subprocess.run(["git", "-C", str(repo), "fast-import", "--quiet"], input=b"".join(stream))
    db = tmp_path / "lg.db"
    args = ["scan", str(repo), "--incremental", "--db", str(db), "-j", "2", "-q"]
    proc = subprocess.Popen(
        _command(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_as_in_a_terminal,
    )
    try:
        _workers_of(proc, 1)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert err.decode().strip() == "leakguard: interrupted"
    clean(out.decode(), err.decode())
    if db.exists():  # (the interrupt may come before the store is opened)
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    code, out2, err2 = run(["scan", repo, "--incremental", "--db", db, "-f", "json"])
    assert code == 1, err2  # the interrupted run recorded nothing: the key is still reported
    assert fingerprint(KEY) in {f["fingerprint"] for f in json.loads(out2)["findings"]}


# --- paths: reports, full disks, --db -----------------------------------------------------


def test_output_to_dev_full_is_one_line_and_exit_2(repo: Path) -> None:
    for fmt in ("text", "json", "sarif"):
        code, out, err = run(["scan", repo, "-f", fmt, "-o", "/dev/full"])
        assert code == 2, err
        assert "No space left on device" in one_error_line(err)
        clean(out, err)
    with open("/dev/full", "wb") as full:
        code, out, err = run(["scan", repo], stdout=full.fileno())
    assert code == 2, err
    assert "No space left on device" in one_error_line(err)
    clean(out, err)


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: " + done.stderr.decode(errors="replace").strip())
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.slow
def test_a_full_disk_leaves_the_previous_report_intact(tmp_path: Path, small_disk: Path) -> None:
    # 1,000 distinct keys make every report larger than the 64 KiB disk
    (tmp_path / "many").mkdir()
    keys = "".join(f"K{i}={stripe_key(f'full-{i}')}\n" for i in range(1000))
    (tmp_path / "many" / "many.env").write_text(keys)
    config = tmp_path / "sweep.yaml"
    config.write_text(f"targets:\n  - path: {tmp_path / 'many'}\n")
    db = tmp_path / "lg.db"
    assert run(["sweep", config, "--db", db, "-j", "1"])[0] == 1
    target = tmp_path / "many"
    cases: list[list[str | Path]] = [
        ["scan", target, "-f", fmt, "-o", small_disk / f"report.{fmt}"]
        for fmt in ("text", "json", "jsonl", "sarif")
    ]
    cases += [
        ["baseline", "create", target, "-o", small_disk / "baseline.json"],
        ["findings", "export", "--db", db, "-o", small_disk / "export.json"],
        ["sweep", config, "--db", db, "-j", "1", "-f", "html", "-o", small_disk / "sweep.html"],
    ]
    for args in cases:
        previous = Path(args[-1])
        previous.write_text("previous\n")
        code, out, err = run(args)
        assert code == 2, (args, err)
        assert "No space left on device" in one_error_line(err)
        assert previous.read_text() == "previous\n"
        assert "leakguard: error: cannot write" in err
        clean(out, err)
        previous.unlink()
    assert sorted(p.name for p in small_disk.iterdir()) == []  # no temporary file left behind


def test_reports_replace_files_atomically_and_refuse_links(tmp_path: Path, repo: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text("old")
    report.chmod(0o644)
    code, out, err = run(["scan", repo, "-f", "json", "-o", report])
    assert code == 1, err
    assert json.loads(report.read_text())["findings"]
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    victim.chmod(0o644)
    link = tmp_path / "link.json"
    link.symlink_to(victim)
    code, out, err = run(["scan", repo, "-f", "json", "-o", link])
    assert code == 2
    assert "symbolic link" in one_error_line(err)
    assert victim.read_text() == "keep me" and stat.S_IMODE(victim.stat().st_mode) == 0o644
    clean(out, err, victim)


def _device(tmp_path: Path) -> Path:
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("cannot create a device node here")
    node.chmod(0o666)
    return node


def test_db_refuses_what_is_not_a_leakguard_store(tmp_path: Path, repo: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("my notes\n")
    text.chmod(0o644)
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    foreign.chmod(0o644)
    link = tmp_path / "link.db"
    link.symlink_to(text)
    device = _device(tmp_path)
    for db, why in [
        (device, "not a regular file"),
        (tmp_path, "is a directory"),
        (text, "not a LeakGuard findings store"),
        (link, "not a LeakGuard findings store"),
        (foreign, "not a LeakGuard store"),
    ]:
        code, out, err = run(["scan", repo, "--incremental", "--db", db])
        assert code == 2, (db, err)
        assert why in one_error_line(err)
        clean(out, err)
    assert stat.S_IMODE(device.stat().st_mode) == 0o666  # never chmod-ed
    assert stat.S_IMODE(text.stat().st_mode) == 0o644 and text.read_text() == "my notes\n"
    assert stat.S_IMODE(foreign.stat().st_mode) == 0o644


def test_db_in_missing_directories_is_created_private(tmp_path: Path, repo: Path) -> None:
    db = tmp_path / "state" / "deep" / "lg.db"
    code, out, err = run(["scan", repo, "--incremental", "--db", db])
    assert code == 1, err
    for folder in (tmp_path / "state", tmp_path / "state" / "deep"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    clean(out, err, db)
    # a symlink to a LeakGuard store is fine
    (tmp_path / "alias.db").symlink_to(db)
    code, out, err = run(["scan", repo, "--incremental", "--db", tmp_path / "alias.db"])
    assert code == 0, err


def test_default_state_directory_is_made_private(tmp_path: Path, repo: Path) -> None:
    state = tmp_path / "xdg" / "leakguard"
    state.mkdir(parents=True)
    state.chmod(0o755)  # left by an older version
    env = {k: v for k, v in os.environ.items() if k != "LEAKGUARD_DB"}
    proc = subprocess.run(
        _command(["scan", str(repo), "--incremental"]),
        capture_output=True,
        env={**env, "XDG_STATE_HOME": str(tmp_path / "xdg")},
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "git").stat().st_mode) == 0o700  # the incremental cursors


# --- what reaches the terminal ------------------------------------------------------------


def test_control_characters_in_file_names_are_escaped(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    name = b"k\x1b]0;owned\x07\x1b[2J\r\xff\x9b.env"
    with open(os.path.join(os.fsencode(tree), name), "w") as fh:
        fh.write(f"k={KEY}\n")
    code, out, err = run(["scan", tree])
    assert code == 1, err
    for raw in ("\x1b", "\x07", "\r", "\x9b"):
        assert raw not in out + err
    assert "k\\x1b]0;owned\\x07\\x1b[2J\\x0d\\xff\\x9b.env:1:3" in out
    clean(out, err)
    for fmt in ("json", "sarif", "jsonl"):
        code, out, err = run(["scan", tree, "-f", fmt, "-o", tmp_path / f"r.{fmt}"])
        assert code == 1, err
        clean(out, err, tmp_path / f"r.{fmt}")
        if fmt != "jsonl":
            json.loads((tmp_path / f"r.{fmt}").read_text())
    sarif = json.loads((tmp_path / "r.sarif").read_text())
    uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri["uri"] == "k%1B%5D0%3Bowned%07%1B%5B2J%0D%FF%9B.env"  # the bytes as they are


def test_errors_escape_control_characters(tmp_path: Path) -> None:
    code, out, err = run(["scan", tmp_path / "no\x1b[31msuch\x07"])
    assert code == 2
    assert "\x1b" not in err and "\x07" not in err
    assert "no\\x1b[31msuch\\x07" in one_error_line(err)
    assert out == ""


def test_a_url_with_a_password_is_never_echoed(tmp_path: Path) -> None:
    password = KEY2[8:]
    url = f"https://deploy:{password}@127.0.0.1:9/repo.git"
    code, out, err = run(["scan", url, "--cache-dir", tmp_path / "cache"])
    assert code == 2, err
    one_error_line(err)
    clean(out, err)


def test_a_pasted_key_is_never_echoed(tmp_path: Path, repo: Path) -> None:
    db = tmp_path / "lg.db"
    assert run(["scan", repo, "--incremental", "--db", db])[0] == 1
    for args in (
        ["findings", "show", KEY, "--db", db],
        ["findings", "set-status", KEY, "false-positive", "--db", db],
        ["scan", repo, "--ref", KEY],
        ["scan", repo, "--ref", KEY2[8:]],
        ["findings", KEY],  # typer's own usage error quotes the value
    ):
        code, out, err = run(args)
        assert code == 2, (args, err)
        assert fingerprint(KEY2[8:] if KEY2[8:] in args else KEY) in err
        if len(args) > 2:  # our own errors say why
            assert "looks like a credential" in one_error_line(err)
        clean(out, err)
    code, out, err = run(["scan", KEY])  # a missing path that is a key
    assert code == 2
    assert fingerprint(KEY) in one_error_line(err)
    clean(out, err)


def test_sweep_and_findings_output_escape_hostile_names(tmp_path: Path) -> None:
    target = tmp_path / "repo\x1b[8m"  # "conceal" from here on, on a terminal that obeys
    target.mkdir()
    (target / "k\x07\r.env").write_text(f"k={KEY}\n")
    config = tmp_path / "sweep.yaml"
    config.write_text(f'targets:\n  - path: "{tmp_path}/repo\\e[8m"\n')
    db = tmp_path / "lg.db"
    outputs = [run(["sweep", config, "--db", db, "-j", "1"])]
    assert outputs[0][0] == 1, outputs[0][2]
    outputs.append(run(["findings", "list", "--db", db]))
    outputs.append(run(["findings", "show", fingerprint(KEY), "--db", db]))
    for code, _out, err in outputs[1:]:
        assert code == 0, err
    shown = outputs[2][1]
    assert "repo\\x1b[8m" in shown and "k\\x07\\x0d.env" in shown
    for _code, out, err in outputs:
        assert not {"\x1b", "\x07", "\r"} & set(out + err)
        clean(out, err)
