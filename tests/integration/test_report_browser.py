"""The audit report as a real browser shows it: headless Chromium reads the DOM and takes a screenshot.

Chromium comes from Debian's ``chromium`` package (``scripts/chromium.sh`` installs it in CI).
Without it these tests skip locally and fail under ``CI=true``: there they must run.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from governance.report import render_report
from tests.unit.test_report_render import realistic_report

CHROMIUM = Path("/usr/bin/chromium")
WINDOW = (1400, 2000)
# Fills the template gives the verdict and the PROV boxes (see report.html.j2's :root).
VERDICT_OK_BG = (230, 244, 234)
ENTITY_FILL = (255, 244, 179)
ACTIVITY_FILL = (214, 226, 255)
AGENT_FILL = (255, 220, 179)


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: the browser tests must run in CI (scripts/chromium.sh installs it)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return CHROMIUM


def _run_chromium(chromium: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(chromium),
        "--headless",
        "--no-sandbox",  # the tests may run as root in a container, where the sandbox cannot start
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"chromium exited {result.returncode}: {result.stderr[-2000:]}"
    return result


def _screenshot(chromium: Path, tmp_path: Path, page: Path, name: str) -> Path:
    png = tmp_path / name
    _run_chromium(chromium, tmp_path, f"--screenshot={png}", f"--window-size={WINDOW[0]},{WINDOW[1]}", page.as_uri())
    assert png.is_file(), f"chromium wrote no screenshot at {png}"
    return png


def _unfilter(kind: int, line: bytes, previous: np.ndarray, bpp: int) -> np.ndarray:
    """Undo one scanline's PNG filter (RFC 2083, section 6)."""
    row = np.frombuffer(line, dtype=np.uint8)
    if kind == 0:
        return row.copy()
    if kind == 1:  # Sub: a running sum along each channel
        return (np.cumsum(row.reshape(-1, bpp), axis=0, dtype=np.uint64) & 0xFF).astype(np.uint8).reshape(-1)
    if kind == 2:
        return row + previous  # uint8 arithmetic wraps modulo 256, as the filter does
    out, up = bytearray(line), previous.tobytes()
    for i in range(len(out)):
        left = out[i - bpp] if i >= bpp else 0
        if kind == 3:
            out[i] = (out[i] + ((left + up[i]) >> 1)) & 0xFF
        else:  # 4, Paeth
            corner = up[i - bpp] if i >= bpp else 0
            p = left + up[i] - corner
            pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - corner)
            out[i] = (out[i] + (left if pa <= pb and pa <= pc else up[i] if pb <= pc else corner)) & 0xFF
    return np.frombuffer(bytes(out), dtype=np.uint8)


def read_png(path: Path) -> np.ndarray:
    """The pixels of an 8-bit RGB or RGBA PNG as a (height, width, channels) array; no imaging library needed."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    chunks: dict[bytes, bytes] = {}
    position = 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        chunks[kind] = chunks.get(kind, b"") + data[position + 8 : position + 8 + length]
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, colour, interlace) in {(8, 2, 0), (8, 6, 0)}, f"unexpected PNG format {depth=} {colour=}"
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(chunks[b"IDAT"]), 1 + width * bpp
    rows, previous = [], np.zeros(width * bpp, dtype=np.uint8)
    for y in range(height):
        previous = _unfilter(raw[y * stride], raw[y * stride + 1 : (y + 1) * stride], previous, bpp)
        rows.append(previous)
    return np.stack(rows).reshape(height, width, bpp)


def _colours(pixels: np.ndarray) -> np.ndarray:
    """Each pixel's RGB as one integer, 0xRRGGBB."""
    rgb = pixels[:, :, :3].astype(np.uint32)
    return (rgb[:, :, 0] << 16) | (rgb[:, :, 1] << 8) | rgb[:, :, 2]


def _has_colour(pixels: np.ndarray, rgb: tuple[int, int, int], at_least: int = 200) -> bool:
    near = np.all(np.abs(pixels[:, :, :3].astype(np.int16) - np.array(rgb, dtype=np.int16)) <= 2, axis=2)
    return int(near.sum()) >= at_least


@pytest.fixture
def report_page(tmp_path: Path) -> Path:
    page = tmp_path / "report.html"
    page.write_text(render_report(realistic_report()), encoding="utf-8")
    return page


def test_the_browser_dom_has_the_graph_tables_and_verdict(chromium: Path, tmp_path: Path, report_page: Path) -> None:
    doc = realistic_report()
    dom = _run_chromium(chromium, tmp_path, "--dump-dom", report_page.as_uri()).stdout
    svg = re.search(r"<svg.*?</svg>", dom, re.S)
    assert svg, "the browser's DOM has no inline SVG"
    assert len(re.findall(r'<g class="node[ "]', svg.group(0))) == len(doc["trace"]["nodes"]) == 15
    assert len(re.findall(r'<path class="edge[ "]', svg.group(0))) == len(doc["trace"]["edges"])
    assert 'class="node entity controlled"' in svg.group(0)
    assert '<table class="classifications">' in dom
    assert dom.count('<table class="events">') == 2
    assert '<table class="inclusion">' in dom
    assert "Integrity verified: the record is intact" in dom
    assert "access.denied" in dom and "release.published" in dom


def test_the_screenshot_shows_a_coloured_page(chromium: Path, tmp_path: Path, report_page: Path) -> None:
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><title>blank</title>", encoding="utf-8")
    shot = _screenshot(chromium, tmp_path, report_page, "report.png")
    empty = _screenshot(chromium, tmp_path, blank, "blank.png")
    assert shot.stat().st_size > 10 * empty.stat().st_size
    pixels = read_png(shot)
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    colours = np.unique(_colours(pixels))
    assert len(colours) > 100, f"only {len(colours)} colours: the page did not render"
    for name, rgb in [
        ("verdict", VERDICT_OK_BG),
        ("entity", ENTITY_FILL),
        ("activity", ACTIVITY_FILL),
        ("agent", AGENT_FILL),
    ]:
        assert _has_colour(pixels, rgb), f"no {name} fill {rgb} in the screenshot"
    assert len(np.unique(_colours(read_png(empty)))) == 1
