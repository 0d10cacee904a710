"""The exported model.py: exact on the samples, golden files, hostile names,
designs with errors, class names, layout."""
from __future__ import annotations

import ast
import io
import os
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES
from designer.core import Design, InputSpec, analyse
from designer.core.catalogue import all_types
from designer.core.naming import layer_names
from designer.export.common import LINE_LENGTH, ExportError, class_name, one_line
from designer.export.pytorch_code import generate_model_code, model_class_name
from designer.export.train_script import generate_train_script
from designer.core.serialise import SCHEMA_VERSION
from designer.io import load
from test_export_helpers import check_export_matches_build, import_code

GOLDEN = ROOT / "tests" / "golden" / "export"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_sample_export_equals_build(sample: Path, tmp_path: Path) -> None:
    check_export_matches_build(load(sample), tmp_path)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_sample_export_matches_golden_file(sample: Path) -> None:
    """Regenerate on purpose with UPDATE_GOLDEN=1 after an intended change."""
    code = generate_model_code(load(sample))
    golden = GOLDEN / f"{sample.stem}.py"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(code, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}: run with UPDATE_GOLDEN=1"
    assert code == golden.read_text(encoding="utf-8"), \
        f"exported code of {sample.name} changed; if intended, rerun with UPDATE_GOLDEN=1"


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_sample_code_layout(sample: Path) -> None:
    design = load(sample)
    code = generate_model_code(design)
    assert code == generate_model_code(load(sample))  # deterministic
    lines = code.splitlines()
    assert all(len(line) <= LINE_LENGTH for line in lines), \
        [line for line in lines if len(line) > LINE_LENGTH]
    assert all(line == line.rstrip() for line in lines)
    assert code.endswith("\n") and not code.endswith("\n\n")
    assert f"class {model_class_name(design)}(nn.Module):" in code
    analysis = analyse(design)
    assert f"# Parameters: {analysis.total_params:,}" in code
    assert f"# Design: {design.name}" in code
    assert f"schema version {SCHEMA_VERSION}" in code
    assert 'if __name__ == "__main__":' in code


def test_plain_stack_reads_like_handwritten_code() -> None:
    code = generate_model_code(load(ROOT / "samples" / "lenet5.json"))
    assert "self.conv1 = nn.Conv2d(3, 6, kernel_size=5)\n" in code
    assert "self.fc1 = nn.Linear(400, 120)\n" in code
    assert "        x = self.conv1(x)  # 6x28x28\n" in code
    assert "        return x\n" in code


def test_branches_use_named_temporaries_and_inline_merges() -> None:
    code = generate_model_code(load(ROOT / "samples" / "resnet_small.json"))
    assert "res1_conv1 = self.res1_conv1(x)" in code
    assert "x = res1_conv1 + x" in code
    assert "Add(" not in code and "Concat(" not in code


def test_concat_becomes_torch_cat(tmp_path: Path) -> None:
    d = Design("cat", InputSpec(3, 8, 8))
    d.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 1}, layer_id="a", inputs=["input"])
    d.add_layer("Conv2d", {"out_channels": 2, "kernel_size": 3, "padding": 1}, layer_id="b",
                inputs=["input"])
    d.add_layer("Concat", layer_id="cat", inputs=["a", "b", "input"])
    code = generate_model_code(d)
    assert "x = torch.cat([a, b, x], dim=1)  # 9x8x8" in code
    check_export_matches_build(d, tmp_path)


def test_unused_layers_are_defined_but_not_run(tmp_path: Path) -> None:
    d = Design("explicit output", InputSpec(1, 6, 6))
    d.add_layer("Conv2d", {"out_channels": 2, "kernel_size": 3}, layer_id="c1")
    d.add_layer("Conv2d", {"out_channels": 3, "kernel_size": 1}, layer_id="c2")
    d.set_output("c1")
    code = generate_model_code(d)
    assert "# Not on the path to the output (defined, not run): c2" in code
    assert "self.c2(" not in code
    check_export_matches_build(d, tmp_path)
    for n in range(12):
        d.add_layer("ReLU", layer_id=f"unused_relu_number_{n}", inputs=["c2"])
    d.set_output("c1")
    code = generate_model_code(d)
    assert "unused_relu_number_11" in code
    check_export_matches_build(d, tmp_path)


