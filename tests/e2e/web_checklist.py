"""The accessibility checklist every page of the web interface passes (axe-core is not
installable offline here, so the checks are written out; docs/adr/0028 lists them):

1. ``<html lang>`` is set and the page has a non-empty ``<title>``.
2. Exactly one ``<main>`` landmark and exactly one ``<h1>``.
3. Every visible form control (input, select, textarea) has a label: a ``<label for>``, a
   wrapping label or an ``aria-label``.
4. Every button and link has an accessible name (its text or ``aria-label``).
5. No positive ``tabindex`` (focus follows the document order), and the first Tab stop is
   the "Skip to content" link.
6. Text contrast: every element with its own text reaches 4.5:1 against the background it
   sits on (WCAG 2.1 AA for normal text).
"""

from __future__ import annotations

import time
from typing import Any

_CHECKS = """
() => {
  if (!document.documentElement || document.readyState === 'loading') return null;
  const problems = [];
  const lang = document.documentElement.getAttribute('lang');
  if (!lang) problems.push('html has no lang');
  if (!document.title.trim()) problems.push('page has no title');
  if (document.querySelectorAll('main').length !== 1) problems.push('not exactly one main landmark');
  if (document.querySelectorAll('h1').length !== 1) problems.push('not exactly one h1');
  const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || !visible(el)) continue;
    const labelled = (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`))
      || el.closest('label') || el.getAttribute('aria-label');
    if (!labelled) problems.push(`control without a label: ${el.outerHTML.slice(0, 80)}`);
  }
  for (const el of document.querySelectorAll('a, button')) {
    if (!visible(el)) continue;
    if (!(el.innerText || '').trim() && !el.getAttribute('aria-label'))
      problems.push(`unnamed ${el.tagName.toLowerCase()}: ${el.outerHTML.slice(0, 80)}`);
  }
  for (const el of document.querySelectorAll('[tabindex]'))
    if (parseInt(el.getAttribute('tabindex'), 10) > 0) problems.push(`positive tabindex: ${el.outerHTML.slice(0, 80)}`);
  const rgb = s => { const m = s.match(/[\\d.]+/g) || ['0','0','0','0']; return m.map(Number); };
  const lum = ([r, g, b]) => { const c = [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  for (const el of document.querySelectorAll('body *')) {
    if (!visible(el) || el.closest('svg')) continue;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const fg = lum(rgb(getComputedStyle(el).color)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) problems.push(`contrast ${ratio.toFixed(2)} < 4.5: ${el.tagName.toLowerCase()} "${el.innerText.slice(0, 40)}"`);
  }
  return problems;
}
"""

_FIRST_STOP = """
() => {
  const stops = [...document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]')]
    .filter(el => el.type !== 'hidden' && !el.disabled && el.getAttribute('tabindex') !== '-1');
  return stops.length ? stops[0].innerText : null;
}
"""


def _settled(page: Any, script: str, timeout: float = 30.0) -> Any:
    """``script``'s answer once the page has loaded: a click that navigates returns before the
    next document exists, and on a loaded machine an evaluation can land between the two."""
    from playwright.sync_api import Error

    deadline = time.monotonic() + timeout
    while True:
        try:
            page.wait_for_load_state("load")
            answer = page.evaluate(script)
            if answer is not None or time.monotonic() > deadline:
                return answer
        except Error as exc:
            if time.monotonic() > deadline or "context was destroyed" not in str(exc) and "null" not in str(exc):
                raise
        time.sleep(0.1)


def check_page(page: Any) -> None:
    """Fail naming every checklist problem on the page as it stands."""
    problems = _settled(page, _CHECKS)
    assert problems is not None, f"{page.url}: the page never finished loading"
    first = _settled(page, _FIRST_STOP)
    if first != "Skip to content":
        problems.append(f"first Tab stop is {first!r}, expected the skip link")
    assert not problems, f"{page.url}: " + "; ".join(problems[:10])


__all__ = ["check_page"]
