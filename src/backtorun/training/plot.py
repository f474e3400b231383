"""Weekly-volume plot (matplotlib, PNG): stacked treadmill / outdoor running km per ISO week, walking as a line."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from backtorun.outputs import atomic_write, output_error  # noqa: E402
from backtorun.training.rules import TrainingAssessment  # noqa: E402


def write_weekly_volume_png(assessment: TrainingAssessment, path: str | Path, *, max_weeks: int = 16) -> Path:
    """Write the weekly-volume bar chart to ``path`` (PNG) and return the path. Weeks flagged by WEEKLY_30 are
    outlined in red; the partial current week is hatched."""
    weeks = list(assessment.weeks)[-max_weeks:]
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, out.parent) from None
    flagged = set()
    for f in assessment.findings:
        if f.code == "WEEKLY_30":
            flagged |= {w["week_start"] for w in f.values.get("weeks", [])}
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=120)
    try:
        x = list(range(len(weeks)))
        tm = [w.treadmill_km for w in weeks]
        od = [w.run_km - w.treadmill_km for w in weeks]
        bars1 = ax.bar(x, tm, color="#4c72b0", label="treadmill run km")
        bars2 = ax.bar(x, od, bottom=tm, color="#55a868", label="outdoor run km")
        if any(w.walk_km for w in weeks):
            ax.plot(x, [w.walk_km for w in weeks], "o--", color="#8172b2", label="walk km")
        for i, w in enumerate(weeks):
            if w.week_start.isoformat() in flagged:
                for b in (bars1[i], bars2[i]):
                    b.set_edgecolor("#c44e52")
                    b.set_linewidth(2)
            if w.partial:
                bars1[i].set_hatch("//")
                bars2[i].set_hatch("//")
        ax.set_xticks(x)
        ax.set_xticklabels([w.week_start.strftime("%d %b") for w in weeks], rotation=45, ha="right", fontsize=8)
        ax.set_ylabel("distance per week (km)")
        ax.set_title("Weekly running volume (red outline: > 30 % rise; hatched: partial week)", fontsize=9)
        ax.legend(fontsize=8, loc="upper left")
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        # temp file + rename: a full disk leaves any previous plot intact, never an empty PNG
        atomic_write(out, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)
    return out
