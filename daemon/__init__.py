"""sleepd.daemon: the long-running process (watcher, scheduler, local API)."""
