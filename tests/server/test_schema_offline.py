"""``/schema`` works without internet: the page loads its scripts and style from this server
(``swagger-ui-bundle``), never from a CDN."""

from __future__ import annotations

import re


def test_schema_page_needs_nothing_from_outside(client):
    page = client.get("/schema")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert urls and all(u.startswith("/schema/") for u in urls), urls
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200 and asset.content, url
    assert client.get("/schema/openapi.json").json()["info"]["title"] == "wijkteam-server"
