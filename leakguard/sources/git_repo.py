"""Finding a repository and reading its refs, index and work-tree state.

Everything here is one git process per question, never one per object or commit, and every
process goes through :mod:`leakguard.sources.git_run`. Which work-tree files changed is decided
here from the index's stat data and blob ids, the way ``git status`` does it but without git
reading a single work-tree file (``status`` would run the repository's clean filters).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from leakguard.errors import InputError
from leakguard.sources import git_run
from leakguard.sources.git_layout import may_be_repository, plain_layout

BRANCH_PREFIXES = ("refs/heads/", "refs/remotes/")


@dataclass(frozen=True, slots=True)
class Repository:
    git_dir: Path
    work_tree: Path | None  # None for a bare repository
    key: str  # identity for the incremental state: the git directory, or the remote URL


@dataclass(frozen=True, slots=True)
class Ref:
    name: str
    oid: str  # what the ref points to, peeled (a tag's commit)
    kind: str  # the peeled object's type: commit | tree | blob

    @property
    def short_name(self) -> str:
        """``main`` for refs/heads/main, ``origin/main`` for refs/remotes/origin/main."""
        for prefix in BRANCH_PREFIXES:
            if self.name.startswith(prefix):
                return self.name[len(prefix) :]
        return self.name

    @property
    def is_branch(self) -> bool:
        return self.name.startswith(BRANCH_PREFIXES) and not self.name.endswith("/HEAD")


class NotReadable(Exception):
    """``path`` has a ``.git`` (or looks like a bare repository) but git cannot read it."""


def discover(path: Path) -> Repository | None:
    """The repository whose top level (or bare directory) is ``path``; None otherwise.

    Raises :class:`NotReadable` for a directory holding a ``.git`` that git refuses (a
    corrupt ``HEAD``, a ``gitdir:`` file pointing nowhere...).
    """
    if not may_be_repository(path):
        return None
    dot_git = path / ".git"
    try:
        proc = git_run.run(
            ["rev-parse", "--absolute-git-dir", "--is-bare-repository", "--is-inside-work-tree"],
            cwd=path,
            # never look above path; read repositories owned by others (see docs/security.md)
            env={"GIT_CEILING_DIRECTORIES": str(path.resolve().parent)},
            config=("safe.directory=*",),
        )
    except OSError as exc:
        raise InputError(
            f"{path}: looks like a git repository, but git cannot be run: {exc.strerror or exc}",
            hint="install git (2.31 or later) or put it on PATH",
        ) from None
    if proc.returncode != 0:
        if dot_git.exists():
            raise NotReadable(_last_line(proc.stderr))
        return None
    lines = proc.stdout.decode("utf-8", "surrogateescape").split("\n")
    if len(lines) < 3:
        return None
    git_dir = Path(lines[0]).resolve()
    bare, inside = lines[1] == "true", lines[2] == "true"
    here = path.resolve()
    if bare or not inside:
        # a bare repository, or a .git directory itself: its history, not the files beside it
        return Repository(git_dir, None, str(git_dir)) if git_dir == here else None
    top = git_run.run(["rev-parse", "--show-toplevel"], cwd=path, config=("safe.directory=*",))
    top_dir = top.stdout.decode("utf-8", "surrogateescape").rstrip("\n")
    if top.returncode != 0 or Path(top_dir).resolve() != here:
        return None
    return Repository(git_dir, path, str(git_dir))


def discover_plain(path: Path) -> Repository | None:
    """Without GitPython or git: the repository at ``path`` when it has the plain layout (a
    ``.git`` directory, or a bare repository), with the key :func:`discover` gives it; None
    for anything else (linked work trees, ``.git`` files, not a repository). Only a hint: a
    repository found here may still be one git refuses."""
    layout = plain_layout(path)
    return None if layout is None else repository_at(layout)


def repository_at(layout: tuple[str, Path | None]) -> Repository:
    """The repository of a :func:`plain_layout` (its git directory and work tree)."""
    git_dir, work_tree = layout
    return Repository(Path(git_dir), work_tree, git_dir)


def _last_line(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "git exited with an error"


def git_output(repo: Repository, args: Sequence[str], *, what: str) -> tuple[bytes, bytes]:
    """Run git in ``repo``: (stdout, stderr); a failure is an :class:`InputError`."""
    proc = git_run.run(args, git_dir=repo.git_dir, work_tree=repo.work_tree)
    if proc.returncode != 0:
        raise InputError(
            f"{repo.key}: {what} failed: {_last_line(proc.stderr)}",
            hint="check that the path is a readable, valid git repository (git fsck)",
        )
    return proc.stdout, proc.stderr


def run_git(repo: Repository, args: Sequence[str], *, what: str) -> bytes:
    """Run git in ``repo`` and return stdout; a failure is an :class:`InputError`."""
    return git_output(repo, args, what=what)[0]


def list_refs(repo: Repository, warn: Callable[[str], None] | None = None) -> list[Ref]:
    """Every ref (branches, tags, remote-tracking, stash, notes...), peeled.

    A ref git cannot read, or one pointing at an object the repository lacks, is left out
    (and named through ``warn``): the other refs are still scanned.
    """
    # one process names and peels every ref; git refuses when a ref names a missing object,
    # and a tag of a tag is peeled one level only: those repositories take the long way
    proc = git_run.run(
        ["for-each-ref", f"--format={_PEELED_FORMAT}"],
        git_dir=repo.git_dir,
        work_tree=repo.work_tree,
    )
    peeled = _peeled_refs(proc.stdout) if proc.returncode == 0 else None
    if peeled is not None:
        _warn_broken(repo, proc.stderr, warn)
        return peeled
    out, err = git_output(
        repo, ["for-each-ref", "--format=%(objectname) %(refname)"], what="listing refs"
    )
    _warn_broken(repo, err, warn)
    named = []
    for line in out.decode("utf-8", "replace").splitlines():
        oid, _, name = line.partition(" ")
        if oid and name:
            named.append((oid, name))
    return _peel(repo, named, warn)


# object, its type, what a tag points to and its type (empty for other refs), the ref name
_PEELED_FORMAT = "%(objectname)%00%(objecttype)%00%(*objectname)%00%(*objecttype)%00%(refname)"
_PEELED_KINDS = ("commit", "tree", "blob")


def _peeled_refs(out: bytes) -> list[Ref] | None:
    """The refs of a ``_PEELED_FORMAT`` listing; None when one needs more peeling."""
    refs = []
    for line in out.decode("utf-8", "replace").splitlines():
        fields = line.split("\0")
        if len(fields) != 5:
            return None
        oid, kind, target, target_kind, name = fields
        if kind == "tag":
            oid, kind = target, target_kind
        if kind not in _PEELED_KINDS:
            return None  # a tag of a tag
        refs.append(Ref(name, oid, kind))
    return refs


def _warn_broken(repo: Repository, err: bytes, warn: Callable[[str], None] | None) -> None:
    if warn is None:
        return
    for line in err.decode("utf-8", "replace").splitlines():
        if "broken ref" in line:  # "warning: ignoring broken ref refs/heads/x"
            warn(f"{repo.key}: skipped a ref git cannot read: {line.rsplit(' ', 1)[-1]}")


def _peel(
    repo: Repository, named: list[tuple[str, str]], warn: Callable[[str], None] | None
) -> list[Ref]:
    """Peel ``(oid, refname)`` pairs in one process; a missing object answers "<query>
    missing" and its ref is left out, with a warning."""
    if not named:
        return []
    query = "".join(f"{oid}^{{}}\n" for oid, _ in named).encode()
    peeled = git_run.run(
        ["cat-file", "--batch-check=%(objectname) %(objecttype)"],
        git_dir=repo.git_dir,
        input=query,
    )
    answers = peeled.stdout.decode("ascii", "replace").split("\n")
    refs = []
    for i, (oid, name) in enumerate(named):
        parts = answers[i].split() if i < len(answers) else []
        if len(parts) != 2 or parts[1] not in ("commit", "tree", "blob", "tag"):
            if warn is not None:
                warn(f"{repo.key}: skipped ref {name}: it points to a missing object {oid[:12]}")
            continue
        refs.append(Ref(name, parts[0], parts[1]))
    return refs


