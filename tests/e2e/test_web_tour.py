"""The README's tour in the browser alone (issue 18's "Done when"): a data manager registers
a dataset and ingests a file by upload, a researcher previews and asks, an officer approves
and places a legal hold, the researcher downloads and asks for a DP statistic (accuracy
previewed first), a deletion is refused while the hold stands and goes through once it is
released (certificate shown), and an auditor traces the lineage and verifies the log.
Debian's Chromium through Playwright against a real ``qgov serve``; no command line after
the people and their accounts exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.web_checklist import check_page
from tests.e2e.web_support import signed_in, web_site

PEOPLE = ("alice", "li", "olga", "aud", "dana")
TABLE = b"q,t1\n0,50\n1,48\n2,47\n3,52\n"
PROFILE = "contributions: 1\nbudget: {epsilon: '1.0', delta: '0.000001'}\ncolumns:\n  t1: {bounds: [0, 100]}\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp: Path = tmp_path_factory.mktemp("tour")
    (tmp / "uploads").mkdir(mode=0o700)  # the tour makes its own dataset; uploads land here
    with web_site(tmp, PEOPLE, env={"TMPDIR": str(tmp / "uploads")}) as served:
        yield served


def _person(site: dict[str, Any], name: str) -> Any:
    page = signed_in(site, name)
    page.set_default_timeout(180_000)  # an ingest or a DP release on a shared 2-core machine
    return page


def test_the_readme_tour_in_the_browser_alone(site: dict[str, Any]) -> None:
    base, tmp = site["base"], site["tmp"]
    # 1. the data manager registers a controlled dataset with a privacy profile and ingests a file
    dana = _person(site, "dana")
    dana.get_by_role("link", name="Register a dataset").click()
    check_page(dana)
    dana.get_by_label("Name").fill("tour-calib")
    dana.get_by_label("Description").fill("daily calibration, lab B")
    dana.get_by_label("Subject type").select_option("quantum_computer")
    dana.get_by_label("Technical parameters (KEY=VALUE, one a line)").fill("physical_qubits=120\ncnot_error=0.0008")
    dana.get_by_label("Sponsor restrictions accepted").select_option("yes")
    dana.get_by_label("Privacy profile for statistics (optional YAML)").fill(PROFILE)
    dana.get_by_role("button", name="Register").click()
    assert "Dataset tour-calib registered" in dana.get_by_role("status").inner_text()
    upload = tmp / "t1.csv"
    upload.write_bytes(TABLE)
    dana.get_by_label("Files to ingest").set_input_files(str(upload))
    dana.get_by_role("button", name="Ingest the files").click()
    assert "1 new, 0 unchanged, 0 quarantined" in dana.get_by_role("status").inner_text()
    assert "4E906" in dana.locator("tbody").inner_text()  # classified from the subject's parameters
    check_page(dana)
    assert list((tmp / "uploads").iterdir()) == []  # the upload's plaintext is gone from the temp dir
    artifact = dana.get_by_role("link", name="Artifact t1.csv").get_attribute("href").rsplit("/", 1)[-1]

    # 2. a researcher previews the decision and asks
    li = _person(site, "li")
    li.goto(f"{base}/ui/request?artifact={artifact}")
    li.get_by_label("Purpose (the officer reads it)").fill("fit T1 for the paper")
    li.get_by_role("button", name="Preview the decision").click()
    assert "license required" in li.get_by_role("region", name="Preview: license required").inner_text()
    li.get_by_role("button", name="Submit the request").click()
    assert "queued for an officer's review" in li.get_by_role("status").inner_text()

    # 3. the officer decides and places a legal hold on the artifact
    olga = _person(site, "olga")
    card = olga.locator("section.card", has_text="fit T1 for the paper")
    card.get_by_label("Licence or exception reference (required)").fill("BIS D654321")
    card.get_by_role("button", name="Approve").click()
    assert "approved: grant" in olga.get_by_role("status").inner_text()
    olga.goto(f"{base}/ui/artifacts/{artifact}")
    check_page(olga)
    olga.get_by_label("Reason for the hold").fill("paper under review")
    olga.get_by_role("button", name="Place hold").click()
    assert "Legal hold" in olga.get_by_role("status").inner_text()

    # 4. the researcher sees the decision, downloads, and asks for a statistic (previewed first)
    li.goto(f"{base}/ui/my")
    card = li.locator("section.card", has_text="fit T1 for the paper")
    assert "active" in card.inner_text() and "olga" in card.inner_text() and "BIS D654321" in card.inner_text()
    news = li.get_by_role("region", name="Notifications").inner_text()
    assert "approved by an officer (olga)" in news and "granted" in news, news
    with li.expect_download() as download:
        card.get_by_role("link", name="Download t1.csv").click()
    assert Path(download.value.path()).read_bytes() == TABLE
    li.get_by_role("link", name="Statistics").click()
    li.get_by_label("Dataset").select_option("tour-calib")
    li.get_by_label("Column").fill("t1")
    li.get_by_label("Privacy cost ε").fill("0.3")
    li.get_by_role("button", name="Preview the accuracy").click()
    preview = li.get_by_role("region", name="Preview").inner_text()
    assert "±" in preview and "Nothing has been spent or recorded" in preview and "left of 1" in preview, preview
    check_page(li)
    li.get_by_label("Purpose (part of the record)").fill("T1 for the paper")
    li.get_by_role("button", name="Release the statistic").click()
    answer = li.locator("section.card").inner_text()
    assert "released" in answer and "ε spent 0.3" in answer and "left of 1" in answer, answer

    # 5. a deletion is refused while the hold stands; released, the deletion yields a certificate
    alice = _person(site, "alice")
    alice.goto(f"{base}/ui/artifacts/{artifact}")
    alice.get_by_label("Reason for the deletion").fill("sponsor contract ended")
    alice.get_by_label("Before the end of retention (admins only)").check()
    alice.get_by_role("button", name="Show what would be deleted").click()
    assert "Held by legal hold" in alice.get_by_role("alert").inner_text()
    alice.get_by_role("button", name="Delete for good").click()
    assert "paper under review" in alice.get_by_role("alert").inner_text()  # refused, naming the hold
    olga.get_by_role("link", name="Holds").click()
    olga.get_by_label("Reason to release").fill("published")
    olga.get_by_role("button", name="Release hold").click()
    assert "released" in olga.get_by_role("status").inner_text()
    alice.goto(f"{base}/ui/artifacts/{artifact}")
    alice.get_by_label("Reason for the deletion").fill("sponsor contract ended")
    alice.get_by_label("Before the end of retention (admins only)").check()
    alice.get_by_role("button", name="Show what would be deleted").click()
    alice.get_by_role("button", name="Delete for good").click()
    assert "signature verified" in alice.content() and "sponsor contract ended" in alice.content()
    check_page(alice)

    # 6. the auditor traces the artifact and verifies the log
    aud = _person(site, "aud")
    aud.goto(f"{base}/ui/lineage?node={artifact}")
    assert aud.locator("svg[role=img]").count() == 1
    aud.get_by_role("link", name="Events").click()
    aud.get_by_label("Subject").fill(artifact)
    aud.get_by_role("button", name="Search").click()
    rows = " ".join(aud.locator("tbody tr").all_inner_texts())
    for kind in ("artifact.ingested", "access.granted", "hold.placed", "artifact.deleted"):
        assert kind in rows, (kind, rows)
    aud.get_by_role("link", name="Checkpoints").click()
    aud.get_by_role("button", name="Verify the log now").click()
    assert "Log intact" in aud.get_by_role("status").inner_text()
