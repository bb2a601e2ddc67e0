-- wrk script of bench/webhook_ingest.py: POSTs pre-signed webhooks, read from a file of lines
-- "<X-Hub-Signature-256 value>\t<body>". Thread k of n takes lines k, k+n, k+2n, ... and, once each of its lines
-- has been answered, stops and creates the file "<marker prefix><k>" (a connection still in flight then posts
-- an earlier line again: a redelivery, which the hub must ignore). wrk runs for its whole -d unless
-- interrupted: the Python side sends SIGINT once every thread's marker exists, and done() prints one JSON
-- line of figures.
--
--   wrk -t 2 -c 16 -d 600s -s bench/webhook_post.lua <url> -- <bodies file> <threads> <marker prefix>

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local path, count = args[1], tonumber(args[2])
  marker = args[3] .. id
  bodies = {}
  local line_number = 0
  for line in io.lines(path) do
    if line_number % count == id then
      local signature, body = line:match("^([^\t]+)\t(.*)$")
      table.insert(bodies, { signature, body })
    end
    line_number = line_number + 1
  end
  position = 0
  answered = 0
  not_ok = 0
end

function request()
  position = position % #bodies + 1
  local item = bodies[position]
  local headers = { ["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = item[1] }
  return wrk.format("POST", nil, headers, item[2])
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 then
    not_ok = not_ok + 1
  end
  if answered == #bodies then
    io.open(marker, "w"):close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local not_ok_total = 0
  for _, thread in ipairs(threads) do
    not_ok_total = not_ok_total + thread:get("not_ok")
  end
  io.write(string.format(
    'WRK {"requests": %d, "seconds": %.6f, "p50_ms": %.3f, "p99_ms": %.3f, "mean_ms": %.3f, "not_ok": %d, "socket_errors": %d}\n',
    summary.requests,
    summary.duration / 1e6,
    latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    latency.mean / 1000,
    not_ok_total,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  ))
end
