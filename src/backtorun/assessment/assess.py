"""Judge the strength and flexibility tests against norms and cut-offs (domain.md §6, §9.1) and produce findings.

Findings are worded "differs from typical and may add load", never as a diagnosis. The limb symmetry index is
LSI = weaker / stronger × 100 (domain.md T9).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field

from backtorun.config_files import load_validated
from backtorun.assessment.model import TestResults
from backtorun.records import from_plain
from backtorun.types import Finding, json_safe


class Norms(BaseModel):
    """Cut-offs of the battery; defaults in ``assessment/norms.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    thomas_hip_angle_above_deg: float = 0.0
    thomas_knee_flexion_below_deg: float = 67.0
    thomas_gait_codes: tuple[str, ...] = ("LOW_HIP_EXT", "LUMBO_PELVIC_COMP")
    prone_hip_ext_below_deg: float = 5.0
    prone_hip_ext_side_diff_deg: float = Field(5.0, ge=0)
    sorensen_men_below_s: float = Field(176.0, ge=0)
    mcgill_flex_ext_max: float = Field(1.0, gt=0)
    mcgill_side_ext_max: float = Field(0.75, gt=0)
    mcgill_lr_deviation_max: float = Field(0.05, ge=0)
    slb_reps_below: int = Field(20, ge=0)
    slb_lsi_below_pct: float = Field(85.0, ge=0, le=100)
    sls_flag_ratings: tuple[str, ...] = ("poor",)
    hhd_lsi_below_pct: float = Field(85.0, ge=0, le=100)
    hhd_mdc_hip_extension_nm: float = Field(14.8, ge=0)
    aslr_positive_at_least: int = Field(1, ge=0, le=10)


def load_norms(path: str | Path | None = None) -> Norms:
    """Norms from the packaged ``norms.yaml``, overridden by the keys of an optional YAML file."""
    return load_validated(Norms, what="norm", packaged=("backtorun.assessment", "norms.yaml"), path=path)

def load_battery() -> dict[str, dict[str, Any]]:
    """The test battery T1–T9: name, protocol, units, sides, evidence grade, sources."""
    return yaml.safe_load(resources.files("backtorun.assessment").joinpath("battery.yaml").read_text(encoding="utf-8"))


def lsi_pct(left: float | None, right: float | None) -> float | None:
    """Limb symmetry index = weaker / stronger × 100 (domain.md T9). None when a side is missing or both are 0."""
    if left is None or right is None:
        return None
    hi, lo = max(left, right), min(left, right)
    if hi <= 0:
        return None
    return lo / hi * 100.0


def _weaker(left: float, right: float) -> str | None:
    return None if left == right else ("left" if left < right else "right")


Judgement = str  # "typical" | "differs" | "not_judged" | "not_a_finding_alone"


