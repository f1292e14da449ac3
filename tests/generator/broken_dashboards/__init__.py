"""Dashboard sources with one deliberate defect each; `EXPECTED` names the lint rule it breaks.

Adding a case is adding a file: tests/dashboards/test_lint_cases.py runs every module here.
"""
