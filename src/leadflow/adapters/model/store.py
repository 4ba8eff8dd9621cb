"""A trained model on disk: ``model.pkl`` (the fitted pipeline) and ``model.json`` beside it.

``model.pkl`` is a Python pickle. Loading a pickle runs code chosen by whoever wrote it, so
load only model folders you (or someone you trust) trained; ``model.json`` records the
column roles, the leakage findings, the metrics and the versions that made it.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import sklearn

from leadflow import __version__
from leadflow.adapters.model.train import FittedModel, TrainResult
from leadflow.errors import InputFileError

MODEL_FILE = "model.pkl"
METADATA_FILE = "model.json"
PLOT_FILE = "reliability.png"
FORMAT = 1


def metadata(result: TrainResult, options: dict[str, Any]) -> dict[str, Any]:
    """What ``model.json`` holds."""
    return {
        "format": FORMAT,
        "leadflow_version": __version__,
        "sklearn_version": sklearn.__version__,
        "options": options,
        "model": result.model.name,
        "columns": {
            "numeric": list(result.model.numeric),
            "categorical": list(result.model.categorical),
            "excluded": dict(result.plan.excluded),
        },
        "leakage": [
            {
                "column": s.column,
                "value_auc": round(s.value_auc, 4),
                "missing_auc": None if s.missing_auc is None else round(s.missing_auc, 4),
            }
            for s in result.signals
        ],
        "metrics": result.summary(),
    }


def save_model(folder: Path, result: TrainResult, options: dict[str, Any]) -> Path:
    """Write the model and its metadata into ``folder`` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / MODEL_FILE).open("wb") as handle:
        pickle.dump(result.model, handle, protocol=pickle.HIGHEST_PROTOCOL)
    text = json.dumps(metadata(result, options), indent=2, ensure_ascii=False)
    (folder / METADATA_FILE).write_text(text + "\n", encoding="utf-8")
    return folder


def load_model(folder: Path) -> FittedModel:
    """The model saved in ``folder`` by :func:`save_model` (trusted files only: a pickle)."""
    meta_path, model_path = folder / METADATA_FILE, folder / MODEL_FILE
    if not meta_path.is_file() or not model_path.is_file():
        raise InputFileError(
            f"{folder}: not a model folder (expected {METADATA_FILE} and {MODEL_FILE}; "
            "make one with `leadflow model train -o DIR`)"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{meta_path}: cannot read the model metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputFileError(f"{meta_path}: unknown model format; train the model again")
    with model_path.open("rb") as handle:
        # The user's own file, written by save_model (see the module docstring).
        model = pickle.load(handle)  # noqa: S301
    if not isinstance(model, FittedModel):
        raise InputFileError(f"{model_path}: does not hold a leadflow model")
    return model
