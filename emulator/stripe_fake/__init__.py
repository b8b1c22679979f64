"""A stateful local fake of the Stripe API for offline development and tests.

See docs/stripe-fake.md.  Programmatic use::

    from emulator.stripe_fake import FakeStripe
"""

from .server import DEFAULT_RETRY_SCHEDULE, FakeStripe
from .state import DEFAULT_API_VERSION
from .webhooks import sign_payload

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_RETRY_SCHEDULE",
    "FakeStripe",
    "sign_payload",
]
