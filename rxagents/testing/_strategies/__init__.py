"""The modules behind :mod:`rxagents.testing.strategies`, one per kind of data.

``_base`` (aliases, names, texts, JSON, usage, errors) ← ``_scripts`` (model responses) ←
``_agent`` ← ``_workflow`` ← ``_network`` (streams) ← ``_chunks`` (single chunks); ``_mutations``
(ways to break a stream) and ``_broken`` (the broken-stream strategies) sit on top.
"""
