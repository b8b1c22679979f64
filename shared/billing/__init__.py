"""Payments and entitlements, split by noun (docs/payments.md, docs/decisions/0007-payments.md):

* `credits`  — one credit is one factory run: spend, refund (the one "money follows the outcome" policy),
               the balance;
* `checkout` — plans, the tenant's Stripe customer, Checkout Sessions, the billing view (GET /api/billing);
* `webhook`  — verify Stripe's signature on the raw body and apply each event exactly once;
* `records`  — constants and documents the three share.

Callers keep importing `from shared import billing` and using `billing.spend_credit`, `billing.handle_event`
and the rest: every public name of the modules is re-exported here.
"""

from . import checkout as checkout
from . import credits as credits
from . import records as records
from . import webhook as webhook
from .checkout import *  # noqa: F403
from .credits import *  # noqa: F403
from .records import *  # noqa: F403
from .webhook import *  # noqa: F403
