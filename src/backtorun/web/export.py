"""Export of one patient's data: a JSON document, or a zip with that JSON, the uploads and the results."""

from __future__ import annotations

import tempfile
import json
import zipfile
from pathlib import Path
from typing import IO, Any, Iterator

from sqlalchemy.orm import Session

from backtorun.store import repo
from backtorun.store.models import Patient

EXPORT_SCHEMA = "backtorun.patient-export/1"
SPOOL_BYTES = 32 * 1024 * 1024


def _iso(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


def export_json(db: Session, patient: Patient) -> dict[str, Any]:
    """Everything stored about the patient (records, intake, tests, results, upload checksums), as JSON."""
    evaluations = []
    for ev in repo.list_evaluations(db, patient.clinic_id, patient.id):
        evaluations.append({
            "id": ev.id, "created_at": _iso(ev.created_at), "label": ev.label, "speed_mps": ev.speed_mps,
            "height_cm": ev.height_cm, "intake": ev.intake, "red_flags": ev.red_flags, "tests": ev.tests,
            "result": ev.result, "completed_at": _iso(ev.completed_at),
            "uploads": [{"kind": u.kind, "name": u.original_name, "size_bytes": u.size_bytes, "sha256": u.sha256,
                         "content_type": u.content_type, "created_at": _iso(u.created_at),
                         "archive_path": f"evaluation-{ev.id}/uploads/{u.id}-{Path(u.stored_path).name}"}
                        for u in repo.list_uploads(db, ev.id)],
        })
    return {
        "schema": EXPORT_SCHEMA,
        "patient": {"id": patient.id, "name": patient.name, "birth_year": patient.birth_year, "sex": patient.sex,
                    "height_cm": patient.height_cm, "notes": patient.notes, "created_at": _iso(patient.created_at)},
        "evaluations": evaluations,
        "audit": [{"at": _iso(a.at), "user": a.user_email, "action": a.action, "detail": a.detail}
                  for a in repo.list_audit(db, patient.clinic_id, entity="patient", entity_id=patient.id,
                                           limit=10000)],
    }


def export_zip(db: Session, patient: Patient) -> IO[bytes]:
    """A zip archive: ``patient.json``, every upload and every result folder (reports, evaluation.json)."""
    data = export_json(db, patient)
    buf: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # large exports go to disk
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("patient.json", json.dumps(data, indent=1, ensure_ascii=False))
        for ev in repo.list_evaluations(db, patient.clinic_id, patient.id):
            for u in repo.list_uploads(db, ev.id):
                p = Path(u.stored_path)
                if p.is_file():
                    zf.write(p, f"evaluation-{ev.id}/uploads/{u.id}-{p.name}")
            if ev.result_dir and Path(ev.result_dir).is_dir():
                root = Path(ev.result_dir)
                for f in sorted(root.rglob("*")):
                    if f.is_file():
                        zf.write(f, f"evaluation-{ev.id}/results/{f.relative_to(root)}")
    buf.seek(0)
    return buf


def iter_file(fh: IO[bytes], chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
    """Stream a file object in chunks, closing it at the end."""
    try:
        while chunk := fh.read(chunk_bytes):
            yield chunk
    finally:
        fh.close()
