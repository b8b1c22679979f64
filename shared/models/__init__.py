"""Pydantic models, split by direction: *Create (what a client may send), stored shapes, *Public (what is returned)."""
