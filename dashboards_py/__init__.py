"""The dashboards of bikewatch: one module per dashboard, each exporting `dashboard`.

Definitions only (the house style is `authoring.house_style`); the build discovers every module
here whose name does not start with `_`, and the module name is the output file's name.
"""
