"""Save one screenshot of each role's main page into docs/screenshots/ (for the README).

    PYTHONPATH=. .venv/bin/python scripts/web_screenshots.py [OUT_DIR]

Builds a throw-away lab (tests/e2e/server_support.py), starts a real `qgov serve`, signs each
person in through the sign-in page with Debian's Chromium (Playwright) as the browser tests
do, and saves the first 1280×900 of researcher, officer, data manager, auditor, dashboard and
transparency pages. Each file must stay under 200 KB (checked here, so a heavier page fails).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.web_support import VIEWPORT, screenshot, signed_in, web_site  # noqa: E402 - after the path

LIMIT = 200_000
PAGES = (  # file, person (None: no sign-in), path
    ("researcher", "li", "/ui/my"),
    ("officer", "olga", "/ui/queue"),
    ("data-manager", "dana", "/ui/datasets"),
    ("auditor", "aud", "/ui/events?type=access."),
    ("dashboard", "olga", "/ui/dashboard"),
    ("transparency", None, "/transparency"),
)


def _story(core: Any, env: dict[str, str]) -> None:
    """Something on every page: li waits for review and was asked a question, ann's EAR99
    request was granted at once, rita's was denied."""
    from governance.catalog import list_artifacts
    from governance.info_requests import ask
    from governance.requests import deny, request_access

    sponsor, generic = (list_artifacts(core, ds)[0].id for ds in ("sponsor", "generic"))
    li, ann, rita, olga = (core.acting_for(p) for p in ("li", "ann", "rita", "olga"))
    request_access(li, [generic], "fit T1 curves for the readout paper", 30, "US")
    asked = request_access(li, [sponsor], "calibrate the 120-qubit sweep", 30, "US")
    ask(olga, asked["request"], "Which lab will hold the copy?")
    request_access(li, [sponsor], "compare against last month's run", 14, "US")
    request_access(ann, [sponsor], "error-budget study", 30, "US")
    denied = request_access(rita, [sponsor], "share with a visiting student", 30, "DE")
    if denied["status"] == "queued":
        deny(olga, denied["request"], "no licence covers re-export to the student's home country")


def main(out: Path) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        web_site(Path(tmp), ("li", "olga", "dana", "aud"), prepare=_story) as site,
    ):
        for name, person, path in PAGES:
            if person is None:
                page = site["browser"].new_context(viewport=VIEWPORT).new_page()
            else:
                page = signed_in(site, person)
            page.goto(f"{site['base']}{path}")
            page.wait_for_load_state("networkidle")
            saved = screenshot(page, out / f"{name}.png", full_page=False)
            size = saved.stat().st_size
            assert size < LIMIT, f"{saved}: {size} bytes, expected under {LIMIT}"
            page.context.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")
