"""sleepd.memory: the model, generation, and (later) the sleep pipeline that writes memories into it.

Importing this package does not import torch; the functions that need it import it themselves.
"""
