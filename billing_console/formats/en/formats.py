"""English formats where the console departs from Django's."""

# A billing cycle reads `2026-10` (shared/DESIGN.md), as on the bill PDF and the export.
YEAR_MONTH_FORMAT = "Y-m"
