"""Many small one-model sectors as one array of replications: the engine's numbers for each.

The forecast layer runs the same advance model from hundreds of places or origins, each a
sector of a few hundred replications that differ only in their distance remaining, the regime
they start in and their random numbers. Run one by one, each pays the engine's fixed cost of a
day (about sixty numpy calls) on a tiny array. Here they are members of one group: their
replications are concatenated into one active set that every day steps in a handful of array
passes, each replication with its own objective.

Each member still draws from its own streams (``sector_streams(seed, chunk, sector)``), in the
order and sizes the engine draws them (base rates, then per block the noise of its replications
not yet fallen and its regime switches), and retires at every block's start as the engine
retires it there: a member's numbers are exactly those of its sector run by
:func:`sim.engine.simulate_chunk`, whatever else is in the group. So grouping changes neither
the law nor any number, the results do not depend on how members are packed into tasks or on the
workers, and a place's scenario file run alone reproduces the place.

Only sectors the advance alone moves can join (:func:`groupable`): no lines, milestones,
events, force term, attrition or reserves. Members of a group share their advance block (their
starting regime apart), horizon, start date and checkpoints (:func:`group_key`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import simpy

from .engine import (
    RETIRE_FRACTION,
    SectorChunk,
    _Buffered,
    _Late,
    day_blocks,
    first_sojourns,
    regime_chain,
    regime_days,
)
from .model.distributions import Fixed, Uniform
from .model.scenario import AxisSector, Scenario, Sector
from .seeds import BASE, NOISE, REGIME, sector_streams


@dataclass(frozen=True, kw_only=True)
class Member:
    """One sector's chunk in a group: ``n`` replications as chunk ``chunk`` of a run seeded
    with ``seed``."""

    sector: Sector
    seed: int
    chunk: int
    n: int


_ANY_BASE = Fixed(value=0.0)  # in a group's key: each member draws from its own base law


def _moved_by_advance_alone(s: Sector) -> bool:
    a = s.attrition
    return (not s.lines and not s.milestones and not s.strikes and not s.reinforcements
            and not s.modifiers and s.advance.force is None and a.model == "none"
            and a.attacker is None and a.defender is None and s.attacker.troops > 0
            and s.attacker.breakpoint_fraction < 1 and s.defender.breakpoint_fraction < 1)


def groupable(sc: Scenario) -> bool:
    """Whether every sector of ``sc`` can run as a member of a group: moved by its advance
    alone (troops that never change, so no side ever breaks), no theatre reserves."""
    return not sc.reserves and all(_moved_by_advance_alone(s) for s in sc.sectors)


def group_key(sc: Scenario, s: Sector) -> Hashable:
    """What the members of one group share: the advance block (whatever base pace each draws
    from, whatever regime each starts in, and however long it has already lasted), the
    horizon, the start date (the season's months) and the checkpoints."""
    adv = replace(s.advance, base_m_per_day=_ANY_BASE)
    if adv.regimes is not None:
        adv = replace(adv, regimes=replace(adv.regimes, initial="", elapsed_days=0.0))
    return (adv, sc.horizon_days, sc.start, sc.checkpoints_days)


def _season_by_day(season: tuple[float, ...], start: dt.date, days: int) -> list[float]:
    """The season's multiplier on each day (the month of the start date plus t days; past the
    last representable date, December, as the engine's months stop there)."""
    out, last = [], dt.date.max.toordinal()
    first = start.toordinal()
    for t in range(days):
        o = first + t
        out.append(season[dt.date.fromordinal(o).month - 1 if o <= last else 11])
    return out


class _Group:
    """The active replications of every member, concatenated member after member (so each
    member's are contiguous and in their order within its chunk), compacted as they fall."""

    def __init__(self, members: Sequence[Member], horizon_days: int, start: dt.date,
                 checkpoints_days: tuple[int, ...]) -> None:
        self.members = list(members)
        adv = self.members[0].sector.advance
        self.adv, self.h = adv, horizon_days
        self.checkpoint_at = {d: i for i, d in enumerate(checkpoints_days)}
        self.season = _season_by_day(adv.season, start, horizon_days)
        ns = np.array([m.n for m in self.members], dtype=np.int64)
        self.first = np.r_[0, np.cumsum(ns)]
        total = int(self.first[-1])
        self.mid = np.repeat(np.arange(len(self.members)), ns)  # member of each active one
        self.orig = np.arange(total)  # index into the concatenated outputs
        self.rngs = [sector_streams(m.seed, m.chunk, m.sector.name) for m in self.members]
        self.bases = [m.sector.advance.base_m_per_day.sample(r[BASE], m.n).astype(float)
                      for m, r in zip(self.members, self.rngs)]
        self.speed_scale = np.concatenate(
            [b * m.sector.m_to_u for b, m in zip(self.bases, self.members)])
        self.u_objective = np.repeat([float(m.sector.u_objective) for m in self.members], ns)
        self.u = np.zeros(total)
        self.done = np.zeros(total, dtype=bool)
        self.n_done = 0
        retreat = min([*(m.sector.advance.base_m_per_day.minimum for m in self.members),
                       *adv.season]
                      + ([adv.noise.minimum] if adv.noise is not None else []))
        self.regime = self.regime_until = None
        if adv.regimes:
            self.reg_factor, self.reg_cum = regime_chain(adv.regimes)
            retreat = min(retreat, *(r.factor for r in adv.regimes.states))
            self.sojourn_draws, self.switch_draws = [], []
            regime, until = [], []
            for m, streams in zip(self.members, self.rngs):  # as each sector's engine draws
                rng = streams[REGIME]
                soj = [_Buffered(st.sojourn_days, rng) for st in adv.regimes.states]
                self.sojourn_draws.append(soj)
                self.switch_draws.append(_Buffered(Uniform(low=0.0, high=1.0), rng))
                regs = m.sector.advance.regimes
                assert regs is not None  # the same block as the group's
                reg, ends = first_sojourns(regs, soj, m.n)  # as the engine draws them
                regime.append(reg)
                until.append(ends)
            self.regime, self.regime_until = np.concatenate(regime), np.concatenate(until)
        self.can_retreat = retreat < 0
        self.mult: np.ndarray | None = None
        self.b0 = 0
        self.out_objective = np.full(total, np.inf)
        self.out_progress = np.full((total, len(checkpoints_days)), np.nan)
        # Positions are u itself in axis sectors measured from their start: no mapping.
        self.plain = all(isinstance(m.sector, AxisSector) and not m.sector.start_km
                         for m in self.members)

    @property
    def active(self) -> int:
        return self.u.size

    def compact(self, t: int) -> None:
        """Drop the replications whose objective has fallen; t is the time reached."""
        if not self.n_done:
            return
        keep = ~self.done
        for name in ("u", "done", "speed_scale", "u_objective", "mid", "orig", "regime",
                     "regime_until"):
            arr = getattr(self, name)
            if arr is not None:
                setattr(self, name, arr[keep])
        if self.mult is not None:
            self.mult = self.mult[t - self.b0:, keep]
        self.b0 = t
        self.n_done = 0

    def start_block(self, b0: int, b1: int) -> None:
        """Each member's daily multiplier of days [b0, b1) drawn as its engine draws it (its
        noise in one call, its regimes expanded from its switch events), side by side."""
        adv, days = self.adv, b1 - b0
        if adv.noise is None and adv.regimes is None:
            self.mult, self.b0 = None, b0
            return
        counts = np.bincount(self.mid, minlength=len(self.members))
        ends = np.cumsum(counts)
        parts: list[np.ndarray] = []
        for g in np.flatnonzero(counts).tolist():
            k, sl = int(counts[g]), slice(int(ends[g] - counts[g]), int(ends[g]))
            mult = None
            if adv.noise is not None:
                mult = adv.noise.sample32(self.rngs[g][NOISE], days * k).reshape(days, k)
            if self.regime is not None and self.regime_until is not None:
                f = self.reg_factor[regime_days(
                    self.regime[sl], self.regime_until[sl], self.reg_cum,
                    self.switch_draws[g], self.sojourn_draws[g], b0, b1)]
                mult = f if mult is None else np.multiply(mult, f, out=mult)
            assert mult is not None  # noise, regimes or both
            parts.append(mult)
        self.mult = np.concatenate(parts, axis=1)
        self.b0 = b0

    def step(self, t: int) -> None:
        """Day t: the engine's step of a sector with nothing but its advance."""
        with np.errstate(over="ignore", invalid="ignore"):
            if self.mult is not None:
                speed = self.speed_scale * self.mult[t - self.b0]
            else:
                speed = self.speed_scale.copy()
            scalar = self.season[t]
            if scalar != 1.0:
                speed *= scalar
            if self.n_done:
                speed[self.done] = 0.0
            if not np.isfinite(speed.sum()):
                speed = np.nan_to_num(speed, nan=0.0)
        u_new = self.u + speed
        if self.can_retreat:
            np.maximum(u_new, 0.0, out=u_new)
        hit = np.flatnonzero((u_new >= self.u_objective) & ~self.done)
        if hit.size:
            at = self.u_objective[hit]
            u0 = self.u[hit]
            end = u0 + speed[hit] * 1.0  # the engine's end of day, from t0 = t
            hit, at, u0 = hit[end >= at], at[end >= at], u0[end >= at]
            self.out_objective[self.orig[hit]] = t + (at - u0) / speed[hit]
            self.done[hit] = True
            self.n_done += hit.size
            u_new[hit] = at
        self.u = u_new

    def record(self, t: int) -> None:
        cp = self.checkpoint_at.get(t)
        if cp is None:
            return
        if self.plain:
            self.out_progress[self.orig, cp] = self.u
            return
        for g in np.unique(self.mid).tolist():
            sel = self.mid == g
            self.out_progress[self.orig[sel], cp] = self.members[g].sector.output(self.u[sel])

    def days(self, env: simpy.Environment):
        yield _Late(env, 0)
        starts = [*day_blocks(self.h), self.h]
        block = 0
        for t in range(self.h):
            if t == starts[block]:
                block += 1
                self.compact(t)
                self.start_block(t, starts[block])
            self.step(t)
            self.record(t + 1)
            if self.n_done and RETIRE_FRACTION * self.n_done >= self.active:
                self.compact(t + 1)
            if not self.active or self.n_done == self.active:
                return
            yield _Late(env, 1)

    def outcomes(self) -> list[SectorChunk]:
        """Each member's outcomes; checkpoints after a replication's fall hold its objective."""
        out = []
        c = self.out_progress.shape[1]
        for g, m in enumerate(self.members):
            lo, hi = int(self.first[g]), int(self.first[g + 1])
            obj = self.out_objective[lo:hi]
            progress = self.out_progress[lo:hi]
            fill = np.isnan(progress) & np.isfinite(obj)[:, None]
            if fill.any():
                at = m.sector.output(np.full(m.n, float(m.sector.u_objective)))
                progress[fill] = np.broadcast_to(at[:, None], (m.n, c))[fill]
            out.append(SectorChunk(
                objective_day=obj, milestone_days=np.full((m.n, 0), np.inf), progress=progress,
                attacker_losses=np.zeros(m.n), defender_losses=np.zeros(m.n),
                base_m_per_day=self.bases[g], strikes=np.zeros(m.n, dtype=np.int64),
                band_counts=None, attacker_breakpoint_day=np.full(m.n, np.inf),
                defender_breakpoint_day=np.full(m.n, np.inf), forces_counts=None,
                forces_sums=None))
        return out


def simulate_group(members: Sequence[Member], horizon_days: int, start: dt.date,
                   checkpoints_days: tuple[int, ...]) -> list[SectorChunk]:
    """Every member's outcomes (in the order given), exactly as :func:`sim.engine.simulate_chunk`
    gives its sector's; the members share one advance block, horizon, start and checkpoints
    (see :func:`group_key`)."""
    if not members:
        return []
    env = simpy.Environment()
    group = _Group(members, horizon_days, start, checkpoints_days)
    env.process(group.days(env))
    env.run()
    return group.outcomes()
