"""The far leg's rhythm gate: far-leg events are kept only when they keep the near leg's rhythm (issue #14 item 4).

In a side view the far foot is often hidden behind the near leg at touch-down, and a detector may place its
contact several frames off. Running alternates near IC, far IC, near IC …, each far IC about half a stride after
the near one, whatever the runner's speed or strike. So a far-leg IC is accepted only

* between two consecutive near-leg ICs a, b (b − a < 1.5 strides: no near contact missed), within
  ±(w·(b − a) + k·Δt) of their midpoint, and only the one closest to it per interval (alternation), or
* otherwise (clip ends, a missed near contact), within ±(w·T + k·Δt) of a + T/2 + n·T for the nearest whole n
  (a: the near IC before it, or the one after it at the start of the clip) — the rhythm continues across a missed
  near contact,

T = the near leg's median stride time, Δt = one frame, w = ``far_ic_window_stride`` and k = ``far_ic_window_frames``
(2: the ±1-frame uncertainty of the far IC and of the midpoint, §2 step 6) of the detector's settings (0.1 stride: a far IC 10 % of
a stride off the midpoint means a step-time asymmetry of 40 %, beyond any runner's). A dropped far IC takes its
stance's toe-off with it (the next far TO before the next far IC). Near-leg events are never touched, nor events of
a detector that labels no leg "far" (the rear detector). Side-view detectors call :func:`far_ic_keeps_rhythm` as
their last step (the side detector does). (D)
"""

from __future__ import annotations

import logging
import numpy as np

from backtorun.types import GaitEvent, GaitEvents

log = logging.getLogger(__name__)


def far_ic_keeps_rhythm(events: GaitEvents, *, near_side: str, window_stride: float, window_frames: float = 0.0,
                        frame_s: float = 0.0) -> GaitEvents:
    """``events`` without the far-leg stances (IC and its TO) whose IC is off the near leg's rhythm (module doc)."""
    near_t = np.array([e.time_s for e in events.select(side=near_side, kind="IC", leg="near")])  # type: ignore[arg-type]
    far_ic = [e for e in events.select(kind="IC", leg="far") if e.side != near_side]
    if near_t.size < 2 or not far_ic:
        return events
    period = float(np.median(np.diff(near_t)))
    slack = window_frames * frame_s
    best: dict[int, tuple[float, GaitEvent]] = {}  # near interval → (distance from its midpoint, far IC)
    kept: list[GaitEvent] = []
    for e in far_ic:
        j = int(np.searchsorted(near_t, e.time_s))
        a = float(near_t[j - 1]) if j > 0 else None
        b = float(near_t[j]) if j < near_t.size else None
        if a is not None and b is not None and b - a < 1.5 * period:
            dist = abs(e.time_s - 0.5 * (a + b))
            if dist <= window_stride * (b - a) + slack and (j not in best or dist < best[j][0]):
                best[j] = (dist, e)
            continue
        ref = a if a is not None else float(b)  # type: ignore[arg-type]
        cycles = (e.time_s - ref - 0.5 * period) / period  # near contacts missed: the rhythm continues
        if abs(cycles - round(cycles)) * period <= window_stride * period + slack:
            kept.append(e)
    keep_ic = {id(e) for e in kept} | {id(e) for _, e in best.values()}
    dropped = [e for e in far_ic if id(e) not in keep_ic]
    if not dropped:
        return events
    log.info("far leg: %d of %d initial contacts dropped (off the near leg's rhythm)", len(dropped), len(far_ic))
    far_side = far_ic[0].side
    far_ic_t = np.array(sorted(e.time_s for e in far_ic))
    drop_ids = {id(e) for e in dropped}
    for e in dropped:  # the stance's toe-off: the first far TO after the IC and before the far leg's next IC
        nxt = far_ic_t[far_ic_t > e.time_s]
        end = float(nxt[0]) if nxt.size else np.inf
        to = next((t for t in events.select(side=far_side, kind="TO", leg="far")  # type: ignore[arg-type]
                   if e.time_s < t.time_s < end), None)
        if to is not None:
            drop_ids.add(id(to))
    return GaitEvents(tuple(e for e in events if id(e) not in drop_ids))
