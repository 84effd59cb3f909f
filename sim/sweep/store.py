"""An unfinished sweep's folder: saved points with their checksums, sessions, and resume."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..artifacts.files import (
    atomic_file,
    atomic_write,
    sha256_file,
    sha256_text,
    utc_now,
    verify_folder,
)
from ..errors import AdvsimError
from .points import Plan


def partial_dir(target: Path) -> Path:
    """Where an unfinished sweep for ``target`` lives."""
    return target.with_name(target.name + ".partial")



class Store:
    """The parts of an unfinished sweep: per point, its outcomes (``NNNNNN.npz``) and then its
    record (``NNNNNN.json``), each renamed into place, so a record means a finished point. A
    record holds the sha256 of its outcomes file and of its own content: a damaged point is
    found on resume, reported and computed again, never reused."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.parts = root / "parts"

    def begin(self, plan: Plan, executor: str, workers: int,
              damaged: Collection[int] = ()) -> int:
        self.parts.mkdir(exist_ok=True)
        for name, text in (("sweep.yaml", plan.spec_yaml), ("scenario.yaml", plan.scenario_yaml)):
            if not (self.root / name).exists():
                atomic_write(self.root / name, text.encode("utf-8"))
        sessions = self.sessions()
        sessions.append({"started": utc_now(), "executor": executor, "workers": workers,
                         **({"damaged_points": sorted(damaged)} if damaged else {})})
        self.write_sessions(sessions)
        return len(sessions) - 1

    def sessions(self) -> list[dict]:
        path = self.root / "sessions.json"
        if not path.exists():
            return []
        try:
            sessions = json.loads(path.read_bytes())
            if not isinstance(sessions, list) or not all(isinstance(s, dict) for s in sessions):
                raise ValueError("expected a list of sessions")
        except (OSError, ValueError) as e:  # ValueError: bad JSON, or not UTF-8
            raise AdvsimError(f"{path}: damaged ({e}); delete it to resume with the points "
                              "kept but without the history of earlier sessions") from None
        return sessions

    def write_sessions(self, sessions: list[dict]) -> None:
        atomic_write(self.root / "sessions.json", (json.dumps(sessions, indent=1) + "\n").encode())

    def finished(self, plan: Plan) -> tuple[dict[int, dict], dict[int, str]]:
        """The finished points' records, and for each damaged point a line ``FILE: what is
        wrong``; a damaged point's files are removed, so that it is computed again."""
        self.parts.mkdir(exist_ok=True)
        done, damaged = {}, {}
        others = 0
        for f in sorted(self.parts.iterdir()):
            if f.name.startswith(".") and f.name.endswith(".tmp") and f.is_file():
                f.unlink()  # a write that a kill interrupted
                continue
            if f.suffix != ".json" or not (f.stem.isascii() and f.stem.isdigit()) \
                    or not f.is_file():
                continue  # not ours (.ipynb_checkpoints/, notes): left alone
            if _fingerprint_of(f) not in (None, plan.fingerprint()):
                others += 1
                continue
            index = int(f.stem)
            try:
                done[index] = self._read(f, index, plan)
            except ValueError as e:
                damaged[index] = f"{e}; point {index} is computed again"
                f.unlink()
                f.with_suffix(".npz").unlink(missing_ok=True)
        if others:
            raise AdvsimError(
                f"{self.root}: holds {others} point(s) of a different sweep (another spec, "
                "scenario, --set, replications, seed or advsim version); resume with the same "
                "spec and options, or choose another --out"
            )
        return done, damaged

    def _read(self, f: Path, index: int, plan: Plan) -> dict:
        """Point ``index``'s record, checked against its outcomes file and the plan; a
        ValueError says what is wrong."""
        try:
            record = json.loads(f.read_bytes())
        except (OSError, ValueError) as e:  # ValueError: bad JSON, or not UTF-8
            raise ValueError(f"{f}: not a point record ({e})") from None
        if not isinstance(record, dict) or record.pop("sha256", None) != _digest(record):
            raise ValueError(f"{f}: does not match its checksum (damaged or edited)")
        if index >= len(plan.points) or record.get("point") != index \
                or record.get("fingerprint") != plan.fingerprint() \
                or record.get("seed") != plan.points[index].seed \
                or set(record.get("metrics") or ()) != set(plan.metric_columns):
            raise ValueError(f"{f}: a record of another sweep or point (expected point {index} "
                             "of this sweep)")
        npz = f.with_suffix(".npz")
        if not npz.exists():
            raise ValueError(f"{npz}: missing (its record {f.name} is there)")
        if sha256_file(npz) != record.get("outcomes_sha256"):
            raise ValueError(f"{npz}: does not match the checksum in {f.name} (truncated, "
                             "damaged or edited)")
        record["metrics"] = {k: math.inf if v is None else v for k, v in record["metrics"].items()}
        return record

    def save(self, index: int, record: dict, fingerprint: str) -> None:
        """Save a finished point, marked with the sweep's fingerprint (``Plan.fingerprint``)."""
        table = record.pop("table")
        npz = self.parts / f"{index:06d}.npz"
        with atomic_file(npz) as f:
            np.savez(f, **{k: v.astype(str) if v.dtype == object else v
                           for k, v in table.items()})
        stored = dict(record, metrics={k: None if math.isinf(v) else v
                                       for k, v in record["metrics"].items()},
                      outcomes_sha256=sha256_file(npz), fingerprint=fingerprint)
        stored["sha256"] = _digest(stored)
        atomic_write(self.parts / f"{index:06d}.json", (json.dumps(stored) + "\n").encode())

    def tables(self, indices: Sequence[int]) -> Iterator[dict[str, np.ndarray]]:
        for i in indices:
            with np.load(self.parts / f"{i:06d}.npz", allow_pickle=False) as z:
                yield {k: z[k] for k in z.files}