@dataclass(frozen=True)
class TestOutcome:
    """One test's result: raw values, the norm used, the judgement and (for bilateral tests) the LSI."""

    __test__ = False

    test_id: str
    name: str
    values: dict[str, Any]
    norm: str
    judgement: Judgement
    side: str | None = None
    lsi_pct: float | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return json_safe(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TestOutcome":
        """The inverse of :meth:`to_dict` (derived keys ignored; a missing field is an InputError)."""
        return from_plain(cls, d)


@dataclass(frozen=True)
class TestAssessment:
    """Outcomes per test plus the findings handed to the findings engine."""

    __test__ = False

    outcomes: tuple[TestOutcome, ...]
    findings: list[Finding] = field(default_factory=list)
    norms: dict[str, Any] = field(default_factory=dict)

    def outcome(self, test_id: str) -> TestOutcome | None:
        return next((o for o in self.outcomes if o.test_id == test_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {"outcomes": [o.to_dict() for o in self.outcomes], "findings": [f.to_dict() for f in self.findings],
                "norms": json_safe(self.norms)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TestAssessment":
        """The inverse of :meth:`to_dict` (derived keys ignored; a missing field is an InputError)."""
        return from_plain(cls, d)


_EPS = 1e-9  # comparisons at a cut-off are made with this tolerance so that e.g. 105/100 − 1 counts as 0.05


def _f(**kw: Any) -> Finding:
    return Finding(domain="test", **kw)


def _thomas(r: TestResults, n: Norms, gait: set[str], battery: dict) -> Iterable[TestOutcome | Finding]:
    t = r.thomas
    if t is None or (t.left is None and t.right is None):
        return
    supported = sorted(gait & set(n.thomas_gait_codes))
    for side, s in (("left", t.left), ("right", t.right)):
        if s is None:
            continue
        one_joint = s.hip_angle_deg > n.thomas_hip_angle_above_deg
        two_joint = s.knee_flexion_deg is not None and s.knee_flexion_deg < n.thomas_knee_flexion_below_deg
        parts = [p for p, on in (("thigh above horizontal (one-joint hip flexors)", one_joint),
                                 (f"knee flexion < {n.thomas_knee_flexion_below_deg:g}° (two-joint flexors)", two_joint),
                                 ("hip abducts (abductors)", s.abduction_positive)) if on]
        values = {"hip_angle_deg": s.hip_angle_deg, "knee_flexion_deg": s.knee_flexion_deg,
                  "abduction_positive": s.abduction_positive}
        norm = (f"hip angle ≤ {n.thomas_hip_angle_above_deg:g}° (thigh at/below horizontal), knee flexion ≥ "
                f"{n.thomas_knee_flexion_below_deg:g}°, no abduction")
        if not parts:
            yield TestOutcome("T1", battery["T1"]["name"], values, norm, "typical", side)
            continue
        note = "; ".join(parts)
        judgement = "differs" if (one_joint and supported) else "not_a_finding_alone"
        yield TestOutcome("T1", battery["T1"]["name"], values, norm, judgement, side,
                          note=note if supported else f"{note}: not a finding alone (no LOW_HIP_EXT or "
                                                          "LUMBO_PELVIC_COMP gait finding)")
        if one_joint:
            yield _f(code="TEST_THOMAS", title="Hip-flexor length (modified Thomas test)",
                     text=(f"{side.capitalize()} thigh rests {s.hip_angle_deg:.0f}° above horizontal"
                           + (f" together with gait finding(s) {', '.join(supported)}: hip-flexor length differs from "
                              "typical and may add load to the lower back in late stance." if supported else
                              ": not a finding alone — it counts only with a low-hip-extension gait finding.")),
                     status="detected" if supported else "not_judged", side=side, values=values,
                     threshold={"hip_angle_deg": f"> {n.thomas_hip_angle_above_deg:g}",
                                "with_gait_findings": list(n.thomas_gait_codes)},
                     severity="mild", evidence_grade="B/C", sources=("54", "52", "31"),
                     confidence=0.6 if t.pelvic_tilt_controlled is False or t.method == "goniometer" else 0.8,
                     confidence_note="validity poor unless pelvic tilt is controlled [52]; goniometer SEM ≈ 7° [53]",
                     plain_text=f"The front of your {side} hip looks a little tight.",
                     recommendations=("R2",) if supported else (),
                     conflicting_evidence="Thomas test does not predict running hip extension [31]; small pilot "
                                          "links it to running pelvic tilt [32].")


def _prone(r: TestResults, n: Norms, battery: dict) -> Iterable[TestOutcome | Finding]:
    t = r.prone_hip_extension
    if t is None or (t.left is None and t.right is None):
        return
    vals = {s: getattr(t, s).rom_deg for s in ("left", "right") if getattr(t, s) is not None}
    low = {s: v for s, v in vals.items() if v < n.prone_hip_ext_below_deg}
    diff = abs(vals["left"] - vals["right"]) if len(vals) == 2 else None
    asym = diff is not None and diff > n.prone_hip_ext_side_diff_deg + _EPS
    norm = f"≥ {n.prone_hip_ext_below_deg:g}° each side and side difference ≤ {n.prone_hip_ext_side_diff_deg:g}°"
    values = {f"{s}_rom_deg": v for s, v in vals.items()} | {"knee": t.knee, "side_diff_deg": diff,
                                                              "lumbar_extension_observed": t.lumbar_extension_observed}
    flagged = bool(low) or asym
    side = (next(iter(low)) if len(low) == 1 else ("both" if low else
            (min(vals, key=vals.get) if asym else None)))
    yield TestOutcome("T2", battery["T2"]["name"], values, norm, "differs" if flagged else "typical", side,
                      note="lumbar extension seen during the test" if t.lumbar_extension_observed else None)
    if flagged:
        why = []
        if low:
            why.append(", ".join(f"{s} {v:.0f}°" for s, v in low.items()) + f" below {n.prone_hip_ext_below_deg:g}°")
        if asym:
            why.append(f"side difference {diff:.0f}° > {n.prone_hip_ext_side_diff_deg:g}°")
        yield _f(code="TEST_PRONE_HIP_EXT", title="Prone hip extension range",
                 text=f"Prone hip extension differs from typical ({'; '.join(why)}) and may shift extension load to "
                      "the lumbar spine.",
                 side=side, values=values,
                 threshold={"rom_deg": f"< {n.prone_hip_ext_below_deg:g}",
                            "side_diff_deg": f"> {n.prone_hip_ext_side_diff_deg:g}"},
                 evidence_grade="C/D", sources=("55", "56"), confidence=0.8,
                 plain_text="Your hip does not move backwards as far as typical.",
                 recommendations=("R2",),
                 conflicting_evidence="'Normal' is 10–20° in textbooks [56] but ~7° in controls and −4° in chronic "
                                      "LBP by inclinometer [55].")


def _trunk(r: TestResults, n: Norms, battery: dict) -> Iterable[TestOutcome | Finding]:
    ext = None
    if r.sorensen is not None:
        ext = r.sorensen.hold_s
        if r.sex == "male":
            low = r.sorensen.hold_s < n.sorensen_men_below_s
            yield TestOutcome("T3", battery["T3"]["name"], {"hold_s": r.sorensen.hold_s},
                              f"≥ {n.sorensen_men_below_s:g} s (men, [U])", "differs" if low else "typical")
            if low:
                yield _f(code="TEST_SORENSEN", title="Trunk-extensor endurance (Biering-Sørensen)",
                         text=f"Sørensen hold {r.sorensen.hold_s:.0f} s is below the often-quoted "
                              f"{n.sorensen_men_below_s:g} s for men: trunk-extensor endurance differs from typical.",
                         values={"hold_s": r.sorensen.hold_s}, threshold={"hold_s": f"< {n.sorensen_men_below_s:g} (men)"},
                         evidence_grade="C", sources=("50",), confidence=0.7,
                         confidence_note="176 s cut-off not verified in the source [U]; motivation and hip extensors "
                                         "affect the time [50]",
                         plain_text="Your back muscles tire sooner than typical in the hold test.",
                         recommendations=("R4",),
                         conflicting_evidence="Biering-Sørensen 176 s is widely quoted but not verified; predictive "
                                              "value debated [50].")
        else:
            yield TestOutcome("T3", battery["T3"]["name"], {"hold_s": r.sorensen.hold_s},
                              "no verified cut-off for women/unspecified sex: use McGill ratios (T4)", "not_judged")
    m = r.mcgill
    if m is None:
        return
    ext = m.extensor_s if m.extensor_s is not None else ext
    ratios: dict[str, float] = {}
    problems: list[str] = []
    if ext and m.flexor_s is not None:
        ratios["flexion_extension"] = m.flexor_s / ext
        if ratios["flexion_extension"] >= n.mcgill_flex_ext_max - _EPS:
            problems.append(f"flexion/extension {ratios['flexion_extension']:.2f} ≥ {n.mcgill_flex_ext_max:g}")
    for side in ("left", "right"):
        sb = getattr(m, f"side_bridge_{side}_s")
        if ext and sb is not None:
            ratios[f"side_{side}_extension"] = sb / ext
            if ratios[f"side_{side}_extension"] >= n.mcgill_side_ext_max - _EPS:
                problems.append(f"{side} side bridge/extension {ratios[f'side_{side}_extension']:.2f} ≥ "
                                f"{n.mcgill_side_ext_max:g}")
    lsi = None
    if m.side_bridge_left_s and m.side_bridge_right_s:
        ratios["right_left"] = m.side_bridge_right_s / m.side_bridge_left_s
        lsi = lsi_pct(m.side_bridge_left_s, m.side_bridge_right_s)
        if abs(ratios["right_left"] - 1.0) > n.mcgill_lr_deviation_max + _EPS:
            problems.append(f"right/left side bridge {ratios['right_left']:.2f} deviates > {n.mcgill_lr_deviation_max:g} from 1")
    values = {k: v for k, v in m.model_dump().items() if v is not None} | {f"ratio_{k}": v for k, v in ratios.items()}
    norm = (f"flexion/extension < {n.mcgill_flex_ext_max:g}; side/extension < {n.mcgill_side_ext_max:g}; "
            f"right/left within 1 ± {n.mcgill_lr_deviation_max:g}")
    judged = bool(ratios)
    yield TestOutcome("T4", battery["T4"]["name"], values, norm,
                      ("differs" if problems else "typical") if judged else "not_judged", lsi_pct=lsi,
                      note=None if judged else "ratios need the extensor time and at least one other time")
    if problems:
        yield _f(code="TEST_CORE_RATIO", title="Trunk endurance balance (McGill ratios)",
                 text="Trunk endurance ratios differ from typical (" + "; ".join(problems) + ") and may add load.",
                 values=values, threshold={"flexion_extension": f"≥ {n.mcgill_flex_ext_max:g}",
                                           "side_extension": f"≥ {n.mcgill_side_ext_max:g}",
                                           "right_left_deviation": f"> {n.mcgill_lr_deviation_max:g}"},
                 evidence_grade="B/C", sources=("48", "49"), confidence=0.8,
                 plain_text="Some trunk muscles tire much sooner than others.", recommendations=("R4",))


def _slb(r: TestResults, n: Norms, battery: dict) -> Iterable[TestOutcome | Finding]:
    b = r.single_leg_bridge
    if b is None or (b.left_reps is None and b.right_reps is None):
        return
    reps = {s: getattr(b, f"{s}_reps") for s in ("left", "right") if getattr(b, f"{s}_reps") is not None}
    low = {s: v for s, v in reps.items() if v < n.slb_reps_below}
    lsi = lsi_pct(b.left_reps, b.right_reps)
    asym = lsi is not None and lsi < n.slb_lsi_below_pct - _EPS
    values = {f"{s}_reps": v for s, v in reps.items()} | {"lsi_pct": lsi}
    flagged = bool(low) or asym
    side = ("both" if len(low) == 2 else next(iter(low)) if low else
            (_weaker(b.left_reps, b.right_reps) if asym else None))  # type: ignore[arg-type]
    yield TestOutcome("T5", battery["T5"]["name"], values,
                      f"≥ {n.slb_reps_below} reps each side; LSI ≥ {n.slb_lsi_below_pct:g} %",
                      "differs" if flagged else "typical", side, lsi_pct=lsi)
    if flagged:
        why = ([", ".join(f"{s} {v} reps" for s, v in low.items()) + f" < {n.slb_reps_below}"] if low else []) + \
              ([f"LSI {lsi:.0f} % < {n.slb_lsi_below_pct:g} %"] if asym else [])
        yield _f(code="TEST_SLB", title="Posterior-chain endurance (single-leg bridge)",
                 text="Single-leg bridge differs from typical (" + "; ".join(why) + ") and may add load.",
                 side=side, values=values, threshold={"reps": f"< {n.slb_reps_below}", "lsi_pct": f"< {n.slb_lsi_below_pct:g}"},
                 evidence_grade="B/C", sources=("57",), confidence=0.85,
                 plain_text="Your hamstrings and buttock muscles tire sooner than typical.", recommendations=("R3",))


def _sls(r: TestResults, n: Norms, battery: dict) -> Iterable[TestOutcome | Finding]:
    q = r.single_leg_squat
    if q is None:
        return
    for side, s in (("left", q.left), ("right", q.right)):
        if s is None:
            continue
        values = {k: v for k, v in s.model_dump().items() if v is not None}
        flagged = s.overall in n.sls_flag_ratings
        yield TestOutcome("T6", battery["T6"]["name"], values, f"overall not in {list(n.sls_flag_ratings)}",
                          "differs" if flagged else "typical", side)
        if flagged:
            yield _f(code="TEST_SLS", title="Single-leg squat control",
                     text=f"{side.capitalize()} single-leg squat rated '{s.overall}' overall: hip control differs from "
                          "typical (poor performers showed later gluteus medius onset and weaker hip abduction [58]).",
                     side=side, values=values, threshold={"overall": f"in {list(n.sls_flag_ratings)}"},
                     evidence_grade="B", sources=("58",), confidence=0.75,
                     confidence_note="inter-rater agreement 73–87 % (κ 0.60–0.80) [58]",
                     plain_text=f"Your {side} hip and knee wobble more than typical in a single-leg squat.",
                     recommendations=("R3",))


def _hhd(r: TestResults, n: Norms, battery: dict) -> Iterable[TestOutcome | Finding]:
    for d in r.hhd:
        lsi = lsi_pct(d.left, d.right)
        values: dict[str, Any] = {"muscle": d.muscle, "left": d.left, "right": d.right, "unit": d.unit,
                                  "position": d.position, "device": d.device, "lsi_pct": lsi}
        if d.unit in ("N", "Nm") and r.weight_kg:
            values[f"left_{d.unit}_per_kg"] = d.left / r.weight_kg
            values[f"right_{d.unit}_per_kg"] = d.right / r.weight_kg
        note = None
        if d.muscle == "hip_extension" and d.unit == "Nm" and (d.previous_left or d.previous_right):
            changes = {s: getattr(d, s) - getattr(d, f"previous_{s}") for s in ("left", "right")
                       if getattr(d, f"previous_{s}") is not None}
            values["change_nm"] = changes
            real = [s for s, c in changes.items() if abs(c) > n.hhd_mdc_hip_extension_nm]
            note = (f"change beyond MDC {n.hhd_mdc_hip_extension_nm:g} Nm on {', '.join(real)}" if real
                    else f"changes within MDC {n.hhd_mdc_hip_extension_nm:g} Nm (not a real change)")
        flagged = lsi is not None and lsi < n.hhd_lsi_below_pct - _EPS
        side = _weaker(d.left, d.right) if flagged else None
        yield TestOutcome("T7", f"{battery['T7']['name']}: {d.muscle.replace('_', ' ')}", values,
                          f"LSI ≥ {n.hhd_lsi_below_pct:g} %", "differs" if flagged else "typical", side,
                          lsi_pct=lsi, note=note)
        if flagged:
            yield _f(code="TEST_HHD_LSI", title=f"Strength symmetry: {d.muscle.replace('_', ' ')}",
                     text=f"{d.muscle.replace('_', ' ').capitalize()} strength is {100 - lsi:.0f} % lower on the "
                          f"{side} (LSI {lsi:.0f} % < {n.hhd_lsi_below_pct:g} %): differs from typical and may add load.",
                     side=side, values=values, threshold={"lsi_pct": f"< {n.hhd_lsi_below_pct:g}"},
                     evidence_grade="C/D", sources=("60", "46"), confidence=0.7,
                     confidence_note="HHD validity moderate; values change ~30 % with position [60][60c]",
                     plain_text=f"Your {side} hip muscles are weaker than your other side.",
                     recommendations=("R3",),
                     conflicting_evidence="Runners with LBP did not differ in hip strength [46].")


def _aslr(r: TestResults, n: Norms, battery: dict) -> Iterable[TestOutcome | Finding]:
    a = r.aslr
    if a is None:
        return
    values: dict[str, Any] = {"left": a.left, "right": a.right, "total": a.total,
                              "with_compression_left": a.with_compression_left,
                              "with_compression_right": a.with_compression_right}
    positive = a.total >= n.aslr_positive_at_least
    side = ("both" if a.left and a.right else "left" if a.left else "right") if positive else None
    eased = None
    if a.with_compression_left is not None or a.with_compression_right is not None:
        comp_total = (a.with_compression_left or 0) + (a.with_compression_right or 0)
        eased = comp_total < a.total
        values["with_compression_total"] = comp_total
    yield TestOutcome("T8", battery["T8"]["name"], values, f"total < {n.aslr_positive_at_least} (0 = none)",
                      "differs" if positive else "typical", side,
                      note=None if eased is None else ("eased by pelvic compression" if eased else "not eased by pelvic compression"))
    if positive:
        yield _f(code="TEST_ASLR", title="Load transfer through the pelvis (ASLR)",
                 text=f"Active straight-leg raise scored {a.total}/10 (positive at ≥ {n.aslr_positive_at_least})"
                      + ("" if eased is None else f", {'eased' if eased else 'not eased'} by pelvic compression")
                      + ": load transfer differs from typical; developed for pelvic-girdle pain.",
                 side=side, values=values, threshold={"total": f">= {n.aslr_positive_at_least}"},
                 evidence_grade="C", sources=("59",), confidence=0.8,
                 plain_text="Lifting a straight leg felt harder than it should.", recommendations=("R4",))


def assess_tests(results: TestResults, *, gait_findings_codes: set[str] | frozenset[str] = frozenset(),
                 norms: Norms | None = None) -> TestAssessment:
    """Judge each entered test (T1–T8) and collect the findings.

    ``gait_findings_codes``: codes of detected gait findings; the Thomas test (T1) counts as a finding only with
    LOW_HIP_EXT or LUMBO_PELVIC_COMP (domain.md §6 T1, §9.1). Otherwise it is returned with status "not_judged"
    and the outcome says "not a finding alone".
    """
    n = norms or load_norms()
    battery = load_battery()
    gait = set(gait_findings_codes)
    items: list[TestOutcome | Finding] = []
    for part in (_thomas(results, n, gait, battery), _prone(results, n, battery), _trunk(results, n, battery),
                 _slb(results, n, battery), _sls(results, n, battery), _hhd(results, n, battery),
                 _aslr(results, n, battery)):
        items.extend(part)
    outcomes = tuple(i for i in items if isinstance(i, TestOutcome))
    findings = [i for i in items if isinstance(i, Finding)]
    return TestAssessment(outcomes=outcomes, findings=findings, norms=n.model_dump())
