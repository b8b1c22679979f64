"""The fake hosted Checkout page (plain HTML, stable element ids)."""

from __future__ import annotations

from html import escape

from .state import format_amount

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1a1f36}
h1{font-size:1.3rem} .badge{font-size:.75rem;background:#ffde92;padding:.1rem .4rem;border-radius:4px}
ul{padding-left:1.2rem} label{display:block;margin:.6rem 0 .2rem}
input{width:100%;padding:.5rem;box-sizing:border-box}
.buttons{margin-top:1rem;display:flex;gap:.5rem;flex-wrap:wrap}
button{padding:.6rem 1rem;font-size:1rem;cursor:pointer}
#pay{background:#635bff;color:#fff;border:0;border-radius:4px}
#error{background:#fde8e8;color:#9b1c1c;padding:.6rem;border-radius:4px;margin:1rem 0}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def checkout_page(
    session: dict,
    items: list[dict],
    products: dict,
    email: str | None,
    name: str | None = None,
    error: str | None = None,
) -> str:
    sid = session["id"]
    lines = []
    for li in items:
        price = li["price"] if isinstance(li["price"], dict) else {}
        prod = products.get(price.get("product"), {})
        rec = price.get("recurring")
        per = " / {}".format(rec["interval"]) if rec else ""
        lines.append(
            '<li class="line-item" data-price="{}">{} &times; {} &mdash; {}{}</li>'.format(
                escape(price.get("id", "")),
                escape(prod.get("name") or li.get("description") or "Item"),
                li["quantity"],
                escape(format_amount(li["amount_total"], li["currency"])),
                escape(per),
            )
        )
    readonly = " readonly" if session.get("customer") and email else ""
    err = f'<div id="error" role="alert">{escape(error)}</div>' if error else ""
    cancel = (
        '<p><a id="cancel" href="{}">Cancel and return</a></p>'.format(
            escape(session["cancel_url"], quote=True)
        )
        if session.get("cancel_url")
        else ""
    )
    body = """
<h1>Stripe Fake Checkout <span class="badge">TEST MODE</span></h1>
<p id="session-mode" data-mode="{mode}">Mode: {mode}</p>
<ul id="line-items">{lines}</ul>
<p id="amount-total" data-amount="{amount}" data-currency="{currency}">Total: <strong>{total}</strong></p>
{err}
<form id="checkout-form" method="post" action="/checkout/{sid}/pay">
  <label for="email">Email</label>
  <input id="email" name="email" type="email" value="{email}" required{readonly}>
  <label for="name">Name on card</label>
  <input id="name" name="name" type="text" value="{name}">
  <div class="buttons">
    <button id="pay" type="submit" name="outcome" value="paid">Pay</button>
    <button id="pay-async" type="submit" name="outcome" value="async">Pay (async)</button>
    <button id="decline" type="submit" name="outcome" value="declined">Decline</button>
  </div>
</form>
{cancel}
""".format(
        mode=escape(session["mode"]),
        lines="".join(lines),
        amount=session["amount_total"],
        currency=escape(session["currency"] or ""),
        total=escape(
            format_amount(session["amount_total"], session["currency"] or "usd")
        ),
        err=err,
        sid=escape(sid),
        email=escape(email or "", quote=True),
        readonly=readonly,
        name=escape(name or "", quote=True),
        cancel=cancel,
    )
    return _page("Checkout", body)


def message_page(
    title: str,
    message: str,
    link: str | None = None,
    link_text: str = "Continue",
    element_id: str = "message",
) -> str:
    body = f'<h1>{escape(title)}</h1><p id="{escape(element_id)}">{escape(message)}</p>'
    if link:
        body += f'<p><a id="continue" href="{escape(link, quote=True)}">{escape(link_text)}</a></p>'
    return _page(title, body)
