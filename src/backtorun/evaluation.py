"""The Evaluation: one frozen, versioned record of a whole Back To Running Evaluation.

It bundles the patient and session details, the checksums of every input, the settings and software versions
used, the technique analyses (side and rear view), the intake and red-flag screen, the test and training
assessments, the findings and the plan. It is the only thing that the report, the store and the web app
consume; a re-assessment is a new Evaluation (nothing here is ever mutated).

Sub-results from other stages are stored as the plain JSON dictionaries their producers write
(``to_dict()`` / ``model_dump(mode="json")``) so that an ``evaluation.json`` written by one version can be
read and re-rendered without importing the producers' classes. The gait analyses keep their own typed
contract (:class:`~backtorun.types.GaitAnalysis`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import platform
import uuid
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from backtorun.conventions import EVALUATION_SCHEMA
from backtorun.errors import InputError
from backtorun.types import Finding, GaitAnalysis, RedFlagScreen, json_safe

if TYPE_CHECKING:
    from backtorun.assessment import TestAssessment
    from backtorun.findings.result import FindingsResult
    from backtorun.intake import Intake
    from backtorun.plan import Plan
    from backtorun.training import TrainingAssessment

#: Schema versions this module can read (the current one first).
READABLE_SCHEMAS: tuple[str, ...] = (EVALUATION_SCHEMA,)


@dataclass(frozen=True)
class InputFile:
    """One input of the evaluation, identified by its SHA-256 so that a report can be traced to its data."""

    role: str  # "side_video", "rear_video", "side_keypoints", "intake", "tests", "log"
    name: str  # file name only (no directories: the evaluation may be shared)
    sha256: str
    size_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def sha256_file(path: str | Path, *, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in chunks (videos can be large)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(chunk_bytes), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_input(role: str, path: str | Path) -> InputFile:
    """Checksum and size of one input file."""
    p = Path(path)
    return InputFile(role=role, name=p.name, sha256=sha256_file(p), size_bytes=p.stat().st_size)


def software_versions(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Versions of backtorun and of the libraries whose behaviour shapes the results."""
    out: dict[str, str] = {"python": platform.python_version()}
    for dist in ("backtorun", "mediapipe", "numpy", "scipy", "pandas", "weasyprint", "matplotlib"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    if extra:
        out.update({str(k): str(v) for k, v in extra.items()})
    return out


def utc_now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Everything one evaluation produced; serialised as ``evaluation.json`` (schema ``backtorun.evaluation/1``).

    patient: identifying and descriptive details (name, id, date of birth, sex, height_cm …), as given.
    session: details of this session (date, clinician, belt speed, incline, treadmill, notes …).
    inputs: checksum of each input file. settings: the settings used (analysis, rules file …).
    software: versions of backtorun, the pose model and key libraries.
    side / rear: the technique analyses (None when that view was not recorded).
    intake, tests, training, findings, plan: producers' JSON dictionaries (None when not assessed).
    red_flags: the red-flag screen (None when no intake was given).
    artefacts: files written beside ``evaluation.json``, as paths relative to its folder
        (e.g. {"side_keyframes": ["side/keyframes/ic.png"], "metronome": "metronome_165spm.wav"}).
    attribution: credits for shipped sample data used (the demo), shown in the report.
    side_merge: provenance of each leg's side-view numbers (two side videos, or the near/far leg of one).
    """

    evaluation_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: str = field(default_factory=utc_now_iso)
    patient: Mapping[str, Any] = field(default_factory=dict)
    session: Mapping[str, Any] = field(default_factory=dict)
    inputs: tuple[InputFile, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    software: Mapping[str, str] = field(default_factory=dict)
    side: GaitAnalysis | None = None
    rear: GaitAnalysis | None = None
    intake: Mapping[str, Any] | None = None
    red_flags: RedFlagScreen | None = None
    tests: Mapping[str, Any] | None = None
    training: Mapping[str, Any] | None = None
    findings: Mapping[str, Any] | None = None
    plan: Mapping[str, Any] | None = None
    artefacts: Mapping[str, Any] = field(default_factory=dict)
    attribution: tuple[str, ...] = ()
    schema: str = EVALUATION_SCHEMA
    #: Which clip each leg's side-view numbers came from (``metrics.two_sided.TwoSidedMerge.to_dict``): legs,
    #: provenance_text, merged summary, flags and, with two side videos, both clips' analyses; None without one.
    side_merge: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        # producers' objects (pydantic models, dataclasses with to_dict) are stored as their plain JSON form, so
        # that an Evaluation built in memory and one read back from evaluation.json are the same thing
        for name in ("intake", "tests", "training", "findings", "plan"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, dict):
                object.__setattr__(self, name, _plain(value))
        if isinstance(self.red_flags, Mapping):
            object.__setattr__(self, "red_flags", RedFlagScreen.from_dict(
                {k: v for k, v in self.red_flags.items() if k != "refer"}))
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "attribution", tuple(self.attribution))

    # ---- convenience views -------------------------------------------------------------------------------
    @property
    def refer(self) -> bool:
        """True when a red flag replaces the running plan with a referral."""
        return bool(self.red_flags is not None and self.red_flags.refer)

    def finding_list(self) -> list[Finding]:
        """All findings as :class:`Finding` objects (from the findings result, else the parts' own findings)."""
        raw: list[Mapping[str, Any]] = []
        if self.findings is not None:
            raw = list(self.findings.get("findings", []))
        else:
            for part in (self.tests, self.training):
                if part is not None:
                    raw.extend(part.get("findings", []))
        known = {f.name for f in dataclasses.fields(Finding)}
        return [Finding.from_dict({k: v for k, v in d.items() if k in known}) for d in raw]

    def parts(self) -> "EvaluationParts":
        """The intake, test, training, findings and plan parts as their producers' typed objects (each read by
        the producer's own ``from_dict``; None where the part was not assessed). A part written under field
        names the producer no longer has is refused (InputError / ValidationError), never read as a default."""
        from backtorun.assessment import TestAssessment
        from backtorun.findings.result import FindingsResult
        from backtorun.intake import Intake
        from backtorun.plan import Plan
        from backtorun.training import TrainingAssessment

        def read(cls: Any, value: Mapping[str, Any] | None) -> Any:
            return cls.from_dict(value) if value is not None else None

        return EvaluationParts(intake=read(Intake, self.intake), tests=read(TestAssessment, self.tests),
                               training=read(TrainingAssessment, self.training),
                               findings=read(FindingsResult, self.findings), plan=read(Plan, self.plan))

    def replace(self, **changes: Any) -> "Evaluation":
        """A new Evaluation with some fields changed (e.g. a re-rendered artefact list)."""
        return dataclasses.replace(self, **changes)

    # ---- serialisation -----------------------------------------------------------------------------------
    def to_json_dict(self) -> dict[str, Any]:
        return json_safe(
            {
                "schema": self.schema,
                "evaluation_id": self.evaluation_id,
                "created_at": self.created_at,
                "patient": dict(self.patient),
                "session": dict(self.session),
                "inputs": [i.to_dict() for i in self.inputs],
                "settings": dict(self.settings),
                "software": dict(self.software),
                "side": self.side.to_json_dict() if self.side is not None else None,
                "rear": self.rear.to_json_dict() if self.rear is not None else None,
                "intake": _plain(self.intake),
                "red_flags": self.red_flags.to_dict() if self.red_flags is not None else None,
                "tests": _plain(self.tests),
                "training": _plain(self.training),
                "findings": _plain(self.findings),
                "plan": _plain(self.plan),
                "artefacts": dict(self.artefacts),
                "attribution": list(self.attribution),
                **({"side_merge": dict(self.side_merge)} if self.side_merge is not None else {}),
            }
        )

    @classmethod
    def from_json_dict(cls, d: Mapping[str, Any]) -> "Evaluation":
        schema = d.get("schema")
        if schema not in READABLE_SCHEMAS:
            raise InputError(
                f"not a backtorun evaluation (schema {schema!r})",
                hint=f"expected one of {', '.join(READABLE_SCHEMAS)}; re-run `backtorun evaluate`",
            )
        rf = d.get("red_flags")
        return cls(
            schema=str(schema),
            evaluation_id=str(d.get("evaluation_id") or uuid.uuid4().hex),
            created_at=str(d.get("created_at") or ""),
            patient=dict(d.get("patient") or {}),
            session=dict(d.get("session") or {}),
            inputs=tuple(InputFile(**i) for i in d.get("inputs") or ()),
            settings=dict(d.get("settings") or {}),
            software={str(k): str(v) for k, v in (d.get("software") or {}).items()},
            side=GaitAnalysis.from_json_dict(d["side"]) if d.get("side") else None,
            rear=GaitAnalysis.from_json_dict(d["rear"]) if d.get("rear") else None,
            intake=d.get("intake"),
            red_flags=RedFlagScreen.from_dict({k: v for k, v in rf.items() if k != "refer"}) if rf else None,
            tests=d.get("tests"),
            training=d.get("training"),
            findings=d.get("findings"),
            plan=d.get("plan"),
            artefacts=dict(d.get("artefacts") or {}),
            attribution=tuple(d.get("attribution") or ()),
            side_merge=d.get("side_merge"),
        )

    def save(self, path: str | Path) -> Path:
        """Write ``evaluation.json`` (UTF-8, indented, no NaN)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json_dict(), indent=1, ensure_ascii=False, allow_nan=False),
                        encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Evaluation":
        """Read an ``evaluation.json`` written by :meth:`save`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"evaluation file not found: {path}", hint="give the evaluation.json written by "
                             "`backtorun evaluate`") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read evaluation file {path}: {exc}",
                             hint="is it an evaluation.json written by `backtorun evaluate`?") from exc
        if not isinstance(data, dict):
            raise InputError(f"{path} is not an evaluation (expected a JSON object)")
        try:
            return cls.from_json_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"evaluation file {path} is incomplete or damaged: {exc}",
                             hint="re-run `backtorun evaluate` to write it again") from exc


@dataclass(frozen=True)
class EvaluationParts:
    """Typed view of an Evaluation's producer parts (:meth:`Evaluation.parts`)."""

    intake: "Intake | None" = None
    tests: "TestAssessment | None" = None
    training: "TrainingAssessment | None" = None
    findings: "FindingsResult | None" = None
    plan: "Plan | None" = None


def _plain(obj: Any) -> Any:
    """A producer's result as plain JSON data: to_dict()/model_dump(mode="json")/mapping, else None."""
    if obj is None:
        return None
    if hasattr(obj, "model_dump"):
        return json_safe(obj.model_dump(mode="json"))
    if hasattr(obj, "to_dict"):
        return json_safe(obj.to_dict())
    if isinstance(obj, Mapping):
        return json_safe(dict(obj))
    raise TypeError(f"cannot store {type(obj).__name__} in an Evaluation: it has no to_dict()/model_dump()")
