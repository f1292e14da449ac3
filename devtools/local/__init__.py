"""The native stack (no Docker): `python -m devtools.local start|stop|status`.

`plan` decides what runs with which configs; `processes` starts, records and stops them. The
core (`plan.start_stack` / `processes.Stack.stop_all`) takes any profile, so the end-to-end test
runs the same code on free ports with short intervals.
"""
