"""`Value`, the base of the records built on hot paths: equal by type and fields, hashed and
printed by fields, copied with changes by `replace`, and read-only where compiled."""

from __future__ import annotations

from decimal import Decimal

import pytest

from solvent.ledger import Transfer
from solvent.margin.figures import PositionFigures, RiskFigures


def test_equal_by_type_and_fields():
    a = Transfer("alice", "bob", "USDC", 5)
    assert a == Transfer("alice", "bob", "USDC", 5)
    assert a != Transfer("alice", "bob", "USDC", 6)
    assert a != ("alice", "bob", "USDC", 5)  # not a tuple
    assert hash(a) == hash(Transfer("alice", "bob", "USDC", 5))
    assert len({a, Transfer("alice", "bob", "USDC", 5), Transfer("bob", "alice", "USDC", 5)}) == 2
    assert PositionFigures(1, 2, 3, 4, Decimal(10), 0) != RiskFigures(1, 2, 3, 4, 5, 6, 7, True)


def test_repr_names_every_field_in_order():
    assert repr(Transfer("a", "b", "USDC", 7)) == "Transfer(source='a', target='b', asset='USDC', units=7)"


def test_replace_changes_only_what_it_names():
    figures = RiskFigures(100, 90, 80, 20, 10, 95, 5, True)
    changed = figures.replace(maintenance_margin=95)
    assert changed == RiskFigures(100, 90, 80, 20, 95, 95, 5, True)
    assert changed.health == -5 and changed.liquidatable
    assert figures.maintenance_margin == 10  # the original is untouched
    with pytest.raises(TypeError):
        figures.replace(no_such_field=1)


def test_fields_cannot_be_assigned_when_compiled():
    """Compiled (mypyc), a `Final` attribute is read-only at run time; in pure Python mypy
    refuses the assignment instead (tests/test_static_types.py runs it on the package)."""
    transfer = Transfer("a", "b", "USDC", 7)
    if not hasattr(type(transfer), "__mypyc_attrs__"):
        pytest.skip("read-only at run time only in the compiled build")
    with pytest.raises(AttributeError):
        transfer.units = 8
    assert transfer.units == 7


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_every_value_lists_the_same_fields_as_its_layout():
    """`_fields` (equality, hashing, repr, `replace`, the snapshot's field check) must name
    exactly the attributes in `__slots__` (pure) or the compiled class's, in order."""
    import solvent.engine  # noqa: F401  (imports every Value of the engine)
    from solvent.domain.values import Value

    classes = _subclasses(Value)
    assert {c.__name__ for c in classes} >= {"Position", "PositionFigures", "RiskFigures", "FillOutcome",
                                             "SidePlan", "ScreenedSide", "Transfer"}
    for cls in classes:
        compiled = getattr(cls, "__mypyc_attrs__", None)
        if compiled is None:
            assert cls.__slots__ == cls._fields, cls.__name__
        else:
            assert set(compiled) - {"__dict__"} == set(cls._fields), cls.__name__
