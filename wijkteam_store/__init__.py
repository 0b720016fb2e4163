"""Storage shared by the laptop app and the server: the laptop's SQLite store (:mod:`.local`), the
event codec (:mod:`.codec`), the migration runner (:mod:`.migrations`) and :class:`~.errors.StoreError`.

Neither ``wijkteam_tui`` nor ``sync_server`` is imported here, so both may use it: the app opens its
own database with :class:`~wijkteam_store.local.LocalStore`, and the server builds a laptop snapshot
with the same code, so its rows are exactly what a pull would have written.
"""
