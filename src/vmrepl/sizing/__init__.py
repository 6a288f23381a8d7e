"""Sizing of journals, the WAN link and the recovery site from the customer's VM write rates:
three sources (:mod:`vcenter` performance history, the :mod:`zvm` of a running customer, a
:mod:`csvsource` file), one pure :mod:`arithmetic`, and :mod:`render` for the table, CSV and
HTML report."""

from vmrepl.sizing.arithmetic import (
    DEFAULT_HISTORY_HOURS,
    JOURNAL_COMPRESSION,
    KB_PER_GB,
    MIN_JOURNAL_GB,
    MIN_WAN_MBPS,
    VRA_MAX_VOLUMES,
    Capacity,
    Host,
    Parameters,
    Sample,
    Sizing,
    SizingError,
    VmSeries,
    VmSizing,
    counter_rates,
    kbps_to_mbps,
    percentile,
    plan,
    size,
    vra_volumes,
)
from vmrepl.sizing.csvsource import MAX_WRITE_KBPS, load, parse, series

__all__ = [
    "DEFAULT_HISTORY_HOURS",
    "JOURNAL_COMPRESSION",
    "KB_PER_GB",
    "MAX_WRITE_KBPS",
    "MIN_JOURNAL_GB",
    "MIN_WAN_MBPS",
    "VRA_MAX_VOLUMES",
    "Capacity",
    "Host",
    "Parameters",
    "Sample",
    "Sizing",
    "SizingError",
    "VmSeries",
    "VmSizing",
    "counter_rates",
    "kbps_to_mbps",
    "load",
    "parse",
    "percentile",
    "plan",
    "series",
    "size",
    "vra_volumes",
]