def all_tips(repo: Repository, refs: Sequence[Ref]) -> list[str]:
    """The commits a whole-history scan starts from: every ref that names a commit and every
    stash entry, each once, in that order."""
    tips = [r.oid for r in refs if r.kind == "commit"]
    tips += stash_entries(repo, refs)
    return list(dict.fromkeys(tips))


def stash_entries(repo: Repository, refs: Sequence[Ref]) -> list[str]:
    """Every stash entry (the reflog of refs/stash), not only the latest one."""
    if not any(r.name == "refs/stash" for r in refs):
        return []
    try:
        out = run_git(repo, ["log", "-g", "--format=%H", "refs/stash", "--"], what="stash list")
    except InputError:
        return []
    return out.decode("ascii", "replace").split()


def resolve_refs(repo: Repository, names: Sequence[str]) -> list[Ref]:
    """The commits named by ``--ref`` values (branch, tag, remote ref, commit id...)."""
    out = []
    for name in names:
        try:
            oid = run_git(
                repo, ["rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"], what="rev-parse"
            )
        except InputError:
            raise InputError(
                f"{repo.key}: unknown ref {name!r}",
                hint="give a branch, tag or commit that exists (git for-each-ref lists them)",
            ) from None
        out.append(Ref(name, oid.decode().strip(), "commit"))
    return out


