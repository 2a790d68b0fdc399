-- Builds the environment scripts run in, once per Lua state. Understudy's own code: frames from
-- this chunk are skipped when an error is located in the user's script.
local hidden, redis, raising_libs = ...

local error, type, select, unpack, tostring, tonumber = error, type, select, unpack, tostring, tonumber
local rawset, setmetatable, getmetatable, pairs = rawset, setmetatable, getmetatable, pairs
local concat = table.concat
local floor = math.floor
local raw_pcall, raw_loadstring = pcall, loadstring
local string_byte = string.byte

-- Wraps a function answering (true, results...) or (false, error) into a C function that
-- raises the error at its caller's position, as luaL_error does (a C function, so that a script
-- tail-calling it keeps its own frame for error positions).
local raising = hidden.raising

local function pack(...)
  return { n = select('#', ...), ... }
end

local libs = {}
for name, raw in pairs(raising_libs) do
  local lib = {}
  for k, v in pairs(raw) do
    if type(v) == 'function' then
      lib[k] = raising(v)
    else
      lib[k] = v
    end
  end
  libs[name] = lib
end
for k, v in pairs(libs.redis) do
  redis[k] = v
end
libs.redis = nil

local OUTSIDE = 'ERR redis.call/pcall can only be called inside a script invocation'

redis.call = raising(function(...)
  local dispatch = hidden.dispatch
  if dispatch == nil then
    return false, { err = OUTSIDE }
  end
  return dispatch(true, ...)
end)

redis.pcall = raising(function(...)
  local dispatch = hidden.dispatch
  if dispatch == nil then
    return false, { err = OUTSIDE }
  end
  local _, result = dispatch(false, ...)
  return true, result
end)

-- Redis's pcall hands back the message of an error table, not the table. A killed script stays
-- killed: pcall cannot catch that.
local function redis_pcall(...)
  local r = pack(raw_pcall(...))
  if r[1] then
    return unpack(r, 1, r.n)
  end
  local e = r[2]
  if hidden.killed() then
    error(e, 0)
  end
  if type(e) == 'table' then
    local message = e.err
    if type(message) == 'string' or type(message) == 'number' then
      return false, message
    end
  end
  return false, e
end

-- math.random on Redis's own generator, the same sequence on every platform.
local lrand, srand = hidden.lrand, hidden.srand

local function to_int(v)
  local n = tonumber(v)
  if n == nil then
    return nil
  end
  if n >= 0 then
    return floor(n)
  end
  return -floor(-n)
end

local function not_a_number(position, fname, v)
  return "bad argument #" .. position .. " to '" .. fname .. "' (number expected, got "
    .. type(v) .. ")"
end

local random = raising(function(...)
  local r = lrand()
  local n = select('#', ...)
  if n == 0 then
    return true, r
  end
  local a, b = ...
  if n == 1 then
    local u = to_int(a)
    if u == nil then
      return false, not_a_number(1, 'random', a)
    end
    if u < 1 then
      return false, "bad argument #1 to 'random' (interval is empty)"
    end
    return true, floor(r * u) + 1
  elseif n == 2 then
    local l, u = to_int(a), to_int(b)
    if l == nil then
      return false, not_a_number(1, 'random', a)
    end
    if u == nil then
      return false, not_a_number(2, 'random', b)
    end
    if l > u then
      return false, "bad argument #2 to 'random' (interval is empty)"
    end
    return true, floor(r * (u - l + 1)) + l
  end
  return false, 'wrong number of arguments'
end)

local randomseed = raising(function(...)
  local seed = to_int((...))
  if seed == nil then
    return false, not_a_number(1, 'randomseed', (...))
  end
  srand(seed)
  return true
end)

-- Read-only tables: scripts see proxies; writes through them fail as in Redis.
local protected = setmetatable({}, { __mode = 'k' })

local function refuse_write()
  error('Attempt to modify a readonly table', 2)
end

local function lock(real)
  local proxy = setmetatable({}, { __index = real, __newindex = refuse_write, __metatable = false })
  protected[proxy] = real
  return proxy
end

local function argument_type(n, v)
  if n == 0 then
    return 'no value'
  end
  return type(v)
end

