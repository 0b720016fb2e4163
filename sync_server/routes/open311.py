"""Open311 GeoReport v2 (JSON) under ``/open311/v2`` (issue 5; shapes in ``shared.open311``).

* ``GET services.json``: the taxonomy's sub-categories.
* ``GET services/{service_code}.json``: the definition; no service has attributes (``metadata``
  false), so ``attributes`` is empty.
* ``GET requests.json``: filters ``service_request_id``, ``service_code``, ``status``,
  ``start_date``/``end_date`` (default the last 90 days, at most 90 days, at most 1000 requests).
* ``GET requests/{service_request_id}.json``: one request, still an array with one element.
* ``POST requests.json``: ``api_key`` (a token with role wijkuitvoerder or admin; also accepted as a
  bearer header), ``service_code``, ``lat``/``long`` or ``address_string``, ``description`` and optional
  reporter fields, form-encoded (as the spec says) or JSON. Registers a melding with kanaal website
  through ``shared.commands.register`` on the server's own device (``SERVER_DEVICE``) with the server's
  counter, stored through ``ServerStore.append_server_events`` like a push, so it syncs to laptops;
  the wijk's wijkuitvoerder gets it (``shared.werkvoorraad.assign_new``, as at a laptop's intake).
  Answers 201 with ``[{"service_request_id", "service_notice", "account_id"}]``.

Reads are public (``sync_server.auth``) and never carry personal data. Only meldingen of type
``melding`` that are not deleted are published: questions and complaints about staff are no service
requests. Every error is a GeoReport error array ``[{"code", "description"}]`` with the HTTP status.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import msgspec
from litestar import MediaType, Request, Response, Router, get, post
from litestar.exceptions import HTTPException
from litestar.params import QueryParameter

from shared.commands import register
from shared.deadlines import local_date
from shared.enums import Role
from shared.errors import ValidationError
from shared.events import Event, MeldingFields
from shared.gemeente import gemeente
from shared.model import Adres, Punt
from shared.open311 import (
    MAX_REQUESTS,
    GeoReportError,
    PostRequest,
    error,
    fields_from_post,
    parse_request_filter,
    service_request,
    services,
)
from shared.projection import iso
from shared.reference import normalise_reference
from shared.taxonomy import load_taxonomy
from shared.werkvoorraad import assign_new
from shared.wijken import load_wijken
from sync_server import openapi
from sync_server.auth import PUBLIC_OPT, bearer_token
from sync_server.errors import STORAGE_RETRY_AFTER_S, internal_error
from sync_server.settings import OPEN311_MAX_BODY_BYTES, Settings
from sync_server.storage.api import Store
from sync_server.storage.engines import database_errors
from sync_server.store import StorageUnavailable, TokenInfo, storage_failure

#: Roles whose token may create requests (the api_key).
WRITE_ROLES = (Role.WIJKUITVOERDER, Role.ADMIN)


def _errors(status: int, description: str) -> Response[Any]:
    return Response(content=error(status, description), status_code=status, media_type=MediaType.JSON)


def _validation(_: Request[Any, Any, Any], exc: ValidationError) -> Response[Any]:
    return _errors(400, f"{exc.field}: {exc.message}")


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    detail = str(exc.detail)
    if exc.status_code == 413:
        detail = f"Het bericht is te groot (hoogstens {OPEN311_MAX_BODY_BYTES // 1024} kB)."
    return _errors(exc.status_code, detail)


def _storage(_: Request[Any, Any, Any], exc: StorageUnavailable) -> Response[Any]:
    resp = _errors(503, exc.message)
    resp.headers["Retry-After"] = str(STORAGE_RETRY_AFTER_S)
    return resp


def _database(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # A read that finds the disk gone is a storage failure too: answered here, in the error array.
    failure = storage_failure(exc)
    return internal_error(request, exc) if failure is None else _storage(request, failure)


class Open311Error(HTTPException):
    """An error answered as a GeoReport error array with ``status_code``."""

    def __init__(self, status_code: int, description: str) -> None:
        super().__init__(detail=description, status_code=status_code)


@get("/services.json", sync_to_thread=False, summary="Open311: diensten (categorieën)")
def list_services() -> list[dict[str, Any]]:
    """Every sub-category as a GeoReport service."""
    return services()


@get(
    "/services/{name:path}",
    sync_to_thread=False,
    summary="Open311: dienstdefinitie",
    opt=openapi.route(errors={404: "Onbekende service_code, of een ander formaat dan .json."}),
)
def service_definition(name: str) -> dict[str, Any]:
    """``services/{service_code}.json``: no service asks extra attributes (``metadata`` is false), so a
    definition has an empty ``attributes`` list; 404 (error array) for an unknown code."""
    raw = name.lstrip("/")
    if not raw.endswith(".json"):
        raise Open311Error(404, "Alleen het formaat .json wordt ondersteund.")
    code = raw.removesuffix(".json")
    if code not in load_taxonomy():
        raise Open311Error(404, f"Onbekende service_code '{code}'.")
    return {"service_code": code, "attributes": []}


def _query(description: str) -> Any:
    return QueryParameter(required=False, description=description)


@get("/requests.json", sync_to_thread=True, summary="Open311: meldingen zoeken")
def list_requests(
    store: Store,
    settings: Settings,
    service_request_id: Annotated[str | None, _query("referenties, met komma's; gaat voor elk ander filter")] = None,
    service_code: Annotated[str | None, _query("categorieën, met komma's")] = None,
    status: Annotated[str | None, _query("open en/of closed, met komma's")] = None,
    start_date: Annotated[str | None, _query("vanaf (W3C-datum-tijd); standaard 90 dagen voor end_date")] = None,
    end_date: Annotated[str | None, _query("tot en met (W3C-datum-tijd); hoogstens 90 dagen na start_date")] = None,
) -> list[dict[str, Any]]:
    """Requests matching the spec's filters, newest first; 400 (error array) for a bad filter."""
    f = parse_request_filter(
        {
            "service_request_id": service_request_id,
            "service_code": service_code,
            "status": status,
            "start_date": start_date,
            "end_date": end_date,
        }
    )
    refs: list[str] | None = None
    if f.ids:
        refs = []
        for raw in f.ids[:MAX_REQUESTS]:
            try:
                refs.append(normalise_reference(raw))
            except ValidationError:
                continue  # an id of the wrong shape simply matches nothing
        if not refs:
            return []
    registered = None
    if f.start is not None and f.end is not None:
        # registered_date is indexed (a day's margin either side: it is the local date); registered_at
        # gives the exact bounds within those days.
        first, last = local_date(f.start) - timedelta(days=1), local_date(f.end) + timedelta(days=1)
        registered = (first.isoformat(), last.isoformat(), iso(f.start) or "", iso(f.end) or "")
    rows = store.published_requests(
        references=refs,
        categories=list(f.service_codes) or None,
        is_open=(f.statuses[0] == "open") if len(set(f.statuses)) == 1 else None,
        registered=registered,
        limit=f.limit,
    )
    taxonomy = load_taxonomy()
    agency = gemeente().naam
    return [service_request(r, taxonomy, agency=agency) for r in rows]


