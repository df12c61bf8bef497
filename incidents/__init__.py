"""Incidents on the map: which cell and zone each falls in, repeat alarms (多次报警), when they
happen, and who is nearest to respond."""

from incidents.assign import assign_incidents, assign_to_cells, count_per_cell
from incidents.nearest import nearest_responders
from incidents.profiles import hour_weekday_profile, market_day_rates, night_share, peak_hours
from incidents.repeats import (
    normalise_addresses,
    repeat_addresses,
    repeat_callers,
    repeat_places,
)

__all__ = [
    "assign_incidents",
    "assign_to_cells",
    "count_per_cell",
    "hour_weekday_profile",
    "market_day_rates",
    "nearest_responders",
    "night_share",
    "normalise_addresses",
    "peak_hours",
    "repeat_addresses",
    "repeat_callers",
    "repeat_places",
]
