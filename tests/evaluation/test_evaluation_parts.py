"""Typed Evaluation parts (issue #12 item 3): every producer part round-trips through its own to_dict/from_dict
and through evaluation.json, and the report shows the values the producers wrote.

The parts are made by the real producers (intake and tests from the shipped samples, the training review of the
sample log, the findings engine and the plan builder on a synthetic side analysis), never by hand-written dicts:
a producer that renames a field (e.g. ``CadencePlan.metronome_minutes``) then fails here, because the report,
which reads the part by its old name, shows a blank or a default instead of the producer's value.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import backtorun
from backtorun.assessment import TestAssessment, assess_tests
from backtorun.errors import InputError
from backtorun.evaluation import Evaluation
from backtorun.findings import evaluate_findings
from backtorun.findings.result import FindingsResult
from backtorun.intake import Intake, intake_findings, screen_red_flags
from backtorun.plan import CadencePlan, Plan, build_plan
from backtorun.report.format import fmt_number
from backtorun.report.view import build_view
from backtorun.services.evaluation import EvaluationInputs, read_intake_file, read_tests_file, with_files
from backtorun.services.intake import check_intake_data, parse_tests
from backtorun.services.training import review_training
from backtorun.training import TrainingAssessment
from tests.report.evaluation_factory import make_analysis

SAMPLES = Path(backtorun.__file__).parent / "samples"


@pytest.fixture(scope="module")
def produced() -> dict:
    """Every part of an evaluation, made by its producer (no video: a synthetic side analysis)."""
    side = make_analysis("side")
    intake = read_intake_file(SAMPLES / "sample_intake.yaml")
    red = screen_red_flags(intake)
    training = review_training([SAMPLES / "sample_training_log.csv"], intake=intake).assessment
    gait = evaluate_findings(side=side, rear=None, red_flags=red)
    tests = assess_tests(read_tests_file(SAMPLES / "sample_tests.yaml"),
                         gait_findings_codes={f.code for f in gait.findings if f.domain == "gait"})
    other = [*intake_findings(intake), *tests.findings, *training.findings]
    findings = evaluate_findings(side=side, rear=None, red_flags=red, other_findings=other, intake=intake,
                                 training=training)
    plan = build_plan(findings, side=side, red_flags=red, intake=intake, training=training)
    evaluation = Evaluation(side=side, intake=intake, red_flags=red, tests=tests, training=training,
                            findings=findings, plan=plan)
    return {"intake": intake, "tests": tests, "training": training, "findings": findings, "plan": plan,
            "evaluation": evaluation}


def test_the_sample_parts_are_complete(produced):
    """The fixture exercises every part the report shows: a plan with cadence targets, findings, tests, weeks."""
    plan: Plan = produced["plan"]
    assert plan.referral is None and plan.cadence is not None and len(plan.cadence.targets) >= 2
    assert plan.recommendations and produced["findings"].findings
    assert produced["tests"].outcomes and produced["training"].weeks


@pytest.mark.parametrize("name, cls", [("intake", Intake), ("tests", TestAssessment),
                                       ("training", TrainingAssessment), ("findings", FindingsResult),
                                       ("plan", Plan)])
def test_each_part_round_trips_through_its_producer(produced, name, cls):
    part = produced[name]
    plain = json.loads(json.dumps(part.to_dict()))  # what evaluation.json holds
    back = cls.from_dict(plain)
    assert type(back) is cls
    assert back.to_dict() == part.to_dict()


def test_typed_objects_survive_the_round_trip(produced):
    plan: Plan = produced["plan"]
    back = Plan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert back == plan  # frozen dataclasses all the way down (tuples, nested records)
    assert isinstance(back.cadence, CadencePlan) and back.cadence.targets[0].spm == plan.cadence.targets[0].spm
    assert Intake.from_dict(produced["intake"].to_dict()) == produced["intake"]
    training: TrainingAssessment = produced["training"]
    t_back = TrainingAssessment.from_dict(training.to_dict())
    assert t_back.weeks == training.weeks and t_back.findings == training.findings
    assert t_back.running_dynamics_summary() == training.running_dynamics_summary()


def test_evaluation_json_gives_the_typed_parts_back(produced, tmp_path):
    e: Evaluation = produced["evaluation"]
    back = Evaluation.load(e.save(tmp_path / "evaluation.json")).parts()
    for name in ("intake", "tests", "training", "findings", "plan"):
        assert getattr(back, name).to_dict() == produced[name].to_dict(), name
    assert back.plan == produced["plan"]
    assert Evaluation().parts().plan is None  # a part not assessed stays None


def test_a_part_under_another_field_name_is_refused(produced):
    """A renamed field is an error naming it, not a silent default."""
    plain = produced["plan"].to_dict()
    plain["cadence"]["metronome_min"] = plain["cadence"].pop("metronome_minutes")
    with pytest.raises(InputError, match="CadencePlan: field 'metronome_minutes' is missing"):
        Plan.from_dict(plain)
    with pytest.raises(InputError, match="plan schema"):
        Plan.from_dict({**produced["plan"].to_dict(), "schema": "backtorun.plan/0"})


def test_report_shows_every_plan_value_the_producer_wrote(produced, tmp_path):
    """The report's plan section, rendered from an Evaluation, holds the producer's values (none blank)."""
    plan: Plan = produced["plan"]
    view = build_view(produced["evaluation"], out_dir=tmp_path, asset_dir=tmp_path, plots={})["plan"]
    cad, shown = plan.cadence, view["cadence"]
    assert shown["minutes"] == fmt_number(cad.metronome_minutes) and shown["minutes"] not in ("", "—")
    assert shown["measured"] == fmt_number(cad.measured_spm, 0)
    assert shown["retest"] == cad.retest and shown["faded"] == list(cad.faded_feedback)
    assert shown["indicated"] == cad.indicated and shown["grade"] == cad.evidence_grade
    assert [(t["step"], t["spm"], t["file"], t["command"], t["pct"]) for t in shown["targets"]] == [
        (t.step, t.spm, t.metronome_file, t.metronome_command, fmt_number(t.increase_pct, 0)) for t in cad.targets]
    assert all(t["file"] and t["command"] for t in shown["targets"])
    assert [(r["code"], r["title"], r["summary"], [(x["name"], x["dose"]) for x in r["exercises"]])
            for r in view["recommendations"]] == [
        (r.code, r.title, r.summary, [(x.name, x.dose or x.frequency) for x in r.exercises])
        for r in plan.recommendations]
    assert view["outside"] == (plan.running_outside or "")
    assert view["notes"] == list(plan.notes)


def test_report_shows_every_detected_finding(produced, tmp_path):
    view = build_view(produced["evaluation"], out_dir=tmp_path, asset_dir=tmp_path, plots={})
    findings: FindingsResult = produced["findings"]
    detected = {f.code for f in findings.findings if f.status == "detected" and f.domain != "red_flag"}
    assert detected and {f["code"] for f in view["findings_detected"]} == detected


def test_web_and_cli_build_the_same_inputs(produced):
    """The web job parses the intake and tests stored on the row; the CLI reads the files: same objects."""
    from_files = with_files(EvaluationInputs(), intake=SAMPLES / "sample_intake.yaml",
                            tests=SAMPLES / "sample_tests.yaml")
    intake_row = from_files.intake.model_dump(mode="json")  # as the intake form stores it
    tests_row = from_files.tests.model_dump(mode="json", exclude_none=True)  # as the test form stores it
    from_rows = EvaluationInputs(intake=check_intake_data(intake_row, source="saved intake").intake,
                                 tests=parse_tests(tests_row, source="saved test results"))
    assert from_rows.intake == from_files.intake and from_rows.tests == from_files.tests
    assert [role for role, _ in from_files.source_files] == ["intake", "tests"]
