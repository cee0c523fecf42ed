-- Password grants for one user whose single-login policy is off.
-- env BENCH_BASIC = base64(id:secret), BENCH_USER, BENCH_PASSWORD
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC")
wrk.body = "grant_type=password&username=" .. os.getenv("BENCH_USER") .. "&password=" .. os.getenv("BENCH_PASSWORD")
wrk.path = "/oauth2/token"
