"""What the bill PDF's fork server (bills/pdf.py) loads once, before it forks a child per
render: the console (Django, the views, WeasyPrint) and one small render, so that each child
starts with the fonts and stylesheet already loaded rather than paying for them itself."""

from __future__ import annotations

import billing_console.wsgi  # noqa: F401  (sets Django up and imports the views)
from bills import pdf

pdf.html_to_pdf(
    pdf.render_html(
        {
            "bill_date": "2026-01-01",
            "status": "pending",
            "status_label": "Pending",
            # Every font the stylesheet may use: Latin, CJK, Arabic, emoji.
            "lines": [{"description": "Warm-up 云 مرحبا 🚀", "quantity": "1", "amount": "0.00"}],
        }
    )
)
