"""Use case: a whole Back To Running Evaluation — every available part → :class:`Evaluation` → report.

Order: technique analyses (side, rear) → intake and red-flag screen → gait findings (so the tests know which gait
findings exist) → tests → training logs → all findings → plan (or referral) → evaluation.json → metronome WAV →
report (HTML, PDF, plots).
"""

from __future__ import annotations

import logging
import shutil
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from backtorun.errors import InputError
from backtorun.evaluation import Evaluation, InputFile, describe_input, software_versions
from backtorun.report.render import render_report as _render_report
from backtorun.types import Finding, GaitAnalysis

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]
METRONOME_MINUTES = 20.0  # when the plan does not say (domain.md §9 R1: 20-min metronome runs)

__all__ = ["run_evaluation", "render_report", "run_demo", "demo_inputs", "cadence_targets"]


def render_report(evaluation: Evaluation, out_dir: Path, *, asset_dir: Path | None = None,
                  pdf: bool = True) -> dict[str, Path]:
    """Render report.html/.pdf (clinician), runner.html/.pdf (runner) and plots/*.png into ``out_dir``."""
    return _render_report(evaluation, out_dir, asset_dir=asset_dir, pdf=pdf)


def _noop(_stage: str, _fraction: float) -> None:
    return None


def _monotonic(progress: Progress) -> Progress:
    """Progress whose fraction never goes back (sub-steps restart their own counts)."""
    best = [0.0]

    def report(stage: str, fraction: float) -> None:
        best[0] = max(best[0], float(fraction))
        progress(stage, best[0])

    return report


def _analyze(view: str, video: Path | None, keypoints: Path | None, out_dir: Path, *, height_cm: float | None,
             speed_mps: float | None, fps: float | None, progress: Progress,
             span: tuple[float, float] = (0.0, 1.0)) -> GaitAnalysis | None:
    """One view's analysis (video or keypoints) with its outputs in ``out_dir/<view>``; None without input.

    Frame-level progress is mapped into ``span`` of the whole evaluation, so the overall fraction never goes back.
    """
    from backtorun.services import analysis as _analysis

    sub = out_dir / view
    if video is not None:
        def frame_progress(done: int, total: int) -> None:
            frac = min(1.0, done / total) if total else 0.0
            progress(f"{view} video: pose and annotated video", span[0] + frac * (span[1] - span[0]))

        return _analysis.analyze_video_file(video, sub, view=view, height_cm=height_cm, speed_mps=speed_mps,
                                            progress=frame_progress)
    if keypoints is not None:
        return _analysis.analyze_keypoints_file(keypoints, sub, fps=fps, view=view, height_cm=height_cm,
                                                speed_mps=speed_mps)
    return None


def cadence_targets(plan: Mapping[str, Any] | None) -> list[float]:
    """Cadence targets (spm) of a plan dictionary, first target first (empty when the plan has none)."""
    if not plan:
        return []
    cad = plan.get("cadence")
    if isinstance(cad, Mapping):
        for key in ("targets_spm", "targets"):
            t = cad.get(key)
            if isinstance(t, (list, tuple)):
                vals = [x.get("spm", x.get("target_spm")) if isinstance(x, Mapping) else x for x in t]
                return [float(v) for v in vals if v is not None]
        for key in ("target_spm", "first_target_spm"):
            if cad.get(key) is not None:
                return [float(cad[key])]
    return []


def _existing(path: Path | None, what: str) -> Path | None:
    if path is None:
        return None
    path = Path(path)
    if not (path.is_file() or (path.is_dir() and what.endswith("keypoints"))):
        raise InputError(f"{what} not found: {path}", hint="check the path")
    return path


