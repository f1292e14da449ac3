"""The alerting and recording rules of bikewatch: one module per area, each exporting `groups`.

Definitions only (the DSL is `authoring.rules_dsl`, the compilers live in `generator`); the
build discovers every module here, as it discovers the dashboards.
"""
