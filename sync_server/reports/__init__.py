"""Barometer reports: read the projection with SQL (:mod:`.sql`), render md/csv/xlsx/html
(:mod:`.render`, charts as inline SVG in :mod:`.charts`), and the ``wijkteam-server report`` command
(:mod:`.cli`). The figures themselves are computed by the pure functions of ``shared.barometer``.

Importing this package pulls in no web framework: the TUI uses :mod:`.sql` on the laptop's store.
"""
