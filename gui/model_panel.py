"""The layer graph as a list: class, name, output shape, details and parameters; unsupported layers marked."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QFrame, QLabel, QScrollArea, QSplitter, QTreeWidget, QTreeWidgetItem, QVBoxLayout,
                               QWidget)

from engine.describe import fmt_shape
from engine.graph import UnbuiltLayer, UnsupportedLayer
from engine.nonfinite import nonfinite_blocks, summary
from engine.layers.recurrent import RecurrentLayer

NODE_ROLE = Qt.UserRole + 1


def gate_shape_lines(slices) -> list[str]:
    """The gate blocks' shapes, one short line per matrix (and direction): "W: i f c o, each (1, 100)"."""
    groups: dict[tuple[str, str], list] = {}
    for sl in slices:
        direction, _, gate = sl.gate.rpartition("/")
        groups.setdefault((direction, sl.matrix), []).append((gate, sl.array.shape))
    lines = []
    for (direction, matrix), gates in groups.items():
        shapes = {shape for _, shape in gates}
        names = " ".join(g for g, _ in gates)
        what = (f"{names}, each {fmt_shape(gates[0][1])}" if len(shapes) == 1 and len(gates) > 1 else
                ", ".join(f"{g} {fmt_shape(shape)}" for g, shape in gates))
        lines.append((f"{direction} " if direction else "") + f"{matrix}: {what}")
    return lines


