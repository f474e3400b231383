"""Contact detection on the vertical ground reaction force (threshold with hysteresis).

A contact starts when the vertical force rises above ``on_threshold_n`` and ends when it falls below
``off_threshold_n`` (hysteresis stops noise near one threshold from splitting a contact). The event times are
then placed at the crossing of ``event_threshold_n`` (20 N by default, a common force-plate criterion, e.g.
Fellin et al. 2010 J Biomech 43:2903 used 20 N; FootNet used 20–50 N) by linear interpolation between
samples, so the reference timing is not quantised to the force sampling interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Contact:
    """One foot contact on the plate: initial contact and toe-off times (s)."""

    ic_s: float
    to_s: float

    @property
    def duration_ms(self) -> float:
        return (self.to_s - self.ic_s) * 1000.0


def detect_contacts(force_n: np.ndarray, time_s: np.ndarray, *, on_threshold_n: float = 50.0,
                    off_threshold_n: float = 20.0, event_threshold_n: float = 20.0,
                    min_contact_s: float = 0.08) -> list[Contact]:
    """Contacts in a vertical-force signal (N) sampled at ``time_s``.

    Contacts shorter than ``min_contact_s`` are discarded. Contacts that touch the first or last sample are
    dropped because their start or end is unknown.
    """
    f = np.asarray(force_n, dtype=float)
    t = np.asarray(time_s, dtype=float)
    if f.shape != t.shape or f.ndim != 1:
        raise ValueError("force and time must be 1-D arrays of equal length")
    f = np.where(np.isfinite(f), f, 0.0)
    in_contact = np.zeros(f.size, dtype=bool)
    state = False
    for i, v in enumerate(f):
        if not state and v > on_threshold_n:
            state = True
        elif state and v < off_threshold_n:
            state = False
        in_contact[i] = state
    edges = np.diff(in_contact.astype(int))
    starts = list(np.flatnonzero(edges == 1) + 1)
    ends = list(np.flatnonzero(edges == -1) + 1)  # first sample out of contact
    if in_contact[0]:
        starts.insert(0, 0)
    if in_contact[-1]:
        ends.append(f.size)
    contacts: list[Contact] = []
    for s, e in zip(starts, ends):
        if s == 0 or e >= f.size:
            continue
        ic = _crossing_before(f, t, s, event_threshold_n)
        to = _crossing_after(f, t, e - 1, event_threshold_n)
        if to - ic >= min_contact_s:
            contacts.append(Contact(ic, to))
    return contacts


def _crossing_before(f: np.ndarray, t: np.ndarray, i: int, thr: float) -> float:
    """Time where the force rises through ``thr`` at or before sample ``i`` (linear interpolation)."""
    j = i
    while j > 0 and f[j] > thr:
        j -= 1
    if j == i:
        j = i - 1
    return _interp_cross(f, t, j, j + 1, thr)


def _crossing_after(f: np.ndarray, t: np.ndarray, i: int, thr: float) -> float:
    """Time where the force falls through ``thr`` at or after sample ``i``."""
    j = i
    while j < f.size - 1 and f[j] > thr:
        j += 1
    if j == i:
        j = i + 1 if i + 1 < f.size else i
    return _interp_cross(f, t, j - 1, j, thr)


def _interp_cross(f: np.ndarray, t: np.ndarray, a: int, b: int, thr: float) -> float:
    fa, fb = f[a], f[b]
    if fb == fa:
        return float(t[b])
    w = float(np.clip((thr - fa) / (fb - fa), 0.0, 1.0))
    return float(t[a] + w * (t[b] - t[a]))
