/**
 * Lua scripts of the Redis store. Each runs atomically on the server, so each store operation is one
 * round trip. They implement exactly the arithmetic of `window.ts` and `engine.ts`; the conformance
 * suite runs the same cases against both.
 *
 * Number handling: Redis converts Lua numbers passed to `redis.call` with 17 significant digits, so
 * every integer up to 2^53 (all amounts, timestamps and bucket indexes) round-trips exactly. `tostring`
 * and `cjson.encode` use 14 digits and are therefore never used on amounts; record JSON is built by the
 * client. Every key a script touches shares the `{prefix}` hash tag, so all of them live in one slot.
 */

const COMMON = `
local B = 500
local W = 120

local function now_ms(given)
  if given >= 0 then return given end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Evict buckets older than cur - W. Returns the effective bucket (a clock that stepped back counts as
-- standing still), the window total, and whether the window exists.
local function advance(key, cur)
  local st = redis.call('HMGET', key, 'o', 'n', 't')
  if not st[1] then return cur, 0, false end
  local o, n, t = tonumber(st[1]), tonumber(st[2]), tonumber(st[3])
  if n > cur then cur = n end
  local lo = cur - W
  if o < lo then
    if lo - o > W + 1 then
      redis.call('DEL', key)
      return cur, 0, false
    end
    for b = o, lo - 1 do
      local v = redis.call('HGET', key, b)
      if v then
        t = t - tonumber(v)
        redis.call('HDEL', key, b)
      end
    end
    redis.call('HSET', key, 'o', lo, 't', t)
  end
  return cur, t, true
end

local function reset_after(key, cur, now)
  for b = cur, cur - W, -1 do
    if redis.call('HEXISTS', key, b) == 1 then
      local r = (b + W + 1) * B - now
      if r < 0 then return 0 end
      return r
    end
  end
  return 0
end

local function retry_after(key, cur, now, used, limit, cost)
  if limit == 0 or cost > limit then return -1 end
  for b = cur - W, cur do
    local v = redis.call('HGET', key, b)
    if v then
      used = used - tonumber(v)
      if used + cost <= limit then
        local r = (b + W + 1) * B - now
        if r < 0 then return 0 end
        return r
      end
    end
  end
  return 60000
end

local function remove_at(key, b, amount)
  local o = redis.call('HGET', key, 'o')
  if not o or b < tonumber(o) then return end
  local v = redis.call('HGET', key, b)
  if not v then return end
  v = tonumber(v)
  local take = math.min(v, amount)
  if v - take == 0 then redis.call('HDEL', key, b) else redis.call('HINCRBY', key, b, -take) end
  redis.call('HINCRBY', key, 't', -take)
end

local function add_at(key, b, amount)
  local st = redis.call('HMGET', key, 'o', 'n')
  if not st[1] or b < tonumber(st[1]) then return end
  redis.call('HINCRBY', key, b, amount)
  redis.call('HINCRBY', key, 't', amount)
  if b > tonumber(st[2]) then redis.call('HSET', key, 'n', b) end
end

-- Ledger hash: st/rt spent/reserved tokens, sm/rm spent/reserved micros, pm period ms (0 = none),
-- ps period start (-1 = none), u updated ms.
local function load_ledger(key)
  local h = redis.call('HMGET', key, 'st', 'rt', 'sm', 'rm', 'pm', 'ps')
  return { st = tonumber(h[1] or '0'), rt = tonumber(h[2] or '0'), sm = tonumber(h[3] or '0'),
           rm = tonumber(h[4] or '0'), pm = tonumber(h[5] or '0'), ps = tonumber(h[6] or '-1') }
end

local function rollover(l, now)
  if l.pm <= 0 then return end
  local start = math.floor(now / l.pm) * l.pm
  if l.ps < 0 or start > l.ps then
    if l.ps >= 0 then l.st = 0; l.sm = 0 end
    l.ps = start
  end
end

local function save_ledger(key, l, now)
  redis.call('HSET', key, 'st', l.st, 'rt', l.rt, 'sm', l.sm, 'rm', l.rm, 'pm', l.pm, 'ps', l.ps, 'u', now)
end

local function resets_at(l)
  if l.pm <= 0 or l.ps < 0 then return -1 end
  return l.ps + l.pm
end

-- Close a reservation. mode: 'c' commit, 'r' release, 'x' reap (release without rate refund).
local function close(reskey, residx, rid, mode, tokens, micros, rate_tokens, refund, now)
  local j = redis.call('HGET', reskey, 'j')
  if not j then return false end
  local rec = cjson.decode(j)
  for _, e in ipairs(rec.b) do
    local l = load_ledger(e[1])
    rollover(l, now)
    if e[3] >= 0 then
      l.rt = math.max(0, l.rt - e[3])
      if mode == 'c' then l.st = l.st + tokens end
    end
    if e[4] >= 0 then
      l.rm = math.max(0, l.rm - e[4])
      if mode == 'c' then l.sm = l.sm + micros end
    end
    save_ledger(e[1], l, now)
  end
  local do_refund = mode == 'r' and refund
  if do_refund or (mode == 'c' and rate_tokens >= 0) then
    local cur = math.floor(now / B)
    for i, e in ipairs(rec.r) do
      if do_refund or e[3] == 't' then
        local b = tonumber(redis.call('HGET', reskey, 'b' .. i))
        local _, _, exists = advance(e[1], cur)
        if exists and b then
          local delta
          if do_refund then delta = -e[2] else delta = rate_tokens - e[2] end
          if delta < 0 then remove_at(e[1], b, -delta) elseif delta > 0 then add_at(e[1], b, delta) end
        end
      end
    end
  end
  redis.call('DEL', reskey)
  redis.call('ZREM', residx, rid)
  return true
end

local function append_audit(zkey, seqkey, kind_payload_json, ts)
  local id = redis.call('INCR', seqkey)
  redis.call('ZADD', zkey, ts, string.format('%020d', id) .. '|' .. kind_payload_json)
  return id
end
`;

