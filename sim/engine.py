"""The batched SimPy engine: one environment drives the clock of a whole chunk of replications.

The state of every replication in a chunk lives in numpy arrays. Scheduled scenario events
(reinforcements, modifiers, month changes, the start of a strike campaign) are SimPy processes;
per-replication random times (line breaches, regime switches, strikes, troops finishing their
training) are arrays applied with masks, so the number of SimPy events grows with simulated days
and scenario events, not with replications.

Days run in blocks that grow (4, 8, ... 64 days, cut where a strike campaign starts). At each
block's start every sector draws the block's daily noise in one call, expands its replications'
regime switches (drawn as events) into a regime per day, and scatters its strikes into a dense
log-supply array summed over days and exponentiated once; the product of the three is the
block's daily multiplier. Each sector retires its own replications once its objective has fallen
(whatever the other sectors do), as soon as they are an eighth of its active set and at every
block's start: a retired replication costs nothing more in that sector. Per-day histograms
(bands of progress and of troops) are kept only when asked for (``bands``).

Every sector works in a progress coordinate ``u`` that grows linearly with the daily advance:
km advanced on an axis; km² taken in an area sector with a fixed front; and √A₀ − √A where the
front scales as √A (then √A falls linearly in time, the closed form of that model). Lines,
milestones and the objective are thresholds in ``u``.

The engine takes a validated Scenario and seeds and returns arrays: no files, no printing.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np
import simpy
from simpy.events import Event

from .model.distributions import Distribution, Uniform
from .model.scenario import Regimes, Scenario, Sector
from .seeds import ATTRITION as _ATTRITION
from .seeds import BASE as _BASE
from .seeds import LINES as _LINES
from .seeds import NOISE as _NOISE
from .seeds import REGIME as _REGIME
from .seeds import REINFORCE as _REINFORCE
from .seeds import STRIKES as _STRIKES
from .seeds import reserve_stream, sector_streams

CHUNK_SIZE = 10_000  # replications per chunk; fixed so any worker count gives the same numbers
BINS = 1024  # per-day histogram bins over (0, objective] in u, plus bin 0 for u == 0 exactly
DONE_BIN = BINS + 1  # and one for replications whose objective has fallen
FORCE_BINS = 512  # per-day histogram bins of each side's troops over (0, most it can have]
SIDES = ("attacker", "defender")
_LATE = 2  # SimPy priority below NORMAL: the daily step runs after a day's scheduled events
FIRST_BLOCK_DAYS, LAST_BLOCK_DAYS = 4, 64  # days drawn at once: doubling from the first
RETIRE_FRACTION = 8  # retire once done replications are 1/8 of a sector's active set


class _Late(Event):
    """A timeout that fires after every ordinary event of the same instant."""

    def __init__(self, env: simpy.Environment, delay: float) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, _LATE, delay)  # type: ignore[arg-type]  # SimPy's priorities are ints


class _Agenda:
    """Per-replication changes due on given days (troops arriving, strikes landing or ending),
    filed by day. Replications are named by their index within the chunk, so the agenda
    survives the compaction of the active set."""

    def __init__(self) -> None:
        # day -> [(replications, values, first, last)]: a day's slice of a batch sorted by day
        self.by_day: dict[int, list[tuple[np.ndarray, np.ndarray, int, int]]] = {}

    def add(self, days: np.ndarray, reps: np.ndarray, values: np.ndarray) -> None:
        if not days.size:
            return
        small = days.astype(np.int16) if days.max() < 2**15 else days  # radix sort: fast
        order = np.argsort(small, kind="stable")
        days, reps, values = days[order], reps[order], values[order]
        cuts = np.r_[0, np.flatnonzero(np.diff(days)) + 1, days.size].tolist()
        for d, lo, hi in zip(days[cuts[:-1]].tolist(), cuts[:-1], cuts[1:]):
            self.by_day.setdefault(d, []).append((reps, values, lo, hi))

    def apply(self, t: int, targets: tuple[np.ndarray, ...], pos: np.ndarray,
              skip: np.ndarray | None = None) -> bool:
        """Add the changes due on day t into each of ``targets``, indexed by current position
        ``pos`` of each replication (-1 once retired), except at positions where ``skip`` is
        set. Returns whether anything was due."""
        items = self.by_day.pop(t, None)
        if not items:
            return False
        reps = np.concatenate([r[lo:hi] for r, _, lo, hi in items])
        values = np.concatenate([v[lo:hi] for _, v, lo, hi in items])
        p = pos[reps]
        live = p >= 0
        if skip is not None:
            live &= ~skip[np.maximum(p, 0)]
        for target in targets:
            np.add.at(target, p[live], values[live])
        return True


class _Buffered:
    """Draws of one distribution handed out from blocks: the engine asks for a few draws at a
    time (regime switches, line breaches) and a numpy call per request would dominate."""

    def __init__(self, dist: Distribution, rng: np.random.Generator, block: int = 4096) -> None:
        self.dist, self.rng, self.block = dist, rng, block
        self.buf = np.empty(0)
        self.i = 0

    def take(self, k: int) -> np.ndarray:
        if self.i + k > self.buf.size:
            fresh = self.dist.sample(self.rng, max(self.block, k))
            self.buf = np.concatenate([self.buf[self.i:], fresh])
            self.i = 0
        out = self.buf[self.i : self.i + k]
        self.i += k
        return out


@dataclass(kw_only=True)
class SectorChunk:
    """Outcomes of one sector over one chunk: per-replication arrays and, when asked for,
    per-day histograms (None otherwise)."""

    objective_day: np.ndarray  # fractional day the objective fell; inf where not within horizon
    milestone_days: np.ndarray  # (n, milestones), inf where not reached
    progress: np.ndarray  # (n, checkpoints): km advanced (axis) or km² held (area)
    attacker_losses: np.ndarray
    defender_losses: np.ndarray
    base_m_per_day: np.ndarray
    strikes: np.ndarray  # number of strikes on logistics within the horizon
    band_counts: np.ndarray | None  # (horizon + 1, DONE_BIN + 1) histogram of u per day
    # The day during which each side's troops fall to its breakpoint (day d runs from d to
    # d + 1, the date of day d); inf if not within the horizon.
    attacker_breakpoint_day: np.ndarray
    defender_breakpoint_day: np.ndarray
    # (sides, horizon + 1, FORCE_BINS + 1): per-day histograms of each side's troops (bin 0:
    # none left) and the sums of the troops in each bin, whose means are the bins' values.
    forces_counts: np.ndarray | None
    forces_sums: np.ndarray | None


class _SectorState:
    """Per-replication state of one sector. Arrays hold the sector's active replications and are
    compacted as they retire; ``orig`` names each by its index within the chunk, ``pos`` maps an
    index within the chunk to its active position (-1 once retired)."""

    def __init__(self, sc: Scenario, s: Sector, n: int, seed: int, chunk: int,
                 bands: bool) -> None:
        self.s = s
        self.geo = g = s  # its geometry maps positions to the progress coordinate u
        self.u_objective, self.m_to_u = g.u_objective, g.m_to_u
        self.h = h = sc.horizon_days
        self.n = n
        self.rng = sector_streams(seed, chunk, s.name)  # see sim.seeds
        adv = s.advance
        self.bands = bands

        self.orig = np.arange(n)
        self.pos = np.arange(n)
        self.retired = 0
        self.n_done = 0
        self.done_idx = np.empty(0, dtype=np.intp)  # positions done since the last compaction

        self.u = np.zeros(n)
        self.done = np.zeros(n, dtype=bool)
        self.base = adv.base_m_per_day.sample(self.rng[_BASE], n).astype(float)
        self.speed_scale = self.base * self.m_to_u  # du per day at a multiplier of 1
        self.att = np.full(n, float(s.attacker.troops))
        self.dfn = np.full(n, float(s.defender.troops))
        self.att_in, self.dfn_in = self.att.copy(), self.dfn.copy()  # every troop that came
        self.arrivals = {"attacker": _Agenda(), "defender": _Agenda()}  # troops arriving
        self.modifiers: list[float] = []
        self.modifier = 1.0

        a = s.attrition
        self.coef_att = a.attacker.sample(self.rng[_ATTRITION], n) if a.attacker else None
        self.coef_dfn = a.defender.sample(self.rng[_ATTRITION], n) if a.defender else None
        self.keep_att = self.keep_dfn = None  # daily_fraction: the fraction kept each day
        if a.model == "daily_fraction":
            assert self.coef_att is not None and self.coef_dfn is not None
            self.keep_att, self.keep_dfn = 1.0 - self.coef_att, 1.0 - self.coef_dfn
        # Whether a side's troops can fall to nothing (Lanchester, or a whole day's troops lost).
        self.can_vanish = [
            a.model.startswith("lanchester")
            or (a.model == "daily_fraction" and coef is not None and bool((coef >= 1).any()))
            for coef in (self.coef_att, self.coef_dfn)
        ]
        self.att_may_be_zero = s.attacker.troops <= 0 or self.can_vanish[0]

        # Thresholds: lines, milestones and the objective, in u.
        self.line_u = np.array([g.u(ln.at) for ln in s.lines] + [np.inf])
        self.line_idx = np.zeros(n, dtype=np.int64)
        self.breach_draws = [_Buffered(ln.breach_days, self.rng[_LINES]) for ln in s.lines]
        self.hold_until = np.zeros(n)
        self.ms_u = np.array([g.u(m.at) for m in s.milestones] + [np.inf])
        self.ms_order = np.argsort(self.ms_u[:-1], kind="stable")
        self.ms_sorted = np.append(self.ms_u[:-1][self.ms_order], np.inf)
        self.ms_idx = np.zeros(n, dtype=np.int64)
        self.next_u = np.empty(n)
        self._refresh_next(slice(None))

        # The block's daily multiplier (noise × regime × supply), rows from day b0.
        self.mult: np.ndarray | None = None
        self.b0 = 0
        # Strikes: runs of rises or falls of log supply (days, indices within the chunk,
        # values), each run sorted by day; ``log_supply_at`` sums those before the current
        # block, per index within the chunk.
        self.strike_runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.log_supply_at = np.zeros(n)
        retreat = min([adv.base_m_per_day.minimum, *adv.season]
                      + [m.factor for m in s.modifiers]
                      + ([adv.noise.minimum] if adv.noise is not None else []))
        if adv.regimes:
            self.reg_factor, self.reg_cum = regime_chain(adv.regimes)
            retreat = min(retreat, *(r.factor for r in adv.regimes.states))
            rng = self.rng[_REGIME]
            self.sojourn_draws = [_Buffered(r.sojourn_days, rng) for r in adv.regimes.states]
            self.switch_draws = _Buffered(Uniform(low=0.0, high=1.0), rng)
            self.regime, self.regime_until = first_sojourns(adv.regimes, self.sojourn_draws, n)
        self.can_retreat = retreat < 0  # a negative daily advance is possible: reflect at 0

        # Outputs, by original index within the chunk.
        m, c = len(s.milestones), len(sc.checkpoints_days)
        self.out_objective = np.full(n, np.inf)
        self.out_ms = np.full((n, m), np.inf)
        self.out_progress = np.full((n, c), np.nan)
        self.out_att_lost = np.zeros(n)
        self.out_dfn_lost = np.zeros(n)
        self.out_strikes = np.zeros(n, dtype=np.int64)
        self.out_base = self.base.copy()
        self.band: np.ndarray | None = None
        self.f_counts: np.ndarray | None = None
        self.f_sums: np.ndarray | None = None
        if bands:
            # One chunk's counts: the smallest type that holds n keeps what workers send back
            # small.
            self.band = np.zeros((h + 1, DONE_BIN + 1), dtype=np.min_scalar_type(n))
            # Forces by day: troops stop changing in a sector once its objective has fallen.
            self.f_counts = np.zeros((2, h + 1, FORCE_BINS + 1), dtype=np.min_scalar_type(n))
            self.f_sums = np.zeros((2, h + 1, FORCE_BINS + 1))
        self.bin_scale = min(BINS / g.u_objective, sys.float_info.max)  # finite, if tiny
        self.f_retired = np.zeros((2, 2, FORCE_BINS + 1))  # (counts, sums) of retired reps
        # Finite even for the tiniest troop counts (1/5e-324 overflows to inf).
        self.f_scale = [min(FORCE_BINS / (c * (1 + 1e-9)), sys.float_info.max) if c > 0 else 0.0
                        for c in troops_cap(sc, s)]
        self.f_changed = True  # whether troops may have changed since the last record
        self.f_arrived = True  # whether troops arrived: peaks can only grow then
        self.f_frac = (s.attacker.breakpoint_fraction, s.defender.breakpoint_fraction)
        # A side's breakpoint needs checking if it lies above nothing or troops can vanish.
        self.check_break = [self.f_frac[i] > 0 or self.can_vanish[i] for i in (0, 1)]
        self.peak_att, self.peak_dfn = self.att.copy(), self.dfn.copy()
        # A side breaks when its troops fall to its threshold: -inf while it has never had
        # troops, NaN once broken (no troops compare below either).
        self.thr_att, self.thr_dfn = np.full(n, -np.inf), np.full(n, -np.inf)
        self.out_break = np.full((2, n), np.inf)
        self.last_recorded = -1

    @property
    def active(self) -> int:
        return self.u.size

    # -- helpers -------------------------------------------------------------------------------
    def _refresh_next(self, idx) -> None:
        nxt = np.minimum(self.line_u[self.line_idx[idx]], self.ms_sorted[self.ms_idx[idx]])
        self.next_u[idx] = np.minimum(nxt, self.u_objective)

    def own_ratio(self, side: str) -> np.ndarray:
        """Effective strength of ``side`` over the other side's, per replication."""
        a = self.att * self.s.attacker.quality
        d = self.dfn * self.s.defender.quality
        own, other = (a, d) if side == "attacker" else (d, a)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            r = own / other
        if not other.all():  # no enemy left: infinitely superior, unless neither side has troops
            r[other == 0] = np.where(own[other == 0] > 0, np.inf, 0.0)
        return r

    # -- blocks of days ------------------------------------------------------------------------
    def start_block(self, b0: int, b1: int) -> None:
        """Draw the daily multiplier of days [b0, b1) for every active replication: noise in
        one call, regimes expanded from their switch events, supply from the strikes."""
        adv, k, days = self.s.advance, self.active, b1 - b0
        mult = None
        if adv.noise is not None:
            mult = adv.noise.sample32(self.rng[_NOISE], days * k).reshape(days, k)
        if adv.regimes is not None:
            f = self.reg_factor[self._regime_days(b0, b1)]
            mult = f if mult is None else np.multiply(mult, f, out=mult)
        if self.strike_runs:
            supply = self._supply(b0, b1)
            if supply is not None:
                mult = supply if mult is None else np.multiply(mult, supply, out=mult)
        self.mult, self.b0 = mult, b0

    def _regime_days(self, b0: int, b1: int) -> np.ndarray:
        """The regime of each active replication on each day of [b0, b1), (days, active)."""
        return regime_days(self.regime, self.regime_until, self.reg_cum, self.switch_draws,
                           self.sojourn_draws, b0, b1)

    def _supply(self, b0: int, b1: int) -> np.ndarray | None:
        """exp(log supply) on days [b0, b1): the strikes' rises and falls scattered into a dense
        array, summed over days, exponentiated once in single precision."""
        k, days = self.active, b1 - b0
        start = self.log_supply_at[self.orig]
        cells, weights = [], []
        for day, rep, val in self.strike_runs:
            lo, hi = np.searchsorted(day, [b0, b1])
            if lo == hi:
                continue
            p = self.pos[rep[lo:hi]]
            live = p >= 0
            cells.append((day[lo:hi][live] - b0) * k + p[live])
            weights.append(val[lo:hi][live])
            self.log_supply_at += np.bincount(rep[lo:hi], weights=val[lo:hi], minlength=self.n)
        if not cells and not start.any():
            return None
        dense = np.bincount(np.concatenate(cells) if cells else np.empty(0, np.intp),
                            weights=np.concatenate(weights) if weights else None,
                            minlength=days * k)
        dense = dense.astype(float, copy=False).reshape(days, k)
        dense[0] += start
        np.cumsum(dense, axis=0, out=dense)
        return np.exp(dense.astype(np.float32))

    # -- retirement ----------------------------------------------------------------------------
    def retire(self, t: int, checkpoints_days: tuple[int, ...], force: bool = False) -> None:
        """Retire the replications whose objective has fallen, once they are a large enough
        share of the active set (or any, with ``force``); t is the time reached."""
        n_done = self.n_done
        if not n_done or (not force and RETIRE_FRACTION * n_done < self.active):
            return
        done, keep = self.done, ~self.done
        later = next((i for i, d in enumerate(checkpoints_days) if d > t), None)
        self.flush(done, later)
        if self.bands:
            self.retire_forces(done)
        for name in ("u", "done", "base", "speed_scale", "att", "dfn", "att_in", "dfn_in",
                     "line_idx", "hold_until", "ms_idx", "next_u", "coef_att", "coef_dfn",
                     "keep_att", "keep_dfn", "regime", "regime_until", "peak_att", "peak_dfn",
                     "thr_att", "thr_dfn"):
            arr = getattr(self, name, None)
            if arr is not None:
                setattr(self, name, arr[keep])
        if self.mult is not None:
            self.mult = self.mult[t - self.b0:, keep]
        self.b0 = t
        self.orig = self.orig[keep]
        self.pos[:] = -1
        self.pos[self.orig] = np.arange(self.orig.size)
        self.retired += n_done
        self.n_done = 0
        self.done_idx = np.empty(0, dtype=np.intp)

    # -- one day -------------------------------------------------------------------------------
    def step(self, t: int, season: float) -> None:
        s = self.s
        arrived = self.arrivals["attacker"].apply(t, (self.att, self.att_in), self.pos,
                                                  self.done)
        arrived |= self.arrivals["defender"].apply(t, (self.dfn, self.dfn_in), self.pos,
                                                   self.done)
        if arrived:  # the most troops a side has had counts them on arrival, before losses
            np.maximum(self.peak_att, self.att, out=self.peak_att)
            np.maximum(self.peak_dfn, self.dfn, out=self.peak_dfn)
            self.f_arrived = True
        self.f_changed |= arrived or s.attrition.model != "none"

        with np.errstate(over="ignore", invalid="ignore"):
            if self.mult is not None:
                speed = self.speed_scale * self.mult[t - self.b0]
            else:
                speed = self.speed_scale.copy()
            scalar = season * self.modifier
            if scalar != 1.0:
                speed *= scalar
            if s.advance.force is not None:
                speed *= self._force_factor()
            if self.att_may_be_zero:
                speed[self.att <= 0] = 0.0
            if self.n_done:
                speed[self.done_idx] = 0.0
            if not np.isfinite(speed.sum()):
                # Factors whose product overflows: an advance past any objective within the
                # day (the largest float), or none where one of them is zero (inf × 0).
                speed = np.nan_to_num(speed, nan=0.0)

        if s.attrition.model != "none":
            self._attrite()

        if s.lines:
            # Held at a line until hold_until: the day's movement starts then, if before its end.
            moving_from = np.clip(self.hold_until, t, t + 1)
            du = speed * (t + 1 - moving_from)
        else:
            moving_from = None
            du = speed
        u_new = self.u + du
        if self.can_retreat:
            np.maximum(u_new, 0.0, out=u_new)
        crossed = np.flatnonzero(u_new >= self.next_u)
        if crossed.size:
            t0 = np.full(crossed.size, float(t)) if moving_from is None else moving_from[crossed]
            u_new[crossed] = self._cross(t, crossed, speed[crossed], t0)
        self.u = u_new

    def _force_factor(self) -> np.ndarray:
        f = self.s.advance.force
        assert f is not None  # called only for sectors with a force term
        if self.s.attacker.quality == 1 and self.s.defender.quality == 1:
            with np.errstate(divide="ignore", invalid="ignore"):
                r = self.att / self.dfn
            if not self.dfn.all():  # no enemy left: infinitely superior, unless neither has any
                zero = self.dfn == 0
                r[zero] = np.where(self.att[zero] > 0, np.inf, 0.0)
        else:
            r = self.own_ratio("attacker")
        cut = r < f.culmination_ratio if f.culmination_ratio > 0 else None
        with np.errstate(divide="ignore", over="ignore"):
            rel = np.divide(r, f.reference_ratio, out=r)
            factor = np.sqrt(rel, out=rel) if f.elasticity == 0.5 else rel**f.elasticity
            factor = np.minimum(factor, f.max_factor, out=factor)
        if cut is not None:
            factor[cut] = 0.0
        return factor

    def _attrite(self) -> None:
        """One day's losses of the replications still fighting (not those whose objective has
        fallen: their troops stay as they were)."""
        model = self.s.attrition.model
        a, d = self.att, self.dfn
        ca, cd = self.coef_att, self.coef_dfn
        assert ca is not None and cd is not None  # drawn for every attrition model but none
        done = self.done_idx
        kept = (a[done], d[done]) if self.n_done else None
        if model == "daily_fraction":
            assert self.keep_att is not None and self.keep_dfn is not None
            a *= self.keep_att
            d *= self.keep_dfn
            if kept is not None:
                a[done], d[done] = kept
            return
        if model == "lanchester_square":
            # Exact one-day propagator of dA/dt = -a D, dD/dt = -b A (constant coefficients).
            root = np.sqrt(ca * cd)
            # Past √(ab) = 20 the day decides the fight (tanh 20 is 1 in double precision) and
            # cosh would overflow: the weaker by √b·A against √a·D goes, unless the two are
            # exactly matched and both decay by e^-√(ab).
            decided = root > 20
            r = np.where(decided, 0.0, root) if decided.any() else root
            ch = np.cosh(r)
            sh_over = np.where(r > 0, np.sinh(r) / np.where(r > 0, r, 1), 1.0)
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                new_a = a * ch - ca * d * sh_over
                new_d = d * ch - cd * a * sh_over
                sides: tuple[np.ndarray, np.ndarray] | None = None  # √b·A, √a·D, when needed
                if decided.any():
                    sides = sa, sd = np.sqrt(cd) * a, np.sqrt(ca) * d
                    keep = np.where(sa == sd, np.exp(-root), 1.0)
                    new_a = np.where(decided, np.where(sa < sd, -1.0, a * keep), new_a)
                    new_d = np.where(decided, np.where(sd < sa, -1.0, d * keep), new_d)
                # A side wiped out within the day: the survivor keeps what the invariant
                # b·A² − a·D² leaves it at that instant, not what the propagator runs on to:
                # X·√(1 − q²) with q the ratio of √a·D and √b·A, free of overflow.
                if (new_d < 0).any() or (new_a < 0).any():
                    sa, sd = sides if sides is not None else (np.sqrt(cd) * a, np.sqrt(ca) * d)
                    q, p = sd / sa, sa / sd
                    new_a = np.where(new_d < 0, a * np.sqrt(np.maximum((1 - q) * (1 + q), 0)),
                                     new_a)
                    new_d = np.where(new_a < 0, d * np.sqrt(np.maximum((1 - p) * (1 + p), 0)),
                                     new_d)
        else:
            # Exact one-day solution of dA/dt = -a A D, dD/dt = -b A D; K = bA - aD is invariant.
            k = cd * a - ca * d
            small = np.abs(k) < 1e-12
            ks = np.where(small, 1.0, k)
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                g_minus = np.where(small, 1.0, -np.expm1(-k) / ks)
                g_plus = np.where(small, 1.0, np.expm1(k) / ks)
                # Where the other side inflicts no losses (b·A = 0), 0 × an overflowed g is 0.
                new_a = a / (np.exp(-k) + np.where(cd * a > 0, cd * a * g_minus, 0.0))
                new_d = d / (np.exp(k) + np.where(ca * d > 0, ca * d * g_plus, 0.0))
            new_a = np.where(a > 0, new_a, 0.0)
            new_d = np.where(d > 0, new_d, 0.0)
        new_a = np.clip(new_a, 0.0, a)
        new_d = np.clip(new_d, 0.0, d)
        if kept is not None:
            new_a[done], new_d[done] = kept
        self.att, self.dfn = new_a, new_d

    def _cross(self, t: int, idx: np.ndarray, speed: np.ndarray, t0: np.ndarray) -> np.ndarray:
        """Where replications ``idx`` end day t, after the lines, milestones and objective they
        reach on the way, each recorded at the instant it is reached. Each moves at ``speed``
        (du per day) from u0 at time t0; a line stops it until its breach, perhaps within the
        same day."""
        u0 = self.u[idx].copy()
        end = u0 + speed * (t + 1 - t0)
        for _ in range(len(self.line_u) + len(self.ms_u) + 1):
            pos = np.flatnonzero((end >= self.next_u[idx]) & ~self.done[idx])
            if not pos.size:
                break
            i, at = idx[pos], self.next_u[idx[pos]]
            when = t0[pos] + (at - u0[pos]) / speed[pos]  # speed > 0: u0 < threshold <= end
            ms = self.ms_sorted[self.ms_idx[i]] <= at
            if ms.any():
                j = i[ms]
                self.out_ms[self.orig[j], self.ms_order[self.ms_idx[j]]] = when[ms]
                self.ms_idx[j] += 1
            ln = self.line_u[self.line_idx[i]] <= at
            if ln.any():
                j = i[ln]
                resume = when[ln] + self._breach_days(self.line_idx[j])
                self.hold_until[j] = resume
                self.line_idx[j] += 1
                k = pos[ln]
                t0[k], u0[k] = resume, at[ln]
                end[k] = at[ln] + speed[k] * np.maximum(t + 1 - resume, 0.0)
            ob = at >= self.u_objective
            if ob.any():
                j = i[ob]
                self.out_objective[self.orig[j]] = when[ob]
                self.done[j] = True
                self.done_idx = np.concatenate([self.done_idx, j])
                self.n_done += j.size
                end[pos[ob]] = self.u_objective
            self._refresh_next(i)
        return end

    def _breach_days(self, line: np.ndarray) -> np.ndarray:
        out = np.empty(line.size)
        for k in np.unique(line):
            sel = line == k
            out[sel] = self.breach_draws[k].take(int(sel.sum()))
        return out

    # -- outputs -------------------------------------------------------------------------------
    def record(self, t: int, checkpoint: int | None) -> None:
        """Record the state at time t: progress at a checkpoint, the sides that reach their
        breakpoint and, when asked for, the day's histograms."""
        self.last_recorded = t
        if checkpoint is not None:
            self.out_progress[self.orig, checkpoint] = self.geo.output(self.u)
        if self.band is not None:
            b = np.minimum(np.ceil(self.u * self.bin_scale).astype(np.intp), BINS)
            b[self.done] = DONE_BIN
            self.band[t] += np.bincount(b, minlength=DONE_BIN + 1).astype(self.band.dtype)
            self.band[t, DONE_BIN] += self.retired
        self._record_forces(t)

    def _force_bins(self, side: int, troops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b = np.minimum(np.ceil(troops * self.f_scale[side]), FORCE_BINS).astype(np.intp)
        return (np.bincount(b, minlength=FORCE_BINS + 1),
                np.bincount(b, weights=troops, minlength=FORCE_BINS + 1))

    def _record_forces(self, t: int) -> None:
        """The sides that reach their breakpoint and, when asked for, the day's histograms of
        troops."""
        if not self.f_changed and t > 0:
            if self.f_counts is not None and self.f_sums is not None:
                self.f_counts[:, t] = self.f_counts[:, t - 1]
                self.f_sums[:, t] = self.f_sums[:, t - 1]
            return
        self.f_changed = False
        if self.f_counts is not None and self.f_sums is not None:
            for side, troops in enumerate((self.att, self.dfn)):
                counts, sums = self._force_bins(side, troops)
                self.f_counts[side, t] = counts + self.f_retired[side, 0]
                self.f_sums[side, t] = sums + self.f_retired[side, 1]
        sides = ((0, self.att, self.peak_att, self.thr_att),
                 (1, self.dfn, self.peak_dfn, self.thr_dfn))
        if self.f_arrived:  # troops only fall between arrivals: peaks and thresholds hold
            self.f_arrived = False
            for side, troops, peak, thr in sides:
                np.maximum(peak, troops, out=peak)
                live = ~np.isnan(thr)
                thr[live] = np.where(peak[live] > 0, self.f_frac[side] * peak[live], -np.inf)
        for side, troops, _, thr in sides:
            if not self.check_break[side]:
                continue
            hit = np.flatnonzero(troops <= thr)
            if hit.size:
                thr[hit] = np.nan
                self.out_break[side, self.orig[hit]] = t - 1  # during the day before

    def retire_forces(self, sel: np.ndarray) -> None:
        """Keep the troops of replications leaving the active set: they count every later day."""
        for side, troops in enumerate((self.att, self.dfn)):
            counts, sums = self._force_bins(side, troops[sel])
            self.f_retired[side, 0] += counts
            self.f_retired[side, 1] += sums

    def flush(self, sel: np.ndarray | slice, checkpoints_after: int | None = None) -> None:
        """Write the final per-replication outputs of positions ``sel``; fill later checkpoints
        with their final state when they leave the active set early."""
        o = self.orig[sel]
        self.out_att_lost[o] = self.att_in[sel] - self.att[sel]
        self.out_dfn_lost[o] = self.dfn_in[sel] - self.dfn[sel]
        if checkpoints_after is not None:
            later = np.arange(checkpoints_after, self.out_progress.shape[1])
            self.out_progress[o[:, None], later] = self.geo.output(self.u[sel])[:, None]

    def outcomes(self) -> SectorChunk:
        """The chunk's outcomes; the histograms' days after the last recorded hold every
        replication as retired."""
        after = self.last_recorded + 1
        if self.band is not None:
            self.band[after:, DONE_BIN] = self.n
        if self.f_counts is not None and self.f_sums is not None:
            self.f_counts[:, after:] = self.f_retired[:, 0, None].astype(self.f_counts.dtype)
            self.f_sums[:, after:] = self.f_retired[:, 1, None]
        return SectorChunk(
            objective_day=self.out_objective,
            milestone_days=self.out_ms,
            progress=self.out_progress,
            attacker_losses=self.out_att_lost,
            defender_losses=self.out_dfn_lost,
            base_m_per_day=self.out_base,
            strikes=self.out_strikes,
            band_counts=self.band,
            attacker_breakpoint_day=self.out_break[0],
            defender_breakpoint_day=self.out_break[1],
            forces_counts=self.f_counts,
            forces_sums=self.f_sums,
        )


class _ChunkRun:
    """Drives the sectors and reserves of one chunk through the days of the horizon."""

    def __init__(self, sc: Scenario, seed: int, chunk: int, n: int, bands: bool) -> None:
        self.sc = sc
        self.h = sc.horizon_days
        self.sectors = [_SectorState(sc, s, n, seed, chunk, bands) for s in sc.sectors]
        self.by_name = {st.s.name: st for st in self.sectors}
        # Reserves by index within the chunk: (reserve, troops left, last release per sector).
        self.reserves = [
            (r, np.full(n, float(r.troops)), np.full((len(r.sectors), n), -np.inf),
             reserve_stream(seed, chunk, r.name))
            for r in sc.reserves
        ]
        self.checkpoint_at = {d: i for i, d in enumerate(sc.checkpoints_days)}
        self.month = sc.start.month - 1
        self.block_starts = block_starts(sc)

    def start(self, env: simpy.Environment) -> None:
        env.process(self.days(env))
        env.process(self.months(env))
        for st in self.sectors:
            for r in st.s.reinforcements:
                if r.day < self.h:
                    env.process(self.reinforce(env, st, r))
            for m in st.s.modifiers:
                if m.start_day < self.h:
                    env.process(self.modify(env, st, m))
            for k in st.s.strikes:
                if k.start_day < self.h:
                    env.process(self.strike_campaign(env, st, k))

    # -- scheduled events ----------------------------------------------------------------------
    def months(self, env: simpy.Environment):
        """Calendar month changes, for the season multipliers."""
        day, date = 0, self.sc.start
        while (date.year, date.month) != (date.max.year, 12):  # no month after December 9999
            nxt = date.replace(day=1, month=date.month % 12 + 1,
                               year=date.year + (date.month == 12))
            day += (nxt - date).days
            date = nxt
            if day >= self.h:
                return
            yield env.timeout(day - env.now)
            self.month = date.month - 1

    def reinforce(self, env: simpy.Environment, st: _SectorState, r):
        yield env.timeout(r.day)
        n = st.active
        delay = r.readiness_days.sample(st.rng[_REINFORCE], n) if r.readiness_days else 0.0
        # Capped at the horizon before the cast: later arrivals are dropped all the same.
        day = r.day + np.ceil(np.minimum(np.zeros(n) + delay, self.h)).astype(np.int64)
        ok = day < self.h
        st.arrivals[r.side].add(day[ok], st.orig[ok], np.full(int(ok.sum()), float(r.troops)))

    def modify(self, env: simpy.Environment, st: _SectorState, m):
        yield env.timeout(m.start_day)
        st.modifiers.append(m.factor)
        st.modifier = math.prod(st.modifiers)
        yield env.timeout(m.end_day - m.start_day)
        st.modifiers.remove(m.factor)
        st.modifier = math.prod(st.modifiers)

    def strike_campaign(self, env: simpy.Environment, st: _SectorState, k):
        """Draw every active replication's strikes of the campaign at once, day by day: a
        Poisson process of rate r in each of n replications is one of rate n·r whose events
        fall on replications drawn uniformly (so the strikes come sorted by the day they land).
        Each has a supply factor and a duration; its log factor adds to the supply from its
        first day and leaves it after its last. A block of days starts with every campaign, so
        the block's supply sees it."""
        yield env.timeout(k.start_day)
        h, n, rng = self.h, st.active, st.rng[_STRIKES]
        end = min(k.end_day, h)
        per_day = rng.poisson(k.rate_per_day * n, end - k.start_day)
        total = int(per_day.sum())
        first = np.repeat(np.arange(k.start_day, end), per_day)
        rep = st.orig[rng.integers(0, n, total)] if n else np.empty(0, np.int64)
        log_f = np.log(np.maximum(k.factor.sample(rng, total), 1e-12))
        duration = np.minimum(k.duration_days.sample(rng, total), h + 1)  # castable to int
        last = np.minimum(first + np.ceil(duration).astype(np.int64), h + 1)
        order = np.argsort(last.astype(np.int16) if h < 2**15 - 2 else last, kind="stable")
        st.strike_runs += [(first, rep, log_f), (last[order], rep[order], -log_f[order])]
        st.out_strikes += np.bincount(rep, minlength=st.n)

    # -- the days ------------------------------------------------------------------------------
    def days(self, env: simpy.Environment):
        yield _Late(env, 0)
        self.record(0)
        starts = [*self.block_starts, self.h]
        block = 0
        cps = self.sc.checkpoints_days
        live = [st for st in self.sectors if st.active]
        for t in range(self.h):
            if t == starts[block]:
                block += 1
                for st in live:
                    st.retire(t, cps, force=True)
                live = [st for st in live if st.active]
                for st in live:
                    st.start_block(t, starts[block])
            self.release_reserves(t, live)
            for st in live:
                st.step(t, st.s.advance.season[self.month])
            self.record(t + 1, live)
            for st in live:
                st.retire(t + 1, cps)
            live = [st for st in live if st.active]
            if not live:
                return
            yield _Late(env, 1)

    def record(self, t: int, sectors: list[_SectorState] | None = None) -> None:
        cp = self.checkpoint_at.get(t)
        for st in self.sectors if sectors is None else sectors:
            st.record(t, cp)

    def release_reserves(self, t: int, live: list[_SectorState]) -> None:
        for r, pool, last, rng in self.reserves:
            rule = r.release
            for si, name in enumerate(r.sectors):
                st = self.by_name[name]
                if st not in live:
                    continue
                o = st.orig
                want = (st.own_ratio(r.side) < rule.below_ratio) & ~st.done & (pool[o] > 0)
                want &= t - last[si, o] >= rule.every_days
                idx = o[want]  # indices within the chunk
                if not idx.size:
                    continue
                amount = np.minimum(rule.batch_troops, pool[idx])
                pool[idx] -= amount
                last[si, idx] = t
                transit = np.minimum(r.transit_days.sample(rng, idx.size), self.h)
                day = t + np.ceil(transit).astype(np.int64)
                ok = day < self.h
                st.arrivals[r.side].add(day[ok], idx[ok], amount[ok])

    def finish(self) -> dict[str, SectorChunk]:
        for st in self.sectors:
            if st.active:
                st.flush(slice(None))
        return {st.s.name: st.outcomes() for st in self.sectors}



def regime_chain(regimes: Regimes) -> tuple[np.ndarray, np.ndarray]:
    """The chain's factors (float32) and its transition matrix's cumulative rows, in the
    order of its states."""
    names = [r.name for r in regimes.states]
    p = np.zeros((len(names), len(names)))
    for i, r in enumerate(regimes.states):
        for target, prob in r.next:
            p[i, names.index(target)] = prob
    cum = np.cumsum(p, axis=1)
    cum[:, -1] = 1.0
    return np.array([r.factor for r in regimes.states], dtype=np.float32), cum


def first_sojourns(regimes: Regimes, draws: list[_Buffered],
                   n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` replications in the initial regime and when their first sojourn ends: a fresh
    sojourn, or, when the regime has already lasted ``elapsed_days``, the same draws mapped to
    the residual of its law beyond them."""
    i = [r.name for r in regimes.states].index(regimes.initial)
    regime = np.full(n, i, dtype=np.int64)
    until = sojourn_ends(draws, regime, np.zeros(n))
    if regimes.elapsed_days:
        until = regimes.states[i].sojourn_days.residual(until, regimes.elapsed_days)
    return regime, until


def sojourn_ends(draws: list[_Buffered], regime: np.ndarray, since: np.ndarray) -> np.ndarray:
    """When each replication's sojourn in ``regime`` (entered at ``since``) ends: the draws of
    each regime taken in regime order."""
    until = since.copy()
    for i, d in enumerate(draws):
        sel = regime == i
        k = int(sel.sum())
        if k:
            until[sel] += d.take(k)
    return until


def regime_days(regime: np.ndarray, until: np.ndarray, reg_cum: np.ndarray,
                switch_draws: _Buffered, sojourn_draws: list[_Buffered],
                b0: int, b1: int) -> np.ndarray:
    """The regime of each replication on each day of [b0, b1), (days, replications): its
    switches drawn as events until the next falls past the block, then expanded (a regime
    entered at time τ rules from day ⌈τ⌉, as a switch is due once its time has come).
    ``regime`` and ``until`` are updated in place to the block's end."""
    k = regime.size
    stage = np.zeros((b1 - b0, k), dtype=np.int32)  # the latest switch in effect, per day
    states = [regime.copy()]
    due = np.flatnonzero(until <= b1 - 1)
    while due.size:
        draw = switch_draws.take(due.size)
        new = (draw[:, None] < reg_cum[regime[due]]).argmax(axis=1)
        row = np.maximum(np.ceil(until[due]).astype(np.int64) - b0, 0)
        stage[row, due] = len(states)
        after = states[-1].copy()
        after[due] = new
        states.append(after)
        regime[due] = new
        until[due] = sojourn_ends(sojourn_draws, new, until[due])
        due = due[until[due] <= b1 - 1]
    if len(states) == 1:
        return np.broadcast_to(states[0], (b1 - b0, k))
    np.maximum.accumulate(stage, axis=0, out=stage)
    return np.stack(states)[stage, np.arange(k)]

def block_starts(sc: Scenario) -> list[int]:
    """The first days of the blocks of days drawn at once: doubling in length from
    FIRST_BLOCK_DAYS to LAST_BLOCK_DAYS, and cut where a strike campaign starts."""
    return day_blocks(sc.horizon_days, {k.start_day for s in sc.sectors for k in s.strikes})


def day_blocks(horizon_days: int, cuts: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """The first days of the blocks of a horizon: doubling in length from FIRST_BLOCK_DAYS to
    LAST_BLOCK_DAYS, and cut at each day of ``cuts`` within the horizon."""
    starts, day, size = {0}, 0, FIRST_BLOCK_DAYS
    while day < horizon_days:
        starts.add(day)
        day += size
        size = min(2 * size, LAST_BLOCK_DAYS)
    starts |= {d for d in cuts if 0 <= d < horizon_days}
    return sorted(starts)


def troops_cap(sc: Scenario, s: Sector) -> tuple[float, float]:
    """The most troops each side of sector ``s`` can have: its own, every reinforcement and every
    reserve of its side that can release to it."""
    return tuple(  # type: ignore[return-value]
        float(getattr(s, side).troops)
        + sum(r.troops for r in s.reinforcements if r.side == side)
        + sum(r.troops for r in sc.reserves if r.side == side and s.name in r.sectors)
        for side in SIDES
    )


def simulate_chunk(scenario: Scenario, seed: int, chunk: int, n: int,
                   bands: bool = True) -> dict[str, SectorChunk]:
    """Run ``n`` replications as chunk ``chunk`` of a run seeded with ``seed``; ``bands``: keep
    the per-day histograms of progress and troops (for bands and fan charts)."""
    env = simpy.Environment()
    run = _ChunkRun(scenario, seed, chunk, n, bands)
    run.start(env)
    env.run()
    return run.finish()
