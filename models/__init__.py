"""sleepd.models: finding, converting, loading and running a base model (no memory in it).

Importing this package does not import torch; the functions that need it import it themselves.
"""
