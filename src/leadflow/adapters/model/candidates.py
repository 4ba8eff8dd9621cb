"""The two candidate models, with fixed hyper-parameters (nothing is tuned on test data).

- ``logistic``: median imputation with missing indicators, standardised numbers, one-hot
  categories (rare ones pooled), L2-regularised logistic regression.
- ``boosting``: histogram gradient boosting with native missing values and native
  categories (rare ones pooled).

Either is wrapped in Platt (sigmoid) calibration over 3 folds, so its scores are
probabilities.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import threadpool_limits

CANDIDATES = ("logistic", "boosting")
#: Categories seen fewer times than this in training are pooled into one "infrequent" value.
MIN_CATEGORY_COUNT = 10


def _logistic(numeric: list[str], categorical: list[str], seed: int) -> Pipeline:
    numbers = Pipeline(
        [
            (
                "impute",
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            ),
            ("scale", StandardScaler()),
        ]
    )
    categories = OneHotEncoder(
        handle_unknown="infrequent_if_exist",
        min_frequency=MIN_CATEGORY_COUNT,
        sparse_output=False,
    )
    prepare = ColumnTransformer(
        [("numeric", numbers, numeric), ("categorical", categories, categorical)],
        remainder="drop",
    )
    model = LogisticRegression(C=0.5, max_iter=5000, random_state=seed)
    return Pipeline([("prepare", prepare), ("model", model)])


def _boosting(numeric: list[str], categorical: list[str], seed: int) -> Pipeline:
    categories = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        min_frequency=MIN_CATEGORY_COUNT,
        max_categories=60,
    )
    prepare = ColumnTransformer(
        [("numeric", "passthrough", numeric), ("categorical", categories, categorical)],
        remainder="drop",
    )
    native = [len(numeric) + i for i in range(len(categorical))]
    model = HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=250,
        max_leaf_nodes=15,
        min_samples_leaf=30,
        l2_regularization=1.0,
        categorical_features=native or None,
        early_stopping=False,
        random_state=seed,
    )
    return Pipeline([("prepare", prepare), ("model", model)])


def one_thread() -> AbstractContextManager[object]:
    """Gradient boosting on one OpenMP thread.

    Lead exports are small: one thread was faster than two on 9,000 rows, and much faster
    when other processes share the cores (idle OpenMP threads spin-wait). Results are the
    same either way. ``threadpoolctl`` is a dependency of scikit-learn.
    """
    limits: AbstractContextManager[object] = threadpool_limits(limits=1, user_api="openmp")
    return limits


def build(name: str, numeric: tuple[str, ...], categorical: tuple[str, ...], seed: int) -> Any:
    """An unfitted pipeline of candidate ``name``."""
    maker = _logistic if name == "logistic" else _boosting
    return maker(list(numeric), list(categorical), seed)


def calibrated(name: str, numeric: tuple[str, ...], categorical: tuple[str, ...], seed: int) -> Any:
    """Candidate ``name`` inside sigmoid calibration over 3 stratified folds."""
    return CalibratedClassifierCV(
        build(name, numeric, categorical, seed),
        method="sigmoid",
        cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=seed),
    )
