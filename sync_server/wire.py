"""Bodies on the wire: JSON or MessagePack, both through msgspec (docs/design.md, "Sync protocol").

A request body is MessagePack when its ``Content-Type`` is ``application/msgpack``; a response is
MessagePack when the ``Accept`` header names ``application/msgpack``. Everything else is JSON.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Response
from litestar.exceptions import ClientException

MSGPACK = "application/msgpack"
JSON = "application/json"
#: Header carrying the client's protocol version on every sync request.
PROTOCOL_HEADER = "x-wijkteam-protocol"

T = TypeVar("T")

_json_enc = msgspec.json.Encoder()
_mp_enc = msgspec.msgpack.Encoder()


def is_msgpack(content_type: str | None) -> bool:
    """Whether a Content-Type / Accept value asks for MessagePack."""
    return MSGPACK in (content_type or "")


def decode(body: bytes, type_: type[T], content_type: str | None) -> T:
    """Decode and validate a request body.

    Raises:
        ClientException (400): empty, malformed, nested too deep, unknown fields or wrong types;
            ``detail`` says where.
    """
    if not body:
        raise ClientException(detail="Lege body; verwacht een JSON- of MessagePack-bericht.")
    try:
        if is_msgpack(content_type):
            return msgspec.msgpack.decode(body, type=type_)
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        raise ClientException(detail=f"Ongeldig bericht: {exc}") from None
    except msgspec.DecodeError as exc:
        kind = "MessagePack" if is_msgpack(content_type) else "JSON"
        raise ClientException(detail=f"Onleesbaar {kind}-bericht: {exc}") from None
    except RecursionError:
        # msgspec stops at Python's recursion limit (about 1000 levels) before using more memory.
        raise ClientException(detail="Het bericht is te diep genest.") from None


def respond(obj: Any, accept: str | None, status_code: int = 200) -> Response:
    """``obj`` (a msgspec Struct) encoded as the client asked (``Accept``)."""
    if is_msgpack(accept):
        return Response(content=_mp_enc.encode(obj), media_type=MSGPACK, status_code=status_code)
    return Response(content=_json_enc.encode(obj), media_type=JSON, status_code=status_code)
