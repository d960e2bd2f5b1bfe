"""Imports every validator module so their rules register."""
