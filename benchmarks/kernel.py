"""A pure-numpy kernel of an axis sector of the shipped advance model, to measure the engine by.

Written for speed alone, without SimPy, agendas or outputs beyond those compared: every
replication's days are arrays of a block of days at once (noise drawn in one call; regime
switches drawn as events and expanded; strikes scattered into a dense log-supply array, summed
and exponentiated once; troops in closed form), the reflection at the start line is exact (the
running minimum of the cumulative advance, Lindley's recursion in closed form), and
replications whose objective has fallen are retired between blocks, which grow as the survivors
thin out.

It follows the model of ``sim.engine`` for an axis sector with: a base rate drawn once per
replication, daily noise, Markov regimes with drawn sojourns, a force term with
``daily_fraction`` attrition (or none) and reinforcements with a readiness delay, strikes on
logistics, modifiers over date ranges and the season by calendar month; milestones, the
objective (fractional days) and progress at checkpoints. It leaves out what no benchmarked
sector uses: defensive lines, area sectors, Lanchester attrition, theatre reserves, losses and
breakpoints. It draws its own random numbers: it agrees with the engine in law, not draw for
draw (tests/test_kernel.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from sim.model.scenario import Scenario, Sector

FIRST_BLOCK_DAYS = 8
LAST_BLOCK_DAYS = 64
CHUNK = 10_000  # replications at a time, as the engine's chunks


@dataclass(kw_only=True)
class KernelSector:
    """One sector's outcomes from the kernel, in the shape of the engine's."""

    objective_day: np.ndarray  # +inf where not within the horizon
    milestone_days: np.ndarray  # (n, milestones), +inf where not reached
    progress: np.ndarray  # (n, checkpoints): km advanced
    strikes: np.ndarray


def blocks(horizon_days: int) -> list[tuple[int, int]]:
    """[start, end) day ranges of growing blocks covering the horizon."""
    out, b0, size = [], 0, FIRST_BLOCK_DAYS
    while b0 < horizon_days:
        out.append((b0, min(b0 + size, horizon_days)))
        b0 += size
        size = min(2 * size, LAST_BLOCK_DAYS)
    return out


def day_multipliers(sc: Scenario, s: Sector) -> np.ndarray:
    """Season × modifiers on each day of the horizon."""
    h = sc.horizon_days
    days = np.datetime64(sc.start.isoformat(), "D") + np.arange(h)
    months = days.astype("datetime64[M]").astype(np.int64) % 12  # 0: January
    out = np.asarray(s.advance.season, dtype=float)[months]
    for m in s.modifiers:
        out[max(m.start_day, 0):min(m.end_day, h)] *= m.factor
    return out


def run_sector(sc: Scenario, s: Sector, n: int, rng: np.random.Generator) -> KernelSector:
    """``n`` replications of axis sector ``s`` of scenario ``sc``."""
    if s.kind != "axis" or s.lines or s.attrition.model not in ("none", "daily_fraction"):
        raise ValueError(f"the kernel covers axis sectors without lines and with daily_fraction "
                         f"attrition or none (sector {s.name!r})")
    h, adv = sc.horizon_days, s.advance
    goal = s.u_objective
    ms_u = np.array([s.u(m.at) for m in s.milestones])
    checkpoints = np.array(sc.checkpoints_days)
    per_day = day_multipliers(sc, s)

    speed_scale = adv.base_m_per_day.sample(rng, n) * s.m_to_u  # u per day at multiplier 1
    x = np.zeros(n)
    objective_day = np.full(n, np.inf)
    milestone_days = np.full((n, ms_u.size), np.inf)
    progress = np.full((n, checkpoints.size), np.nan)

    # Forces: troops at the start of a block's first day, before that day's arrivals.
    force = adv.force
    att = np.full(n, float(s.attacker.troops))
    dfn = np.full(n, float(s.defender.troops))
    if s.attrition.model == "daily_fraction":
        keep_att = np.log1p(-s.attrition.attacker.sample(rng, n))  # log of the kept fraction
        keep_dfn = np.log1p(-s.attrition.defender.sample(rng, n))
    else:
        keep_att = keep_dfn = np.zeros(n)
    arrivals = []  # (side, day, replication, troops)
    for r in s.reinforcements:
        if r.day >= h:
            continue
        delay = r.readiness_days.sample(rng, n) if r.readiness_days else np.zeros(n)
        day = r.day + np.ceil(np.minimum(delay, h)).astype(np.int64)
        ok = np.flatnonzero(day < h)
        arrivals.append((r.side, day[ok], ok, np.full(ok.size, float(r.troops))))

    # Strikes: runs of rises or falls of log supply, each sorted by day. n replications' Poisson
    # processes of rate r are one of rate n·r whose strikes fall on replications drawn
    # uniformly: drawn day by day, they come sorted by the day they land.
    strike_count = np.zeros(n, dtype=np.int64)
    runs = []
    for k in s.strikes:
        start, end = max(k.start_day, 0), min(k.end_day, h)
        if start >= h:
            continue
        first = np.repeat(np.arange(start, end), rng.poisson(k.rate_per_day * n, end - start))
        rep = rng.integers(0, n, first.size)
        strike_count += np.bincount(rep, minlength=n)
        log_f = np.log(np.maximum(k.factor.sample(rng, first.size), 1e-12))
        duration = np.minimum(k.duration_days.sample(rng, first.size), h + 1)
        last = np.minimum(first + np.ceil(duration).astype(np.int64), h + 1)
        order = np.argsort(last.astype(np.int16 if h < 2**15 - 2 else np.int64), kind="stable")
        runs += [(first, rep, log_f), (last[order], rep[order], -log_f[order])]
    log_supply = np.zeros(n)  # at the start of the next block, per replication
    strikes_on = bool(runs)

    regimes = adv.regimes
    if regimes:
        names = [r.name for r in regimes.states]
        reg_factor = np.array([r.factor for r in regimes.states], dtype=np.float32)
        p = np.zeros((len(names), len(names)))
        for i, r in enumerate(regimes.states):
            for target, prob in r.next:
                p[i, names.index(target)] = prob
        reg_cum = np.cumsum(p, axis=1)
        reg_cum[:, -1] = 1.0
        state = np.full(n, names.index(regimes.initial), dtype=np.int64)
        if regimes.elapsed_days:
            until = residual_sojourns(regimes, rng, n)
        else:
            until = sojourns(regimes, rng, state, np.zeros(n))

    live = np.arange(n)  # replications still active
    for b0, b1 in blocks(h):
        if not live.size:
            break
        k, B = live.size, b1 - b0
        pos = pos_of(n, live)
        mult = np.broadcast_to(per_day[b0:b1, None].astype(np.float32), (B, k))
        if adv.noise is not None:
            mult = adv.noise.sample32(rng, B * k).reshape(B, k) * mult
        if regimes:
            mult = mult * reg_factor[regime_days(regimes, rng, reg_cum, state, until, live,
                                                 b0, b1)]
        if strikes_on:
            cells, weights = [], []
            for day_r, rep_r, val_r in runs:
                lo, hi = np.searchsorted(day_r, [b0, b1])
                p_ev = pos[rep_r[lo:hi]]
                ok = p_ev >= 0
                cells.append((day_r[lo:hi][ok] - b0) * k + p_ev[ok])
                weights.append(val_r[lo:hi][ok])
                log_supply += np.bincount(rep_r[lo:hi][~ok], weights=val_r[lo:hi][~ok],
                                          minlength=n)
            dense = np.bincount(np.concatenate(cells), weights=np.concatenate(weights),
                                minlength=B * k)
            dense = dense.astype(float, copy=False).reshape(B, k)
            dense[0] += log_supply[live]
            np.cumsum(dense, axis=0, out=dense)
            log_supply[live] = dense[-1]
            mult = mult * np.exp(dense.astype(np.float32))
        if force is not None or s.attrition.model != "none":
            # Troops on day b0 + d are level × kept^d, the level being the block's first
            # troops plus each arrival discounted to then: one exp for the ratio of the sides.
            d = np.arange(B, dtype=np.float32)[:, None]
            levels = []
            for side, now, keep in (("attacker", att, keep_att), ("defender", dfn, keep_dfn)):
                keep_k = keep[live].astype(np.float32)
                add = None
                for a_side, a_day, a_rep, a_troops in arrivals:
                    sel = np.flatnonzero((a_day >= b0) & (a_day < b1))
                    sel = sel[pos[a_rep[sel]] >= 0] if a_side == side else sel[:0]
                    if sel.size:
                        add = np.zeros((B, k), dtype=np.float32) if add is None else add
                        pa, row = pos[a_rep[sel]], a_day[sel] - b0
                        add[row, pa] += a_troops[sel] * np.exp(-row * keep_k[pa])
                start = now[live].astype(np.float32)
                level = start if add is None else start + np.cumsum(add, axis=0)
                now[live] = (level if add is None else level[-1]) * np.exp(B * keep[live])
                levels.append(level)
            if force is not None:
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    scale = (s.attacker.quality / (s.defender.quality * force.reference_ratio))
                    ratio = np.exp(d * (keep_att[live] - keep_dfn[live]).astype(np.float32))
                    ratio *= levels[0] * np.float32(scale)
                    ratio /= levels[1]
                    if not np.all(levels[1]):
                        ratio[np.broadcast_to(levels[1] == 0, ratio.shape)] = np.inf
                    cut = ratio < force.culmination_ratio / force.reference_ratio
                    factor = (np.sqrt(ratio, out=ratio) if force.elasticity == 0.5
                              else ratio ** np.float32(force.elasticity))
                    np.minimum(factor, np.float32(force.max_factor), out=factor)
                factor[cut] = 0.0
                mult = mult * factor
            if not np.all(levels[0] > 0):
                mult = mult * np.broadcast_to(levels[0] > 0, mult.shape)
        speed = mult * speed_scale[live].astype(np.float32)  # (B, k): u per day

        # Positions at the end of each day, reflected at the start line: Lindley's recursion
        # W_d = max(W_{d-1} + a_d, 0) is S_d - min(-x0, min_{j<=d} S_j).
        x0 = x[live]
        path = np.cumsum(speed, axis=0, dtype=np.float64)
        low = np.minimum(np.minimum.accumulate(path, axis=0), -x0)
        path -= low
        start_of_day = np.vstack([x0, path[:-1]])
        top = path.max(axis=0)

        day_path = (b0, path, start_of_day, top)
        obj_pos, obj_when = first_crossing(day_path, goal, np.zeros(k, dtype=bool))
        objective_day[live[obj_pos]] = obj_when
        for j, at in enumerate(ms_u):
            cand, when = first_crossing(day_path, at, np.isfinite(milestone_days[live, j]))
            milestone_days[live[cand], j] = when
        for c, day in enumerate(checkpoints):
            if b0 < day <= b1:
                progress[live, c] = np.where(objective_day[live] <= day, goal, path[day - b0 - 1])
        x[live] = path[-1]
        live = live[~np.isfinite(objective_day[live])]

    # Replications retired before a checkpoint stay at the objective; the rest where they are.
    for c in range(checkpoints.size):
        todo = np.isnan(progress[:, c])
        progress[todo, c] = np.where(np.isfinite(objective_day[todo]), goal,
                                     np.minimum(x[todo], goal))
    milestone_days = np.minimum(milestone_days, objective_day[:, None])  # passed on the way
    return KernelSector(objective_day=objective_day, milestone_days=milestone_days,
                        progress=s.output(progress), strikes=strike_count)


def first_crossing(day_path: tuple, threshold: float,
                   reached: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Active positions that first reach ``threshold`` in a block, and when: ``day_path`` is
    the block's first day, positions at the end and start of each day, and the highest."""
    b0, path, start_of_day, top = day_path
    cand = np.flatnonzero((top >= threshold) & ~reached)
    if not cand.size:
        return cand, np.empty(0)
    row = (path[:, cand] >= threshold).argmax(axis=0)
    u0 = start_of_day[row, cand]
    return cand, b0 + row + (threshold - u0) / (path[row, cand] - u0)  # the day's advance


