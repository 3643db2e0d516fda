"""The HTML pages of the simulator's HTTP side — the bank's ACS and the Demo Wallet — and
their one stylesheet.

The templates live here as text (Jinja2, every value escaped), so the pages ship with the
module. They are plain forms: no script, nothing loaded from elsewhere, readable on a phone,
every field labelled; errors are announced (``role="alert"``). Every form carries a hidden
``token`` bound to the browser (``forms``).
"""

from __future__ import annotations

from typing import Any

import jinja2

STYLESHEET_PATH = "/static/simulator.css"

STYLESHEET = """\
*, *::before, *::after { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 100%;
  line-height: 1.5; color: #1b1f24; background: #eef1f5; }
body { margin: 0; padding: 1rem; }
main { max-width: 28rem; margin: 2rem auto; padding: 1.5rem; background: #fff;
  border-radius: 0.75rem; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.12); }
.brand { margin: 0 0 0.5rem; font-weight: 700; letter-spacing: 0.02em; color: #3b4a5a; }
.brand.acs { color: #0b5394; }
.brand.wallet { color: #6a1b9a; }
h1 { margin: 0 0 1rem; font-size: 1.35rem; line-height: 1.3; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem;
  margin: 0 0 1.25rem; padding: 0.75rem 1rem; background: #f6f8fa; border-radius: 0.5rem; }
dl.summary dt { color: #57606a; }
dl.summary dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
label { display: block; margin: 0.75rem 0 0.25rem; font-weight: 600; }
input { width: 100%; padding: 0.65rem 0.75rem; font: inherit; font-size: 1.1rem;
  border: 1px solid #8c959f; border-radius: 0.375rem; }
input:focus, button:focus, a:focus { outline: 3px solid #0969da; outline-offset: 2px; }
input[aria-invalid="true"] { border-color: #cf222e; }
.hint { margin: 0.5rem 0 0; color: #57606a; font-size: 0.95rem; }
.error { margin: 0 0 1rem; padding: 0.75rem 1rem; color: #82071e; background: #ffebe9;
  border: 1px solid #ff8182; border-radius: 0.375rem; }
.actions { display: flex; flex-wrap: wrap; gap: 0.75rem; margin-top: 1.25rem; }
button, .button { flex: 1 1 10rem; padding: 0.75rem 1rem; font: inherit; font-weight: 600;
  text-align: center; text-decoration: none; color: #fff; background: #1f6feb;
  border: 1px solid #1f6feb; border-radius: 0.375rem; cursor: pointer; }
button.secondary { color: #1f2328; background: #f6f8fa; border-color: #8c959f; }
"""

_TEMPLATES = {
    "base.html": """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{ title }} — {{ brand }}</title>
<link rel="stylesheet" href="{{ stylesheet }}">
</head>
<body>
<main aria-labelledby="title">
<p class="brand {{ kind }}">{{ brand }}</p>
<h1 id="title">{{ title }}</h1>
{% block content %}{% endblock %}
</main>
</body>
</html>
""",
    "summary.html": """\
<dl class="summary">
{% for name, value in summary %}<dt>{{ name }}</dt><dd>{{ value }}</dd>
{% endfor %}</dl>
""",
    "error.html": """\
{% if error %}<p id="error" class="error" role="alert">{{ error }}</p>
{% endif %}""",
    "acs_challenge.html": """\
{% extends "base.html" %}
{% block content %}
<p>Your bank asks you to confirm this payment with a one-time code.</p>
{% include "summary.html" %}
{% include "error.html" %}
<form method="post" action="{{ action }}">
<input type="hidden" name="token" value="{{ token }}">
<label for="code">One-time code</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
 maxlength="8" required aria-describedby="code-hint">
<p id="code-hint" class="hint">This is a simulated bank: the test code is 1234.
You have one attempt.</p>
<div class="actions">
<button type="submit" name="action" value="submit">Submit</button>
<button type="submit" name="action" value="cancel" class="secondary" formnovalidate>Cancel</button>
</div>
</form>
{% endblock %}
""",
    "wallet_pay.html": """\
{% extends "base.html" %}
{% block content %}
{% include "summary.html" %}
{% include "error.html" %}
<form method="post" action="{{ action }}">
<input type="hidden" name="token" value="{{ token }}">
<label for="login">Login</label>
<input id="login" name="login" type="text" autocomplete="username" autocapitalize="none"
 spellcheck="false" maxlength="64" required value="{{ login }}"
 {%- if invalid %} aria-invalid="true" aria-describedby="error"{% endif %}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password"
 maxlength="64" required {%- if invalid %} aria-invalid="true" aria-describedby="error"{% endif %}>
<p class="hint">Test wallets: demo / demo holds 10,000.00, poor / poor holds 1.00.</p>
<div class="actions">
<button type="submit" name="action" value="pay">Pay {{ amount }}</button>
<button type="submit" name="action" value="cancel" class="secondary" formnovalidate>Cancel</button>
</div>
</form>
{% endblock %}
""",
    "over.html": """\
{% extends "base.html" %}
{% block content %}
{% if summary %}{% include "summary.html" %}{% endif %}
{% include "error.html" %}
<p>{{ message }}</p>
{% if back %}<div class="actions"><a class="button" href="{{ back }}">Return to the shop</a></div>
{% endif %}
{% endblock %}
""",
}

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.DictLoader(_TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
)


def render(template: str, **context: Any) -> str:
    """The page ``template`` with ``context``; every page takes ``title``, ``brand`` and
    ``kind`` (``acs`` or ``wallet``), and shows ``error`` when one is given; a page with a
    form takes its ``token`` (``forms``)."""
    page = _ENVIRONMENT.get_template(template)
    return page.render(**{"stylesheet": STYLESHEET_PATH, "error": ""} | context)


def not_found(brand: str, kind: str, what: str) -> str:
    """The page of a confirmation or payment the simulator does not know."""
    return render(
        "over.html",
        title=f"No such {what}",
        brand=brand,
        kind=kind,
        summary=[],
        message=f"This {what} does not exist. Return to the shop and try again.",
        back="",
    )