def test_frozen_layers_stay_frozen(tmp_path: Path) -> None:
    d = Design("frozen", InputSpec(3, 8, 8))
    d.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 3}, layer_id="stem", frozen=True)
    d.add_layer("BatchNorm2d", layer_id="bn")
    code = generate_model_code(d)
    assert "self.stem.requires_grad_(False)" in code
    assert "# Parameters: 120 (8 trainable, 112 frozen)" in code
    check_export_matches_build(d, tmp_path)


def test_every_catalogue_type_is_exported(tmp_path: Path) -> None:
    d = Design("all types", InputSpec(4, 8, 8))
    image = [("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": "same",
                         "padding_mode": "reflect"}),
             ("ConvTranspose2d", {"out_channels": 4, "kernel_size": 2, "stride": 2,
                                  "output_padding": [1, 0], "dilation": 1}),
             ("MaxPool2d", {"kernel_size": 2, "ceil_mode": True}),
             ("AvgPool2d", {"kernel_size": [2, 1], "count_include_pad": False}),
             ("BatchNorm2d", {"momentum": None}), ("GroupNorm", {"num_groups": 2}),
             ("LayerNorm", {"normalized_shape": [8]}), ("Dropout2d", {}),
             ("ChannelShuffle", {"groups": 2}),
             ("Upsample", {"scale_factor": 1.5, "mode": "bilinear", "align_corners": True}),
             ("AdaptiveMaxPool2d", {"output_size": [4, None]}),
             ("AdaptiveAvgPool2d", {"output_size": 3}), ("LeakyReLU", {"negative_slope": 0.2}),
             ("GELU", {"approximate": "tanh"}), ("SiLU", {}), ("ELU", {"alpha": 0.5}),
             ("Sigmoid", {}), ("Tanh", {}), ("Softmax", {"dim": 1}), ("Identity", {}),
             ("ReLU6", {}), ("Hardswish", {}), ("Hardsigmoid", {}), ("Mish", {}),
             ("PReLU", {"num_parameters": 4, "init": 0.1}),
             ("ReLU", {}), ("Flatten", {}), ("Linear", {"out_features": 6}),
             ("BatchNorm1d", {}), ("LayerNorm", {}), ("Dropout", {"p": 0.2})]
    for type_name, params in image:
        d.add_layer(type_name, params)
        if type_name == "ChannelShuffle":  # ports: a split, a gate, pooling indices
            d.add_layer("Split", {"split_size_or_sections": [1, 3]}, layer_id="halves")
            d.add_layer("Concat", layer_id="joined", inputs=["halves:1", "halves"])
            d.add_layer("AdaptiveAvgPool2d", {"output_size": 1}, layer_id="gate")
            d.add_layer("Mul", layer_id="gated", inputs=["gate", "joined"])
            d.add_layer("MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1,
                                      "return_indices": True}, layer_id="pool_i")
            d.add_layer("MaxUnpool2d", {"kernel_size": 3, "stride": 2, "padding": 1},
                        layer_id="unpool", inputs=["pool_i", "pool_i:indices"])
    tip = d.layers[-1].id
    d.add_layer("Linear", {"out_features": 6, "bias": False}, layer_id="side", inputs=[tip])
    d.add_layer("Add", layer_id="sum", inputs=[tip, "side"])
    d.add_layer("Concat", layer_id="both", inputs=["sum", tip])
    used = {lay.type for lay in d.layers}
    from test_core_nd import ND_TYPES  # 1-D/3-D types: test_core_nd exports them
    assert used | set(ND_TYPES) == {t.name for t in all_types()}
    assert analyse(d).ok, analyse(d).all_errors
    check_export_matches_build(d, tmp_path)


def test_design_with_errors_raises_export_error() -> None:
    d = Design("broken", InputSpec(3, 4, 4))
    d.add_layer("Conv2d", {"out_channels": 8, "kernel_size": 7}, layer_id="big")
    with pytest.raises(ExportError) as info:
        generate_model_code(d)
    assert "broken" in str(info.value) and "big" in str(info.value)
    assert info.value.problems and info.value.problems[0].startswith("big: ")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("name, expected", [
    ("LeNet-5", "LeNet5"), ("Small ResNet", "SmallResNet"), ("fast_cifar", "FastCifar"),
    ("", "Model"), ("   ", "Model"), ("5 layers", "Model5Layers"), ("Élan net", "ElanNet"),
    ("None", "NoneModel"), ("print", "Print"), ("Exception", "ExceptionModel"),
    ("x" * 100, "X" + "x" * 39), ("网络", "Model"), ("a\nb", "AB"),
])
def test_class_names_are_safe_identifiers(name: str, expected: str) -> None:
    assert class_name(name) == expected
    assert expected.isidentifier()