local checked_rawset = raising(function(...)
  local t, k, v = ...
  if type(t) ~= 'table' then
    return false, "bad argument #1 to 'rawset' (table expected, got " .. argument_type(select('#', ...), t) .. ")"
  end
  if protected[t] then
    return false, { err = 'ERR Attempt to modify a readonly table' }
  end
  return true, rawset(t, k, v)
end)

-- rawget and pairs over a read-only table read what the proxy stands for.
local raw_rawget = rawget
local protected_rawget = raising(function(...)
  local t, k = ...
  if type(t) ~= 'table' then
    return false, "bad argument #1 to 'rawget' (table expected, got " .. argument_type(select('#', ...), t) .. ")"
  end
  return true, raw_rawget(protected[t] or t, k)
end)

local raw_next = next
local protected_pairs = raising(function(...)
  local t = ...
  if type(t) ~= 'table' then
    return false, "bad argument #1 to 'pairs' (table expected, got " .. argument_type(select('#', ...), t) .. ")"
  end
  return true, raw_next, protected[t] or t, nil
end)

local function is_binary(chunk)
  return type(chunk) == 'string' and string_byte(chunk, 1) == 27
end

-- Precompiled chunks are refused: loading bytecode can corrupt the interpreter.
local function safe_loadstring(chunk, name)
  if is_binary(chunk) then
    return nil, 'binary chunks are not allowed'
  end
  return raw_loadstring(chunk, name)
end

local function safe_load(reader, name)
  if type(reader) ~= 'function' then
    return raw_loadstring(reader, name)
  end
  local pieces = {}
  while true do
    local piece = reader()
    if piece == nil or piece == '' then
      break
    end
    if type(piece) ~= 'string' then
      return nil, 'reader function must return a string'
    end
    pieces[#pieces + 1] = piece
  end
  return safe_loadstring(concat(pieces), name)
end

local G = _G
local store = {}
for k, v in pairs(G) do
  store[k] = v
end
for k in pairs(store) do
  rawset(G, k, nil)
end
for _, name in pairs({ 'print', 'dofile', 'loadfile', 'getfenv', 'setfenv', 'newproxy', 'module',
  'require', 'debug', 'os', 'io', 'package' }) do
  store[name] = nil
end

local math_lib = store.math
math_lib.random = random
math_lib.randomseed = randomseed

for name, lib in pairs(libs) do
  store[name] = lib
end
store.redis = redis
for _, name in pairs({ 'string', 'math', 'table', 'coroutine', 'cjson', 'bit', 'struct', 'cmsgpack',
  'redis' }) do
  if store[name] ~= nil then
    store[name] = lock(store[name])
  end
end

local string_meta = getmetatable('')
string_meta.__index = store.string
string_meta.__metatable = lock({ __index = store.string })

store.pcall = redis_pcall
store.rawset = checked_rawset
store.pairs = protected_pairs
store.rawget = protected_rawget
store.loadstring = safe_loadstring
store.load = safe_load
store.__redis__err__handler = hidden.handler
store._G = G

setmetatable(store, {
  __index = function(_, name)
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
  end,
})
local globals_meta = { __index = store, __newindex = refuse_write, __metatable = false }
setmetatable(G, globals_meta)
protected[G] = store

-- What a library's code sees while FUNCTION LOAD runs it: redis.register_function, redis.log
-- and the constants, nothing else. The load swaps it in as the globals' __index.
local missing_meta = {
  __index = function(_, name)
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
  end,
}
local load_redis = setmetatable({
  log = redis.log,
  LOG_DEBUG = redis.LOG_DEBUG,
  LOG_VERBOSE = redis.LOG_VERBOSE,
  LOG_NOTICE = redis.LOG_NOTICE,
  LOG_WARNING = redis.LOG_WARNING,
  REDIS_VERSION = redis.REDIS_VERSION,
  REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
  register_function = raising(function(...)
    local register = hidden.register
    if register == nil then
      return false, { err = 'ERR redis.register_function can only be called on FUNCTION LOAD command' }
    end
    return register(...)
  end),
}, missing_meta)
local load_api = setmetatable({ redis = lock(load_redis) }, missing_meta)

-- Runs a script's function under the error handler, passing KEYS and ARGV (functions take them
-- as arguments; EVAL scripts ignore them and read the globals).
local xpcall = xpcall
local function runner(handler, f, keys, args)
  return xpcall(function()
    return f(keys, args)
  end, handler)
end

return store, runner, globals_meta, load_api