GITLINK_MODE = "160000"


@dataclass(frozen=True, slots=True)
class IndexEntry:
    mode: str
    oid: str
    stage: int
    stat: tuple[int, ...]  # (mtime s, mtime ns, ctime s, ino, size), as git stores them


def index_entries(repo: Repository, index_file: str | None = None) -> dict[bytes, IndexEntry]:
    """The index (or ``index_file``: the one git hands a pre-commit hook): path -> entry (the
    last stage for a conflicted path); no work-tree read."""
    args = ["ls-files", "-z", "--stage", "--debug"]
    env = {"GIT_INDEX_FILE": os.path.abspath(index_file)} if index_file else None
    proc = git_run.run(args, git_dir=repo.git_dir, work_tree=repo.work_tree, env=env)
    if proc.returncode != 0:
        raise InputError(
            f"{repo.key}: reading the index failed: {_last_line(proc.stderr)}",
            hint="check that the path is a readable, valid git repository (git fsck)",
        )
    out = proc.stdout
    entries: dict[bytes, IndexEntry] = {}
    tokens = out.split(b"\0")
    # each token after the first is "<debug lines of the previous entry>\n<next header>"
    header = tokens[0]
    for token in tokens[1:]:
        debug, _, following = token.rpartition(b"  size: ")
        size_line, _, rest = following.partition(b"\n")
        meta, _, path = header.partition(b"\t")
        fields = meta.split()
        if len(fields) == 3 and path:
            numbers = _debug_numbers(debug + b"  size: " + size_line)
            entries[path] = IndexEntry(
                fields[0].decode(), fields[1].decode(), int(fields[2]), numbers
            )
        header = rest
    return entries


