"""Barometer reports, used by the server and by the laptop app alike: read the projection with SQL
(:mod:`.sql`, kept fast on the server by the summary table of :mod:`.summary`), render md/csv/xlsx/html
(:mod:`.render`, charts as inline SVG in :mod:`.charts`). The figures themselves are computed by the
pure functions of ``shared.barometer``; the ``wijkteam-server report`` command is
``sync_server.report_cli``.

Importing this package pulls in no web framework and neither the app nor the server.
"""
