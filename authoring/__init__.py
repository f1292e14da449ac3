"""The authoring library: metric catalog, config, PromQL builder, Grafana house style, rules DSL.

What `dashboards_py/` and `rules_py/` are written with. It reads the service's metric catalog
(`api.metrics`) and nothing of the sources or the build.
"""
