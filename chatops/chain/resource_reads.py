"""Resources and table items read as the Move code reads them: each resource fetched at most once,
and the chain's errors (aborts, MISSING_DATA) raised where the code would raise them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from chatops.chain.aborts import describe
from chatops.chain.client import ChainClient
from chatops.chain.errors import ChainAbortError, ChainResponseError

__all__ = ["E_TABLE_KEY_NOT_FOUND", "Reads", "Table", "is_not_found"]

# ``table::borrow`` of an absent key aborts in the framework's table module.
E_TABLE_KEY_NOT_FOUND: Final = 0x6507


@dataclass(frozen=True)
class Table:
    """A ``0x1::table::Table`` field of a resource: where its handle is and its Move types."""

    field: str
    key_type: str
    value_type: str


@dataclass
class Reads:
    """One read in progress: fetches each resource at most once and raises the chain's errors."""

    client: ChainClient
    address: str
    function_id: str
    _resources: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    def _qualify(self, type_str: str) -> str:
        return f"{self.address}::{type_str}" if "::" in type_str else type_str

    def abort(self, module: str, code: int) -> ChainAbortError:
        """The error the view would raise for ``abort code`` in ``module`` (``0x1::table`` too)."""
        return ChainAbortError.of(describe(module, code), self.function_id)

    def resource(self, struct: str) -> dict[str, Any] | None:
        """The resource's data, or None where the Move code would see ``!exists<T>``."""
        if struct not in self._resources:
            try:
                data: dict[str, Any] | None = self.client.resource(
                    self.address, self._qualify(struct)
                )
            except ChainResponseError as exc:
                if not is_not_found(exc):
                    raise
                data = None
            self._resources[struct] = data
        return self._resources[struct]

    def require(self, struct: str, module: str, code: int) -> dict[str, Any]:
        """The resource, or the abort the module raises when it was never published."""
        data = self.resource(struct)
        if data is None:
            raise self.abort(module, code)
        return data

    def borrow_global(self, struct: str) -> dict[str, Any]:
        """The resource, or the VM's MISSING_DATA (the Move code borrows without checking)."""
        data = self.resource(struct)
        if data is None:
            raise ChainResponseError(
                f"{self.function_id} failed: a resource it needs does not exist "
                f"(MISSING_DATA: {self._qualify(struct)}; module not initialised?)."
            )
        return data

    def lookup(self, resource: dict[str, Any], table: Table, key: Any) -> Any | None:
        """``table::contains`` then ``borrow``: the item, or None for an absent key."""
        handle = resource[table.field]["handle"]
        try:
            return self.client.table_item(
                handle, table.key_type, self._qualify(table.value_type), key
            )
        except ChainResponseError as exc:
            if not is_not_found(exc):
                raise
            return None

    def borrow(self, resource: dict[str, Any], table: Table, key: Any) -> Any:
        """``table::borrow``: the item, or the framework's 0x6507 for an absent key."""
        value = self.lookup(resource, table, key)
        if value is None:
            raise self.abort("0x1::table", E_TABLE_KEY_NOT_FOUND)
        return value

    def lookup_in(self, struct: str, table: Table, key: Any) -> Any | None:
        """The item if the resource exists and holds ``key``; None otherwise (the views' defaults)."""
        data = self.resource(struct)
        return None if data is None else self.lookup(data, table, key)


def is_not_found(exc: ChainResponseError) -> bool:
    """The node's 404 for an absent resource or table key (a chain-id mismatch has no status)."""
    return exc.status_code == 404
