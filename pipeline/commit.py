"""How a batch run's staged output becomes --output's: the lock, the run id,
the run log and the two ways of committing (swap or append).

A run that newsbeam waits for writes everything into
``OUTPUT/.newsbeam-staging-<run id>/`` (its tables, ``_state/``,
``_summary.json`` and ``_runs/<run id>.json``) and commits at its end:

* :func:`swap_in` (a first run, or ``--overwrite``): each of newsbeam's
  names in OUTPUT (the tables, ``_state``, ``_runs``, ``_summary.json``) is
  moved aside and the staged one takes its place.
* :func:`append_in` (``--append``): each staged table file is moved into
  its partition folder beside the old ones (their names carry the run id,
  so none is replaced), each file under ``_state/`` replaces its old
  version (one rename per file), then ``_summary.json``, and the run's log
  last.  A move that fails undoes the moves done.

While a run stages, it holds ``OUTPUT/.newsbeam-lock`` (:class:`OutputLock`),
created exclusively, so a second run into the same output is refused.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from datetime import UTC, datetime

from apache_beam.io.filesystems import FileSystems

STATE_FOLDER = "_state"
RUNS_FOLDER = "_runs"
SUMMARY_FILE = "_summary.json"
LOCK_FILE = ".newsbeam-lock"
# Where a table's one empty file goes when a run wrote no row into it (and
# the output holds none): a partition like any other, so Hive readers see
# the same keys in every file path; it holds no row.
EMPTY_PARTITION = "date=1970-01-01/topic=none"


def new_run_id(now: datetime | None = None) -> str:
    """``20261201T094130123Z-1a2b3c4d``: the run's start in UTC to the
    millisecond (runs into one output follow each other, so their ids sort
    by time) and 8 random hex digits (two outputs' runs never share one)."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{uuid.uuid4().hex[:8]}"


def append_file_name(run_id: str) -> str:
    """The name of each file an --append run writes: unique to the run."""
    return f"part-{run_id}-00000.parquet"


# --- files -------------------------------------------------------------------


def is_remote(path: str) -> bool:
    return "://" in path


def present(path: str) -> bool:
    """Whether a file or folder is there (Cloud Storage has no folders, only
    objects under a prefix)."""
    if not is_remote(path):
        return os.path.lexists(path)
    return FileSystems.exists(path) or bool(FileSystems.match([FileSystems.join(path, "**")])[0].metadata_list)


def files_under(path: str) -> list[str]:
    """Every file under ``path`` (or ``path`` itself if it is a file), sorted."""
    if not is_remote(path):
        if os.path.isfile(path):
            return [path]
        return sorted(os.path.join(d, f) for d, _, names in os.walk(path) for f in names)
    found = [m.path for m in FileSystems.match([FileSystems.join(path, "**")])[0].metadata_list]
    return sorted(found + ([path] if FileSystems.exists(path) else []))


def move(src: str, dst: str) -> None:
    """Move a file or folder: one rename on a local disk (replacing a file
    at ``dst``); object by object in Cloud Storage."""
    if not is_remote(src):
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.replace(src, dst)
        return
    sources = files_under(src)
    FileSystems.rename(sources, [dst + s[len(src) :] for s in sources])


def remove(path: str) -> None:
    if not is_remote(path):
        if os.path.lexists(path):
            FileSystems.delete([path])
        return
    found = files_under(path)
    if found:
        FileSystems.delete(found)


def write_json(path: str, value: object) -> None:
    with FileSystems.create(path) as fh:
        fh.write(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8"))


def relative(path: str, root: str) -> str:
    return path[len(root.rstrip("/")) + 1 :]


# --- committing --------------------------------------------------------------


def swap_in(staging: str, output: str, names: tuple[str, ...]) -> None:
    """Put the staged ``names`` in ``output``'s place.

    Name by name, the previous one is moved aside (into the staging
    folder) and the new one takes its place; they are deleted only with the
    staging folder, once every new one is in place.  If a move fails, the
    moves done are undone so the previous output stays whole.
    """
    aside = FileSystems.join(staging, ".previous")
    moves: list[tuple[str, str]] = []
    try:
        for name in names:
            target, new = FileSystems.join(output, name), FileSystems.join(staging, name)
            if present(target):
                move(target, FileSystems.join(aside, name))
                moves.append((target, FileSystems.join(aside, name)))
            if present(new):
                move(new, target)
                moves.append((new, target))
    except Exception:
        _undo(moves)
        raise


def staged_table_files(staging: str, tables: tuple[str, ...]) -> list[str]:
    """The staged tables' Parquet files, relative to the staging folder."""
    found = []
    for table in tables:
        found += [relative(f, staging) for f in files_under(FileSystems.join(staging, table)) if f.endswith(".parquet")]
    return sorted(found)


def staged_state_files(staging: str) -> list[str]:
    """The staged state files, relative to the staging folder (``_state/...``)."""
    return [relative(f, staging) for f in files_under(FileSystems.join(staging, STATE_FOLDER))]


def append_in(staging: str, output: str, tables: tuple[str, ...], run_log: str, replaced: tuple[str, ...] = ()) -> None:
    """Add the staged run to ``output``: its table files into their
    partitions (refused if a file of that name is there already: nothing is
    replaced), its state files and the ``replaced`` files (derived tables
    rebuilt whole, relative to both folders) over the old ones,
    ``_summary.json``, and last its run log (``run_log``, relative to both
    folders).  If a move
    fails, the moves done are undone, the old state files put back."""
    aside = FileSystems.join(staging, ".previous")
    added = staged_table_files(staging, tables)
    clash = [name for name in added if present(FileSystems.join(output, name))]
    if clash:
        raise ValueError(f"--append: {FileSystems.join(output, clash[0])} is there already; nothing was added")
    moves: list[tuple[str, str]] = []
    created = _missing_folders([FileSystems.join(output, name) for name in added])
    try:
        for name in added:
            src, dst = FileSystems.join(staging, name), FileSystems.join(output, name)
            move(src, dst)
            moves.append((src, dst))
        for name in [*staged_state_files(staging), *replaced, SUMMARY_FILE, run_log]:
            src, dst = FileSystems.join(staging, name), FileSystems.join(output, name)
            if not present(src):
                continue
            if present(dst):
                move(dst, FileSystems.join(aside, name))
                moves.append((dst, FileSystems.join(aside, name)))
            move(src, dst)
            moves.append((src, dst))
    except Exception:
        _undo(moves)
        for folder in created:  # the partition folders the moves made, now empty again
            if os.path.isdir(folder) and not os.listdir(folder):
                os.rmdir(folder)
        raise


def _undo(moves: list[tuple[str, str]]) -> None:
    for src, dst in reversed(moves):
        move(dst, src)


def _missing_folders(paths: list[str]) -> list[str]:
    """The local folders that moving files to ``paths`` would create, deepest first."""
    missing: set[str] = set()
    for path in paths:
        if is_remote(path):
            continue
        folder = os.path.dirname(path)
        while folder and not os.path.exists(folder) and folder not in missing:
            missing.add(folder)
            folder = os.path.dirname(folder)
    return sorted(missing, key=lambda f: -f.count(os.sep))


# --- the lock ----------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


class OutputLock:
    """``OUTPUT/.newsbeam-lock``: one staged run at a time per output.

    Created with O_EXCL (on a local disk; in Cloud Storage it is checked,
    then written, which two launches in the same second can both pass),
    holding the run id, pid, host, start time and command.  A lock whose
    pid is not alive on this host is stale (a killed run): it is taken
    over, and that run's staging folder removed.  Any other lock refuses
    the run with one line telling how to remove it once no run is alive.
    """

    def __init__(self, output: str, run_id: str, command: list[str], staging_prefix: str) -> None:
        self.output = output
        self.path = FileSystems.join(output, LOCK_FILE)
        self.run_id = run_id
        self.command = command
        self.staging_prefix = staging_prefix
        self.held = False

    def _record(self) -> bytes:
        holder = {
            "run_id": self.run_id,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": self.command,
        }
        return json.dumps(holder, indent=2, sort_keys=True).encode("utf-8")

    def acquire(self) -> None:
        for _ in range(2):
            if self._create():
                self.held = True
                return
            holder = self._holder()
            if not self._stale(holder):
                raise ValueError(self._refusal(holder))
            remove(self.path)
            if holder.get("run_id"):
                remove(FileSystems.join(self.output, self.staging_prefix + str(holder["run_id"])))
        raise ValueError(self._refusal(self._holder()))

    def _create(self) -> bool:
        if is_remote(self.path):
            if FileSystems.exists(self.path):
                return False
            with FileSystems.create(self.path) as fh:
                fh.write(self._record())
            return True
        os.makedirs(self.output, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as fh:
            fh.write(self._record())
        return True

    def _holder(self) -> dict:
        try:
            with FileSystems.open(self.path) as fh:
                holder = json.loads(fh.read().decode("utf-8"))
            return holder if isinstance(holder, dict) else {}
        except Exception:  # half-written by a run killed at that instant, or gone meanwhile
            return {}

    @staticmethod
    def _stale(holder: dict) -> bool:
        """A lock of a process gone from this host (not one being written
        this instant, not another host's: that cannot be checked)."""
        pid = holder.get("pid")
        return isinstance(pid, int) and holder.get("host") == socket.gethostname() and not _alive(pid)

    def _refusal(self, holder: dict) -> str:
        who = (
            f"run {holder.get('run_id')} (pid {holder.get('pid')} on {holder.get('host')}, "
            f"since {holder.get('started_at')})"
            if holder
            else "another run"
        )
        return (
            f"--output {self.output!r} is in use by {who}: one run at a time writes into an output. "
            f"If no newsbeam run is alive, remove {self.path} and run again"
        )

    def release(self) -> None:
        if self.held:
            remove(self.path)
            self.held = False
