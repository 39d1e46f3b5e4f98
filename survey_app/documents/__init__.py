"""Printed documents: one-person-one-form sheets and the village notices.

Everything printed is an auto-escaped Jinja template turned into PDF by
WeasyPrint.  WeasyPrint may only fetch the app's own print stylesheet,
through a private ``canbao:`` scheme; every other URL (file:, http:, data:,
whatever a resident's name might smuggle in) is refused and recorded.

Rendering itself (render.py) runs in a forked child so a render that hangs
can be killed (the time limit) and so a long batch never holds more than a
chunk's layout in memory; big batches render chunk by chunk on both cores
and are joined with poppler's ``pdfunite``.  WeasyPrint is imported only
when something is printed: every CLI call and server worker starts faster.

- :mod:`.pdf`      HTML to PDF (through render.py), the errors, QR codes, URLs and dates.
- :mod:`.area`     the village, township, district or city a document covers.
- :mod:`.folder`   the exports folder: publishing, listing, serving, cleaning, auditing.
- :mod:`.forms`    the one-person-one-form sheets.
- :mod:`.notices`  the collection notice, the public roster and the progress report.

The names below are what the rest of the app reads as ``documents.X`` (collection/papers.py
prints the roll and the reminder slips through ``template``, ``export_meta`` and ``produce``) (render.py reads
``RENDER_SECONDS`` here at each render, so a test may change it on this package).
"""

from .area import Area, resolve_area
from .folder import (
    KINDS,
    PUBLIC_KINDS,
    Export,
    export_file,
    export_meta,
    list_exports,
    make_private,
    produce,
    published_notices,
    remove_stale_temporaries,
)
from .forms import FormSheet, choice_lines, form_sheets, forms_html, print_forms, relevance_note
from .notices import grid_contacts, print_notice, roster_rows
from .pdf import (
    BASE_URL,
    RENDER_SECONDS,
    STATIC_PREFIX,
    DocumentError,
    Rendered,
    RenderTimeout,
    cn_date,
    public_url,
    qr_svg,
    render_chunks,
    render_pdf,
    template,
    today,
    token_url,
)

__all__ = [
    "BASE_URL", "KINDS", "PUBLIC_KINDS", "RENDER_SECONDS", "STATIC_PREFIX",
    "Area", "DocumentError", "Export", "FormSheet", "RenderTimeout", "Rendered",
    "choice_lines", "cn_date", "export_file", "export_meta", "form_sheets", "forms_html", "grid_contacts",
    "list_exports", "make_private", "print_forms", "print_notice", "produce", "public_url",
    "published_notices", "qr_svg", "relevance_note", "remove_stale_temporaries", "render_chunks",
    "render_pdf", "resolve_area", "roster_rows", "template", "today", "token_url",
]
