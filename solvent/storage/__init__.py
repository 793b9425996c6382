"""Durable journal stores, snapshots and recovery (issue #6).

* `records`: the record and snapshot formats and their hashes;
* `store`: the `JournalStore` interface; `sqlite` (embedded default) and `postgres` (server)
  implement it; `open` picks one from a `--db` target;
* `journal`: group commit (durable before visible);
* `recovery`: the engine from the newest good snapshot plus the journal tail;
* `verify`: a full replay that checks every record and snapshot.
"""

from .journal import JournalSettings, JournalWriter
from .open import is_postgres, open_store
from .records import GENESIS, Record, Snapshot, events_bytes
from .recovery import Divergence, Recovery, recover
from .store import JournalStore, StoreBusy, StoreError
from .verify import VerifyReport, verify

__all__ = [
    "GENESIS",
    "Divergence",
    "JournalSettings",
    "JournalStore",
    "JournalWriter",
    "Record",
    "Recovery",
    "Snapshot",
    "StoreBusy",
    "StoreError",
    "VerifyReport",
    "events_bytes",
    "is_postgres",
    "open_store",
    "recover",
    "verify",
]
