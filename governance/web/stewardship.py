"""An artifact's stewardship: retention, legal holds, classification overrides and
declassification (officers), deletion with its signed certificate (data managers, admins).

Every form posts to the service function the command line calls (``qgov hold``,
``qgov override``, ``qgov declassify``, ``qgov delete``); the service checks the capability.
A deletion is shown as a dry run first, as ``qgov delete`` without ``--yes``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from governance.capabilities import allowed
from governance.web._base import Session, back, checked_form, render, session
from qgov.errors import InputError

router = APIRouter(include_in_schema=False)


def _can(sess: Session) -> dict[str, bool]:
    roles = sess.who.roles
    return {
        a.replace(".", "_"): allowed(roles, a) for a in ("hold.manage", "classification.override", "artifact.delete")
    }


@router.get("/ui/artifacts/{artifact_id}")
def artifact(artifact_id: str, request: Request, notice: str = "") -> Response:
    from governance.catalog import find_artifact
    from governance.classification import history
    from governance.retention import retention_of

    sess = session(request)
    found = find_artifact(sess.app, artifact_id)
    return render(
        request,
        "artifact.html.j2",
        sess,
        title=f"Artifact {found.path}",
        notice=notice,
        art=found,
        kept=retention_of(sess.app, found.id),
        history=history(sess.app, found.id),
        can=_can(sess),
        plan=None,
    )


@router.post("/ui/artifacts/{artifact_id}/hold")
async def hold_artifact(artifact_id: str, request: Request) -> Response:
    from governance.retention import place_hold

    sess = session(request)
    form = await checked_form(request, sess)
    done = place_hold(sess.app, form.get("reason", ""), artifact=artifact_id)
    return back(
        f"/ui/artifacts/{artifact_id}",
        f"Legal hold {done['hold']} placed; it covers {len(done['covers'])} artifact(s).",
    )


@router.post("/ui/artifacts/{artifact_id}/override")
async def override(artifact_id: str, request: Request) -> Response:
    from governance.classification import override as service

    sess = session(request)
    form = await checked_form(request, sess)
    changes = service(sess.app, artifact_id, form.get("classification", ""), form.get("reason", ""))
    return back(
        f"/ui/artifacts/{artifact_id}",
        f"Classification set to {form['classification'].strip()}; {len(changes)} artifact(s) changed.",
    )


@router.post("/ui/artifacts/{artifact_id}/declassify")
async def declassify(artifact_id: str, request: Request) -> Response:
    from governance.classification import declassify as service

    sess = session(request)
    form = await checked_form(request, sess)
    changes = service(sess.app, artifact_id, form.get("reason", ""))
    return back(
        f"/ui/artifacts/{artifact_id}",
        f"Declassified: no longer inherits its inputs' classification; {len(changes)} artifact(s) changed.",
    )


@router.post("/ui/artifacts/{artifact_id}/delete")
async def delete(artifact_id: str, request: Request) -> Response:
    """Without ``confirm=yes`` a dry run (what goes, what loses a source, which hold blocks);
    with it the crypto-shredding, then the signed certificate."""
    from governance.catalog import find_artifact
    from governance.classification import history
    from governance.deletion import delete_artifact, plan_deletion
    from governance.retention import retention_of

    sess = session(request)
    form = await checked_form(request, sess)
    reason = form.get("reason", "").strip()
    if not reason:
        raise InputError("reason: a deletion needs a reason (it is part of the record and the certificate)")
    early = form.get("before_retention_end") == "yes"
    if form.get("confirm") != "yes":
        found = find_artifact(sess.app, artifact_id)
        return render(
            request,
            "artifact.html.j2",
            sess,
            title=f"Artifact {found.path}",
            notice="",
            art=found,
            kept=retention_of(sess.app, found.id),
            history=history(sess.app, found.id),
            can=_can(sess),
            plan={"doc": plan_deletion(sess.app, artifact_id), "reason": reason, "early": early},
        )
    signed = delete_artifact(sess.app, artifact_id, reason, before_retention_end=early)
    cert_id = signed["certificate"]["certificate_id"]
    return back(f"/ui/certificates/{cert_id}", "Deleted: the data key is destroyed and the ciphertext removed.")


@router.get("/ui/certificates/{certificate_id}")
def certificate(certificate_id: str, request: Request, notice: str = "") -> Response:
    from governance.deletion import check_certificate, get_certificate

    sess = session(request)
    signed = get_certificate(sess.app, certificate_id)
    checked = check_certificate(signed, [], sess.app)
    return render(
        request,
        "certificate.html.j2",
        sess,
        title="Deletion certificate",
        notice=notice,
        signed=signed,
        checked=checked,
    )


@router.get("/ui/holds")
def holds(request: Request, notice: str = "", released: bool = False) -> Response:
    from governance.retention import list_holds

    sess = session(request)
    rows = list_holds(sess.app, include_released=released)
    return render(request, "holds.html.j2", sess, title="Legal holds", notice=notice, rows=rows, released=released)


@router.post("/ui/holds")
async def place(request: Request) -> Response:
    from governance.retention import place_hold

    sess = session(request)
    form = await checked_form(request, sess)
    scope, target = form.get("scope", ""), form.get("target", "").strip()
    if scope not in ("artifact", "dataset", "person"):
        raise InputError(f"scope: expected artifact, dataset or person, got {scope!r}")
    if not target:
        raise InputError(f"target: name the {scope} to hold")
    done = place_hold(sess.app, form.get("reason", ""), **{scope: target})
    return back("/ui/holds", f"Legal hold {done['hold']} placed on {scope} {target}.")


@router.post("/ui/holds/{hold_id}/release")
async def release(hold_id: str, request: Request) -> Response:
    from governance.retention import release_hold

    sess = session(request)
    form = await checked_form(request, sess)
    release_hold(sess.app, hold_id, form.get("reason", ""))
    return back("/ui/holds", f"Legal hold {hold_id} released.")


__all__ = ["router"]
