"""A small DVC project shaped like DVC's own example-get-started, built for real.

``data/data.xml`` is tracked by ``data/data.xml.dvc``; four stages in ``dvc.yaml``
(prepare → featurize → train → evaluate) produce ``data/prepared/``, ``data/features/``,
``model.pkl`` and ``eval/``; ``dvc repro`` writes ``dvc.lock``; ``dvc push`` puts the data
in a directory remote added with ``dvc remote add -d``. A ``git clone`` of it then holds
only what git tracks, as a clone of the example does before ``dvc pull``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GIT = ["git", "-c", "user.name=qgov test", "-c", "user.email=test@qgov.invalid", "-c", "init.defaultBranch=main"]
DVC = [sys.executable, "-m", "dvc"]
OUTPUTS = ("data/data.xml", "data/prepared", "data/features", "model.pkl", "eval")

_PREPARE = """import pathlib, sys
rows = [line.strip() for line in open(sys.argv[1]) if "<row" in line]
out = pathlib.Path("data/prepared"); out.mkdir(parents=True, exist_ok=True)
(out / "train.tsv").write_text("\\n".join(rows[::2]) + "\\n")
(out / "test.tsv").write_text("\\n".join(rows[1::2]) + "\\n")
"""
_FEATURIZE = """import pathlib, sys
src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]); dst.mkdir(parents=True, exist_ok=True)
for name in ("train", "test"):
    words = (src / f"{name}.tsv").read_text().split()
    (dst / f"{name}.txt").write_text(f"{len(words)} words\\n")
"""
_TRAIN = """import pathlib, sys
counts = [p.read_text() for p in sorted(pathlib.Path(sys.argv[1]).iterdir())]
pathlib.Path(sys.argv[2]).write_text("model trained on " + " / ".join(c.strip() for c in counts) + "\\n")
"""
_EVALUATE = """import json, pathlib, sys
model = pathlib.Path(sys.argv[1]).read_text()
out = pathlib.Path("eval"); out.mkdir(exist_ok=True)
(out / "metrics.json").write_text(json.dumps({"avg_prec": 0.5, "model_bytes": len(model)}) + "\\n")
"""


def _run(args: list[str], cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True)


def write_pipeline(root: Path, remote: Path) -> Path:
    """Build the project at ``root`` with its data pushed to the directory remote ``remote``."""
    root.mkdir(parents=True)
    _run([*GIT, "init", "-q"], root)
    _run([*DVC, "init", "-q"], root)
    _run([*DVC, "config", "core.analytics", "false"], root)
    (root / "data").mkdir()
    (root / "src").mkdir()
    rows = "\n".join(f'  <row Id="{i}" Body="question {i} about qubit {i % 7}"/>' for i in range(40))
    (root / "data" / "data.xml").write_text(f"<posts>\n{rows}\n</posts>\n")
    for name, text in (
        ("prepare.py", _PREPARE),
        ("featurization.py", _FEATURIZE),
        ("train.py", _TRAIN),
        ("evaluate.py", _EVALUATE),
    ):
        (root / "src" / name).write_text(text)
    (root / "params.yaml").write_text("prepare:\n  split: 0.5\ntrain:\n  n_est: 5\n")
    py = sys.executable
    (root / "dvc.yaml").write_text(
        "stages:\n"
        f"  prepare:\n    cmd: {py} src/prepare.py data/data.xml\n"
        "    deps: [data/data.xml, src/prepare.py]\n    params: [prepare.split]\n    outs: [data/prepared]\n"
        f"  featurize:\n    cmd: {py} src/featurization.py data/prepared data/features\n"
        "    deps: [data/prepared, src/featurization.py]\n    outs: [data/features]\n"
        f"  train:\n    cmd: {py} src/train.py data/features model.pkl\n"
        "    deps: [data/features, src/train.py]\n    params: [train.n_est]\n    outs: [model.pkl]\n"
        f"  evaluate:\n    cmd: {py} src/evaluate.py model.pkl data/features\n"
        "    deps: [data/features, model.pkl, src/evaluate.py]\n    outs: [eval]\n"
    )
    _run([*DVC, "add", "-q", "data/data.xml"], root)
    _run([*DVC, "repro", "-q"], root)
    _run([*DVC, "remote", "add", "-d", "storage", str(remote)], root)
    _run([*DVC, "push", "-q"], root)
    _run([*GIT, "add", "-A"], root)
    _run([*GIT, "commit", "-q", "-m", "pipeline"], root)
    return root


def clone(source: Path, target: Path) -> Path:
    """``git clone``: the workspace holds what git tracks, DVC's outputs are in the remote."""
    _run([*GIT, "clone", "-q", str(source), str(target)], source.parent)
    return target


__all__ = ["OUTPUTS", "clone", "write_pipeline"]
