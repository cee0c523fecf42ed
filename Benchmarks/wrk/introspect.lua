-- RFC 7662 introspection of one live access token by a confidential client.
-- env BENCH_BASIC = base64(id:secret), BENCH_TOKEN = the access token
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC")
wrk.body = "token=" .. os.getenv("BENCH_TOKEN")
wrk.path = "/oauth2/introspect"
