"""Exported plots carry a caption (model, layer, sample, step) above them: a picture found later in a folder still
says what it shows. PNGs also keep the caption as their "Description" text."""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter
from PySide6.QtWidgets import QWidget

CAPTION_KEY = "Description"


def _caption_font() -> QFont:
    f = QFont()
    f.setPointSize(10)
    return f


def caption_height() -> int:
    return QFontMetrics(_caption_font()).height() + 12


def _draw_caption(painter: QPainter, width: int, text: str) -> None:
    painter.fillRect(QRectF(0, 0, width, caption_height()), QColor("white"))
    painter.setPen(QColor("#222"))
    painter.setFont(_caption_font())
    painter.drawText(QRectF(8, 0, width - 16, caption_height()), Qt.AlignVCenter | Qt.AlignLeft, text)


def caption_image(widget: QWidget, caption: str) -> QImage:
    """The widget as an image with ``caption`` in a band above it."""
    pix = widget.grab()
    top = caption_height()
    img = QImage(pix.width(), pix.height() + top, QImage.Format_RGB32)
    img.fill(QColor("white"))
    painter = QPainter(img)
    _draw_caption(painter, pix.width(), caption)
    painter.drawPixmap(0, top, pix)
    painter.end()
    img.setText(CAPTION_KEY, caption)
    return img


def write_svg(widget: QWidget, caption: str, path: str) -> bool:
    # pyqtgraph's SVGExporter cannot parse the paths Qt 6.11 writes; Qt's own SVG generator renders the view
    from PySide6.QtSvg import QSvgGenerator

    top = caption_height()
    size = widget.size()
    gen = QSvgGenerator()
    gen.setFileName(path)
    gen.setSize(QSize(size.width(), size.height() + top))
    gen.setViewBox(QRectF(0, 0, size.width(), size.height() + top))
    gen.setTitle("LSTM Inspector plots")
    gen.setDescription(caption)
    painter = QPainter()
    if not painter.begin(gen):
        return False
    _draw_caption(painter, size.width(), caption)
    painter.translate(0, top)
    widget.render(painter)
    painter.end()
    return True
