"""Password policy (OWASP ASVS 4.0.3 §2.1, NIST SP 800-63B §5.1.1.2): length and guessability, no composition rules.

A password is accepted when it has ``min_chars``…``max_chars`` characters (Unicode code points, spaces count, nothing
is truncated) and is not guessable: not on the built-in list of common passwords (``common_passwords.txt``, shipped
with the package), not such a password with digits or symbols around it or letters swapped for look-alike digits
(``p@ssw0rd2024``), not a repetition (``abcabcabcabc``) or keyboard/alphabet run (``qwertyuiopas``), not made of
fewer than ``min_distinct_chars`` characters (``000000000000``), and not the account's e-mail, its clinic or the
program name. Checked when an account is created (web and ``backtorun admin create``), on a change and on a reset.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Iterable

COMMON_FILE = "common_passwords.txt"
APP_WORDS = ("backtorun", "back to run", "backtorunning")

_EDGE = "0123456789!@#$%^&*()-_=+.,;:?'\"~`/\\|[]{}<>"
_LOOKALIKE = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
                            "@": "a", "$": "s", "!": "i", "+": "t", "|": "l"})
_RUNS = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn",
         "qazwsxedcrfvtgbyhnujmikolp", "1q2w3e4r5t6y7u8i9o0p", "q1w2e3r4t5y6u7i8o9p0", "!@#$%^&*()")


@dataclass(frozen=True)
class PasswordPolicy:
    """Limits of the policy (from ``WebSettings``: password_min_chars, password_max_chars,
    password_min_distinct_chars)."""

    min_chars: int = 12
    max_chars: int = 128
    min_distinct_chars: int = 4

    @classmethod
    def of(cls, settings: object) -> "PasswordPolicy":
        return cls(min_chars=getattr(settings, "password_min_chars"), max_chars=getattr(settings, "password_max_chars"),
                   min_distinct_chars=getattr(settings, "password_min_distinct_chars"))


@functools.lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The built-in list (lower case, one per line, ``#`` comments)."""
    text = resources.files("backtorun.web").joinpath(COMMON_FILE).read_text(encoding="utf-8")
    return frozenset(_squash(line) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text.lower())


def _plain(text: str) -> str:
    """Letters and digits only (``nurse.clinic.test`` and ``nurse@clinic.test`` compare equal)."""
    return re.sub(r"[\W_]+", "", text)


def _is_repetition(s: str) -> bool:
    """``s`` is a shorter string repeated (``abab…``, ``correcthorsecorrecthorse``)."""
    n = len(s)
    return n >= 2 and any(n % k == 0 and s[:k] * (n // k) == s for k in range(1, n // 2 + 1))


def _is_run(s: str) -> bool:
    """``s`` lies along a keyboard row or the alphabet/digits, forwards or backwards (``qwertyuiop``, ``987654``)."""
    for run in _RUNS:
        long = run * 3
        if s in long or s in long[::-1]:
            return True
    return False


def _context_words(context: Iterable[str]) -> set[str]:
    words = {_squash(w) for w in APP_WORDS}
    for item in context:
        item = _squash(item or "")
        if not item:
            continue
        words.add(item)
        if "@" in item:
            local = item.split("@", 1)[0]
            words.update({local, re.sub(r"[._+\-]", "", local)})
            words.update(p for p in re.split(r"[._+\-]", local) if len(p) >= 4)
    return {w for w in words if w}


def password_problem(password: str, policy: PasswordPolicy, *, context: Iterable[str] = ()) -> str | None:
    """Why ``password`` is refused, as one line the user can act on, or None when it is accepted.

    ``context``: the account's e-mail, clinic name and the like, which a password must not be.
    """
    n = len(password)
    if n < policy.min_chars:
        return (f"The password needs at least {policy.min_chars} characters (it has {n}). A phrase of several "
                "unrelated words is long and easy to remember.")
    if n > policy.max_chars:
        return f"The password may have at most {policy.max_chars} characters (it has {n})."
    compact = _squash(password)
    if len(set(compact)) < policy.min_distinct_chars:
        return (f"The password uses fewer than {policy.min_distinct_chars} different characters. Choose a phrase "
                "of several unrelated words.")
    stem = compact.strip(_EDGE)
    candidates = {compact, stem, compact.translate(_LOOKALIKE), stem.translate(_LOOKALIKE)} - {""}
    common = common_passwords()
    if any(c in common or _is_repetition(c) for c in candidates):
        return ("This password is too common or too easy to guess (it is on the list of frequently used passwords, "
                "or is one with digits or symbols added). Choose a phrase of several unrelated words.")
    if _is_run(compact) or (len(stem) >= 4 and _is_run(stem)):
        return "The password is a keyboard or alphabet sequence. Choose a phrase of several unrelated words."
    ctx = _context_words(context)
    plain_ctx = {_plain(w) for w in ctx} - {""}
    if any(c in ctx or _plain(c) in plain_ctx for c in candidates):
        return "The password must not be your e-mail address, your clinic's name or the program's name."
    return None
