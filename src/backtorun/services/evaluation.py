"""Use case: a whole Back To Running Evaluation — every available part → :class:`Evaluation` → report.

Input: one :class:`EvaluationInputs` (parsed intake and test results, paths where a file is the input), built
the same way by the CLI, the demo and the web job. Order: output folder, every input path, clinic rules, red-flag
screen and training logs are all checked first (no video is decoded before a bad input is found) → technique
analyses (side, rear; an unusable rear view becomes the quality flag REAR_VIEW_UNUSABLE and the evaluation goes on)
→ gait findings → test assessment → all findings → plan (or referral) → evaluation.json → metronome track (the
plan's first cadence target and run length) → report (HTML, PDF, plots). Everything is written into a staging
folder and published as one run with its ``run.json`` last (:mod:`backtorun.services.run_folder`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping

from backtorun.assessment import TestResults
from backtorun.errors import (BadKeypointFile, CaptureUnsuitable, InputError, NoRunnerFound, TooFewStrides,
                              VideoUnreadable)
from backtorun.evaluation import Evaluation, InputFile, describe_input, software_versions
from backtorun.intake import Intake
from backtorun.plan import Plan
from backtorun.report.render import render_report as _render_report
from backtorun.services.analysis import SIDE_CLIP_DIRS
from backtorun.settings import AnalysisSettings
from backtorun.types import Finding, GaitAnalysis, QualityFlag, RedFlagScreen

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]
METRONOME_SUFFIX = ".ogg"  # evaluation's metronome track: Ogg Opus (plan/metronome.py COMPRESSED)
#: Errors of the rear view that leave the evaluation without it (and a quality flag) instead of stopping it.
REAR_VIEW_SKIPPABLE = (VideoUnreadable, NoRunnerFound, CaptureUnsuitable, TooFewStrides, BadKeypointFile)

__all__ = ["EvaluationInputs", "run_evaluation", "read_intake_file", "read_tests_file", "with_files", "render_report",
           "run_demo", "demo_inputs"]


def render_report(evaluation: Evaluation, out_dir: Path, *, asset_dir: Path | None = None,
                  pdf: bool = True) -> dict[str, Path]:
    """Render report.html/.pdf (clinician), runner.html/.pdf (runner) and plots/*.png into ``out_dir``."""
    return _render_report(evaluation, out_dir, asset_dir=asset_dir, pdf=pdf)


def _artefact_paths(evaluation: Evaluation) -> list[str]:
    """Relative paths of every file the evaluation's artefacts name."""
    out: list[str] = []
    for value in evaluation.artefacts.values():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, str) and item:
                out.append(item)
    return out


def _link_tree(src: Path, dst: Path) -> None:
    """Hard-link (or copy, across file systems) ``src`` to ``dst``: the report's assets inside a staging folder."""
    def link(a: str, b: str) -> None:
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)

    if src.is_dir():
        shutil.copytree(src, dst, copy_function=link)
    else:
        link(str(src), str(dst))


def rerender_report(evaluation_json: Path, out: Path | None = None, *, pdf: bool = True
                    ) -> tuple[Path, dict[str, Path]]:
    """Re-render the report of a complete evaluation run; returns (folder, {name: path}).

    The evaluation folder must be a complete, unchanged run: its run.json lists evaluation.json and every
    artefact (key frames, analyses, metronome) with the same SHA-256, so files of another run are refused
    (:func:`run_folder.verify_run`). In place, the new report replaces the old one and the manifest is updated;
    with ``out``, the report is published there as its own run, linking the evaluation folder's key frames."""
    from backtorun.services.run_folder import publish_run, staged_run, update_run, verify_run

    evaluation_json = Path(evaluation_json)
    evaluation = Evaluation.load(evaluation_json)
    folder = evaluation_json.parent
    verify_run(folder, paths=[evaluation_json.name, *_artefact_paths(evaluation)])
    in_place = out is None or Path(out).resolve() == folder.resolve()
    target = folder if in_place else Path(out)  # type: ignore[arg-type]
    with staged_run(target, sibling=not in_place) as stage:
        if in_place:
            for name in sorted({p.split("/", 1)[0] for p in _artefact_paths(evaluation)}):
                if (folder / name).exists():
                    _link_tree(folder / name, stage / name)
        written = render_report(evaluation, stage, asset_dir=stage if in_place else folder, pdf=pdf)
        names = {p.relative_to(stage).parts[0] for p in written.values()}
        if in_place:
            update_run(stage, folder, names)
        else:
            publish_run(stage, target, kind="report", inputs=[evaluation_json],
                        extra={"evaluation_id": evaluation.evaluation_id})
    return target, {k: target / Path(p).relative_to(stage) for k, p in written.items()}


def _noop(_stage: str, _fraction: float) -> None:
    return None


def _monotonic(progress: Progress) -> Progress:
    """Progress whose fraction never goes back (sub-steps restart their own counts)."""
    best = [0.0]

    def report(stage: str, fraction: float) -> None:
        best[0] = max(best[0], float(fraction))
        progress(stage, best[0])

    return report


def _analyze(view: str, inputs: "EvaluationInputs", out_dir: Path, *, height_cm: float | None, progress: Progress,
             span: tuple[float, float] = (0.0, 1.0)) -> GaitAnalysis | None:
    """One view's analysis (video or keypoints) with its outputs in ``out_dir/<view>``; None without input.

    Frame-level progress is mapped into ``span`` of the whole evaluation, so the overall fraction never goes back.
    """
    from backtorun.services import analysis as _analysis

    video, keypoints = (inputs.side_video, inputs.side_keypoints) if view == "side" else (
        inputs.rear_video, inputs.rear_keypoints)
    sub = out_dir / view
    options = _analysis.AnalysisOptions(view=view, height_cm=height_cm, speed_mps=inputs.speed_mps,
                                        settings=inputs.analysis_settings)
    if video is not None:
        def frame_progress(done: int, total: int) -> None:
            frac = min(1.0, done / total) if total else 0.0
            progress(f"{view} video: pose and annotated video", span[0] + frac * (span[1] - span[0]))

        return _analysis.analyze_video_file(video, sub, options, progress=frame_progress)
    if keypoints is not None:
        return _analysis.analyze_keypoints_file(keypoints, sub, options, fps=inputs.keypoints_fps)
    return None


def _side_analysis(inputs: "EvaluationInputs", out_dir: Path, *, height_cm: float | None, progress: Progress,
                   span: tuple[float, float]) -> tuple[GaitAnalysis | None, dict[str, Any] | None]:
    """(side analysis, merge record). Two side clips (side_left/side_right): each analysed into
    ``out_dir/side_left`` and ``out_dir/side_right``, merged (each leg from the clip where it is the near leg) and the
    merged analysis returned with the record of both analyses and the merge. One side recording: its analysis, and
    the record of which leg is near (the far leg marked lower confidence)."""
    from backtorun.services import analysis as _analysis

    given = {role: p for role, p in (("left", inputs.side_left), ("right", inputs.side_right)) if p is not None}
    if not given:
        side = _analyze("side", inputs, out_dir, height_cm=height_cm, progress=progress, span=span)
        if side is None or side.near_side is None:
            return side, None
        source = inputs.side_video or inputs.side_keypoints
        return side, _analysis.merge_side_clips({"side": side}, inputs={"side": source} if source else None
                                                ).to_dict(with_clips=False)
    options = _analysis.AnalysisOptions(view="side", height_cm=height_cm, speed_mps=inputs.speed_mps,
                                        settings=inputs.analysis_settings)
    clips: dict[str, GaitAnalysis] = {}
    width = (span[1] - span[0]) / len(given)
    for i, (role, path) in enumerate(given.items()):
        lo = span[0] + i * width

        def frame_progress(done: int, total: int, lo: float = lo, role: str = role) -> None:
            frac = min(1.0, done / total) if total else 0.0
            progress(f"{role}-side video: pose and annotated video", lo + frac * width)

        clips[role] = _analysis.analyze_recording(path, out_dir / SIDE_CLIP_DIRS[role], options,
                                                  fps=inputs.keypoints_fps, progress=frame_progress)
    merged = _analysis.merge_side_clips(clips, inputs=given)
    for flag in merged.flags:
        log.warning("%s: %s", flag.code, flag.message)
    return merged.analysis(), merged.to_dict()


def _existing(path: Path | None, what: str) -> Path | None:
    if path is None:
        return None
    path = Path(path)
    if not (path.is_file() or (path.is_dir() and what.endswith("keypoints"))):
        raise InputError(f"{what} not found: {path}", hint="check the path")
    return path


@dataclass(frozen=True)
class EvaluationInputs:
    """Everything one evaluation is made from: parsed objects, and paths where a file is the input.

    The CLI (from files), the demo (shipped samples) and the web job (database rows) each build one of these and
    call :func:`run_evaluation`. side/rear_video, side/rear_keypoints: the recordings (a keypoint file instead of a
    video analyses already-estimated poses; ``keypoints_fps`` for keypoint files without timestamps).
    side_left, side_right: two side recordings (video or keypoint file) filmed with the camera on the runner's left
    and right, instead of one side recording: each leg's metrics come from the clip where it is the near leg
    (:mod:`backtorun.metrics.two_sided`). intake, tests:
    parsed and validated (:func:`read_intake_file`, :func:`read_tests_file`, or the web forms). logs: training-log
    files or folders (FIT/TCX/GPX/CSV). height_cm (else the intake's), speed_mps: belt speed. patient, session:
    details for the report. rules_path: clinic rules merged over the defaults. analysis_settings: the technique
    analysis' parameter tree (default when None). attribution: credits of shipped sample data.
    source_files: (role, path) of the files the parsed parts were read from, so their checksums are recorded.
    """

    side_video: Path | None = None
    rear_video: Path | None = None
    side_keypoints: Path | None = None
    rear_keypoints: Path | None = None
    side_left: Path | None = None
    side_right: Path | None = None
    keypoints_fps: float | None = None
    intake: Intake | None = None
    tests: TestResults | None = None
    logs: tuple[Path, ...] = ()
    height_cm: float | None = None
    speed_mps: float | None = None
    patient: Mapping[str, Any] = field(default_factory=dict)
    session: Mapping[str, Any] = field(default_factory=dict)
    rules_path: Path | None = None
    analysis_settings: AnalysisSettings | None = None
    attribution: tuple[str, ...] = ()
    source_files: tuple[tuple[str, Path], ...] = ()

    def recordings(self) -> dict[str, Path | None]:
        """The recording inputs by role (side_video, rear_video, side_keypoints, rear_keypoints, side_left,
        side_right)."""
        return {"side_video": self.side_video, "rear_video": self.rear_video, "side_keypoints": self.side_keypoints,
                "rear_keypoints": self.rear_keypoints, "side_left": self.side_left, "side_right": self.side_right}


def read_intake_file(path: Path) -> Intake:
    """An intake YAML/JSON file, validated (InputError naming the file when missing, BadIntake when invalid)."""
    from backtorun.intake import load_intake

    return load_intake(_existing(path, "intake"))


def read_tests_file(path: Path) -> TestResults:
    """A test-results YAML/JSON file, validated (InputError when missing, BadTestResults when invalid)."""
    from backtorun.assessment import load_test_results

    return load_test_results(_existing(path, "tests"))


def with_files(inputs: EvaluationInputs, *, intake: Path | None = None, tests: Path | None = None) -> EvaluationInputs:
    """``inputs`` with the intake and test results read from files (their checksums recorded as inputs)."""
    changes: dict[str, Any] = {}
    sources = list(inputs.source_files)
    if intake is not None:
        changes["intake"] = read_intake_file(intake)
        sources.append(("intake", Path(intake)))
    if tests is not None:
        changes["tests"] = read_tests_file(tests)
        sources.append(("tests", Path(tests)))
    return dataclasses.replace(inputs, source_files=tuple(sources), **changes)


@dataclass(frozen=True)
class _Parts:
    """The non-video parts of an evaluation, checked and assessed before any video is decoded."""

    height_cm: float | None
    red: RedFlagScreen | None
    training: Any  # TrainingAssessment | None
    files: tuple[InputFile, ...]


def _check_inputs(inputs: EvaluationInputs) -> None:
    """Every path exists, something is given, recordings are of a readable kind and the clinic rules parse."""
    for role, path in inputs.recordings().items():
        _existing(path, role.replace("_", " "))
    if (inputs.side_left or inputs.side_right) and (inputs.side_video or inputs.side_keypoints):
        raise InputError("give either one side recording (--side) or the two side videos (--side-left/--side-right)",
                         hint="use --side-left VIDEO --side-right VIDEO for a runner filmed from both sides")
    for p in inputs.logs:
        if not Path(p).exists():
            raise InputError(f"training log not found: {p}", hint="check the path")
    if not any(inputs.recordings().values()) and not inputs.logs and inputs.intake is None and inputs.tests is None:
        raise InputError("nothing to evaluate", hint="give at least a side-view video (--side) or other inputs")
    from backtorun.services.analysis import check_video_input

    for video in inputs.recordings().values():
        if video is not None:
            check_video_input(video)  # an image or a folder of videos is named before any work
    if inputs.rules_path is not None:  # parsed now so that a bad clinic file is reported before any video is decoded
        from backtorun.config_files import read_text_file
        from backtorun.findings.ruleset import load_rules

        read_text_file(inputs.rules_path, "rules")
        load_rules(inputs.rules_path)


def _prepare(inputs: EvaluationInputs, report: Progress) -> _Parts:
    """Checksums of every input file, red-flag screen and training review (the intake helps the analysis scale)."""
    report("checksums", 0.0)
    files: list[InputFile] = []
    roles = [*inputs.recordings().items(), *inputs.source_files, *(("log", p) for p in inputs.logs)]
    for role, path in roles:
        if path is None:
            continue
        found = sorted(q for q in Path(path).rglob("*") if q.is_file()) if Path(path).is_dir() else [Path(path)]
        files.extend(describe_input(role, q) for q in found)
    height_cm, red = inputs.height_cm, None
    if inputs.intake is not None:
        report("intake", 0.05)
        from backtorun.intake import screen_red_flags

        red = screen_red_flags(inputs.intake)
        if height_cm is None and inputs.intake.height_cm:
            height_cm = float(inputs.intake.height_cm)
    training = None
    if inputs.logs:
        report("training logs", 0.08)
        from backtorun.services.training import review_training

        # the intake supplies the treadmill-only symptom pattern, BMI and novice status for the load rules
        training = review_training([Path(p) for p in inputs.logs], intake=inputs.intake).assessment
    return _Parts(height_cm=height_cm, red=red, training=training, files=tuple(files))


def run_evaluation(inputs: EvaluationInputs, out_dir: Path, *, pdf: bool = True,
                   progress: Progress | None = None) -> Evaluation:
    """Run every part for which an input is given, write ``evaluation.json`` and the report into ``out_dir``.

    Analysis outputs go to ``out_dir/side`` and ``out_dir/rear``; the metronome track (Ogg Opus) at the first
    cadence target is written when a plan with a cadence target exists; a red flag replaces the plan with a
    referral. Every input is checked before any video is decoded.
    """
    from backtorun.outputs import check_output_dir

    report = _monotonic(progress or _noop)
    out_dir = check_output_dir(out_dir, create=False)  # first: a bad --out is reported before any other work
    _check_inputs(inputs)
    parts = _prepare(inputs, report)

    from backtorun.services.run_folder import publish_run, staged_run

    with staged_run(out_dir) as stage:
        evaluation = _evaluate_into(stage, inputs, parts, report=report, pdf=pdf)
        publish_run(stage, out_dir, kind="evaluation",
                    extra={"inputs": [i.to_dict() for i in parts.files], "evaluation_id": evaluation.evaluation_id})
    report("done", 1.0)
    return evaluation


def _rear_or_flag(inputs: EvaluationInputs, stage: Path, **kwargs: Any
                  ) -> tuple[GaitAnalysis | None, QualityFlag | None]:
    """The rear analysis, or None and the REAR_VIEW_UNUSABLE flag when the rear recording cannot be analysed."""
    try:
        return _analyze("rear", inputs, stage, **kwargs), None
    except REAR_VIEW_SKIPPABLE as exc:
        shutil.rmtree(stage / "rear", ignore_errors=True)
        log.warning("rear view not usable: %s", exc)
        return None, QualityFlag("REAR_VIEW_UNUSABLE", f"rear view could not be analysed and is left out ({exc})",
                                 "warning")


def _evaluate_into(stage: Path, inputs: EvaluationInputs, parts: _Parts, *, report: Progress,
                   pdf: bool) -> Evaluation:
    """Analyses, findings, plan, evaluation.json, metronome and report, all written into ``stage``."""
    out_dir = stage
    intake_obj, red, training_assessment, height_cm = inputs.intake, parts.red, parts.training, parts.height_cm
    report("side view", 0.1)
    side, side_merge = _side_analysis(inputs, out_dir, height_cm=height_cm, progress=report, span=(0.1, 0.5))
    report("rear view", 0.5)
    rear_kwargs: dict[str, Any] = dict(height_cm=height_cm, progress=report, span=(0.5, 0.7))
    if side is None and not any(x is not None for x in (intake_obj, inputs.tests, training_assessment)):
        rear, rear_flag = _analyze("rear", inputs, out_dir, **rear_kwargs), None
    else:
        rear, rear_flag = _rear_or_flag(inputs, out_dir, **rear_kwargs)
    if rear_flag is not None and side is not None:
        side = dataclasses.replace(side, quality_flags=tuple(side.quality_flags) + (rear_flag,))

    from backtorun.findings import evaluate_findings

    rules_path = inputs.rules_path
    gait_only = evaluate_findings(side=side, rear=rear, red_flags=red, rules_path=rules_path)
    gait_codes = {f.code for f in gait_only.findings if f.domain == "gait"}

    test_assessment = None
    if inputs.tests is not None:
        report("tests", 0.7)
        from backtorun.assessment import assess_tests

        test_assessment = assess_tests(inputs.tests, gait_findings_codes=gait_codes)

    report("findings", 0.8)
    other: list[Finding] = []
    if intake_obj is not None:
        from backtorun.intake import intake_findings

        other.extend(intake_findings(intake_obj))
    for part in (test_assessment, training_assessment):
        if part is not None:
            other.extend(part.findings)
    findings = evaluate_findings(side=side, rear=rear, red_flags=red, other_findings=other, rules_path=rules_path,
                                 intake=intake_obj, training=training_assessment)

    report("plan", 0.82)
    from backtorun.plan import build_plan

    plan = build_plan(findings, side=side, red_flags=red, intake=intake_obj, training=training_assessment)

    settings: dict[str, Any] = {
        "analysis": dict((side or rear).settings) if (side or rear) is not None else {},
        "rules": {"version": findings.rules_version, "sources": list(findings.rules_sources),
                  "clinic_file": rules_path.name if rules_path else None},
        "height_cm": height_cm, "speed_mps": inputs.speed_mps,
    }
    base_versions = software_versions()
    pose_versions = {f"{v} {k}": str(val) for v, a in (("side", side), ("rear", rear)) if a is not None
                     for k, val in a.software.items() if base_versions.get(k) != str(val)}
    sess = dict(inputs.session)
    if inputs.speed_mps is not None:
        sess.setdefault("speed_mps", inputs.speed_mps)
    if rear_flag is not None:
        sess["quality_flags"] = [rear_flag.to_dict()]
    evaluation = Evaluation(
        patient=dict(inputs.patient), session=sess, inputs=parts.files, settings=settings,
        software=software_versions(pose_versions), side=side, rear=rear,
        intake=intake_obj, red_flags=red, tests=test_assessment, training=training_assessment,
        findings=findings, plan=plan, attribution=tuple(inputs.attribution), side_merge=side_merge,
    )
    evaluation = _finish(evaluation, out_dir, plan)

    report("report", 0.9)
    save_evaluation(evaluation, out_dir / "evaluation.json")
    render_report(evaluation, out_dir, pdf=pdf)
    return evaluation


def save_evaluation(evaluation: Evaluation, path: Path) -> Path:
    """Write ``evaluation.json`` atomically (the same JSON as :meth:`Evaluation.save`)."""
    from backtorun.outputs import atomic_write_text

    return atomic_write_text(path, json.dumps(evaluation.to_json_dict(), indent=1, ensure_ascii=False,
                                              allow_nan=False))


def _finish(evaluation: Evaluation, out_dir: Path, plan: Plan | None) -> Evaluation:
    """Write the side files (metronome track) and record every artefact relative to ``out_dir``: only the files each
    view's analysis lists in its own run.json (never a glob of what happens to lie in the folder)."""
    from backtorun.services.run_folder import run_files

    artefacts: dict[str, Any] = {}
    for view in ("side", "rear", *SIDE_CLIP_DIRS.values()):
        own = run_files(out_dir / view)
        frames = sorted(f for f in own if f.startswith("keyframes/") and f.endswith(".png"))
        if frames:
            artefacts[f"{view}_keyframes"] = [f"{view}/{f}" for f in frames]
        for name in ("analysis.json", "strides.csv", "annotated.mp4", "pose.npz"):
            if name in own:
                artefacts[f"{view}_{name.replace('.', '_')}"] = f"{view}/{name}"
    cadence = plan.cadence if plan is not None else None
    if cadence is not None and cadence.targets and not evaluation.refer:
        from backtorun.plan.metronome import write_metronome

        # the plan's own first target and run length (domain.md §9 R1), never a default of this module
        spm, minutes = cadence.targets[0].spm, cadence.metronome_minutes
        track = out_dir / f"metronome_{spm}spm{METRONOME_SUFFIX}"
        # Ogg Opus: a 20-minute click track is ≈ 0.5 MB (a PCM WAV was ≈ 50 MB); same sample-exact beat grid
        write_metronome(track, spm=spm, minutes=minutes, count_in_beats=4)
        artefacts["metronome"] = track.name
    return evaluation.replace(artefacts=artefacts)


# ---------------------------------------------------------------------------------------------------------
# Demo: the whole evaluation on samples shipped in the package
# ---------------------------------------------------------------------------------------------------------


#: Belt speed of the demo gait sample: not stored in the source motion capture, estimated from the toe markers'
#: backward speed during stance (see samples/ATTRIBUTION.md).
DEMO_SPEED_MPS = 3.91


def demo_inputs(workdir: Path) -> EvaluationInputs:
    """Copy the shipped samples to ``workdir`` (so the checksums are of real files) and return the demo's inputs."""
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
    attribution_file = samples.joinpath("ATTRIBUTION.md")
    inputs = EvaluationInputs(
        speed_mps=DEMO_SPEED_MPS, side_keypoints=side, rear_keypoints=copy("demo_rear.npz"),
        logs=tuple(p for p in (copy("sample_training_log.csv"),) if p is not None),
        patient={"name": "Demo Runner (sample data)"},
        session={"clinician": "demo", "notes": "sample data shipped with backtorun; belt speed estimated "
                 "from the motion capture"},
        attribution=_attribution_paragraphs(attribution_file.read_text(encoding="utf-8"))
        if attribution_file.is_file() else (),
    )
    return with_files(inputs, intake=copy("sample_intake.yaml"), tests=copy("sample_tests.yaml"))


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
    from backtorun.outputs import check_output_dir

    out_dir = check_output_dir(out_dir)
    return run_evaluation(demo_inputs(out_dir / "inputs"), out_dir, pdf=pdf, progress=progress)
