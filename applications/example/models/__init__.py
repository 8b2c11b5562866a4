"""Models of the example application."""
from .pokemon import Pokemon

__all__ = ['Pokemon']