def _debug_numbers(text: bytes) -> tuple[int, ...]:
    values: dict[bytes, bytes] = {}
    for line in text.split(b"\n"):
        for field in line.strip().split(b"\t"):
            name, _, value = field.partition(b": ")
            values[name.strip()] = value.strip()
    mtime = values.get(b"mtime", b"0:0").split(b":")
    ctime = values.get(b"ctime", b"0:0").split(b":")
    return (
        int(mtime[0] or 0),
        int(mtime[-1] or 0),
        int(ctime[0] or 0),
        int(values.get(b"ino", b"0") or 0),
        int(values.get(b"size", b"0") or 0),
    )


def head_tree(repo: Repository) -> dict[bytes, str] | None:
    """path -> blob id of every file in ``HEAD`` (empty before the first commit; None when
    ``HEAD``'s tree cannot be read)."""
    proc = git_run.run(["ls-tree", "-r", "-z", "--full-tree", "HEAD"], git_dir=repo.git_dir)
    if proc.returncode != 0:
        return {} if b"Not a valid object name" in proc.stderr else None
    tree = {}
    for entry in proc.stdout.split(b"\0"):
        meta, _, path = entry.partition(b"\t")
        fields = meta.split()
        if len(fields) == 3:
            tree[path] = fields[2].decode()
    return tree


def work_tree_changes(repo: Repository) -> list[tuple[bytes, str]]:
    """(path, state) of modified, added and untracked files; ignored files are left out.

    ``modified``: a file whose staged blob differs from ``HEAD``'s, or whose content on disk
    differs from the staged blob (stat data first, then the blob id of the bytes on disk, with
    no filter or line-ending conversion: a filtered file counts as modified and is read).
    """
    assert repo.work_tree is not None
    index = index_entries(repo)
    head = head_tree(repo)
    try:
        index_mtime = os.stat(repo.git_dir / "index").st_mtime_ns
    except OSError:
        index_mtime = 0
    top = os.fsencode(repo.work_tree)
    changes = []
    for path, entry in index.items():
        if entry.mode == GITLINK_MODE:
            continue  # submodules are scanned from their own repository
        full = os.path.join(top, path)
        try:
            st = os.lstat(full)
        except OSError:
            continue  # deleted in the work tree: nothing on disk to read
        staged = entry.stage != 0 or (head is not None and head.get(path) != entry.oid)
        if staged or _differs(full, st, entry, index_mtime):
            changes.append((path, "modified"))
    changes += [(p, "untracked") for p in _untracked(repo)]
    return changes


def _differs(full: bytes, st: os.stat_result, entry: IndexEntry, index_mtime: int) -> bool:
    mask = 0xFFFFFFFF
    now = (
        int(st.st_mtime_ns // 1_000_000_000) & mask,
        st.st_mtime_ns % 1_000_000_000,
        int(st.st_ctime) & mask,
        st.st_ino & mask,
        st.st_size & mask,
    )
    racy = st.st_mtime_ns >= index_mtime  # modified in the same tick the index was written
    if now == entry.stat and not racy:
        return False
    if not os.path.isfile(full) or os.path.islink(full):
        return True
    return blob_id(full, st.st_size, len(entry.oid)) != entry.oid


def blob_id(path: bytes, size: int, hex_len: int) -> str | None:
    """The git blob id of a file's bytes as they are (sha1, or sha256 for 64-digit ids)."""
    h = hashlib.sha256() if hex_len == 64 else hashlib.sha1()
    h.update(b"blob %d\0" % size)
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1024 * 1024), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def _untracked(repo: Repository) -> list[bytes]:
    out = run_git(
        repo, ["ls-files", "-z", "--others", "--exclude-standard"], what="listing untracked files"
    )
    return [p for p in out.split(b"\0") if p]


def work_tree_files(repo: Repository) -> list[tuple[bytes, str]]:
    """(path, state) of every tracked and untracked (not ignored) file."""
    tracked = run_git(repo, ["ls-files", "-z", "--cached"], what="git ls-files")
    files = {p: "tracked" for p in tracked.split(b"\0") if p}
    for p in _untracked(repo):
        files.setdefault(p, "untracked")
    return list(files.items())
