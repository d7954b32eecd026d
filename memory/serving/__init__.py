"""sleepd.memory.serving: answering — generation (one decoding step per turn) and recall (recite from
the weights, read beside the buffer's notes). Never imports ``memory.sleeping``.
"""
