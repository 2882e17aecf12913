"""sqlite3 state of the sandbox, so a demo can be stopped and resumed.

One connection shared by the server threads, serialized by a lock. Every record is a JSON
document in one table keyed by (entity, key); seq is the insertion order used for paging.
"""

import json
import sqlite3
import threading
from datetime import datetime, timezone

MEMORY = ":memory:"
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS records (
        entity TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL,
        data TEXT NOT NULL, canonical TEXT NOT NULL,
        PRIMARY KEY (entity, key))""",
    """CREATE INDEX IF NOT EXISTS records_seq ON records (entity, seq)""",
    """CREATE TABLE IF NOT EXISTS attachments (
        invoice_id TEXT NOT NULL, external_code TEXT NOT NULL, content BLOB NOT NULL,
        PRIMARY KEY (invoice_id, external_code))""",
)
SEQ_KEY = "seq"


def now_iso():
    """UTC timestamp the way Basware writes lastUpdated."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_iso(value):
    """Parse a date or date-time string; naive values are taken as UTC. None when invalid."""
    text = value.strip().replace(" ", "T").replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def canonical(data, ignored=("lastUpdated",)):
    """The JSON text two records are compared by (identical re-sends are NotProcessed)."""
    kept = {k: v for k, v in data.items() if k not in ignored}
    return json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Store:
    """Thread-safe document store on sqlite3 (in memory when path is None)."""

    def __init__(self, path=None):
        self.path = path or MEMORY
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        with self._lock, self._db:
            for statement in SCHEMA:
                self._db.execute(statement)

    def close(self):
        with self._lock:
            self._db.close()

    # meta -------------------------------------------------------------------------------
    def meta(self, key, default=None):
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key, value):
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def _next_seq(self):
        seq = int(self.meta(SEQ_KEY, "0")) + 1
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (SEQ_KEY, str(seq)),
        )
        return seq

    # records ----------------------------------------------------------------------------
    def get(self, entity, key):
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM records WHERE entity = ? AND key = ?", (entity, key)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def canonical_of(self, entity, key):
        with self._lock:
            row = self._db.execute(
                "SELECT canonical FROM records WHERE entity = ? AND key = ?", (entity, key)
            ).fetchone()
        return row[0] if row else None

    def put(self, entity, key, data, canonical_text=None):
        """Insert or replace one record; an update keeps its place in the paging order."""
        text = json.dumps(data, ensure_ascii=False)
        with self._lock, self._db:
            updated = self._db.execute(
                "UPDATE records SET data = ?, canonical = COALESCE(?, canonical) "
                "WHERE entity = ? AND key = ?",
                (text, canonical_text, entity, key),
            ).rowcount
            if not updated:
                self._db.execute(
                    "INSERT INTO records (entity, key, seq, data, canonical) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (entity, key, self._next_seq(), text, canonical_text or ""),
                )

    def items(self, entity, after_seq=0):
        """(seq, record) pairs of one entity in paging order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, data FROM records WHERE entity = ? AND seq > ? ORDER BY seq",
                (entity, after_seq),
            ).fetchall()
        return [(seq, json.loads(data)) for seq, data in rows]

    def delete(self, entity, key):
        with self._lock, self._db:
            return self._db.execute(
                "DELETE FROM records WHERE entity = ? AND key = ?", (entity, key)
            ).rowcount

    def entities(self):
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT entity FROM records ORDER BY entity")
            return [row[0] for row in rows.fetchall()]

    # attachments ------------------------------------------------------------------------
    def put_attachment(self, invoice_id, external_code, content):
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO attachments (invoice_id, external_code, content) "
                "VALUES (?, ?, ?)",
                (invoice_id, external_code, content),
            )

    def attachment(self, invoice_id, external_code):
        with self._lock:
            row = self._db.execute(
                "SELECT content FROM attachments WHERE invoice_id = ? AND external_code = ?",
                (invoice_id, external_code),
            ).fetchone()
        return bytes(row[0]) if row else None

    def reset(self):
        """Forget every record (the signing key in meta survives, so old tokens stay valid)."""
        with self._lock, self._db:
            self._db.execute("DELETE FROM records")
            self._db.execute("DELETE FROM attachments")
