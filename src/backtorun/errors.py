"""One documented error hierarchy. Every message says what went wrong *and what to do next*.

BacktorunError
├── InputError                 bad input from the user (a file, a form, a recording)
│   ├── VideoUnreadable        not a video, empty, truncated, unsupported codec
│   ├── NoRunnerFound          no person detected (or not for long enough)
│   ├── CaptureUnsuitable      the recording cannot support any meaningful analysis
│   ├── TooFewStrides          too few gait cycles to compute metrics
│   ├── BadKeypointFile        keypoint JSON/CSV that cannot be read
│   ├── BadLogFile             training log that cannot be imported
│   ├── BadIntake              intake form/file that fails validation
│   └── BadTestResults         strength/flexibility test entries that fail validation
├── ConfigError                settings or rule files that are invalid
└── MissingDependency          an optional tool or package is not installed
"""

from __future__ import annotations


class BacktorunError(Exception):
    """Base class; ``str(err)`` is a one-line, actionable message fit for the CLI and the web app."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message} — {hint}")


class InputError(BacktorunError):
    exit_code = 2


class VideoUnreadable(InputError):
    pass


class NoRunnerFound(InputError):
    pass


class CaptureUnsuitable(InputError):
    pass


class TooFewStrides(InputError):
    pass


class BadKeypointFile(InputError):
    pass


class BadLogFile(InputError):
    pass


class BadIntake(InputError):
    pass


class BadTestResults(InputError):
    pass


class ConfigError(BacktorunError):
    exit_code = 3


class MissingDependency(BacktorunError):
    exit_code = 4