/**
 * KEYS: res, resIndex, ledgerIndex, rate windows (nr), ledgers (nb).
 * ARGV: now|-1, requestId, owner, nr, nb, tokens, micros, (limit, cost)×nr, (scope, tokenLimit|-1,
 * microLimit|-1, periodMs|0)×nb, recordJson.
 * Returns {'ok', total₁, reset₁, …} | {'dup'} | {'rate', i, used, retry|-1, reset} | {'tok'|'usd', j, spent, reserved, resetsAt|-1}.
 */
export const ADMIT_LUA = `${COMMON}
local now = now_ms(tonumber(ARGV[1]))
if redis.call('EXISTS', KEYS[1]) == 1 then return {'dup'} end
local nr, nb = tonumber(ARGV[4]), tonumber(ARGV[5])
local tokens, micros = tonumber(ARGV[6]), tonumber(ARGV[7])
local cur0 = math.floor(now / B)
local curs, totals, exist = {}, {}, {}
for i = 1, nr do
  local key = KEYS[3 + i]
  local limit, cost = tonumber(ARGV[6 + 2 * i]), tonumber(ARGV[7 + 2 * i])
  local cur, t, ex = advance(key, cur0)
  if limit == 0 or t + cost > limit then
    return {'rate', i, t, retry_after(key, cur, now, t, limit, cost), reset_after(key, cur, now)}
  end
  curs[i], totals[i], exist[i] = cur, t, ex
end
local base = 7 + 2 * nr
local led = {}
for j = 1, nb do
  local o = base + 4 * (j - 1)
  local pm = tonumber(ARGV[o + 4])
  local l = load_ledger(KEYS[3 + nr + j])
  if pm ~= l.pm then
    l.pm = pm
    if pm > 0 then l.ps = math.floor(now / pm) * pm else l.ps = -1 end
  end
  rollover(l, now)
  led[j] = { scope = ARGV[o + 1], tl = tonumber(ARGV[o + 2]), ml = tonumber(ARGV[o + 3]), l = l }
end
for pass = 1, 2 do
  for j = 1, nb do
    local e = led[j]
    local limit, spent, reserved, req = e.tl, e.l.st, e.l.rt, tokens
    if pass == 2 then limit, spent, reserved, req = e.ml, e.l.sm, e.l.rm, micros end
    if limit >= 0 and spent + reserved + req > limit then
      local why = 'tok'
      if pass == 2 then why = 'usd' end
      return {why, j, spent, reserved, resets_at(e.l)}
    end
  end
end
local out = {'ok'}
for i = 1, nr do
  local key = KEYS[3 + i]
  local cost = tonumber(ARGV[7 + 2 * i])
  if cost > 0 then
    if not exist[i] then redis.call('HSET', key, 'o', curs[i] - W, 'n', curs[i], 't', 0) end
    redis.call('HINCRBY', key, curs[i], cost)
    redis.call('HINCRBY', key, 't', cost)
    redis.call('HSET', key, 'n', curs[i])
    redis.call('PEXPIRE', key, 62000)
    totals[i] = totals[i] + cost
  end
  redis.call('HSET', KEYS[1], 'b' .. i, curs[i])
  out[#out + 1] = totals[i]
  out[#out + 1] = reset_after(key, curs[i], now)
end
for j = 1, nb do
  local e = led[j]
  if e.tl >= 0 then e.l.rt = e.l.rt + tokens end
  if e.ml >= 0 then e.l.rm = e.l.rm + micros end
  save_ledger(KEYS[3 + nr + j], e.l, now)
  redis.call('ZADD', KEYS[3], 0, e.scope)
end
redis.call('HSET', KEYS[1], 'j', ARGV[base + 4 * nb + 1], 'c', now, 'o', ARGV[3])
redis.call('ZADD', KEYS[2], now, ARGV[2])
return out
`;

