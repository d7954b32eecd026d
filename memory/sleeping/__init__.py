"""sleepd.memory.sleeping: the sleep pipeline — training data from passages, layer choice, LoRA
training, the gate, the report. Run by the daemon's sleep child and by evaluation.

It imports the shared memory modules and, for the gate's recall probe (recall as chat answers it),
``memory.serving``; serving never imports it.
"""
