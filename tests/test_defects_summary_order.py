"""The CLI summary and the window's summary table list layers in data-flow order,
not in the order they were created (issue 12)."""
from __future__ import annotations

import json
from pathlib import Path

from designer.cli import main
from designer.core.analysis import analyse
from designer.io import load

FLOW = ["conv1", "act", "flat", "fc"]


def write_out_of_order(tmp_path: Path) -> Path:
    """The layers as a user made them: fc and flat added last, then wired in."""
    data = {"format": "cnn-designer", "schema_version": 1, "design": {
        "name": "late", "input": {"channels": 1, "height": 8, "width": 8},
        "layers": [
            {"id": "fc", "type": "Linear", "params": {"out_features": 3}, "inputs": ["flat"]},
            {"id": "conv1", "type": "Conv2d", "params": {"out_channels": 2, "kernel_size": 3},
             "inputs": ["input"]},
            {"id": "flat", "type": "Flatten", "inputs": ["act"]},
            {"id": "act", "type": "ReLU", "inputs": ["conv1"]},
        ]}}
    path = tmp_path / "late.json"
    path.write_text(json.dumps(data))
    return path


def test_cli_json_lists_layers_in_flow_order(tmp_path, capsys):
    path = write_out_of_order(tmp_path)
    assert main(["summary", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [lay["id"] for lay in out["layers"]] == FLOW


def test_cli_table_lists_layers_in_flow_order(tmp_path, capsys):
    path = write_out_of_order(tmp_path)
    assert main(["summary", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    firsts = [line.split()[0] for line in lines if line.split() and line.split()[0] in FLOW]
    assert firsts == FLOW


def test_gui_summary_table_lists_layers_in_flow_order(qtbot, tmp_path):
    from designer.gui.context import DesignContext
    from designer.gui.summary_table import SummaryTable
    context = DesignContext(load(write_out_of_order(tmp_path)))
    table = SummaryTable(context)
    qtbot.addWidget(table)
    model = table.model()
    shown = [model.index(r, 0).data() for r in range(model.rowCount() - 1)]
    assert shown == FLOW
    assert analyse(context.design).ok
