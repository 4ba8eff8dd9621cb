"""``/healthz`` and ``/v1/playbooks``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from leadflow.adapters.db.migrate import current_revision
from leadflow.adapters.playbook_yaml import shipped_playbooks
from leadflow.domain.reasons import ReasonKind
from leadflow.entrypoints.api.deps import AppDep, ReadPlaybooks
from leadflow.entrypoints.api.schemas import GUARDED, ErrorOut, HealthOut, PlaybookOut
from leadflow.errors import HttpError

router = APIRouter(tags=["meta"])


@router.get(
    "/healthz",
    response_model=HealthOut,
    responses={503: {"model": ErrorOut, "description": "the database is unreachable"}},
    summary="Liveness and database check",
)
def healthz(app: AppDep) -> Any:
    try:
        with app.db.view() as view:
            view.ping()
        revision = current_revision(app.db.engine)
    except Exception as exc:
        raise HttpError(
            503, "database_unavailable", f"database check failed: {type(exc).__name__}"
        ) from exc
    return {"status": "ok", "database": app.db.dialect, "schema_revision": revision}


@router.get(
    "/v1/playbooks",
    response_model=list[PlaybookOut],
    responses={
        **GUARDED,
        401: {"model": ErrorOut, "description": "an API key is required"},
        403: {"model": ErrorOut, "description": "the key's role may not do this"},
        422: {"model": ErrorOut, "description": "invalid request; every bad field is named"},
    },
    summary="The shipped playbooks",
)
def playbooks(app: AppDep, _who: ReadPlaybooks) -> Any:
    """Every shipped playbook with its current version (content hash) and the reason codes
    that reject, disqualify and lose take."""
    found = []
    for name in shipped_playbooks():
        playbook = app.playbooks(name)
        found.append(
            {
                "id": playbook.id,
                "name": playbook.name,
                "version": playbook.version,
                "description": playbook.description,
                "lead_types": sorted(playbook.lead_types),
                "reasons": {
                    kind.value: [
                        {"code": r.code, "label": r.label} for r in playbook.reasons.of(kind)
                    ]
                    for kind in ReasonKind
                },
            }
        )
    return found