def _fingerprint_of(f: Path) -> str | None:
    """The sweep fingerprint a point record was saved with ("" if it has none); None if the
    record cannot be read (then it is damaged, not another sweep's)."""
    try:
        record = json.loads(f.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    fp = record.get("fingerprint", "")
    return fp if isinstance(fp, str) else None


def _digest(record: dict) -> str:
    """The checksum of a point's record, over its content in a canonical order."""
    return sha256_text(json.dumps(record, sort_keys=True))


def check_same_sweep(staging: Path, plan: Plan) -> None:
    """An unfinished sweep is resumed only by the same spec and scenario."""
    for name, text in (("sweep.yaml", plan.spec_yaml), ("scenario.yaml", plan.scenario_yaml)):
        f = staging / name
        if f.exists() and f.read_bytes() != text.encode("utf-8"):
            raise AdvsimError(
                f"{staging}: holds a different sweep (its {name} differs from this one's; "
                "resume with the same spec and options, or choose another --out)"
            )


def check_finished(target: Path) -> None:
    """A finished sweep is not resumed; but say so only if its points.csv is the one it
    wrote, and name the file if not."""
    manifest = target / "manifest.json"
    try:
        data = json.loads(manifest.read_bytes())
    except (OSError, ValueError) as e:
        raise AdvsimError(f"{manifest}: cannot read the sweep's manifest ({e})") from None
    expected = data.get("points_sha256") if isinstance(data, dict) else None
    points = target / "points.csv"
    if expected and not points.is_file():
        raise AdvsimError(f"{points}: missing from a finished sweep")
    if expected and sha256_file(points) != expected:
        raise AdvsimError(
            f"{points}: not the table this sweep wrote (its sha256 differs from manifest.json's "
            "points_sha256: edited or damaged); a finished sweep is not recomputed: run it "
            "again with another --out"
        )
    verify_folder(target)  # and the other files



@contextlib.contextmanager
def locked(folder: Path):
    """One sweep at a time writes a folder. A POSIX record lock belongs to this process alone:
    forked workers do not inherit it, and it goes when the process does, even by SIGKILL."""
    try:
        import fcntl
    except ImportError:  # not on POSIX: no lock
        yield
        return
    with open(folder / ".lock", "w") as f:
        try:
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise AdvsimError(f"{folder}: another advsim sweep is writing here") from None
        try:
            yield
        finally:
            fcntl.lockf(f, fcntl.LOCK_UN)
    (folder / ".lock").unlink(missing_ok=True)
