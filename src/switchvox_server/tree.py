"""A neutral element tree that both the XML and the JSON renderers understand.

Methods (and the bulk report) build results out of `Element`s; they never see XML or JSON.
It sits outside the layers, so the protocol renders what the lower layers build without any
of them importing the protocol. A section that
may hold hundreds of thousands of rows is a `LazyChildren`: its size is known up front
(the JSON rules need it) and its elements are produced while the response streams.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

AttributeValue = str | int


@dataclass(frozen=True, slots=True)
class LazyChildren:
    """Children produced on demand, all sharing one tag."""

    tag: str
    count: int
    produce: Callable[[], Iterator[Element]]


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which made
# building the 100,000 rows of a large report cost as much as rendering them.
@dataclass(slots=True)
class Element:
    """One element: attributes (`int` values are numbers by nature), text or children."""

    tag: str
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    children: Sequence[Element] | LazyChildren = ()
    text: str | None = None

    def iter_children(self) -> Iterator[Element]:
        if isinstance(self.children, LazyChildren):
            return self.children.produce()
        return iter(self.children)


def number_or_text(value: str) -> AttributeValue:
    """An extension number as a number unless a leading zero or any non-digit makes it text."""
    if value.isascii() and value.isdigit() and (value == "0" or not value.startswith("0")):
        return int(value)
    return value