@get(
    "/requests/{name:str}",
    sync_to_thread=True,
    summary="Open311: één melding",
    opt=openapi.route(errors={404: "Geen melding met dit service_request_id, of een ander formaat dan .json."}),
)
def get_request(name: str, store: Store, settings: Settings) -> list[dict[str, Any]]:
    """``requests/{service_request_id}.json``: an array with the request; 404 when unknown.

    A reference on more than one live melding (a reference clash, ``sync_server.clashes``) gives
    every one of them, newest first: the array shape allows it, and answering for one would be a guess.
    """
    if not name.endswith(".json"):
        raise Open311Error(404, "Alleen het formaat .json wordt ondersteund.")
    raw = name.removesuffix(".json")
    try:
        ref = normalise_reference(raw)
    except ValidationError:
        raise Open311Error(404, f"Geen melding met service_request_id {raw}.") from None
    rows = store.published_requests(references=[ref], limit=10)
    if not rows:
        raise Open311Error(404, f"Geen melding met service_request_id {ref}.")
    return [service_request(r, agency=gemeente().naam) for r in rows]


async def _post_params(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The POST body as a dict: JSON (an object, nesting refused) or a form.

    The route's ``request_max_body_size`` (``OPEN311_MAX_BODY_BYTES``) bounds what is read: a larger
    body is refused with 413 before it is parsed.
    """
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        try:
            data = msgspec.json.decode(await request.body())
        except msgspec.DecodeError:
            raise Open311Error(400, "De body is geen geldige JSON.") from None
        except RecursionError:
            raise Open311Error(400, "De body is te diep genest; stuur een plat JSON-object.") from None
        if not isinstance(data, dict):
            raise Open311Error(400, "De body moet een JSON-object zijn.")
        # Every spec field is a single value; ``attribute`` (ignored: no service has attributes) may be
        # an object in JSON as ``attribute[code]`` is in a form.
        if any(isinstance(v, dict | list) for k, v in data.items() if k != "attribute"):
            raise Open311Error(400, "Geef elk veld als tekst of getal; geneste objecten en lijsten horen hier niet.")
        return data
    form = await request.form()
    return {k: form.get(k) for k in form}


def _writer(store: Store, api_key: str) -> TokenInfo:
    """The token allowed to create requests.

    Raises:
        Open311Error: 401 for a missing, unknown or revoked key; 403 for a role that may not write.
    """
    if not api_key:
        raise Open311Error(401, "api_key ontbreekt.")
    info = store.token_info(api_key)
    if info is None:
        raise Open311Error(401, "api_key onbekend of ingetrokken.")
    if info.role not in WRITE_ROLES:
        raise Open311Error(403, f"De rol {info.role.value} mag geen meldingen indienen; nodig: wijkuitvoerder of admin.")
    return info


@post(
    "/requests.json",
    status_code=201,
    summary="Open311: melding indienen",
    request_max_body_size=OPEN311_MAX_BODY_BYTES,
    # Public to the token middleware: the key may come in the body, so the handler checks it itself.
    security=[{openapi.BEARER: []}, {openapi.API_KEY: []}],
    opt={
        PUBLIC_OPT: True,
        **openapi.route(
            body=PostRequest,
            body_media=(openapi.FORM, "application/json"),
            errors={
                401: "api_key ontbreekt, of is onbekend of ingetrokken.",
                403: "De rol van deze api_key mag geen meldingen indienen (nodig: wijkuitvoerder of admin).",
            },
        ),
    },
)
async def create_request(request: Request[Any, Any, Any], store: Store, settings: Settings) -> list[dict[str, Any]]:
    """Register a melding (kanaal website); 401/403 (error array) for a missing, unknown or
    read-only ``api_key``; 400 for bad fields; 413 for a body over ``OPEN311_MAX_BODY_BYTES``.

    The key is checked before the body is read when the client sends it as a bearer header or as
    ``?api_key=``; a key inside the body is checked right after the (bounded) body is parsed, before
    any field is looked at.
    """
    early = bearer_token(request.headers) or str(request.query_params.get("api_key") or "")
    info = _writer(store, early) if early else None
    params = await _post_params(request)
    if info is None:
        info = _writer(store, str(params.get("api_key") or ""))
    taxonomy = load_taxonomy()
    fields = fields_from_post(params, taxonomy)
    fields = _with_wijk(fields)
    prefix = gemeente().prefix

    def build(dev: Any, next_counter: Any) -> list[Event]:
        created = register(dev, prefix=prefix, counter=next_counter(), fields=fields, taxonomy=taxonomy)
        # The wijk's wijkuitvoerder gets it, as at a laptop's intake (issue 14 §1): it shows in
        # their werkvoorraad after their next sync.
        return [created, *assign_new(dev, created)]

    from anyio import to_thread

    events = await to_thread.run_sync(store.append_server_events, f"open311:{info.name}", build)
    reference = events[0].payload["reference"]
    cat = taxonomy.get(fields.categorie)
    return [{"service_request_id": reference, "service_notice": cat.belofte_voor(fields.prioriteit), "account_id": None}]


def _with_wijk(fields: MeldingFields) -> MeldingFields:
    """The wijk the location decides (``shared.wijken``), as the intake fills it in.

    Raises:
        Open311Error: 400 when the location lies outside every municipality served: the website
            should send the resident to the right municipality, nothing is stored.
    """
    if fields.wijk not in (msgspec.UNSET, None):
        return fields
    adres = fields.adres if isinstance(fields.adres, Adres) else None
    punt = fields.punt if isinstance(fields.punt, Punt) else None
    bepaling = load_wijken().resolve(adres, punt)
    if bepaling.status == "buiten":
        raise Open311Error(400, f"{bepaling.message} Meld dit bij de gemeente waar de locatie ligt.")
    return msgspec.structs.replace(fields, wijk=bepaling.wijk) if bepaling.wijk else fields


open311_router = Router(
    path="/open311/v2",
    route_handlers=[list_services, service_definition, list_requests, get_request, create_request],
    exception_handlers={
        ValidationError: _validation,
        HTTPException: _http,
        StorageUnavailable: _storage,
        **{cls: _database for cls in database_errors()},
    },
    tags=["open311"],
    opt={openapi.ERROR_BODY: list[GeoReportError]},
)

ROUTES = [open311_router]
