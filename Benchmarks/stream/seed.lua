-- wrk script: one Stream API request per call, numbered by a shared counter per thread.
--   MODE=channels: POST /channels/messaging/c<i>/query creating channel i (creator and two members
--                  from USERS users), i = 0..CHANNELS-1, split across threads.
--   MODE=messages: POST /channels/messaging/c<i % CHANNELS>/message with random words.
local mode = os.getenv("MODE")
local channels = tonumber(os.getenv("CHANNELS"))
local users = tonumber(os.getenv("USERS"))
local total = tonumber(os.getenv("TOTAL"))
local key = os.getenv("API_KEY") or "chorus"
local token = os.getenv("SERVER_TOKEN")
local words = {}
for i = 1, 1000 do words[i] = "w" .. i end

local counter = 0
local threads = {}
local thread_count = 1
local mine = 0  -- requests this thread makes
local received = 0

function setup(thread)
    thread:set("id", #threads)
    table.insert(threads, thread)
end

function init(args)
    thread_count = tonumber(os.getenv("THREADS"))
    counter = id
    -- This thread's share of the numbers id, id + threads, ... below total.
    mine = math.floor((total - id + thread_count - 1) / thread_count) + 1
    math.randomseed(1000 + id)
end

local function member(i, k) return "u" .. ((i * 7 + k * 13) % users) end

local started = false

request = function()
    if not started then
        -- A thread's first request was lost in testing (its channel was never created, though
        -- every answer was 2xx): spend it on a harmless read (its answer is counted in `mine`).
        started = true
        return wrk.format("GET", "/app?api_key=" .. key, { ["Authorization"] = token })
    end
    local i = counter
    counter = counter + thread_count
    if i >= total then
        -- Past the end: a cheap request that changes nothing (wrk cannot stop early by itself).
        return wrk.format("GET", "/app?api_key=" .. key, { ["Authorization"] = token })
    end
    local headers = { ["Authorization"] = token, ["Content-Type"] = "application/json" }
    if mode == "channels" then
        local body = string.format('{"data": {"name": "Channel %d", "created_by_id": "%s", "members": ["%s", "%s"], "level": %d}}',
            i, member(i, 0), member(i, 1), member(i, 2), i % 10)
        return wrk.format("POST", "/channels/messaging/c" .. i .. "/query?api_key=" .. key, headers, body)
    end
    local c = i % channels
    local text = words[math.random(1000)] .. " " .. words[math.random(1000)] .. " " .. words[math.random(1000)] .. " msg" .. i
    local body = string.format('{"message": {"text": "%s", "user": {"id": "%s"}}}', text, member(c, i % 3))
    return wrk.format("POST", "/channels/messaging/c" .. c .. "/message?api_key=" .. key, headers, body)
end

local errors = 0
response = function(status, headers, body)
    received = received + 1
    if status >= 300 and errors < 5 then
        errors = errors + 1
        print("status " .. status .. ": " .. body)
    end
    if received == mine then
        -- wrk runs for its whole duration: tell run.sh this thread is done, so it stops wrk.
        local marker = io.open(os.getenv("DONE_DIR") .. "/thread-" .. id, "w")
        marker:close()
        wrk.thread:stop()
    end
end
