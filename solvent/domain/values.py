"""`Value`: the base of the small immutable records built on the hottest paths.

A record such as a position's figures, a trade side's plan or a ledger transfer is built
for every evaluation or trade side and read a few times. As a `typing.NamedTuple` it costs
a Python-level `__new__` every time it is built (about 250 ns, compiled or not). As a plain
class with `__slots__` and `Final` attributes it is what mypyc compiles to a native class,
built in about 25 ns, with attributes that cannot be assigned at run time; in pure Python
it is an ordinary slotted class (about 150 ns to build), whose attributes mypy keeps
read-only.

A subclass lists its attributes twice, in the same order: `__slots__` (the layout of the
pure-Python class) and `_fields` (what equality, hashing and repr go by; a compiled class
keeps no `__slots__`). Equality is by type and fields, as a named tuple's is by fields;
`replace` makes a changed copy (a named tuple's `_replace`).
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

V = TypeVar("V", bound="Value")


class Value:
    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self._fields])

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, Value) and self._values() == other._values()

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self._values())

    def replace(self: V, **changes: Any) -> V:
        """A copy with `changes` (field=value) made."""
        values = {name: getattr(self, name) for name in self._fields}
        values.update(changes)
        return type(self)(**values)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"
