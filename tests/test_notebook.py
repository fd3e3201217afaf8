"""The exploration notebook runs top to bottom (nbclient), so it never rots."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import tree_digest

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


#: The demo's scale the notebook is run at. What the test checks (every cell runs, the map
#: and figures render inline, the tables equal the command line's bytes) does not depend on
#: the metro's size; at the default scale its kernel spent ~27 s of CPU (session round 17),
#: at half scale a quarter of that. The default scale is run whole by ``demo_run``.
SCALE = 0.5


def test_explore_notebook_runs(
    venv_kernel: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    half_demo_inputs: Path,
    half_demo_cli_run: Path,
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("LATCIRCLE_OUT", str(tmp_path / "work"))
    monkeypatch.setenv("LATCIRCLE_DEMO_SCALE", str(SCALE))
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

    # The notebook's coverage and progress tables (from GeoDataFrames it read itself) against
    # an independent run of the same demo inputs: the same bytes. The notebook generated its
    # inputs itself (seed 7, scale 0.5); they are the session's shared half-scale demo inputs,
    # byte for byte, so the session's command-line run of them (``half_demo_cli_run``:
    # ``latcircle run --no-map --no-report``; conftest) is that independent run.
    work = tmp_path / "work"
    assert tree_digest(work / "demo-inputs") == tree_digest(half_demo_inputs.parent)
    for name in ("coverage.csv", "progress.csv"):
        got, ref = (work / "outputs" / name).read_bytes(), (half_demo_cli_run / name).read_bytes()
        assert got == ref, name


def test_notebook_is_committed_without_outputs() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None