class ModelPanel(QWidget):
    node_selected = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.header = QLabel("No model")
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.tree = QTreeWidget()
        self.tree.setObjectName("layerTree")
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["layer", "class", "output shape", "params"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.itemSelectionChanged.connect(self._on_selection_changed)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.details = QLabel("")
        self.details.setObjectName("layerDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.details.setStyleSheet("background: #f6f6f6; padding: 6px; border: 1px solid #ddd;")
        self.health = QLabel("")  # gate health of the selected layer over the whole data (gui/explain_panel.py)
        self.health.setObjectName("gateHealth")
        self.health.setWordWrap(True)
        self.health.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.health.setStyleSheet("background: #f3f7f3; padding: 6px; border: 1px solid #cdc;")
        self.health.hide()
        # the layer's details and gate health scroll under the list, which keeps room for its rows at any height
        info = QWidget()
        info_lay = QVBoxLayout(info)
        info_lay.setContentsMargins(0, 0, 0, 0)
        info_lay.addWidget(self.details)
        info_lay.addWidget(self.health)
        info_lay.addStretch(1)
        self.info = QScrollArea()
        self.info.setObjectName("layerInfo")
        self.info.setWidget(info)
        self.info.setWidgetResizable(True)
        self.info.setFrameShape(QFrame.NoFrame)
        self.info.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.info.setMinimumHeight(60)
        self.body = QSplitter(Qt.Vertical)
        self.body.setChildrenCollapsible(False)
        self.body.addWidget(self.tree)
        self.body.addWidget(self.info)
        self.body.setStretchFactor(0, 0)
        self.body.setStretchFactor(1, 1)
        lay.addWidget(self.header)
        lay.addWidget(self.body, 1)

    def set_model(self, model, problem: str | None = None) -> None:
        self.model = model
        self.details.setText("")
        self.tree.blockSignals(True)
        self.tree.clear()
        if model is None:
            self.header.setText("No model")
            self.tree.blockSignals(False)
            return
        import os

        text = (f"<b>{os.path.basename(model.path)}</b><br>{model.format_label} · Keras {model.keras_version}<br>"
                f"{model.param_count():,} parameters")
        if model.graph.unbuilt:
            text += "<br><span style='color:#b00'>No weights in the file: the model was saved before it was built. " \
                    "The architecture is all there is to show.</span>"
        elif problem:
            text += f"<br><span style='color:#b00'>Cannot replay: {problem}</span>"
        if model.nonfinite:
            text += (f"<br><span style='color:#b60'>⚠ Non-finite weights (NaN/inf, diverged training?) in "
                     f"{summary(model.nonfinite)}; the replay gives NaN where Keras does.</span>")
        self.header.setText(text)
        for node in model.graph.nodes:
            layer = node.layer
            if node.is_input:
                cls, shapes, params = "InputLayer", fmt_shape(layer.shape), "0"
            else:
                cls = layer.class_name
                shapes = ", ".join(fmt_shape(s) for s in node.output_shapes) or "?"
                params = f"{layer.param_count():,}" if not isinstance(layer, UnsupportedLayer) else "?"
            item = QTreeWidgetItem([node.qualname, cls, shapes, params])
            item.setData(0, NODE_ROLE, node.id)
            item.setTextAlignment(3, Qt.AlignRight | Qt.AlignVCenter)
            if isinstance(layer, UnbuiltLayer):
                for c in range(4):
                    item.setForeground(c, QBrush(QColor("#777777")))
                item.setText(1, f"{cls}  (no weights)")
                item.setToolTip(1, "\n".join([f"{k}: {v}" for k, v in layer.describe().items()] + [layer.reason]))
            elif isinstance(layer, UnsupportedLayer):
                for c in range(4):
                    item.setForeground(c, QBrush(QColor("#b00000")))
                item.setText(1, f"{cls}  ⚠ unsupported")
                item.setToolTip(0, layer.reason)
                item.setToolTip(1, layer.reason)
            elif not node.is_input:
                details = layer.describe()
                notes = list(getattr(layer, "notes", ()))
                tip = "\n".join([f"{k}: {v}" for k, v in details.items()] + notes)
                for c in range(4):
                    item.setToolTip(c, tip)
                if isinstance(layer, RecurrentLayer):
                    f = item.font(0)
                    f.setBold(True)
                    item.setFont(0, f)
                    item.setFont(1, f)
                acts = [details[k] for k in ("activation", "recurrent_activation") if k in details]
                if acts:
                    item.setText(1, f"{cls} ({', '.join(acts)})")
                bad = nonfinite_blocks(layer)
                if bad:
                    for c in range(4):
                        item.setForeground(c, QBrush(QColor("#b06000")))
                    item.setText(1, f"{item.text(1)}  ⚠ NaN/inf")
                    for c in range(4):
                        item.setToolTip(c, tip + "\nnon-finite: " + "; ".join(str(b) for b in bad))
            self.tree.addTopLevelItem(item)
        for c in range(4):
            self.tree.resizeColumnToContents(c)
        self._fit_tree()
        self.tree.blockSignals(False)

    #: the list keeps room for this many rows (fewer if the model has fewer layers) however small the window
    MIN_ROWS = 4

    #: rows the list shows at first (all of them for smaller models); the rest of the height goes to the details
    FIT_ROWS = 8

    def _rows_height(self, n: int) -> int:
        row = self.tree.sizeHintForRow(0) if self.tree.topLevelItemCount() else 0
        bar = self.tree.horizontalScrollBar().sizeHint().height()
        return self.tree.header().sizeHint().height() + n * max(row, 1) + bar + 2 * self.tree.frameWidth() + 2

    def _fit_tree(self) -> None:
        """The list keeps room for its header, up to MIN_ROWS rows and a scroll bar; it starts with up to FIT_ROWS
        rows, and the layer's details and gate health take the rest (they scroll when they need more)."""
        count = self.tree.topLevelItemCount()
        self.tree.setMinimumHeight(self._rows_height(min(count, self.MIN_ROWS)))
        total = sum(self.body.sizes())
        if total > 0:
            want = min(self._rows_height(min(count, self.FIT_ROWS)), max(total // 2, self.tree.minimumHeight()))
            self.body.setSizes([want, max(total - want, 1)])

    def select_node(self, node_id: int | None) -> None:
        self.tree.blockSignals(True)
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setSelected(item.data(0, NODE_ROLE) == node_id)
        self.tree.blockSignals(False)
        self._show_details(node_id)

    def _show_details(self, node_id: int | None) -> None:
        if getattr(self, "model", None) is None or node_id is None:
            self.details.setText("")
            return
        node = self.model.graph.nodes[node_id]
        layer = node.layer
        lines = [f"<b>{node.qualname}</b> · {layer.class_name}"]
        if isinstance(layer, UnbuiltLayer):
            lines += [f"{k}: {v}" for k, v in layer.describe().items()]
            lines.append(f"<span style='color:#b00'>{layer.reason}</span>")
        elif isinstance(layer, UnsupportedLayer):
            lines.append(f"<span style='color:#b00'>{layer.reason}</span>")
        elif not node.is_input:
            lines += [f"{k}: {v}" for k, v in layer.describe().items()]
            lines += [f"<i>note: {n}</i>" for n in getattr(layer, "notes", ())]
            lines += [f"<span style='color:#b60'>⚠ non-finite {b}</span>" for b in nonfinite_blocks(layer)]
            if isinstance(layer, RecurrentLayer):
                lines += gate_shape_lines(layer.gate_slices())
        else:
            lines.append(f"shape {fmt_shape(layer.shape)}, {layer.dtype}")
        self.details.setText("<br>".join(lines))

    def set_health(self, text: str) -> None:
        """Gate health lines (saturation, dead units, forget mean) of the selected layer; empty hides them."""
        self.health.setText(text)
        self.health.setVisible(bool(text))

    def _on_selection_changed(self) -> None:
        items = self.tree.selectedItems()
        if items:
            nid = int(items[0].data(0, NODE_ROLE))
            self._show_details(nid)
            self.node_selected.emit(nid)
