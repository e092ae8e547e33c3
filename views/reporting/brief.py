"""The meeting brief as a PDF, made on the server: title, place, period, the KPI tiles,
the dashboard's charts and when it was made, on two A4 landscape pages at most.

Drawn with ReportLab (charts included, from the same data as the page's ECharts) in
Noto Sans SC, which the setup command (``make venv``) installs from the npm registry at
a pinned version into ``app/static/vendor/fonts/``; the font is embedded (subset) in
the PDF, so it reads the same on any computer.
"""
from __future__ import annotations

import io
import os
from xml.sax.saxutils import escape

from flask import current_app
from flask_babel import gettext

from app import clock
from app.charts import PALETTE  # one colour per series, as on the page

FONT_NAME = "NotoSansSC"
#: where ``make venv`` puts the font, in the app's static folder (app/static; override
#: with the BRIEF_FONT setting)
DEFAULT_FONT = os.path.join("vendor", "fonts", "NotoSansSC-Regular.ttf")


class FontMissing(RuntimeError):
    """The CJK font is not installed (``make venv`` installs it)."""


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return FONT_NAME
    path = current_app.config.get("BRIEF_FONT") or os.path.join(current_app.static_folder, DEFAULT_FONT)
    if not os.path.exists(path):
        raise FontMissing(gettext("The Chinese font of the PDF brief is not installed: run “make venv”."))
    pdfmetrics.registerFont(TTFont(FONT_NAME, path))
    return FONT_NAME


def _short(text: str, n: int) -> str:
    text = str(text)
    return text if len(text) <= n else text[:n - 1] + "…"


def _chart(data: dict, width: float, height: float, font: str):
    """A ReportLab drawing of one chart's data (bar, horizontal bar, line or pie)."""
    from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.charts.linecharts import HorizontalLineChart
    from reportlab.graphics.charts.piecharts import Pie
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    drawing = Drawing(width, height)
    drawing.add(String(4, height - 12, _short(data["title"], 30), fontName=font, fontSize=10))
    categories, series = data["categories"], data["series"]
    if not categories:
        drawing.add(String(4, height / 2, gettext("None in this period."), fontName=font, fontSize=8,
                           fillColor=colors.grey))
        return drawing
    if data["kind"] == "line":  # a line needs two figures; rates of months without demands are none
        series = [s for s in series if sum(v is not None for v in s["data"]) >= 2]
    if not series:
        drawing.add(String(4, height / 2, gettext("None in this period."), fontName=font, fontSize=8,
                           fillColor=colors.grey))
        return drawing
    legend_room = 12 if len(series) > 1 else 0
    if data["kind"] == "pie":
        pie = Pie()
        pie.x, pie.y, pie.width = 10, 10, min(width * 0.45, height - 30)
        pie.height = pie.width
        pie.data = [max(v, 0) for v in series[0]["data"]] or [1]
        for i in range(len(pie.data)):
            pie.slices[i].fillColor = colors.HexColor(PALETTE[i % len(PALETTE)])
            pie.slices[i].strokeColor = colors.white
        drawing.add(pie)
        legend = Legend()
        legend.x, legend.y, legend.fontName, legend.fontSize = pie.width + 24, height - 24, font, 7
        legend.alignment = "right"
        legend.colorNamePairs = [(colors.HexColor(PALETTE[i % len(PALETTE)]), f"{_short(c, 8)} {v}")
                                 for i, (c, v) in enumerate(zip(categories, series[0]["data"]))][:12]
        drawing.add(legend)
        return drawing
    across = data["kind"] == "hbar"
    if data["kind"] == "line":
        chart = HorizontalLineChart()
    else:
        chart = HorizontalBarChart() if across else VerticalBarChart()
    label_room = 62 if across else 0
    chart.x, chart.y = 24 + label_room, 18 + (0 if across else 10)
    chart.width = width - chart.x - 8
    chart.height = height - chart.y - 18 - legend_room
    line = data["kind"] == "line"  # a line leaves a gap where there is no figure (a rate of nothing)
    chart.data = [[(None if v is None else float(v)) if line else float(v or 0) for v in s["data"]]
                  for s in series]
    chart.categoryAxis.categoryNames = [_short(c, 6 if not across else 9) for c in categories]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = 0
    if across:
        chart.categoryAxis.reverseDirection = True
    elif len(categories) > 6:
        chart.categoryAxis.labels.angle = 30
        chart.categoryAxis.labels.boxAnchor = "ne"
    if data.get("stacked"):
        chart.categoryAxis.style = "stacked"
    for i, s in enumerate(series):
        colour = colors.HexColor(s.get("color") or PALETTE[i % len(PALETTE)])
        if data["kind"] == "line":
            chart.lines[i].strokeColor = colour
            chart.lines[i].strokeWidth = 1.5
        else:
            chart.bars[i].fillColor = colour
            chart.bars[i].strokeColor = None
    drawing.add(chart)
    if legend_room:
        legend = Legend()
        legend.x, legend.y, legend.fontName, legend.fontSize = chart.x, height - 18, font, 6
        legend.alignment = "right"
        legend.columnMaximum, legend.dx, legend.dy, legend.deltax = 1, 6, 6, 40
        legend.colorNamePairs = [(colors.HexColor(s.get("color") or PALETTE[i % len(PALETTE)]),
                                  _short(s["name"], 6)) for i, s in enumerate(series)][:8]
        drawing.add(legend)
    return drawing


