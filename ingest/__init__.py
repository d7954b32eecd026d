"""sleepd.ingest: files to passages. Parsers (documents and chat exports), chunking, path filters and
the ``Ingestor`` that keeps the buffer in step with files.

It sits beside ``storage`` and below everything that reads files: the daemon's watcher, the CLI's
``sleepd ingest`` and the evaluation all use it, none of them through another.
"""
