"""A run's owner in a process of its own, driven line by line on stdin (for the failure tests).

Usage: ``python owner_process.py URL PREFIX RUN_ID LEASE_TTL``. Prints ``ready`` once the run
exists; then ``append N`` appends N text deltas and prints ``stored <length>`` (or ``refused
<error class>``), ``end`` ends the run and prints ``ended``. ``on_lost`` prints ``lost <error
class>``.
"""

from __future__ import annotations

import asyncio
import sys

from rxagents import RedisEventLog
from rxagents.errors import RxAgentsError
from rxagents.events import TextDelta, TextDeltaPayload


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(url: str, prefix: str, run_id: str, lease_ttl: float) -> None:
    log = RedisEventLog(url, prefix=prefix, lease_ttl=lease_ttl)
    run = await log.create(
        run_id, kind="agent", on_lost=lambda error: say(f"lost {type(error).__name__}")
    )
    say("ready")
    appended = 0
    while line := await asyncio.to_thread(sys.stdin.readline):
        command, *rest = line.split()
        try:
            if command == "append":
                for _ in range(int(rest[0])):
                    run.append(
                        TextDelta(
                            run_id=run_id, payload=TextDeltaPayload(id="t", text=str(appended))
                        )
                    )
                    appended += 1
                await run.flush()
                say(f"stored {run.length}")
            elif command == "end":
                run.end()
                await run.flush()
                say("ended")
        except RxAgentsError as error:
            say(f"refused {type(error).__name__}")
    await log.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
