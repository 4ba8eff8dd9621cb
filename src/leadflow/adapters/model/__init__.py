"""The predictive conversion model: learn from any CRM export, score and explain new leads.

Built on pandas and scikit-learn, so it lives in the adapters layer (the domain is standard
library only). A playbook uses the score like any other custom field:
``{field: custom.predicted_conversion, at_least: 0.6}``.
"""

from __future__ import annotations

from leadflow.adapters.model.evaluate import Metrics, reliability_plot
from leadflow.adapters.model.leakage import LEAK_AUC, ColumnSignal
from leadflow.adapters.model.roles import ModelMapping, Role, load_model_mapping
from leadflow.adapters.model.score import (
    FACTORS_COLUMN,
    SCORE_COLUMN,
    Scored,
    score_leads,
    write_scored,
)
from leadflow.adapters.model.store import PLOT_FILE, load_model, save_model
from leadflow.adapters.model.train import FittedModel, TrainOptions, TrainResult, train

__all__ = [
    "FACTORS_COLUMN",
    "LEAK_AUC",
    "PLOT_FILE",
    "SCORE_COLUMN",
    "ColumnSignal",
    "FittedModel",
    "Metrics",
    "ModelMapping",
    "Role",
    "Scored",
    "TrainOptions",
    "TrainResult",
    "load_model",
    "load_model_mapping",
    "reliability_plot",
    "save_model",
    "score_leads",
    "train",
    "write_scored",
]
