"""Delivery documents and sharing images."""
