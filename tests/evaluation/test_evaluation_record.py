"""The Evaluation record: JSON round trip, checksums, schema checks, producers' objects stored as plain data."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

import pytest

from backtorun.conventions import EVALUATION_SCHEMA
from backtorun.errors import InputError
from backtorun.evaluation import Evaluation, describe_input, sha256_file
from tests.report.evaluation_factory import make_evaluation


def test_round_trip_keeps_every_part(tmp_path):
    e = make_evaluation()
    path = e.save(tmp_path / "evaluation.json")
    back = Evaluation.load(path)
    assert back.to_json_dict() == e.to_json_dict()
    assert back.schema == EVALUATION_SCHEMA
    assert back.side is not None and back.rear is not None
    assert math.isclose(back.side.summary["cadence_spm"].mean, e.side.summary["cadence_spm"].mean)
    assert list(back.side.strides.columns) == list(e.side.strides.columns)
    assert back.red_flags is not None and back.red_flags.level == "none" and not back.refer
    assert [f.code for f in back.finding_list()] == [f.code for f in e.finding_list()]
    # the file is strict JSON (no NaN) and carries the schema
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["schema"] == EVALUATION_SCHEMA


def test_referral_survives_round_trip(tmp_path):
    e = make_evaluation(refer=True)
    back = Evaluation.load(e.save(tmp_path / "e.json"))
    assert back.refer and back.red_flags.level == "emergency"
    assert back.red_flags.hits[0].code == "RF-CES"


def test_evaluation_is_frozen():
    e = make_evaluation()
    with pytest.raises(Exception):
        e.patient = {}  # type: ignore[misc]
    changed = e.replace(patient={"name": "Other"})
    assert changed.patient["name"] == "Other" and e.patient["name"] == "Test Runner"


def test_producer_objects_are_stored_as_plain_dicts():
    @dataclass(frozen=True)
    class Producer:
        x: float

        def to_dict(self):
            return {"x": self.x, "nan": float("nan")}

    e = Evaluation(tests=Producer(1.5), training={"weeks": []})
    assert e.tests == {"x": 1.5, "nan": None}
    assert e.to_json_dict()["tests"] == {"x": 1.5, "nan": None}


def test_checksums_match_hashlib(tmp_path):
    f = tmp_path / "clip.bin"
    data = bytes(range(256)) * 5000
    f.write_bytes(data)
    assert sha256_file(f, chunk_bytes=4096) == hashlib.sha256(data).hexdigest()
    info = describe_input("side_video", f)
    assert info.name == "clip.bin" and info.size_bytes == len(data)


@pytest.mark.parametrize("content, needle", [
    ("not json", "cannot read"),
    ('{"schema": "something/9"}', "not a backtorun evaluation"),
    ("[1, 2]", "not an evaluation"),
])
def test_bad_files_give_one_line_errors(tmp_path, content, needle):
    p = tmp_path / "evaluation.json"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as err:
        Evaluation.load(p)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_missing_file_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        Evaluation.load(tmp_path / "nope.json")
