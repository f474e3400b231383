"""The audit-log page's filters: by account, patient, action and date; page views left out unless asked for.

Query parameters (all optional): ``user`` (e-mail), ``patient`` (patient id), ``action``, ``from`` and ``to``
(dates, YYYY-MM-DD, both included, UTC), ``views=1`` to include page views. Invalid values are ignored with a
one-line note on the page, never an error.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from sqlalchemy.orm import Session

from backtorun.store import repo

MAX_ROWS = 500


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def audit_page_context(db: Session, clinic_id: int, params: Mapping[str, str]) -> dict[str, Any]:
    """Template context of ``audit.html``: the filtered entries (newest first, at most ``MAX_ROWS``) and the
    filter values and choices."""
    notes: list[str] = []
    user = (params.get("user") or "").strip().lower() or None
    action = (params.get("action") or "").strip() or None
    include_views = params.get("views") in ("1", "on", "true")
    patient_id = None
    if params.get("patient"):
        try:
            patient_id = int(params["patient"])
        except ValueError:
            notes.append("The patient filter must be a patient number; it was ignored.")
    since, until = _date(params.get("from")), _date(params.get("to"))
    for key, value in (("from", since), ("to", until)):
        if params.get(key) and value is None:
            notes.append(f"The '{key}' date must be written YYYY-MM-DD; it was ignored.")
    query = repo.AuditQuery(
        user_email=user, action=action, patient_id=patient_id, include_views=include_views,
        since=dt.datetime.combine(since, dt.time(), dt.timezone.utc) if since else None,
        until=dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.timezone.utc) if until else None)
    entries = repo.search_audit(db, clinic_id, query, limit=MAX_ROWS)
    emails, actions = repo.audit_choices(db, clinic_id)
    patient = repo.get_patient(db, clinic_id, patient_id) if patient_id is not None else None
    return {"entries": entries, "emails": emails, "actions": actions, "notes": notes, "max_rows": MAX_ROWS,
            "f": {"user": user or "", "action": action or "", "patient": patient_id if patient_id is not None else "",
                  "from": since.isoformat() if since else "", "to": until.isoformat() if until else "",
                  "views": include_views},
            "patient": patient}
