"""The build: discovers the sources, compiles them into `generated/`, and lints what it writes.

`python -m generator` (`make generate`) is the entry point; `--check` compares instead of
writing. Nothing here is imported by the service or the sources.
"""
