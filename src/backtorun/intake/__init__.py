"""Running and injury review: validated intake model and red-flag screen (domain.md §7)."""

from backtorun.errors import BadIntake
from backtorun.intake.findings import IntakeFindingRules, intake_findings, load_intake_finding_rules, odi_band
from backtorun.intake.io import intake_from_form, load_intake, parse_intake
from backtorun.intake.model import (Clearance, History, Instruments, Intake, Modifiers, PainLocation, PainScores,
                                    PainTiming, PsfsActivity, RedFlagItems, TrainingContext)
from backtorun.intake.redflags import RedFlagRules, load_red_flag_rules, screen_red_flags

__all__ = ["BadIntake", "Clearance", "History", "IntakeFindingRules", "intake_findings", "intake_from_form", "load_intake_finding_rules", "odi_band", "Instruments", "Intake", "Modifiers", "PainLocation", "PainScores", "PainTiming",
           "PsfsActivity", "RedFlagItems", "RedFlagRules", "TrainingContext", "load_intake", "load_red_flag_rules",
           "parse_intake", "screen_red_flags"]