def render(*, place: str, slice_, tiles: dict, drawn: list[dict]) -> bytes:
    """The brief: {"period": [...], "totals": [...]} tiles (models.reporting.dashboard.figures) and the
    drawn charts (their ``data``), as PDF bytes."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _font()
    page_width, page_height = landscape(A4)
    margin = 10 * mm
    usable = page_width - 2 * margin
    title = ParagraphStyle("title", fontName=font, fontSize=18, leading=22, textColor=colors.HexColor("#b71c1c"))
    small = ParagraphStyle("small", fontName=font, fontSize=9, leading=12, textColor=colors.HexColor("#444444"))
    head = ParagraphStyle("head", fontName=font, fontSize=10, leading=13, spaceBefore=4)
    made = clock.now().strftime("%Y-%m-%d %H:%M")

    heading = gettext("%(place)s meeting brief", place=place)
    story = [Paragraph(escape(heading), title),
             Paragraph(gettext("Period: %(start)s to %(end)s · Made at %(time)s", start=slice_.start,
                               end=slice_.end, time=made), small)]

    def tile_table(items, columns=8):
        cells = []
        for t in items:
            value = "—" if t["value"] is None else f"{t['value']}{t['unit'] or ''}"
            text = f'<font size="13" color="#b71c1c">{escape(value)}</font><br/>{escape(str(t["label"]))}'
            if t.get("note"):
                text += f'<br/><font size="6" color="#777777">{escape(str(t["note"]))}</font>'
            cells.append(Paragraph(text, ParagraphStyle("tile", fontName=font, fontSize=7, leading=10)))
        rows = [cells[i:i + columns] for i in range(0, len(cells), columns)]
        if rows and len(rows[-1]) < columns:
            rows[-1] += [""] * (columns - len(rows[-1]))
        table = Table(rows, colWidths=[usable / columns] * columns)
        table.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.25, colors.HexColor("#dddddd")),
                                   ("INNERGRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#dddddd")),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
        return table

    if tiles.get("period"):
        story += [Paragraph(gettext("In the period"), head), tile_table(tiles["period"])]
    if tiles.get("totals"):
        story += [Paragraph(gettext("Cumulative to date"), head), tile_table(tiles["totals"], columns=9)]
    story.append(Spacer(1, 3 * mm))

    def chart_rows(items, per_row, height):
        width = usable / per_row
        drawings = [_chart(c["data"], width - 4, height, font) for c in items]
        rows = [drawings[i:i + per_row] for i in range(0, len(drawings), per_row)]
        if rows and len(rows[-1]) < per_row:
            rows[-1] += [""] * (per_row - len(rows[-1]))
        table = Table(rows, colWidths=[width] * per_row)
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 1),
                                   ("RIGHTPADDING", (0, 0), (-1, -1), 1)]))
        return table

    first, rest = drawn[:8], drawn[8:]  # page 1: the figures and eight charts; page 2: the rest
    if first:
        story.append(chart_rows(first, 4, 56 * mm))
    if rest:
        story += [PageBreak(), Paragraph(escape(gettext("%(place)s meeting brief: charts", place=place)), head),
                  chart_rows(rest, 4, 58 * mm)]
    story.append(Paragraph(gettext("Made by the platform at %(time)s; the figures are those of the user's "
                                   "data scope.", time=made), small))
    out = io.BytesIO()
    document = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=margin, rightMargin=margin,
                                 topMargin=margin, bottomMargin=margin, title=heading,
                                 author=gettext("Red station co-governance platform"))
    document.build(story)
    return out.getvalue()
