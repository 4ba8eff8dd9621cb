"""Reports written as files: the backtest as an HTML page with PNG charts (matplotlib)."""

from leadflow.adapters.reports.backtest_html import write_html_report

__all__ = ["write_html_report"]
