"""How one member of the app is shown to another.

A member sees other members by display name only (the part of their sign-in email before the @); their email
address is shown only to themselves and to a role that manages users (the owner). Every place that names
another user (audit entries, revisions, leaderboards, reviews) goes through `shown_email` / `display_name`, so
an email never reaches a member who may not see it.
"""

from __future__ import annotations

from .security import current_user, may_manage_users


def display_name(email: str | None) -> str | None:
    """The name a member is shown by: the part of the email before the @ (None for no one, e.g. the system)."""
    if not email:
        return None
    return email.split("@", 1)[0] or "member"


def may_see_email(user_id: int | None, viewer=None) -> bool:
    """May `viewer` (default: the current user) see the email of user `user_id`? Their own, or when their role
    manages users."""
    viewer = current_user() if viewer is None else viewer
    if viewer is None:
        return False
    return (user_id is not None and viewer.id == user_id) or may_manage_users(viewer)


def shown_email(user_id: int | None, email: str | None, viewer=None) -> str | None:
    """`email` when `viewer` may see it, else None."""
    return email if email and may_see_email(user_id, viewer) else None
