"""Opening, pasting and dropping images; bad image input gives a clear message and loses nothing."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication

from mathsym_gui.drawing import array_to_qimage
from trainer.data.strokes import draw_symbol

from .drawing_helpers import draw_stroke, wait_for_current_prediction
from .drawing_helpers import draw_symbol as draw_on_canvas


def write_png(path, label, ink=(0, 0, 0), background=(255, 255, 255), size=160):
    image = draw_symbol(label, None, size=size, ink=ink, background=background)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return image


def test_open_image_from_menu_coloured_ink_on_coloured_paper(qtbot, window, files, tmp_path):
    path = tmp_path / "seven.png"
    write_png(path, "7", ink=(200, 30, 30), background=(240, 230, 150))
    files.answers.append(path)
    window.act_open_image.trigger()
    assert files.asked == ["Open Image"]
    assert window.canvas.image is not None and window.canvas.image.shape == (160, 160, 3)
    assert wait_for_current_prediction(qtbot, window).top[0][0] == "7"
    # the model saw dark ink on white, whatever the colours were
    preview = window.last_prediction.preview
    assert preview[0, 0].tolist() == [255, 255, 255] and preview.min() < 50
    assert window.settings.get("paths/images") == str(tmp_path)


def test_open_image_is_undoable_and_keeps_drawing(qtbot, window, tmp_path):
    draw_on_canvas(window.canvas, "1")
    strokes = window.canvas.strokes
    path = tmp_path / "zero.jpg"
    write_png(path, "0")
    assert window.open_image(path)
    assert wait_for_current_prediction(qtbot, window).top[0][0] == "0"
    window.act_undo.trigger()
    assert window.canvas.image is None and window.canvas.strokes == strokes
    assert wait_for_current_prediction(qtbot, window).top[0][0] == "1"


def test_paste_image_data_and_file_url(qtbot, window, tmp_path):
    clipboard = QGuiApplication.clipboard()
    clipboard.setImage(array_to_qimage(draw_symbol("add", None, size=128)))
    window.act_paste.trigger()
    assert window.canvas.image is not None
    assert wait_for_current_prediction(qtbot, window).top[0][0] == "add"
    path = tmp_path / "sub.png"
    write_png(path, "sub")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    clipboard.setMimeData(mime)
    window.act_paste.trigger()
    assert wait_for_current_prediction(qtbot, window).top[0][0] == "sub"


def test_paste_without_image_says_so(qtbot, window, messages):
    QGuiApplication.clipboard().setText("just some words")
    window.act_paste.trigger()
    kind, title, text, _ = messages.last()
    assert kind == "error" and "no image" in text


def test_drop_image_file_on_window(qtbot, window, tmp_path):
    path = tmp_path / "eq.png"
    write_png(path, "eq")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    text = QMimeData()
    text.setText("words")
    enter = QDragEnterEvent(
        QPoint(50, 50), Qt.DropAction.CopyAction, text, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()  # plain text is not offered a drop
    enter = QDragEnterEvent(
        QPoint(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(
        window,
        QDropEvent(
            QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        ),
    )
    assert wait_for_current_prediction(qtbot, window).top[0][0] == "eq"


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "case, expected",
    [
        ("text", "is not an image MathSym can read (not a known image format)."),
        ("truncated", "is a truncated image: its data ends part-way through the picture."),
        ("damaged", "is a damaged image: its picture data cannot be decoded."),
        ("huge", "megapixels"),
        ("empty", "empty file"),
        ("missing", "does not exist"),
    ],
)
def test_bad_image_gives_message_and_keeps_drawing(qtbot, window, messages, files, tmp_path, case, expected):
    draw_stroke(window.canvas, [QPoint(100, 100), QPoint(200, 200)])
    before = window.canvas.strokes
    path = tmp_path / f"{case}.png"
    if case == "text":
        path.write_text("hello, I am not a picture")
    elif case in ("truncated", "damaged"):
        write_png(path, "3")
        data = path.read_bytes()
        if case == "truncated":
            path.write_bytes(data[:200])
        else:  # the compressed pixels overwritten, the file's length kept
            start = data.index(b"IDAT") + 8
            path.write_bytes(data[:start] + bytes(64) + data[start + 64 :])
    elif case == "huge":
        path.write_bytes(_png_header_only(10000, 9000))  # 90 MP, refused from the header
    elif case == "empty":
        path.write_bytes(b"")
    files.answers.append(path)
    window.act_open_image.trigger()  # File → Open Image…
    kind, title, text, _ = messages.last()
    assert kind == "error" and title == "Cannot Open Image" and text.startswith(str(path)), text
    assert expected in text and "Error" not in text and "data stream" not in text, text  # no library internals
    assert window.canvas.strokes == before and window.canvas.image is None


def test_blank_image_shows_hint_not_error(qtbot, window, messages, tmp_path):
    path = tmp_path / "blank.png"
    cv2.imwrite(str(path), np.full((50, 80, 3), 200, np.uint8))
    assert window.open_image(path)
    qtbot.waitUntil(lambda: "no ink" in window.panel.hint.text(), timeout=10000)
    assert messages.shown == [] and window.panel.list.entries() == []


def test_empty_canvas_has_hint_and_no_dialog(qtbot, window, messages):
    window.classify_now()
    assert "Draw a symbol" in window.panel.hint.text()
    assert messages.shown == []
