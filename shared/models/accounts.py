from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

Role = Literal["owner", "member", "viewer"]
# Emails compare case-insensitively everywhere (signup claims, invitations, membership lookups).
Email = Annotated[EmailStr, AfterValidator(str.lower)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SignupCreate(_Strict):
    email: Email
    password: str = Field(min_length=8, max_length=128)
    display_name: str = Field(min_length=1, max_length=80)
    company_name: str = Field(min_length=1, max_length=120)


class OwnWorkspaceCreate(_Strict):
    """A signed-in user with no workspace of their own (e.g. a first Google sign-in) creates one."""

    company_name: str | None = Field(default=None, min_length=1, max_length=120,
                                     description="The workspace's name; default: \"<your name>'s workspace\".")


class SignupPublic(BaseModel):
    uid: str
    tenant_id: str
    role: Role
    email: str


class InvitationCreate(_Strict):
    email: Email
    role: Role = "member"


class MemberUpdate(_Strict):
    role: Role


class WorkspaceSwitch(_Strict):
    tenant_id: str = Field(min_length=6, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class MemberSettings(_Strict):
    """The caller's own settings in the active workspace."""

    notify_email: bool = Field(description="Email me when a run I started finishes, fails or waits for me.")
