"""The Lua scripts of the Redis event log: every state change of a run is one atomic script.

Keys of a run (one hash slot, thanks to the braces): ``<prefix>:{<run id>}:meta`` (a hash:
``token`` of the owner, ``kind``, ``owner`` process id, ``status`` running/ended/lost, ``n`` the
number of chunks, ``cancel`` 0/1), ``…:stream`` (the chunks at ids ``0-1``, ``0-2`` … — position
``p`` at ``0-(p+1)``, field ``c`` = wire JSON — then one end entry, field ``e`` = the status) and
``…:lease`` (the owner's token, expiring after the lease).
"""

from __future__ import annotations

from typing import Final

__all__ = ("APPEND", "CANCEL", "CHECK", "RENEW")

APPEND: Final = """
-- KEYS: meta, stream, lease
-- ARGV: token, lease_ms, keep_ms, retention_ms, start, create, end, kind, owner, count, chunks
-- (chunks: the count chunks' JSON joined by newlines, which compact JSON never holds)
-- Returns {code, n, cancel}: 1 stored, 2 already stored (a retried call), 0 fenced,
-- -1 the run id is taken, -2 the log does not continue at start.
local meta, stream, lease = KEYS[1], KEYS[2], KEYS[3]
local token = ARGV[1]
local start = tonumber(ARGV[5])
local count = tonumber(ARGV[10])
local ending = ARGV[7] == '1'
local holder = redis.call('HGET', meta, 'token')
if ARGV[6] == '1' then
  if not holder then
    redis.call('HSET', meta, 'token', token, 'kind', ARGV[8], 'owner', ARGV[9],
               'status', 'running', 'n', 0, 'cancel', 0)
    redis.call('SET', lease, token, 'PX', ARGV[2])
    holder = token
  elseif holder ~= token then
    return {-1, 0, 0}
  end
end
if holder ~= token then
  return {0, 0, 0}
end
local fields = redis.call('HMGET', meta, 'status', 'n', 'cancel')
local status, n, cancel = fields[1], tonumber(fields[2]), tonumber(fields[3])
if status == 'lost' then
  return {0, n, cancel}
end
if n ~= start then
  if n == start + count and (not ending or status == 'ended') then
    return {2, n, cancel}
  end
  return {-2, n, cancel}
end
if status == 'ended' then
  if ending and count == 0 then
    return {2, n, cancel}
  end
  return {0, n, cancel}
end
if redis.call('GET', lease) ~= token then
  return {0, n, cancel}
end
if count > 0 then
  for chunk in string.gmatch(ARGV[11], '[^\\n]+') do
    n = n + 1
    redis.call('XADD', stream, '0-' .. n, 'c', chunk)
  end
end
if ending then
  redis.call('XADD', stream, '0-' .. (n + 1), 'e', 'ended')
  redis.call('HSET', meta, 'n', n, 'status', 'ended')
  redis.call('DEL', lease)
  redis.call('PEXPIRE', meta, ARGV[4])
  redis.call('PEXPIRE', stream, ARGV[4])
else
  redis.call('HSET', meta, 'n', n)
  redis.call('PEXPIRE', lease, ARGV[2])
  redis.call('PEXPIRE', meta, ARGV[3])
  if n > 0 then
    redis.call('PEXPIRE', stream, ARGV[3])
  end
end
return {1, n, cancel}
"""

RENEW: Final = """
-- KEYS: meta, stream, lease. ARGV: token, lease_ms, keep_ms.
-- Returns {held, cancel}: held 1 if the lease was still this token's (and is renewed).
local cancel = tonumber(redis.call('HGET', KEYS[1], 'cancel') or '0')
if redis.call('GET', KEYS[3]) ~= ARGV[1] then
  return {0, cancel}
end
redis.call('PEXPIRE', KEYS[3], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {1, cancel}
"""

CHECK: Final = """
-- KEYS: meta, stream, lease. ARGV: retention_ms, token or '', chunk...
-- Ends a running run whose lease is gone (or held by the given token: its owner gives it up)
-- with the given chunks and a 'lost' end entry. Returns {status, n}; status 'gone' when the
-- run is not in Redis.
local fields = redis.call('HMGET', KEYS[1], 'status', 'n')
local status = fields[1]
if not status then
  return {'gone', 0}
end
local n = tonumber(fields[2])
if status ~= 'running' then
  return {status, n}
end
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[2] then
  return {status, n}
end
for i = 3, #ARGV do
  n = n + 1
  redis.call('XADD', KEYS[2], '0-' .. n, 'c', ARGV[i])
end
redis.call('XADD', KEYS[2], '0-' .. (n + 1), 'e', 'lost')
redis.call('HSET', KEYS[1], 'n', n, 'status', 'lost')
redis.call('DEL', KEYS[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return {'lost', n}
"""

CANCEL: Final = """
-- KEYS: meta. ARGV: channel, run id. Returns -1 unknown run, 0 not running, 1 requested.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return -1
end
if status ~= 'running' then
  return 0
end
redis.call('HSET', KEYS[1], 'cancel', 1)
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
"""