def run_evaluation(
    *,
    side_video: Path | None = None,
    rear_video: Path | None = None,
    side_keypoints: Path | None = None,
    rear_keypoints: Path | None = None,
    intake: Path | None = None,
    tests: Path | None = None,
    logs: Sequence[Path] = (),
    out_dir: Path,
    height_cm: float | None = None,
    speed_mps: float | None = None,
    keypoints_fps: float | None = None,
    patient: Mapping[str, Any] | None = None,
    session: Mapping[str, Any] | None = None,
    rules_path: Path | None = None,
    attribution: Sequence[str] = (),
    pdf: bool = True,
    progress: Progress | None = None,
) -> Evaluation:
    """Run every part for which an input is given, write ``evaluation.json`` and the report into ``out_dir``.

    Analysis outputs go to ``out_dir/side`` and ``out_dir/rear``; the metronome WAV at the first cadence target is
    written when a plan with a cadence target exists; a red flag replaces the plan with a referral.
    """
    report = _monotonic(progress or _noop)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    named = {"side_video": side_video, "rear_video": rear_video, "side_keypoints": side_keypoints,
             "rear_keypoints": rear_keypoints, "intake": intake, "tests": tests}
    for role, path in named.items():
        _existing(path, role.replace("_", " "))
    for p in logs:
        if not Path(p).exists():
            raise InputError(f"training log not found: {p}", hint="check the path")
    if not any(named.values()) and not logs:
        raise InputError("nothing to evaluate", hint="give at least a side-view video (--side) or other inputs")

    report("checksums", 0.0)
    inputs: list[InputFile] = []
    for role, path in [*named.items(), *(("log", p) for p in logs)]:
        if path is None:
            continue
        files = sorted(q for q in Path(path).rglob("*") if q.is_file()) if Path(path).is_dir() else [Path(path)]
        inputs.extend(describe_input(role, q) for q in files)

    # intake first: its height helps the analysis scale
    intake_obj = red = None
    if intake is not None:
        report("intake", 0.05)
        from backtorun.intake import load_intake, screen_red_flags

        intake_obj = load_intake(intake)
        red = screen_red_flags(intake_obj)
        if height_cm is None and getattr(intake_obj, "height_cm", None):
            height_cm = float(intake_obj.height_cm)

    report("side view", 0.1)
    side = _analyze("side", side_video, side_keypoints, out_dir, height_cm=height_cm, speed_mps=speed_mps,
                    fps=keypoints_fps, progress=report, span=(0.1, 0.5))
    report("rear view", 0.5)
    rear = _analyze("rear", rear_video, rear_keypoints, out_dir, height_cm=height_cm, speed_mps=speed_mps,
                    fps=keypoints_fps, progress=report, span=(0.5, 0.7))

    from backtorun.findings import evaluate_findings

    gait_only = evaluate_findings(side=side, rear=rear, red_flags=red, rules_path=rules_path)
    gait_codes = {f.code for f in gait_only.findings if f.domain == "gait"}

    test_assessment = None
    if tests is not None:
        report("tests", 0.7)
        from backtorun.assessment import assess_tests, load_test_results

        test_assessment = assess_tests(load_test_results(tests), gait_findings_codes=gait_codes)

    training_assessment = None
    if logs:
        report("training logs", 0.75)
        from backtorun.services.training import review_training

        # the intake supplies the treadmill-only symptom pattern, BMI and novice status for the load rules
        training_assessment = review_training([Path(p) for p in logs], intake=intake_obj).assessment

    report("findings", 0.8)
    other: list[Finding] = []
    if intake_obj is not None:
        from backtorun.intake import intake_findings

        other.extend(intake_findings(intake_obj))
    for part in (test_assessment, training_assessment):
        if part is not None:
            other.extend(part.findings)
    findings = evaluate_findings(side=side, rear=rear, red_flags=red, other_findings=other, rules_path=rules_path)

    report("plan", 0.82)
    from backtorun.plan import build_plan

    plan = build_plan(findings, side=side, red_flags=red, intake=intake_obj)

    settings: dict[str, Any] = {
        "analysis": dict((side or rear).settings) if (side or rear) is not None else {},
        "rules": {"version": findings.rules_version, "sources": list(findings.rules_sources),
                  "clinic_file": rules_path.name if rules_path else None},
        "height_cm": height_cm, "speed_mps": speed_mps,
    }
    base_versions = software_versions()
    pose_versions = {f"{v} {k}": str(val) for v, a in (("side", side), ("rear", rear)) if a is not None
                     for k, val in a.software.items() if base_versions.get(k) != str(val)}
    sess = dict(session or {})
    if speed_mps is not None:
        sess.setdefault("speed_mps", speed_mps)
    evaluation = Evaluation(
        patient=dict(patient or {}), session=sess, inputs=tuple(inputs), settings=settings,
        software=software_versions(pose_versions), side=side, rear=rear,
        intake=intake_obj, red_flags=red, tests=test_assessment, training=training_assessment,
        findings=findings, plan=plan, attribution=tuple(attribution),
    )
    evaluation = _finish(evaluation, out_dir, training_assessment=training_assessment)

    report("report", 0.9)
    evaluation.save(out_dir / "evaluation.json")
    render_report(evaluation, out_dir, pdf=pdf)
    report("done", 1.0)
    return evaluation


