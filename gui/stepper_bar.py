"""Play controls: reset, step back, play/pause, step, to end, speed and a timeline slider.

The bar never moves the replay itself: it asks (``seek_requested``) and follows ``show_step``; the play timer only
asks for "the next step" (napari's playback pattern)."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QSpinBox, QToolButton, QWidget


class StepperBar(QWidget):
    seek_requested = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.total = 0
        self.current = 0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._on_tick)

        def button(text, tip, slot, name):
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.setObjectName(name)
            b.clicked.connect(slot)
            b.setMinimumWidth(34)
            return b

        self.b_reset = button("|◀", "Reset to t = 0 (Home)", lambda: self.seek_requested.emit(0), "resetButton")
        self.b_back = button("◀", "Step back (←)", lambda: self.seek_requested.emit(self.current - 1), "backButton")
        self.b_play = button("▶ Play", "Play / pause (Space)", self.toggle_play, "playButton")
        self.b_play.setMinimumWidth(70)
        self.b_step = button("▶", "Step (→)", lambda: self.seek_requested.emit(self.current + 1), "stepButton")
        self.b_end = button("▶|", "Run to the end (End)", lambda: self.seek_requested.emit(self.total), "endButton")
        self.speed = QSpinBox()
        self.speed.setRange(1, 120)
        self.speed.setValue(8)
        self.speed.setSuffix(" steps/s")
        self.speed.valueChanged.connect(self._on_speed_changed)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setObjectName("timeline")
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self._on_slider)
        self.label = QLabel("step 0 / 0")
        self.label.setFixedWidth(290)  # a label that resizes with its text re-lays out the window every step
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        for w in (self.b_reset, self.b_back, self.b_play, self.b_step, self.b_end):
            lay.addWidget(w)
        lay.addWidget(self.speed)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.label)

    def set_total(self, total: int) -> None:
        self.total = total
        self.slider.blockSignals(True)
        self.slider.setRange(0, total)
        self.slider.blockSignals(False)

    def show_step(self, n: int, detail: str = "") -> None:
        self.current = n
        self.slider.blockSignals(True)
        self.slider.setValue(n)
        self.slider.blockSignals(False)
        self.label.setText(f"step {n} / {self.total}{'  ' + detail if detail else ''}")
        if n >= self.total and self.timer.isActive():
            self.pause()

    def toggle_play(self) -> None:
        if self.timer.isActive():
            self.pause()
        else:
            if self.current >= self.total:
                self.seek_requested.emit(0)
            self.timer.start(int(1000 / self.speed.value()))
            self.b_play.setText("⏸ Pause")

    def pause(self) -> None:
        self.timer.stop()
        self.b_play.setText("▶ Play")

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def _on_tick(self) -> None:
        self.seek_requested.emit(self.current + 1)

    def _on_speed_changed(self, v: int) -> None:
        if self.timer.isActive():
            self.timer.setInterval(int(1000 / v))

    def _on_slider(self, v: int) -> None:
        self.seek_requested.emit(v)
