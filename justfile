# Wijkteam — common tasks. `just --list` shows them.

venv := ".venv"

# create the virtualenv and install Wijkteam with its test tools
setup:
    python3 -m venv {{venv}} && {{venv}}/bin/pip install -e '.[test]'

# start the TUI on the local demo database (filled with sample meldingen on first start)
run: setup
    {{venv}}/bin/wijkteam --demo

# start the sync server on 127.0.0.1:8080 with its database in the user data directory
serve: setup
    {{venv}}/bin/wijkteam-server serve

# run the whole test suite (the command CI runs)
test: setup
    {{venv}}/bin/python -m pytest

# check style and the shared/ import boundary
lint: setup
    {{venv}}/bin/pip install -q ruff && {{venv}}/bin/ruff check shared wijkteam_tui sync_server tests bench

# run the benchmarks and print their figures (see docs/benchmarks.md)
bench: setup
    {{venv}}/bin/python -m bench
