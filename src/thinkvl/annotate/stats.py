"""Dashboard numbers: progress, the model's per-field edit rate, per-annotator progress, and
annotator–reviewer agreement per field (percent agreement; Cohen's kappa for label fields).

The edit rate counts submitted and accepted tasks only (their decisions are final): of the
fields the model drafted, the share people edited or rejected — the model's hallucination
signal; of the fields it left empty, the share people filled — its omission signal.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from thinkvl.annotate.fields import same
from thinkvl.annotate.models import FieldValue, Membership, Project, Task, User
from thinkvl.annotate.projects import project_config
from thinkvl.annotate.workflow import count_by_status

FINISHED = ("submitted", "accepted")


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def field_edits(session: Session, project: Project) -> list[dict[str, Any]]:
    cfg = project_config(project)
    counts: dict[str, Counter] = defaultdict(Counter)
    rows = session.scalars(select(FieldValue).join(Task).where(
        Task.project_id == project.id, Task.status.in_(FINISHED)))
    for fv in rows:
        c = counts[fv.field]
        c["decided"] += fv.status != "pending"
        if fv.has_draft:
            c["drafted"] += 1
            c[fv.status] += 1
        else:
            c["no_draft"] += 1
            c["filled"] += fv.status == "edited"
    out = []
    for spec in cfg.fields:
        c = counts[spec.name]
        changed = c["edited"] + c["rejected"]
        out.append({
            "field": spec.name, "title": spec.title, "decided": c["decided"],
            "drafted": c["drafted"], "accepted": c["accepted"], "edited": c["edited"],
            "rejected": c["rejected"], "no_draft": c["no_draft"], "filled": c["filled"],
            "edit_rate": _rate(changed, c["drafted"]),
            "omission_rate": _rate(c["filled"], c["no_draft"]),
            "changed_rate": _rate(changed + c["filled"], c["decided"]),
        })
    return out


def agreement(session: Session, project: Project) -> list[dict[str, Any]]:
    cfg = project_config(project)
    pairs: dict[str, list[tuple[Any, Any, str | None]]] = defaultdict(list)
    rows = session.scalars(select(FieldValue).join(Task).where(
        Task.project_id == project.id, Task.status.in_(FINISHED),
        FieldValue.review_status.is_not(None)))
    for fv in rows:
        pairs[fv.field].append((fv.value, fv.review_value, fv.resolution))
    out = []
    for spec in cfg.fields:
        got = pairs[spec.name]
        agree = sum(same(spec, a, b) for a, b, _ in got)
        conflicts = [r for a, b, r in got if not same(spec, a, b)]
        out.append({
            "field": spec.name, "title": spec.title, "reviewed": len(got), "agree": agree,
            "agreement": _rate(agree, len(got)),
            "kappa": _kappa([(a, b) for a, b, _ in got]) if spec.type == "label" else None,
            "conflicts": len(conflicts),
            "kept_annotator": sum(r == "annotator" for r in conflicts),
            "took_reviewer": sum(r != "annotator" for r in conflicts),
        })
    return out


def _kappa(pairs: list[tuple[Any, Any]]) -> float | None:
    """Cohen's kappa of two raters' labels (None counts as a category of its own)."""
    n = len(pairs)
    if n == 0:
        return None
    po = sum(a == b for a, b in pairs) / n
    ca, cb = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    if pe >= 1.0:
        return 1.0 if po == 1.0 else None
    return round((po - pe) / (1 - pe), 4)


def annotators(session: Session, project: Project) -> list[dict[str, Any]]:
    """Per person: tasks in progress, submitted and accepted as annotator; tasks reviewed."""
    ann = aliased(User)
    per: dict[str, Counter] = defaultdict(Counter)
    for status, name in session.execute(select(Task.status, ann.username).join(
            ann, Task.annotator_id == ann.id).where(Task.project_id == project.id)):
        per[name][status] += 1
    rev = aliased(User)
    for (name,) in session.execute(select(rev.username).join(
            Task, Task.reviewer_id == rev.id).where(Task.project_id == project.id,
                                                   Task.status == "accepted")):
        per[name]["reviewed"] += 1
    members = session.execute(select(User.username, Membership.role).join(
        Membership, Membership.user_id == User.id).where(Membership.project_id == project.id))
    roles = dict(members.all())
    names = sorted(set(per) | set(roles))
    return [{"user": n, "role": roles.get(n, "admin"), "in_progress": per[n]["in_progress"],
             "submitted": per[n]["submitted"], "accepted": per[n]["accepted"],
             "reviewed": per[n]["reviewed"]} for n in names]


def dashboard(session: Session, project: Project) -> dict[str, Any]:
    counts = count_by_status(session, project.id)
    return {"progress": counts, "done": _rate(counts["accepted"], counts["total"]) or 0.0,
            "fields": field_edits(session, project), "agreement": agreement(session, project),
            "people": annotators(session, project)}
