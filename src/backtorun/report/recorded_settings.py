"""Named readers for the settings recorded in an Evaluation (``evaluation.json`` → ``settings``).

The recorded analysis settings have no typed reader in the report (they are the analysis tree of schema
``backtorun.analysis/2``: sections ``pose``, ``filtering``, ``events``, ``strides``, ``capture`` and the run facts
``run``; or the flat fields of ``backtorun.analysis/1``). Every value the report shows from them is read here, by
name, so that a renamed setting is changed in one place. Each function returns None when the value was not recorded.
"""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["lowpass_cutoff_hz", "min_visibility", "pose_source", "rules_clinic_file", "rules_version",
           "runner_height_cm", "runner_speed_mps", "scale_method"]


def _analysis(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The analysis settings as one flat name → value map (schema /2 sections merged; /1 is flat already)."""
    analysis = settings.get("analysis")
    if not isinstance(analysis, Mapping):
        return {}
    if isinstance(analysis.get("run"), Mapping):
        return {k: v for sec in analysis.values() if isinstance(sec, Mapping) for k, v in sec.items()}
    return dict(analysis)


def _rules(settings: Mapping[str, Any]) -> Mapping[str, Any]:
    rules = settings.get("rules")
    return rules if isinstance(rules, Mapping) else {}


def lowpass_cutoff_hz(settings: Mapping[str, Any]) -> float | None:
    """Low-pass cut-off of the joint angles (Hz; ``filtering.lowpass_cutoff_hz``)."""
    return _analysis(settings).get("lowpass_cutoff_hz")


def min_visibility(settings: Mapping[str, Any]) -> float | None:
    """Landmark visibility below which a keypoint is dropped (0–1; ``pose.min_visibility``)."""
    return _analysis(settings).get("min_visibility")


def scale_method(settings: Mapping[str, Any]) -> str | None:
    """How pixels were turned into metres (``run.scale_method``)."""
    return _analysis(settings).get("scale_method") or None


def pose_source(settings: Mapping[str, Any]) -> str | None:
    """Where the keypoints came from (``run.pose_source``)."""
    return _analysis(settings).get("pose_source") or None


def rules_version(settings: Mapping[str, Any]) -> str | None:
    """Version of the findings rules used (``rules.version``)."""
    return _rules(settings).get("version") or None


def rules_clinic_file(settings: Mapping[str, Any]) -> str | None:
    """The clinic's rules file, when one overrode the packaged defaults (``rules.clinic_file``)."""
    return _rules(settings).get("clinic_file") or None


def runner_height_cm(settings: Mapping[str, Any]) -> float | None:
    """The runner's height given for scaling (cm)."""
    return settings.get("height_cm") or None


def runner_speed_mps(settings: Mapping[str, Any]) -> float | None:
    """The belt speed given (m/s)."""
    return settings.get("speed_mps") or None
