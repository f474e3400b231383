"""Metrics stage: (PoseSeries, GaitEvents) → StrideTable + summary (domain.md §3, M1–M15)."""

from backtorun.metrics.stride import Stride, StrideContext
from backtorun.metrics.summary import cycle_curves, summarize
from backtorun.metrics.table import (
    REAR_VIEW_FUNCTIONS, SIDE_VIEW_FUNCTIONS, StrideTableBuilder, functions_for, stride_table,
)

__all__ = ["Stride", "StrideContext", "StrideTableBuilder", "stride_table", "summarize", "cycle_curves", "functions_for",
           "SIDE_VIEW_FUNCTIONS", "REAR_VIEW_FUNCTIONS"]