def test_one_line_removes_every_line_break() -> None:
    text = "a\nb\rc\u2028d\u2029e\x0bf\x0cg\x1ch\x85i\u202ej\tk"
    flat = one_line(text, 200)
    assert flat == "a b c d e f g h i j k"
    assert len(one_line("z" * 100, 20)) == 20


# --- hostile names ----------------------------------------------------------------

EVIL_IDS = [
    "__import__('os').system('touch MARKER')",
    'q"uo\'te',
    "line\nbreak\rcarriage",
    "class",
    "über Faltung ✓",
    "x",
    "self",
    "torch",
    "INPUT_SHAPE",
    '"""',
    "\u2028sep\u202eoverride",
    "# not a comment\n__import__('os').system('touch MARKER')",
    "\\",
    "lambda: exec('1')",
    "conv",
    "conv_2",
]
EVIL_NAME = 'Evil"""\nimport os; os.system("touch MARKER")\n# \u2028 \'\'\' \\'


def _evil_design() -> Design:
    d = Design(EVIL_NAME, InputSpec(3, 8, 8))
    convs = []
    for n, lid in enumerate(EVIL_IDS):
        if n % 2 == 0:
            d.add_layer("Conv2d", {"out_channels": 3, "kernel_size": 3, "padding": 1},
                        layer_id=lid)
            convs.append(lid)
        else:
            d.add_layer("ReLU", layer_id=lid)
    d.add_layer("Add", layer_id="sum'\n)", inputs=[convs[0], d.layers[-1].id, "input"])
    d.add_layer("Concat", layer_id="cat\"", inputs=[convs[1], "sum'\n)"])
    assert analyse(d).ok, analyse(d).all_errors
    return d


def _allowed_calls(design: Design, cls: str) -> set[str]:
    names = layer_names(design).values()
    return ({"super", "super().__init__", "torch.cat", "torch.randn", "torch.no_grad", "sum",
             "p.numel", "model.parameters", "model", "print", "tuple", cls, f"{cls}().eval"}
            | {f"nn.{t.name}" for t in all_types()}
            | {f"self.{n}" for n in names} | {f"self.{n}.requires_grad_" for n in names})


def test_hostile_names_reach_code_only_as_comments(tmp_path: Path) -> None:
    design = _evil_design()
    cls = model_class_name(design)
    code = generate_model_code(design)
    tree = ast.parse(code)
    calls = {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert calls <= _allowed_calls(design, cls), calls - _allowed_calls(design, cls)
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    allowed_names = ({"torch", "nn", "INPUT_SHAPE", cls, "self", "x", "super", "__name__",
                      "model", "y", "n_params", "p", "sum", "print", "tuple"}
                     | set(layer_names(design).values()))
    assert names <= allowed_names, names - allowed_names
    assert not any(isinstance(node, (ast.Import, ast.ImportFrom)) and
                   getattr(node, "module", None) not in (None, "torch")
                   for node in ast.walk(tree))
    imports = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, (ast.Import,
                                                                         ast.ImportFrom))]
    assert imports == ["import torch", "from torch import nn"]
    strings = {node.value for node in ast.walk(tree)
               if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    fragments = ("touch MARKER", "__import__(", "os.system", "über", "exec(")
    assert not any(f in s for f in fragments for s in strings)
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if any(f in tok.string for f in fragments):
            assert tok.type == tokenize.COMMENT, tok
    assert "\u2028" not in code and "\u202e" not in code and "\r" not in code
    train = generate_train_script(design)
    assert all(len(line) <= LINE_LENGTH for line in train.splitlines())
    compile(train, "train.py", "exec")
    check_export_matches_build(design, tmp_path)


def test_hostile_design_runs_and_executes_nothing_else(tmp_path: Path) -> None:
    design = _evil_design()
    (tmp_path / "model.py").write_text(generate_model_code(design), encoding="utf-8")
    r = subprocess.run([sys.executable, "model.py"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "-> output (2, 6, 8, 8)" in r.stdout
    assert not (tmp_path / "MARKER").exists()
    module = import_code(tmp_path, generate_model_code(design), "model_again")
    assert not (Path.cwd() / "MARKER").exists()
    assert hasattr(module, model_class_name(design))
