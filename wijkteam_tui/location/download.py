"""The laptop's copy of the gazetteer: download it from the server, keep it, load it for offline look-up.

The file lives next to the laptop database (``gazetteer.csv`` plus ``gazetteer.etag``); the download
sends the saved ETag as ``If-None-Match`` so an unchanged gazetteer costs one 304. Writes are atomic
(temp file + rename): a broken download never replaces a good copy. Without a downloaded copy the
TUI falls back to the shipped SAMPLE gazetteer (labelled as such).
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import msgspec

from shared.gazetteer import (
    Gazetteer,
    GazetteerFormatError,
    load_sample_gazetteer,
    parse_gazetteer_csv,
)
from wijkteam_tui.server_client import auth_headers

GAZETTEER_FILE = "gazetteer.csv"
ETAG_FILE = "gazetteer.etag"
SAMPLE_FLAG_FILE = "gazetteer.sample"


class DownloadResult(msgspec.Struct, frozen=True):
    """``changed``: a new copy was written; ``count``: addresses in the copy now kept (0 when none);
    ``message``: Dutch, for the sync status line."""

    changed: bool
    count: int
    message: str


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def download_gazetteer(client: httpx.Client, base_url: str, token: str, folder: Path) -> DownloadResult:
    """Fetch ``GET {base_url}/api/v1/gazetteer`` into ``folder`` when it changed.

    Raises:
        httpx.HTTPError: network failure or an unexpected status (401/403 included); the caller's
            sync loop shows it. A 404 (nothing loaded on the server yet) is not an error.
    """
    folder.mkdir(parents=True, exist_ok=True)
    etag_path = folder / ETAG_FILE
    headers = auth_headers(token)
    if etag_path.exists() and (folder / GAZETTEER_FILE).exists():
        headers["If-None-Match"] = etag_path.read_text(encoding="utf-8").strip()
    resp = client.get(base_url.rstrip("/") + "/api/v1/gazetteer", headers=headers)
    if resp.status_code == 304:
        return DownloadResult(False, -1, "Adresbestand is actueel.")
    if resp.status_code == 404:
        return DownloadResult(False, 0, "De server heeft nog geen adresbestand.")
    resp.raise_for_status()
    try:
        parsed = parse_gazetteer_csv(resp.content.decode("utf-8"))
    except (GazetteerFormatError, UnicodeDecodeError) as exc:
        return DownloadResult(False, 0, f"Adresbestand van de server is onleesbaar: {exc}")
    _atomic_write(folder / GAZETTEER_FILE, resp.content)
    _atomic_write(folder / SAMPLE_FLAG_FILE, resp.headers.get("X-Wijkteam-Sample", "0").encode())
    _atomic_write(etag_path, resp.headers.get("ETag", "").encode())
    return DownloadResult(True, len(parsed.adressen), f"Adresbestand bijgewerkt: {len(parsed.adressen)} adressen.")


def load_local_gazetteer(folder: Path, *, fallback_to_sample: bool = True) -> Gazetteer | None:
    """The downloaded gazetteer in ``folder``; else the shipped SAMPLE (``sample=True``) or None."""
    path = folder / GAZETTEER_FILE
    if path.exists():
        try:
            sample = (folder / SAMPLE_FLAG_FILE).exists() and (folder / SAMPLE_FLAG_FILE).read_text().strip() == "1"
            return Gazetteer.from_csv(path, sample=sample)
        except (GazetteerFormatError, OSError):
            pass
    return load_sample_gazetteer() if fallback_to_sample else None
