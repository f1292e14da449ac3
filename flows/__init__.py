"""Prefect flows around bike-api, in their own environment (`make flows-env`).

See flows/requirements.in for why the flows do not share the API's environment.
"""
