"""Typed async client for the Kostyor REST API: models, errors, client."""
