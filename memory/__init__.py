"""sleepd.memory: what the model remembers. Facts and queries made from notes, the consolidation
prior, memory versions, the sleep pipeline that writes them (``sleeping``) and recall from them
(``serving``); the model itself is ``sleepd.models``.

Importing this package does not import torch; the functions that need it import it themselves.
"""
