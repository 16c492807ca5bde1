"""Memory: conversation threads and their messages, in any :class:`~rxagents.storage.Storage`.

- :class:`Memory`: create, read, update and delete threads; save messages and read them back
  in order (``messages``, ``recent``).
- :class:`Thread`, :class:`MemoryMessage`: what is stored (camelCase JSON, epoch milliseconds).
- :class:`ThreadNotFoundError`: reading or writing a thread that does not exist.
- :class:`ThreadOwnershipError`: a run naming a thread of another resource (or of one, when
  the run names none).

An agent built with ``memory=Memory(...)`` loads a thread's recent messages before a run and
saves the run's new messages after it: ``agent.stream(messages, memory={"thread": "t-1",
"resource": "user-1"})`` (the thread is created on first use). Networks require memory.
"""

from rxagents.errors import ThreadOwnershipError as ThreadOwnershipError
from rxagents.memory._memory import MESSAGES_NAMESPACE as MESSAGES_NAMESPACE
from rxagents.memory._memory import RESOURCES_NAMESPACE as RESOURCES_NAMESPACE
from rxagents.memory._memory import THREADS_NAMESPACE as THREADS_NAMESPACE
from rxagents.memory._memory import Memory as Memory
from rxagents.memory._memory import PendingMessage as PendingMessage
from rxagents.memory._models import MemoryMessage as MemoryMessage
from rxagents.memory._models import MemoryRef as MemoryRef
from rxagents.memory._models import Thread as Thread
from rxagents.memory._models import ThreadNotFoundError as ThreadNotFoundError
from rxagents.memory._models import memory_ref as memory_ref

__all__ = (
    "MESSAGES_NAMESPACE",
    "RESOURCES_NAMESPACE",
    "THREADS_NAMESPACE",
    "Memory",
    "MemoryMessage",
    "MemoryRef",
    "PendingMessage",
    "Thread",
    "ThreadNotFoundError",
    "ThreadOwnershipError",
    "memory_ref",
)
