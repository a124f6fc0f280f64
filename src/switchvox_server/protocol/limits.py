"""The bounds of a request envelope (ours; docs/methods.md), for XML and JSON alike.

Beyond any of them a request is refused with fault 10002 as soon as the count passes it,
before the parsed document is walked further. With them the whole parse costs time linear
in the envelope's size (which the transport holds to 1 MiB): lxml reads the attributes of
one element in time quadratic in their number, so they are counted before they are read.
"""

from __future__ import annotations

# Elements (XML) or objects and arrays (JSON) nested inside one another.
MAX_DEPTH = 32
# XML elements, or JSON values (every member's value and every array item), in one envelope.
MAX_NODES = 100_000
# Attributes of one XML element (`<parameters>` carries scalars as attributes).
MAX_ATTRIBUTES = 64
