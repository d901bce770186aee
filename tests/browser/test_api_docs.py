"""The interactive API documentation, as an integrator opens it: Swagger UI renders every operation from
our own files, under the site's Content-Security-Policy, with nothing fetched from another origin."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import expect


def test_the_api_docs_show_every_operation_from_our_own_origin(page, live_server):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/api/v1/docs")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Museum visitor booking and entry API")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() >= 25
    page.locator(".opblock-post .opblock-summary-path", has_text="/bookings").first.click()
    opened = page.locator(".opblock.is-open")
    expect(opened).to_contain_text("Idempotency-Key")
    expect(opened).to_contain_text("slot_id")

    assert requested and all(url.startswith(live_server.url) or url.startswith("data:") for url in requested)
    folder = os.environ.get("MUSEUM_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / "api-docs.png"))