/**
 * KEYS: res, resIndex, audit, auditSeq.
 * ARGV: now|-1, requestId, mode c|r, tokens, micros, rateTokens|-1, refund 1|0, auditJson|'', auditTs|-1,
 * auditOnlyIfClosed 1|0 (a retry whose first attempt may have run must not log twice).
 * Returns {closed 1|0, auditId|0, auditTs}.
 */
export const CLOSE_LUA = `${COMMON}
local now = now_ms(tonumber(ARGV[1]))
local closed = close(KEYS[1], KEYS[2], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]),
  tonumber(ARGV[6]), ARGV[7] == '1', now)
local id, ts = 0, now
if ARGV[8] ~= '' and (closed or ARGV[10] ~= '1') then
  if tonumber(ARGV[9]) >= 0 then ts = tonumber(ARGV[9]) end
  id = append_audit(KEYS[3], KEYS[4], ARGV[8], ts)
end
if closed then return {1, id, ts} end
return {0, id, ts}
`;

/**
 * KEYS: resIndex. ARGV: now|-1, olderThanMs, cutoff|-1 (fixed cutoff of an earlier chunk), limit, offset,
 * dry 1|0, reservation key prefix.
 * Returns {cutoff, ids seen, budget scanned, reaped, released, cost scanned, reaped, released}.
 */
export const REAP_LUA = `${COMMON}
local now = now_ms(tonumber(ARGV[1]))
local cutoff = tonumber(ARGV[3])
if cutoff < 0 then cutoff = now - tonumber(ARGV[2]) end
local dry = ARGV[6] == '1'
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', tonumber(ARGV[5]), tonumber(ARGV[4]))
local bs, br, bt, cs, cr, ct = 0, 0, 0, 0, 0, 0
for _, rid in ipairs(ids) do
  local reskey = ARGV[7] .. rid
  local j = redis.call('HGET', reskey, 'j')
  if j then
    local rec = cjson.decode(j)
    local tok, mic, ht, hm = 0, 0, false, false
    for _, e in ipairs(rec.b) do
      if e[3] >= 0 then ht = true; tok = tok + e[3] end
      if e[4] >= 0 then hm = true; mic = mic + e[4] end
    end
    if ht then bs = bs + 1 end
    if hm then cs = cs + 1 end
    if not dry then
      close(reskey, KEYS[1], rid, 'x', 0, 0, -1, false, now)
      if ht then br = br + 1; bt = bt + tok end
      if hm then cr = cr + 1; ct = ct + mic end
    end
  elseif not dry then
    redis.call('ZREM', KEYS[1], rid)
  end
end
return {cutoff, #ids, bs, br, bt, cs, cr, ct}
`;

/** KEYS: audit, auditSeq. ARGV: now|-1, then (json, ts|-1) pairs. Returns {id₁, ts₁, …}. */
export const AUDIT_APPEND_LUA = `${COMMON}
local now = now_ms(tonumber(ARGV[1]))
local out = {}
for i = 2, #ARGV, 2 do
  local ts = tonumber(ARGV[i + 1])
  if ts < 0 then ts = now end
  out[#out + 1] = append_audit(KEYS[1], KEYS[2], ARGV[i], ts)
  out[#out + 1] = ts
end
return out
`;

/** KEYS: audit. ARGV: now|-1, olderThanMs. Returns the number of records removed. */
export const AUDIT_PRUNE_LUA = `${COMMON}
local now = now_ms(tonumber(ARGV[1]))
return redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%d', now - tonumber(ARGV[2])))
`;

/** KEYS: none. ARGV: now|-1. Returns the store clock (ledger views compute periods with it). */
export const NOW_LUA = `${COMMON}
return now_ms(tonumber(ARGV[1]))
`;
