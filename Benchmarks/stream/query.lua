-- wrk script: the same read request again and again (PATH, BODY, METHOD, TOKEN from the environment).
local method = os.getenv("METHOD") or "POST"
local path = os.getenv("REQUEST_PATH")
local body = os.getenv("BODY")
local token = os.getenv("TOKEN")
local headers = { ["Authorization"] = token, ["Content-Type"] = "application/json" }
request = function() return wrk.format(method, path, headers, body) end
local errors = 0
response = function(status, headers, body)
    if status >= 300 and errors < 3 then
        errors = errors + 1
        print("status " .. status .. ": " .. string.sub(body, 1, 300))
    end
end
