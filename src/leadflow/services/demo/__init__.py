"""Demo data: a simulated year of Northwind Health leads with known ground truth."""

from __future__ import annotations

from leadflow.services.demo.simulate import DemoSummary, simulate
from leadflow.services.demo.world import plan_leads

__all__ = ["DemoSummary", "plan_leads", "simulate"]
