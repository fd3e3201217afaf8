"""The exploration notebook runs top to bottom (nbclient), so it never rots."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import tree_digest

if TYPE_CHECKING:
    from latcircle.run import RunResult

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"

pytestmark = pytest.mark.slow


@pytest.fixture
def venv_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernel spec running this very interpreter (the venv with latcircle installed).

    A ``python3`` spec elsewhere on the machine could point at another Python; a private
    spec on ``JUPYTER_PATH`` cannot.
    """
    spec = tmp_path / "jupyter" / "kernels" / "latcircle-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "latcircle (test)",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "latcircle-test"


def test_explore_notebook_runs(
    venv_kernel: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    demo_inputs: Path,
    demo_run: RunResult,
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("LATCIRCLE_OUT", str(tmp_path / "work"))
    monkeypatch.delenv("LATCIRCLE_CONFIG", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name=venv_kernel, timeout=600, resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()

    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    html = [
        o["data"]["text/html"]
        for c in code
        for o in c.get("outputs", [])
        if "text/html" in o.get("data", {})
    ]
    assert any("leaflet" in h.lower() for h in html), "the map did not render inline"
    assert any("without 2027 sites" in h for h in html), "the scenario table is missing"
    images = [o for c in code for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 2, "the figures did not render inline"
    assert (tmp_path / "work" / "outputs" / "report.html").exists()
    sources = "\n".join(c.source for c in code)
    assert "import latcircle as lc" in sources and "lc.Metro.from_frames(" in sources

    # The notebook's coverage table (from GeoDataFrames it read itself) against an
    # independent run of the same demo inputs: the same bytes. The notebook generated its
    # inputs itself (seed 7); they are the session's shared demo inputs, byte for byte, so the
    # session's whole run of them (``demo_run``: the config read by ``load_config`` and run by
    # ``run_city``, as ``latcircle run`` does; conftest) is that independent run.
    work = tmp_path / "work"
    assert tree_digest(work / "demo-inputs") == tree_digest(demo_inputs.parent)
    for name in ("coverage.csv", "progress.csv"):
        assert (work / "outputs" / name).read_bytes() == (demo_run.out / name).read_bytes(), name


def test_notebook_is_committed_without_outputs() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None
