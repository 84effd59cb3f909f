"""A backtest's folder: its scores (the JSON ``--json`` prints), its projections as the long
quantile table, and a manifest (kind, provenance with the inputs' hashes, checksums), written
whole and read back checked."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AdvsimError
from .quantiles import QuantileTable

KIND = "backtest"
SCORES = "scores.json"
QUANTILES = "quantiles.csv"
FILES = (SCORES, QUANTILES)


@dataclass(frozen=True, kw_only=True)
class SavedBacktest:
    """A backtest as its folder holds it: what a report shows of it."""

    manifest: dict[str, Any]
    scores: dict[str, Any]  # the summary of one origin, many origins or a self-test
    quantiles: QuantileTable
    path: Path | None = None

    @property
    def form(self) -> str:
        """``one_origin``, ``origins`` or ``self_test``."""
        return self.manifest.get("form", "one_origin")

    def _what(self) -> str:
        """The backtest's form in words: from one origin, from many, or a self-test."""
        s = self.scores
        if self.form == "self_test":
            test = s.get("self_test") or {}
            return (f"self-test on {test.get('series', '?')} series drawn from "
                    f"{test.get('truth', '?')}")
        if self.form == "origins":
            return f"from {len(s.get('origins') or [])} origins"
        sectors = s.get("sectors") or {}
        origin = next((v.get("origin") for v in sectors.values() if isinstance(v, dict)),
                      s.get("start"))
        return f"from {origin}"

    def __repr__(self) -> str:
        from ..presentation.notebook import one_line, short

        parts = [one_line(self._what(), 80)]
        if self.scores.get("replications") is not None:
            parts.append(f"{self.scores['replications']:,} replications")
        parts.append(f"seed {self.scores.get('seed')}")
        return short("SavedBacktest", self.scores.get("scenario", "?"), parts)

    def _repr_html_(self) -> str:
        """A notebook's view: the pooled scores of the model and each baseline (many origins,
        a self-test), or each sector's scores (one origin)."""
        from ..presentation.notebook import SCORE_HEADER, html, score_rows

        s = self.scores
        against = "" if self.form == "self_test" else f" against {s.get('observed')}"
        where = f" · {self.path}" if self.path is not None else ""
        title = s.get("scenario", "?")
        if self.form != "one_origin":
            p = s.get("pooled") or {}
            return html(title, f"{self._what()}{against} · {p.get('n_obs', 0):,} scored "
                        f"dates{where}", SCORE_HEADER, score_rows(p))
        rows = [(name, v.get("unit"), v.get("n_obs", len(v.get("days") or [])), v.get("crps"),
                 v.get("coverage_50"), v.get("coverage_90"), v.get("crps_skill"))
                for name, v in (s.get("sectors") or {}).items()]
        return html(title, f"backtest {self._what()}{against}{where}",
                    ["sector", "unit", "scored dates", "CRPS", "cover 50%", "cover 90%",
                     "skill/trailing"], rows)

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str]) -> SavedBacktest:
        """Read a folder :func:`write` wrote, its files checked against the manifest's
        checksums; anything else is one AdvsimError."""
        from ..artifacts.files import read_manifest

        p = Path(folder)
        manifest = read_manifest(p, KIND, required=FILES)
        try:
            scores = json.loads((p / SCORES).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise AdvsimError(f"{p}: cannot read {SCORES} ({e})") from None
        return cls(manifest=manifest, scores=scores, quantiles=QuantileTable.read(p / QUANTILES),
                   path=p)


def write(folder: str | os.PathLike[str], backtest: Any, *,
          inputs: dict[str, str | os.PathLike[str] | None] | None = None) -> Path:
    """Write ``backtest`` (one origin, many origins or a self-test: anything with
    ``summary()``, and ``quantiles()`` where it has projections of observed series) into
    ``folder``, whole or not at all. ``inputs`` names the files it read (``scenario``,
    ``observed``); their sha256 go into the manifest's provenance."""
    from ..artifacts.files import atomic_dir, provenance, sha256_file, write_manifest

    summary = backtest.summary()
    form = ("self_test" if "self_test" in summary else
            "origins" if "origins" in summary else "one_origin")
    table = backtest.quantiles() if hasattr(backtest, "quantiles") else QuantileTable.from_rows([])
    hashes = {f"{name}_sha256": sha256_file(path) for name, path in (inputs or {}).items()
              if path is not None and Path(path).is_file()}
    target = Path(folder)
    with atomic_dir(target) as tmp:
        (tmp / SCORES).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        table.write(tmp / QUANTILES, keep=False)
        write_manifest(tmp, KIND, {
            "form": form,
            **provenance(seed=summary["seed"], **hashes),
            "scenario": summary.get("scenario"),
            "observed": summary.get("observed"),
            "replications": summary.get("replications"),
            "inputs": {k: os.fspath(v) for k, v in (inputs or {}).items() if v is not None},
        })
    return target