def _finish(evaluation: Evaluation, out_dir: Path, *, training_assessment: Any = None) -> Evaluation:
    """Write the side files (metronome WAV) and record every artefact relative to ``out_dir``."""
    artefacts: dict[str, Any] = {}
    for view in ("side", "rear"):
        frames = sorted((out_dir / view / "keyframes").glob("*.png"))
        if frames:
            artefacts[f"{view}_keyframes"] = [p.relative_to(out_dir).as_posix() for p in frames]
        for name in ("analysis.json", "strides.csv", "annotated.mp4", "pose.npz"):
            if (out_dir / view / name).is_file():
                artefacts[f"{view}_{name.replace('.', '_')}"] = f"{view}/{name}"
    targets = cadence_targets(evaluation.plan)
    if targets and not evaluation.refer:
        from backtorun.plan.metronome import write_metronome_wav

        spm = round(targets[0])
        cad = (evaluation.plan or {}).get("cadence") or {}
        minutes = float(cad.get("metronome_minutes") or METRONOME_MINUTES)
        wav = out_dir / f"metronome_{spm}spm.wav"
        # 22.05 kHz keeps a 20-minute click track near 50 MB; clicks stay sample-accurate (45 µs)
        write_metronome_wav(wav, spm=spm, minutes=minutes, count_in_beats=4, sample_rate_hz=22050)
        artefacts["metronome"] = wav.name
    return evaluation.replace(artefacts=artefacts)


# ---------------------------------------------------------------------------------------------------------
# Demo: the whole evaluation on samples shipped in the package
# ---------------------------------------------------------------------------------------------------------


#: Belt speed of the demo gait sample: not stored in the source motion capture, estimated from the toe markers'
#: backward speed during stance (see samples/ATTRIBUTION.md).
DEMO_SPEED_MPS = 3.91


def demo_inputs(workdir: Path) -> dict[str, Any]:
    """Copy the shipped samples to ``workdir`` (so the checksums are of real files) and return run_evaluation kwargs."""
    samples = resources.files("backtorun.samples")
    workdir.mkdir(parents=True, exist_ok=True)

    def copy(name: str) -> Path | None:
        src = samples.joinpath(name)
        if not src.is_file():
            return None
        dst = workdir / name
        with resources.as_file(src) as real:
            shutil.copyfile(real, dst)
        return dst

    side = copy("demo_side.npz")
    if side is None:
        raise InputError("the demo gait sample (demo_side.npz) is not shipped with this installation",
                         hint="reinstall backtorun, or run `backtorun evaluate` on your own video")
    kwargs: dict[str, Any] = {
        "speed_mps": DEMO_SPEED_MPS,
        "side_keypoints": side, "rear_keypoints": copy("demo_rear.npz"),
        "intake": copy("sample_intake.yaml"), "tests": copy("sample_tests.yaml"),
        "logs": [p for p in (copy("sample_training_log.csv"),) if p is not None],
        "patient": {"name": "Demo Runner (sample data)"},
        "session": {"clinician": "demo", "notes": "sample data shipped with backtorun; belt speed estimated "
                    "from the motion capture"},
    }
    attribution = samples.joinpath("ATTRIBUTION.md")
    if attribution.is_file():
        kwargs["attribution"] = _attribution_paragraphs(attribution.read_text(encoding="utf-8"))
    return kwargs


def _attribution_paragraphs(markdown: str) -> tuple[str, ...]:
    """Paragraphs of ATTRIBUTION.md as plain text (headings and markup stripped)."""
    paras, cur = [], []
    for line in markdown.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            if cur:
                paras.append(" ".join(cur))
                cur = []
            continue
        cur.append(s.lstrip("-* ").replace("**", "").replace("`", ""))
    if cur:
        paras.append(" ".join(cur))
    return tuple(paras)


def run_demo(out_dir: Path, *, pdf: bool = True, progress: Progress | None = None) -> Evaluation:
    """The full evaluation end to end on the shipped samples (demo gait keypoints, intake, tests, training log)."""
    out_dir = Path(out_dir)
    kwargs = demo_inputs(out_dir / "inputs")
    return run_evaluation(out_dir=out_dir, pdf=pdf, progress=progress, **kwargs)
