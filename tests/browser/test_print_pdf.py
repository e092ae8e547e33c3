"""Printing through Chromium: a compound's contact card and a meeting's minutes become
PDFs whose text holds the compound's name in Chinese (fonts embedded, text extractable)."""
from __future__ import annotations

import io
import os

from pypdf import PdfReader

from tests.browser.test_service_loop import ARTIFACTS, _signed_in


def _pdf_text(page) -> str:
    page.emulate_media(media="print")
    data = page.pdf(format="A4", print_background=True)
    return "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages), data


def test_a_contact_card_and_minutes_print_to_pdf(browser, live_server):
    os.makedirs(ARTIFACTS, exist_ok=True)
    context, page = _signed_in(browser, live_server, "worker")
    page.goto(f"{live_server}/contact-card/list/?q=宇辉星城")
    page.locator("a[href*='/contact-card/show/']").first.click()
    page.wait_for_load_state("networkidle")
    page.click("a[href*='/contact-card/print/']")
    page.wait_for_load_state("networkidle")
    text, data = _pdf_text(page)
    with open(os.path.join(ARTIFACTS, "contact-card.pdf"), "wb") as fh:
        fh.write(data)
    assert "宇辉星城" in text and "95598" in text
    assert page.locator(".navbar").is_hidden()  # the printed page is the card only

    page.emulate_media(media="screen")
    page.goto(f"{live_server}/meeting/list/?q=宇辉星城")
    page.locator("a[href*='/meeting/show/']").first.click()
    page.wait_for_load_state("networkidle")
    page.click("a[href*='/meeting/minutes/']")
    page.wait_for_load_state("networkidle")
    text, data = _pdf_text(page)
    with open(os.path.join(ARTIFACTS, "minutes.pdf"), "wb") as fh:
        fh.write(data)
    assert "宇辉星城" in text and "会议纪要" in text
    context.close()
