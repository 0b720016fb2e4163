"""``GET /api/v1/reports/barometer``: the barometer report (roles manager, admin).

Query parameters:

* ``from``, ``to``: Europe/Amsterdam dates ``YYYY-MM-DD`` (both inclusive), or instead
* ``period``: ``2026-03``, ``2026-Q3``, ``2026`` or ``2026-01-05..2026-02-01``;
* ``group_by``: comma-separated dimensions (``wijk``, ``categorie``, ``hoofdcategorie``, ``kanaal``,
  ``vier_b``, ``type``); may be empty;
* ``format``: ``json`` (default: ``shared.barometer.BarometerReport``), or ``pdf``, ``html``, ``xlsx``,
  ``csv``, ``md`` as a download;
* ``as_of``: a ``server_seq`` — the figures as they were when the event log ended there (every report
  states its ``server_seq`` and the hash of its figures; the same ``as_of`` gives the same hash).

Bad parameters answer 400 with a Dutch ``detail`` (and ``field``).

``POST /api/v1/audit/exports`` (any role): a laptop records in the server's audit that it is about to
export meldingen *with* the reporters' personal data (``wijkteam export --met-persoonsgegevens``);
the laptop writes nothing unless this answers 201 (see docs/server.md, "Audit").
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, Response, get, post
from litestar.params import QueryParameter

from shared.barometer import REPORT_ROLES, BarometerReport, parse_period, period_between
from shared.enums import Role
from shared.errors import ValidationError
from sync_server import openapi
from sync_server.audit import actor_of
from sync_server.auth import requires_role
from sync_server.storage.api import Store

_MEDIA = {
    "md": ("text/markdown; charset=utf-8", "md"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "html": ("text/html; charset=utf-8", "html"),
    "pdf": ("application/pdf", "pdf"),
}


@get(
    "/api/v1/reports/barometer",
    guards=[requires_role(*(Role(r) for r in sorted(REPORT_ROLES)))],
    sync_to_thread=True,
    tags=["rapportages"],
    opt=openapi.route(downloads=[media for media, _ in _MEDIA.values()]),
)
def barometer_report(
    store: Store,
    date_from: Annotated[str | None, QueryParameter(query="from", description="begindatum JJJJ-MM-DD")] = None,
    date_to: Annotated[str | None, QueryParameter(query="to", description="einddatum JJJJ-MM-DD (tot en met)")] = None,
    period: Annotated[str | None, QueryParameter(query="period", description="2026-03, 2026-Q3, 2026, …")] = None,
    group_by: Annotated[str, QueryParameter(query="group_by", description="bijv. wijk,categorie")] = "",
    fmt: Annotated[str, QueryParameter(query="format", description="json, pdf, html, xlsx, csv of md")] = "json",
    as_of: Annotated[int | None, QueryParameter(query="as_of", description="server_seq: de cijfers van toen")] = None,
) -> BarometerReport | Response:
    """The barometer report of a period over the server's meldingen (see docs/barometer.md)."""
    from wijkteam_reports.render import render

    if period and (date_from or date_to):
        raise ValidationError("period", "Geef period óf from en to, niet allebei.")
    if period:
        p = parse_period(period)
    elif date_from and date_to:
        p = period_between(date_from, date_to)
    else:
        raise ValidationError("from", "Geef een periode: from en to (JJJJ-MM-DD), of period (bijv. 2026-Q3).")
    if fmt != "json" and fmt not in _MEDIA:
        raise ValidationError("format", f"Onbekend formaat '{fmt}'; kies uit json, {', '.join(_MEDIA)}.")
    report = store.barometer(p, group_by=[g for g in group_by.split(",") if g.strip()], upto_seq=as_of)
    if fmt == "json":
        return report
    media, ext = _MEDIA[fmt]
    name = f"barometer-{p.label.replace(' ', '_').replace('/', '-')}.{ext}"
    return Response(
        content=render(report, fmt),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


#: The ``action`` of an export with personal data in the audit.
PERSONAL_EXPORT = "export_persoonsgegevens"


class ExportNotice(msgspec.Struct, forbid_unknown_fields=True):
    """What a laptop says about the export it is about to write: ``format`` (csv, jsonl), ``count``
    (meldingen in it) and its ``device`` code."""

    format: str
    count: int
    device: str = ""


class ExportReceipt(msgspec.Struct):
    """The answer: the audit entry's text in Dutch (``detail``)."""

    detail: str


@post(
    "/api/v1/audit/exports",
    status_code=201,
    sync_to_thread=True,
    tags=["rapportages"],
    opt=openapi.route(body=ExportNotice),
)
def record_export(request: Request, body: bytes, store: Store) -> ExportReceipt:
    """Record an export with personal data by the token's user in the audit (any role)."""
    try:
        data = msgspec.json.decode(body, type=ExportNotice)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ValidationError("body", f"Ongeldige exportmelding: {exc}") from None
    if data.format not in ("csv", "jsonl"):
        raise ValidationError("format", f"Onbekend exportformaat '{data.format[:20]}'; alleen csv of jsonl.")
    if not 0 <= data.count <= 100_000_000:
        raise ValidationError("count", "Het aantal meldingen klopt niet.")
    device = "".join(ch for ch in data.device[:8] if ch.isalnum())
    detail = (
        f"{data.format}-export met persoonsgegevens van {data.count} "
        f"{'melding' if data.count == 1 else 'meldingen'}" + (f" op laptop {device}" if device else "")
    )
    store.audit(actor_of(request.user), PERSONAL_EXPORT, None, detail)
    return ExportReceipt(detail=f"Vastgelegd in het auditlog van de server: {detail}.")


ROUTES = [barometer_report, record_export]
