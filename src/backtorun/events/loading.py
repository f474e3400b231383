"""Initial contacts from the body's loading: the hip's vertical motion, not the foot (D; issue #14 item 3).

In flight the body falls freely; after initial contact (IC) the ground force grows, and the body's downward velocity
is largest when the force equals body weight. With the spring-mass half-sine force ``F(t) = F_max·sin(π·t/t_c)``
and one contact per step (mean force = body weight, so ``F_max/(m·g) = π·T_step/(2·t_c)``; Morin JB et al., A simple
method for measuring stiffness during running, J Appl Biomech 2005;21:167–80, docs/domain.md [108]) that moment comes
``τ = (t_c/π)·arcsin(2·t_c/(π·T_step))`` after IC and, the force being symmetric, the fastest rise comes τ before
toe-off. So, with D = time from the hip's fastest descent to its fastest rise, ``t_c = D + 2·τ(t_c)`` (solved by
fixed-point iteration) and IC = fastest descent − τ. ``T_step`` = half the stride period. No constant is fitted.

The hip centre stays at a nearly constant depth in a rear view and at a constant height scale in a side view, so its
image height is its true height in both: the signal bends with neither perspective nor the foot's occlusion, the
strike pattern or how low the foot glides in before touch-down — the three things that move foot-based IC between
runners. It is used by the rear-view detector for every IC and by the side-view detector as its
``ic_from_loading`` setting says.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from backtorun.conventions import L_HIP, R_HIP
from backtorun.types import PoseSeries


@dataclass(frozen=True)
class LoadingStep:
    """One step's loading: IC and hip-based TO times (s), the rows of the hip's fastest descent (``descent_row``) and
    fastest rise (``rise_row``), and the contact time (s) solving ``t_c = D + 2·τ(t_c)``."""

    ic_s: float
    to_s: float
    descent_row: int
    rise_row: int
    contact_s: float


def load_delay_s(contact_s: float, step_s: float) -> float:
    """Time (s) from IC to the largest downward body velocity under a half-sine ground force, i.e. when the force
    equals body weight: ``τ = (t_c/π)·arcsin(min(1, 2·t_c/(π·T_step)))`` (spring-mass model, Morin et al. 2005,
    J Appl Biomech 21:167; ``t_c`` contact time, ``T_step`` step time, both s)."""
    if not (contact_s > 0 and step_s > 0):
        return 0.0
    return float(contact_s / np.pi * np.arcsin(min(1.0, 2.0 * contact_s / (np.pi * step_s))))


def peak_time_s(sig: np.ndarray, t: np.ndarray, k: int) -> float:
    """Sub-frame time of the extremum of ``sig`` at index ``k`` (parabola through it and its neighbours)."""
    if 0 < k < sig.size - 1 and np.isfinite(sig[k - 1:k + 2]).all():
        a, b, c = sig[k - 1], sig[k], sig[k + 1]
        den = a - 2 * b + c
        if den != 0:
            off = float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
            return float(np.interp(k + off, np.arange(t.size), t))
    return float(t[k])


def filled(y: np.ndarray) -> np.ndarray:
    """``y`` with NaN gaps linearly interpolated (all-NaN stays NaN)."""
    ok = np.isfinite(y)
    if ok.sum() < 2:
        return y
    idx = np.arange(y.size)
    return np.interp(idx, idx[ok], y[ok])


def loading_steps(pose: PoseSeries, *, step_frames: float, fs: float, iterations: int) -> list[LoadingStep]:
    """Every step's loading from the hip centre's image height (module docstring).

    Fastest descents = maxima of the hip's downward image velocity at least 0.6 step apart; each is paired with the
    fastest rise within one step after it. ``step_frames``: the step period (frames, half the stride period);
    ``iterations``: fixed-point iterations for ``t_c`` (0 = no loading delay); ``fs``: sampling rate (Hz). Contact time is capped at one step
    (running: the feet are never both on the belt for long)."""
    t = np.asarray(pose.time_s, float)
    if pose.n_frames < 3 or not step_frames > 1:
        return []
    fs_step_s = step_frames / fs
    hip_y = filled(0.5 * (pose.xy[:, L_HIP, 1] + pose.xy[:, R_HIP, 1]))
    hip_v = np.gradient(hip_y, t)  # px/s, + = down
    if not np.isfinite(hip_v).all():
        return []
    out: list[LoadingStep] = []
    ks, _ = find_peaks(hip_v, height=0.0, distance=max(1, int(0.6 * step_frames)))
    for k in ks:
        end = min(hip_v.size - 1, k + int(round(step_frames)))
        if end - k < 2:
            continue
        m = k + int(np.argmin(hip_v[k:end + 1]))
        if m <= k or m >= end or hip_v[m] >= 0:
            continue
        t_k, t_m = peak_time_s(hip_v, t, k), peak_time_s(hip_v, t, m)
        contact_s, tau = t_m - t_k, 0.0
        for _ in range(iterations):
            tau = load_delay_s(contact_s, fs_step_s)
            contact_s = min(fs_step_s, (t_m - t_k) + 2.0 * tau)
        out.append(LoadingStep(ic_s=t_k - tau, to_s=t_m + tau, descent_row=int(k), rise_row=int(m),
                               contact_s=float(contact_s)))
    return out

