import Testing

@Suite("Prometheus metrics")
struct MetricsTests {
    @Test("/metrics counts requests per endpoint and logins, refreshes, reuse detections and revocations")
    func countersAfterActivity() async throws {
        try await withHub { hub in
            try await hub.addUser("dora", password: "pw-dora-1")
            let secret = try #require(try await hub.addClient("api"))

            _ = try await hub.login("dora", password: "wrong", client: "api", secret: secret)
            let t0 = try await hub.loginTokens("dora", password: "pw-dora-1", client: "api", secret: secret)
            let t1 = try await hub.refreshTokens(t0.refresh, client: "api", secret: secret)
            let t2 = try await hub.refreshTokens(t1.refresh, client: "api", secret: secret)
            // t0 was rotated two steps ago: reuse whatever the grace window, and the session ends.
            _ = try await hub.refresh(t0.refresh, client: "api", secret: secret)
            _ = try await hub.introspect(t2.access, client: "api", secret: secret)

            let t3 = try await hub.loginTokens("dora", password: "pw-dora-1", client: "api", secret: secret)
            #expect(try await hub.revoke(t3.access, client: "api", secret: secret).status == 200)
            let t4 = try await hub.refreshTokens(t3.refresh, client: "api", secret: secret)
            #expect(try await hub.revoke(t4.refresh, client: "api", secret: secret).status == 200)
            let t5 = try await hub.loginTokens("dora", password: "pw-dora-1", client: "api", secret: secret)
            #expect(try await hub.logout(bearer: t5.access).status == 204)

            let reply = try await hub.get("/metrics")
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type")?.hasPrefix("text/plain") == true)
            let metrics = PrometheusText(reply.text)

            #expect(metrics.sum("hallpass_http_requests_total", ["endpoint": HubPath.token, "method": "POST", "status": "200"]) == 6)
            #expect(metrics.sum("hallpass_http_requests_total", ["endpoint": HubPath.token, "status": "400"]) == 2)
            #expect(metrics.sum("hallpass_http_requests_total", ["endpoint": HubPath.introspection, "status": "200"]) == 1)
            #expect(metrics.sum("hallpass_http_requests_total", ["endpoint": HubPath.revocation, "status": "200"]) == 2)
            #expect(metrics.sum("hallpass_http_requests_total", ["endpoint": HubPath.endSession, "status": "204"]) == 1)
            #expect(metrics.sum("hallpass_logins_total", ["result": "success"]) == 3)
            #expect(metrics.sum("hallpass_logins_total", ["result": "bad_credentials"]) == 1)
            #expect(metrics.sum("hallpass_refreshes_total", ["result": "rotated"]) == 3)
            #expect(metrics.sum("hallpass_refreshes_total", ["result": "reuse_detected"]) == 1)
            #expect(metrics.sum("hallpass_refresh_reuse_detections_total", [:]) == 1)
            #expect(metrics.sum("hallpass_revocations_total", ["kind": "access_token"]) == 1)
            #expect(metrics.sum("hallpass_revocations_total", ["kind": "grant"]) == 1)
            // The reuse detection and the logout each ended a session.
            #expect((metrics.sum("hallpass_revocations_total", ["kind": "session"]) ?? 0) >= 2)
            #expect(metrics.series("hallpass_http_request_duration_seconds_count").isEmpty == false)
        }
    }
}

/// The samples of a Prometheus text exposition.
struct PrometheusText {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    let samples: [Sample]

    init(_ text: String) {
        samples = text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                return nil
            }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else { return Sample(name: String(series), labels: [:], value: value) }
            var labels: [String: String] = [:]
            // Label values here never contain `,` or `"`, so a plain split is enough.
            for pair in series[series.index(after: brace)...].dropLast().split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
            return Sample(name: String(series[..<brace]), labels: labels, value: value)
        }
    }

    func series(_ name: String) -> [Sample] { samples.filter { $0.name == name } }

    /// The sum over every series of `name` whose labels include `labels`; `nil` if none has.
    func sum(_ name: String, _ labels: [String: String]) -> Double? {
        let matching = series(name).filter { sample in labels.allSatisfy { sample.labels[$0.key] == $0.value } }
        return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
    }
}
