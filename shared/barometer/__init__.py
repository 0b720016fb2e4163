"""The barometer: the figures a department head reports for the public-space quality certificate.

Pure functions over compact rows built from the projection table ``meldingen``
(``shared.projection.COLUMNS``); no database access here. The report layer
(``wijkteam_reports.sql``) reads the rows with SQL; :func:`barometer_row` and
:func:`backlog_row` are the reference conversions of one projection row and define the meaning of
every field. The rules, each documented in docs/barometer.md:

* **Period**: Europe/Amsterdam calendar dates (month, quarter, year or from–to, both inclusive). A
  melding counts in the period of its ``registered_date`` (2025-03-31T23:30Z is 1 April local, so April).
* **Cohort**: every figure except the backlog is about the meldingen *received* in the period, however
  late they were closed ("closed" means: closed at least once by the time the report is made). A
  complaint received 3 Mar, closed 5 Mar, reopened 20 Mar and closed 2 Apr counts once, in March.
* **Within the norm** is decided at the FIRST closure: ``first_closed_at <= deadline`` (the deadline
  stored when the melding was categorised). Reopenings do not change it; they are counted apart.
  Closed meldingen without a servicenorm are left out of this percentage.
* **Lead time**: working days from the registration date to the first closure
  (``shared.deadlines.working_days_between``); median (middle value, mean of the two middle values for
  an even count) and p90 (nearest rank: the smallest value at least 90 % of lead times are ≤ to).
* **Backlog** is a stock at the moment ``T`` = the end of the period (00:00 local after its last day),
  or the moment of the report when that is earlier: registered before ``T`` and not closed at ``T``.
  Overdue: its deadline lies before ``T``. See :func:`open_at` for how this is read from current state.
* **Terugkoppeling**: of the closed meldingen whose reporter left contact details (``has_contact``),
  the share with at least one call-back logged.
* **Reopened**: of the closed meldingen, the share reopened at least once (``reopen_count > 0``).
* **Completeness**: of the received meldingen, the share with a location (address, point or
  description), a categorie, a vier B and a kanaal; also each of the four on its own.
* Deleted meldingen are left out, and so is a melding marked as a duplicate of another
  (``duplicaat_van`` set): the original counts, the duplicate does not.
* A ratio over an empty set is ``None`` (shown as "n.v.t."), never NaN, 0 % or 100 %.

The package, by subject (each module imports only those listed before it; ``report`` also reads the
municipality configuration and the certificate criteria):

* :mod:`shared.barometer.period` — the period and the comparison periods;
* :mod:`shared.barometer.rows` — the compact rows per melding, their flags, the backlog's ages and
  the server's summary row;
* :mod:`shared.barometer.indicators` — the indicators, their descriptions and how they are counted;
* :mod:`shared.barometer.report` — the report: groupings, months, comparisons, data quality,
  certificate level and the figures' hash.

Every public name can also be imported from ``shared.barometer`` itself.
"""

from shared.barometer.indicators import (
    AGE_FIELDS,
    BLOCKS,
    HEADLINE,
    INDICATORS,
    INFO,
    MONTH_INDICATORS,
    NVT,
    Accumulator,
    IndicatorInfo,
    Indicators,
    format_value,
    median_and_p90,
    pct,
    per_1000,
)
from shared.barometer.period import (
    Period,
    comparison_periods,
    current_quarter,
    local_midnight,
    parse_period,
    period_between,
    shift_period,
    year_earlier,
)
from shared.barometer.report import (
    GROUP_BY,
    GROUP_LABELS,
    REPORT_ROLES,
    UNHASHED,
    BarometerReport,
    Comparison,
    DataQuality,
    Group,
    Month,
    ReportSettings,
    backlog_moment,
    barometer,
    barometer_from_cells,
    check_group_by,
    comparison,
    compute_from_projection,
    figures_hash,
    group_label,
    origin_note,
    report_settings,
    seal,
    vocabularies,
)
from shared.barometer.rows import (
    BACKLOG_AGES,
    CALLBACK_CAP,
    CALLBACK_SHIFT,
    F_CALLBACK,
    F_CATEGORIE,
    F_COMPLETE,
    F_CONFLICT,
    F_CONTACT,
    F_HAS_NORM,
    F_KANAAL,
    F_LOCATION,
    F_REOPENED,
    F_SPOED,
    F_VIER_B,
    F_WITHIN,
    SUMMARY_COLUMNS,
    BacklogRow,
    BarometerRow,
    RowCodes,
    age_class,
    age_day,
    backlog_age,
    backlog_row,
    barometer_row,
    callback_code,
    counts,
    has_location,
    lead_days,
    make_flags,
    needs_timeline,
    open_at,
    over_three_times_norm,
    summary_row,
    surely_open_at,
    within_norm,
)
from shared.certificering import CriterionResult
from shared.projection import decode_timeline  # re-exported: wijkteam_reports.sql imports it from here

__all__ = [
    "AGE_FIELDS",
    "Accumulator",
    "BACKLOG_AGES",
    "BLOCKS",
    "BacklogRow",
    "BarometerReport",
    "BarometerRow",
    "CALLBACK_CAP",
    "CALLBACK_SHIFT",
    "Comparison",
    "CriterionResult",
    "DataQuality",
    "F_CALLBACK",
    "F_CATEGORIE",
    "F_COMPLETE",
    "F_CONFLICT",
    "F_CONTACT",
    "F_HAS_NORM",
    "F_KANAAL",
    "F_LOCATION",
    "F_REOPENED",
    "F_SPOED",
    "F_VIER_B",
    "F_WITHIN",
    "GROUP_BY",
    "GROUP_LABELS",
    "Group",
    "HEADLINE",
    "INDICATORS",
    "INFO",
    "IndicatorInfo",
    "Indicators",
    "MONTH_INDICATORS",
    "Month",
    "NVT",
    "Period",
    "REPORT_ROLES",
    "ReportSettings",
    "RowCodes",
    "SUMMARY_COLUMNS",
    "UNHASHED",
    "age_class",
    "age_day",
    "backlog_age",
    "backlog_moment",
    "backlog_row",
    "barometer",
    "barometer_from_cells",
    "barometer_row",
    "callback_code",
    "check_group_by",
    "comparison",
    "comparison_periods",
    "compute_from_projection",
    "counts",
    "current_quarter",
    "decode_timeline",
    "figures_hash",
    "format_value",
    "group_label",
    "has_location",
    "lead_days",
    "local_midnight",
    "make_flags",
    "median_and_p90",
    "needs_timeline",
    "open_at",
    "origin_note",
    "over_three_times_norm",
    "parse_period",
    "pct",
    "per_1000",
    "period_between",
    "report_settings",
    "seal",
    "shift_period",
    "summary_row",
    "surely_open_at",
    "vocabularies",
    "within_norm",
    "year_earlier",
]
