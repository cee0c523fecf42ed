-- The hub's floor: GET /healthz answers without touching Redis, so its rate is what HTTP
-- parsing, routing, the middleware and the response cost alone on this machine.
wrk.method = "GET"
wrk.path = "/healthz"
