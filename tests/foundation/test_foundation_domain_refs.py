"""Every ``domain.md §…`` reference in the repository names a section of ``docs/domain.md`` (issue #12, item 6).

A reference is the text right after ``domain.md``: section tokens such as ``§7.3``, ``§9 R1``, ``§6 T1, §9.1``,
``§3, M1–M15``, ``§1–§3``, ``M6``, ``§M6`` or ``Q1 in §1.6`` (ranges are expanded). A section is a heading of
``docs/domain.md`` whose first word is its id (``### 7.3 …``, ``### M6 …``, ``#### Q1 …``) or the first cell of a
table row (``| TR1 … |``). The reader is pointed at ``docs/domain.md``, not at the shared research notes, and the
citation list (§11) covers every id of the report's ``references.yaml`` and every ``[n]`` the page cites.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DOMAIN_MD = REPO_ROOT / "docs" / "domain.md"
REFERENCES_YAML = REPO_ROOT / "src" / "backtorun" / "report" / "references.yaml"
SCANNED = ("src", "validation", "docs", "tests", "benchmarks", "scripts", "README.md")
TEXT_SUFFIXES = {".py", ".yaml", ".yml", ".md", ".j2", ".html", ".txt", ".toml", ".cfg", ".ini", ".css", ".js",
                 ".mako", ".sh"}
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", "node_modules"}

_TOKEN = r"(?:§\s?\d+(?:\.\d+)*|§?[A-Z]{1,2}\d+)"
_SEP = r"(?:\s*(?:,|–|—|-|/|&|\band\b|\bin\b)\s*|\s+)"
_REFERENCE = re.compile(rf"domain\.md\s*(?:[:,]\s*)?({_TOKEN}(?:{_SEP}{_TOKEN})*)")
_TOKEN_OR_RANGE = re.compile(rf"({_TOKEN})(?:\s*[–—-]\s*({_TOKEN}))?")
_HEADING = re.compile(r"^#{1,6}\s+§?(\d+(?:\.\d+)*|[A-Z]{1,2}\d+)\.?(?=\s|$)", re.MULTILINE)
_TABLE_ROW_ID = re.compile(r"^\|\s*([A-Z]{1,2}\d+)\b", re.MULTILINE)
_CITATION_ENTRY = re.compile(r"^(\d{1,3})\. ", re.MULTILINE)
_CITED = re.compile(r"\[(\d{1,3})[a-z]?(?:\]|[,:] [A-Za-z])")


def _norm(token: str) -> str:
    return token.replace("§", "").strip()


def _expand(first: str, last: str) -> list[str]:
    """``M1``–``M3`` → M1, M2, M3; ``1``–``3`` → 1, 2, 3; ``7.1``–``7.3`` → 7.1 … 7.3; otherwise both ends."""
    a, b = re.fullmatch(r"(.*?)(\d+)", first), re.fullmatch(r"(.*?)(\d+)", last)
    if a and b and a.group(1) == b.group(1) and int(a.group(2)) <= int(b.group(2)) <= int(a.group(2)) + 40:
        return [f"{a.group(1)}{n}" for n in range(int(a.group(2)), int(b.group(2)) + 1)]
    return [first, last]


def referenced_sections(text: str) -> list[tuple[int, str]]:
    """(line number, section id) of every ``domain.md §…`` reference in ``text``; ranges expanded."""
    found: list[tuple[int, str]] = []
    for m in _REFERENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        for part in _TOKEN_OR_RANGE.finditer(m.group(1)):
            first = _norm(part.group(1))
            ids = _expand(first, _norm(part.group(2))) if part.group(2) else [first]
            found.extend((line, i) for i in ids)
    return found


def section_ids(markdown: str) -> list[str]:
    """Ids of the headings (first word: ``7.3``, ``M6``, ``Q1``) and table-row ids (``TR1``) of a page."""
    return _HEADING.findall(markdown) + _TABLE_ROW_ID.findall(markdown)


def _scanned_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        root = REPO_ROOT / name
        if root.is_file():
            files.append(root)
            continue
        files.extend(p for p in root.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES
                     and not SKIPPED_DIRS.intersection(p.parts) and ".egg-info" not in str(p))
    this = Path(__file__).resolve()
    return sorted(p for p in files if p.resolve() not in (this, DOMAIN_MD.resolve()))


def _all_references() -> list[tuple[str, str]]:
    refs = []
    for path in _scanned_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        refs.extend((f"{path.relative_to(REPO_ROOT)}:{line}", sid) for line, sid in referenced_sections(text))
    return refs


def test_every_domain_reference_names_a_section_of_docs_domain_md() -> None:
    ids = set(section_ids(DOMAIN_MD.read_text(encoding="utf-8")))
    refs = _all_references()
    assert len({where.split(":")[0] for where, _ in refs if where.startswith("src")}) >= 20, \
        "the scanner found too few files citing domain.md in src/: is the reference pattern still matched?"
    missing = sorted(f"{where}: domain.md §{sid}" for where, sid in refs if sid not in ids)
    assert not missing, ("references to sections that docs/domain.md does not have (add the section, or fix the "
                         "reference):\n" + "\n".join(missing))


def test_reference_forms_used_in_the_code_are_parsed() -> None:
    def ids(text: str) -> list[str]:
        return [sid for _, sid in referenced_sections(text)]

    assert ids("(domain.md §6 T1, §9.1)") == ["6", "T1", "9.1"]
    assert ids("(domain.md §3, M1–M3)") == ["3", "M1", "M2", "M3"]
    assert ids("(domain.md §1–§3)") == ["1", "2", "3"]
    assert ids("(domain.md §7.1–§7.3)") == ["7.1", "7.2", "7.3"]
    assert ids("domain.md §9 R1: 20-min metronome runs") == ["9", "R1"]
    assert ids("(domain.md §7.3, revised 2026-12-05)") == ["7.3"]
    assert ids("(domain.md M7 a) vs OpenSim") == ["M7"]
    assert ids("domain.md §M6 and §T3") == ["M6", "T3"]
    assert ids("(domain.md §3, §9.1, §10, Q1 in §1.6)") == ["3", "9.1", "10", "Q1", "1.6"]
    assert ids("numbering of docs/domain.md §11; ids") == ["11"]
    assert ids("TR1–TR3 (domain.md §8).\nsee domain.md for details") == ["8"]
    assert [line for line, _ in referenced_sections("a\nb domain.md §2\n")] == [2]


def test_section_ids_read_headings_and_table_rows_and_catch_a_missing_one() -> None:
    page = "## 3. Metrics\n### M1 Cadence\n#### Q1 Gate\n| Rule | x |\n|---|---|\n| TR1 Spike | > 1.10 |\n"
    ids = set(section_ids(page))
    assert ids == {"3", "M1", "Q1", "TR1"}
    assert [sid for _, sid in referenced_sections("domain.md §3, M2") if sid not in ids] == ["M2"]


def test_section_ids_of_docs_domain_md_are_unique() -> None:
    ids = section_ids(DOMAIN_MD.read_text(encoding="utf-8"))
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"section ids defined twice in docs/domain.md: {duplicates}"


def test_readers_are_pointed_at_docs_domain_md_not_the_shared_notes() -> None:
    stale = []
    for path in _scanned_files():
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if "shared/docs/domain.md" in line:
                stale.append(f"{path.relative_to(REPO_ROOT)}:{n}")
    assert not stale, "point readers to docs/domain.md instead of ../shared/docs/domain.md:\n" + "\n".join(stale)


def test_citation_list_covers_the_report_references_and_the_page_citations() -> None:
    text = DOMAIN_MD.read_text(encoding="utf-8")
    body, _, citation_list = text.partition("\n## 11. Citation list")
    assert citation_list, "docs/domain.md has no '## 11. Citation list' section"
    listed = _CITATION_ENTRY.findall(citation_list)
    assert listed == sorted(listed, key=int) and len(listed) == len(set(listed)), "§11 must be numbered in order"
    report_ids = set(yaml.safe_load(REFERENCES_YAML.read_text(encoding="utf-8"))["references"])
    assert not report_ids - set(listed), f"references.yaml ids missing from §11: {sorted(report_ids - set(listed), key=int)}"
    cited = set(_CITED.findall(body))
    assert len(cited) >= 50, "too few [n] citations found in docs/domain.md: is the citation pattern still matched?"
    assert not cited - set(listed), f"cited but not listed in §11: {sorted(cited - set(listed), key=int)}"
