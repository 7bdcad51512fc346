"""HTTP routes of grant revocation, checkpoints and the published policy versions.

Thin, like the rest of the API: each route calls the function the command line calls
(:mod:`governance.operations`) and returns its document; the services check the capability
table for the principal.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from governance.api.app import API, ERRORS, Who
from governance.api.retention_routes import acting


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    classification: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=2000)


class DerivationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    activity: str = Field(min_length=1, max_length=500)
    used: list[str] = Field(min_length=1, max_length=1000)
    generated: list[str] = Field(min_length=1, max_length=1000)


class ScreeningIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=500)
    country: str | None = Field(default=None, max_length=64)


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=256)
    citizenships: list[str] = Field(max_length=20)
    location: str = Field(max_length=64)
    affiliation: str = Field(min_length=1, max_length=500)
    permanent_residence: str | None = Field(default=None, max_length=64)
    us_permanent_resident: bool = False
    training_completed_on: str | None = Field(default=None, max_length=64)
    roles: list[str] | None = Field(default=None, max_length=20)
    os_account: str | None = Field(default=None, min_length=1, max_length=256)
    email: str | None = Field(default=None, min_length=3, max_length=320)


class EmailIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(description="The address decision e-mails go to; null to stop them.", max_length=320)


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    files: dict[str, str] = Field(description="The organisation's policy files, org/<path>.yaml: YAML text.")
    note: str = Field(default="", max_length=2000)
    source: str = Field(default="policy", max_length=1000, description="The directory's name, for messages.")
    shown_as: dict[str, str] | None = Field(default=None, description="Each file's name in messages.")


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[str] | None = Field(default=None, max_length=20, description="Public keys to trust.")
    since: str | None = Field(default=None, max_length=1000, description="The kept checkpoint's file name.")
    since_text: str | None = Field(default=None, max_length=100_000, description="The kept checkpoint.")
    witness: bool = True
    blobs: bool = False


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: str = Field(min_length=1, max_length=256)
    days: int = Field(default=90, ge=-1_000_000, le=1_000_000, description="Checked by the service: 1 to 366.")
    note: str = Field(default="", max_length=500)


def admin_router() -> APIRouter:
    router = APIRouter(prefix=API, responses=ERRORS)

    @router.post("/grants/{grant_id}/revocation", tags=["access"])
    def revoke(grant_id: str, body: ReasonIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers: revoke a grant; fetching under it stops at once."""
        from governance.operations import revoke_grant

        return revoke_grant(acting(request, who), grant_id, body.reason)

    @router.post("/checkpoints", tags=["audit"])
    def checkpoint(who: Who, request: Request) -> dict[str, Any]:
        """Auditors, officers, admins: sign a checkpoint of the log as it stands now."""
        from governance.operations import checkpoint_doc

        return checkpoint_doc(acting(request, who))

    @router.post("/audit/verifications", tags=["audit"])
    def verify(body: VerifyIn, who: Who, request: Request) -> dict[str, Any]:
        """Auditors, officers, admins: verify the log (and a kept checkpoint, and every object)."""
        from governance.operations import verify_doc

        b = body
        return verify_doc(acting(request, who), b.keys, b.since, b.since_text, b.witness, b.blobs)

    @router.get("/audit/reports/{node}", tags=["audit"])
    def report(
        node: str, who: Who, request: Request, keys: Annotated[list[str] | None, Query(max_length=20)] = None
    ) -> dict[str, Any]:
        """Auditors, officers, admins: the audit report's document of an output."""
        from governance.operations import report_doc

        return report_doc(acting(request, who), node, keys)

    @router.post("/tokens", tags=["identity"], status_code=201)
    def create_token(body: TokenIn, who: Who, request: Request) -> dict[str, Any]:
        """Admins: issue a token for a registered person; it is shown once, only its hash is kept."""
        from governance.operations import create_token_doc

        return create_token_doc(acting(request, who), body.person, body.days, body.note)

    @router.get("/tokens", tags=["identity"])
    def tokens(who: Who, request: Request) -> list[dict[str, Any]]:
        """Tokens without their secrets: all of them for an admin, one's own otherwise."""
        from governance.operations import tokens_doc

        return tokens_doc(acting(request, who))

    @router.post("/tokens/{token_id}/revocation", tags=["identity"])
    def revoke_token(token_id: str, who: Who, request: Request) -> dict[str, Any]:
        """Revoke a token: an admin any, everyone their own."""
        from governance.operations import revoke_token_doc

        return revoke_token_doc(acting(request, who), token_id)

    @router.get("/policies", tags=["policy"])
    def policies(who: Who, request: Request) -> dict[str, Any]:
        """The published policy versions, newest (in force) first."""
        from governance.operations import policies_doc

        return policies_doc(acting(request, who))

    @router.post("/policies", tags=["policy"])
    def publish(body: PolicyIn, who: Who, request: Request) -> dict[str, Any]:
        """Admins: validate the uploaded files and publish them as the policy in force."""
        from governance.operations import publish_doc

        return publish_doc(acting(request, who), body.files, body.note, body.source, body.shown_as)

    @router.post("/artifacts/{artifact}/override", tags=["classification"])
    def override(artifact: str, body: OverrideIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers: set an artifact's classification (the automatic one stays visible)."""
        from governance.operations import override_doc

        return override_doc(acting(request, who), artifact, body.classification, body.reason)

    @router.post("/artifacts/{artifact}/declassification", tags=["classification"])
    def declassify(artifact: str, body: ReasonIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers: stop a derived artifact inheriting its inputs' classification."""
        from governance.operations import declassify_doc

        return declassify_doc(acting(request, who), artifact, body.reason)

    @router.post("/derivations", tags=["lineage"], status_code=201)
    def derive(body: DerivationIn, who: Who, request: Request) -> dict[str, Any]:
        """Data managers: record that artifacts were derived from others."""
        from governance.operations import derive_doc

        return derive_doc(acting(request, who), body.activity, body.used, body.generated)

    @router.post("/derivations/{activity}/retraction", tags=["lineage"])
    def retract(activity: str, body: ReasonIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers: withdraw a recorded derivation from now on (earlier traces still show it)."""
        from governance.operations import retract_doc

        return retract_doc(acting(request, who), activity, body.reason)

    @router.post("/screenings", tags=["access"])
    def screen(body: ScreeningIn, who: Who, request: Request) -> dict[str, Any]:
        """What-if: screen a name against the restricted-party list in force; records nothing."""
        from governance.operations import screen_doc

        return screen_doc(acting(request, who), body.name, body.country)

    @router.post("/people", tags=["people"], status_code=201)
    def add_person(body: PersonIn, who: Who, request: Request) -> dict[str, Any]:
        """Admins: register or update a person with the facts access decisions need."""
        from governance.operations import add_person as service

        return service(acting(request, who), **body.model_dump())

    @router.put("/people/{person}/email", tags=["people"])
    def set_person_email(person: str, body: EmailIn, who: Who, request: Request) -> dict[str, Any]:
        """Set or remove where a person's decision e-mails go (admins: anyone; everyone: themselves)."""
        from governance.people import set_email

        return set_email(acting(request, who), person, body.email)

    return router


__all__ = ["admin_router"]
