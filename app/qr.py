"""QR codes drawn here (segno, pure Python), never fetched from a web service: offices
run on intranets, and the card must print the same offline."""
from __future__ import annotations

from markupsafe import Markup


def svg(text: str, *, scale: int = 3, title: str = "") -> Markup:
    """An inline SVG QR code of ``text`` (error correction M)."""
    import segno

    code = segno.make(text, error="m", micro=False)
    return Markup(code.svg_inline(scale=scale, border=2, title=title or None, svgclass="qr", lineclass=None))
