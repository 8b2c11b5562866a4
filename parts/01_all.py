__version__ = '0.1.0'

# The public API (DESIGN.md). Each section appends its names where it is defined below.
__all__ = ['__version__']
