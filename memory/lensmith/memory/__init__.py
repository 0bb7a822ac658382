"""lensmith's memory: conversations, facts and the image index in Chroma (see store.py)."""

from lensmith.memory.store import (
    ImageRecord,
    MemoryStore,
    MemoryUnavailable,
    Seen,
    current_memory,
    current_session_id,
    open_memory,
    use_memory,
)

__all__ = [
    "ImageRecord", "MemoryStore", "MemoryUnavailable", "Seen", "current_memory",
    "current_session_id", "open_memory", "use_memory",
]
