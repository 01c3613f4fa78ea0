"""The pure core: roadmaps, the decision flow, dates, the calendar and the chart.

Nothing here imports Flask or SQLAlchemy, and nothing reads the clock: ``today`` and
``now`` are parameters, so every rule can be tested with plain values.
"""
