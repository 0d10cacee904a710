"""core, io and export must not pull in torch or Qt (DESIGN.md §1)."""
import subprocess
import sys


def test_pure_packages_import_without_torch_or_qt():
    code = (
        "import sys\n"
        "import designer.core, designer.io, designer.export\n"
        "import designer.core.analysis, designer.core.report, designer.core.templates\n"
        "import designer.io.design_file\n"
        "import pkgutil, importlib, designer.export as ex\n"
        "for m in pkgutil.iter_modules(ex.__path__):\n"
        "    importlib.import_module('designer.export.' + m.name)\n"
        "from designer.core.analysis import analyse\n"
        "from designer.io import load\n"
        "analyse(load('samples/resnet_small.json'))\n"
        "bad = [m for m in ('torch', 'PySide6', 'pyqtgraph') if m in sys.modules]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    from conftest import ROOT
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "[]"
