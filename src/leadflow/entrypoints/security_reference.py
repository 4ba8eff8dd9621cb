"""The reference tables of docs/security.md, generated from the policy and the routes.

``python -m leadflow.entrypoints.security_reference`` prints them; a test fails when the copy
in docs/security.md differs, so the documented rule cannot drift from the one enforced. The
route table is read from the application itself: each route's ``require(...)`` or
``page(...)`` dependency says which permission it needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from leadflow.domain.access import DESCRIPTIONS, LEAD_VIEWS, PERMISSIONS, Permission, Role

GENERATED = "(generated: python -m leadflow.entrypoints.security_reference)"
START = f"<!-- security-reference:start {GENERATED} -->"
END = "<!-- security-reference:end -->"
# Routes that need no role, and why.
OPEN_ROUTES: dict[str, str] = {
    "/healthz": "liveness; says nothing about leads",
    "/v1/webhooks/{source}": "signed with the source's secret (Standard Webhooks)",
    "/u/{token}": "the unsubscribe link's own signature",
    "/login": "the sign-in form",
    "/logout": "ends the caller's own session",
    "/login/sso": "starts single sign-on",
    "/login/sso/callback": "the identity provider's answer (state, PKCE, signed ID token)",
    "/openapi.json": "the API's description",
    "/docs": "the API's description",
    "/docs/oauth2-redirect": "the API's description",
    "/redoc": "the API's description",
}


def _permissions(dependant: Any) -> Iterator[Permission]:
    for dependency in dependant.dependencies:
        found = getattr(dependency.call, "permission", None)
        if isinstance(found, Permission):
            yield found
        yield from _permissions(dependency)


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router (its routes carry
            yield from _api_routes(route.original_router.routes)  # their own prefix)


def route_permissions(api: FastAPI) -> list[tuple[str, str, Permission | None]]:
    """(method, path, permission) of every route, sorted; ``None``: no role needed."""
    rows = []
    for route in _api_routes(list(api.routes)):
        needed = next(_permissions(route.dependant), None)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            rows.append((method, route.path, needed))
    return sorted(rows, key=lambda r: (r[1], r[0]))


def render_roles() -> str:
    roles = list(Role)
    head = "| permission | " + " | ".join(r.value for r in roles) + " | what it allows |"
    rule = "|---|" + "---|" * len(roles) + "---|"
    lines = [head, rule]
    for permission in Permission:
        cells = ["yes" if role in PERMISSIONS[permission] else "—" for role in roles]
        lines.append(
            f"| `{permission.value}` | " + " | ".join(cells) + f" | {DESCRIPTIONS[permission]} |"
        )
    lines += [
        "",
        "| role | lead records | free text | who read the record |",
        "|---|---|---|---|",
    ]
    for role in roles:
        view = LEAD_VIEWS[role]
        reads = role in PERMISSIONS[Permission.LEADS_READ]
        text = view.free_text.value if reads else "—"
        lines.append(
            f"| {role.value} | {'yes' if reads else 'no (aggregates only)'} | {text} | "
            f"{'yes' if view.access_log else '—'} |"
        )
    return "\n".join(lines)


def render_routes(api: FastAPI) -> str:
    lines = ["| route | needs | roles |", "|---|---|---|"]
    for method, path, permission in route_permissions(api):
        if path.startswith("/static"):
            continue
        if permission is None:
            why = OPEN_ROUTES.get(path, "**no check**")
            lines.append(f"| `{method} {path}` | nothing: {why} | any |")
        else:
            roles = ", ".join(r.value for r in Role if r in PERMISSIONS[permission])
            lines.append(f"| `{method} {path}` | `{permission.value}` | {roles} |")
    return "\n".join(lines)


def render_security_reference(api: FastAPI) -> str:
    return "\n".join(
        [
            START,
            "### Roles and permissions",
            "",
            render_roles(),
            "",
            "### Every route and what it needs",
            "",
            render_routes(api),
            END,
        ]
    )


def main() -> None:  # pragma: no cover - a developer's command
    import tempfile  # noqa: PLC0415

    from leadflow.entrypoints.api.app import create_app  # noqa: PLC0415
    from leadflow.entrypoints.bootstrap import bootstrap  # noqa: PLC0415
    from leadflow.entrypoints.settings import Settings  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        app = bootstrap(Settings(database_url=f"sqlite:///{folder}/x.db"))
        print(render_security_reference(create_app(app)))
        app.db.dispose()


if __name__ == "__main__":  # pragma: no cover
    main()
