"""leadflow: explainable lead qualification for healthcare marketing and sales."""

__version__ = "0.1.0"
