"""Textual stylesheets (.tcss) of the console, shipped as package data."""