def pos_of(n: int, live: np.ndarray) -> np.ndarray:
    pos = np.full(n, -1)
    pos[live] = np.arange(live.size)
    return pos


def sojourns(regimes, rng: np.random.Generator, state: np.ndarray,
             since: np.ndarray) -> np.ndarray:
    until = since.astype(float).copy()
    for i, r in enumerate(regimes.states):
        sel = np.flatnonzero(state == i)
        if sel.size:
            until[sel] += r.sojourn_days.sample(rng, sel.size)
    return until


def residual_sojourns(regimes, rng: np.random.Generator, n: int) -> np.ndarray:
    """The first sojourn of a regime already ``elapsed_days`` old, by its definition (a draw
    of T given T > e, less e), by rejection: independent of the engine's inverse-CDF mapping."""
    e = regimes.elapsed_days
    dist = next(r for r in regimes.states if r.name == regimes.initial).sojourn_days
    out = np.empty(0)
    while out.size < n:
        t = dist.sample(rng, 4 * n)
        out = np.concatenate([out, t[t > e] - e])
    return out[:n]


def regime_days(regimes, rng, reg_cum: np.ndarray, state: np.ndarray, until: np.ndarray,
                live: np.ndarray, b0: int, b1: int) -> np.ndarray:
    """The regime of each active replication on each day of [b0, b1), (days, active): switch
    events drawn until each replication's next one falls past the block, then expanded. A
    regime entered at time τ rules from day ⌈τ⌉. ``state`` and ``until`` advance in place."""
    k = live.size
    stage = np.zeros((b1 - b0, k), dtype=np.int16)  # the last switch in effect, per day
    states = [state[live].copy()]
    j = 0
    due = np.flatnonzero(until[live] <= b1 - 1)
    while due.size:
        j += 1
        reps = live[due]
        draw = rng.random(due.size)
        new = (draw[:, None] < reg_cum[state[reps]]).argmax(axis=1)
        row = np.maximum(np.ceil(until[reps]).astype(np.int64) - b0, 0)
        stage[row, due] = j
        nxt = states[-1].copy()
        nxt[due] = new
        states.append(nxt)
        state[reps] = new
        until[reps] = sojourns(regimes, rng, new, until[reps])
        due = due[until[reps] <= b1 - 1]
    np.maximum.accumulate(stage, axis=0, out=stage)
    return np.stack(states)[stage, np.arange(k)]


def run(sc: Scenario, n: int, seed: int, sectors: list[str] | None = None,
        chunk: int = CHUNK) -> dict[str, KernelSector]:
    """The kernel on every sector of ``sc`` (or those named), each from its own stream, in
    chunks of ``chunk`` replications (arrays of a block of days that stay in cache)."""
    ss = np.random.SeedSequence(seed)
    out = {}
    for s, child in zip(sc.sectors, ss.spawn(len(sc.sectors))):
        if sectors is None or s.name in sectors:
            rng = np.random.default_rng(child)
            parts = [run_sector(sc, s, min(chunk, n - lo), rng) for lo in range(0, n, chunk)]
            out[s.name] = KernelSector(**{
                f.name: np.concatenate([getattr(p, f.name) for p in parts])
                for f in dataclasses.fields(KernelSector)})
    return out
