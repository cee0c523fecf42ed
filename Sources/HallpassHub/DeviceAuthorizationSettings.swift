/// How a hub runs the device authorization grant (RFC 8628).
public struct DeviceAuthorizationSettings: Sendable, Hashable {
    /// How long a device code and its user code live (s). Default 600: long enough to find
    /// a phone and sign in, short enough that a user code (about 34 bits) is not worth guessing.
    public var lifetime: Int64 = 600
    /// The polling interval a device is told (s). Default 5, RFC 8628 section 3.2's default.
    public var interval: Int64 = 5
    /// How much each `slow_down` lengthens the interval (s). RFC 8628 section 3.5 fixes 5;
    /// tests shorten it.
    public var slowDownIncrement: Int64 = 5
    /// Wrong user codes allowed per client address within ``userCodeWindow``.
    public var userCodeAttempts: Int = 10
    /// The window wrong user codes are counted in (s); a lockout lasts until it ends.
    public var userCodeWindow: Int64 = 900

    /// The defaults.
    public init() {}

    func validate() throws(HubConfiguration.Problem) {
        guard (1...3600).contains(lifetime) else {
            throw .invalid("--device-code-ttl must be 1-3600 seconds")
        }
        guard (1...60).contains(interval) else { throw .invalid("the device polling interval must be 1-60 s") }
        guard (1...60).contains(slowDownIncrement) else { throw .invalid("the slow_down increment must be 1-60 s") }
        guard userCodeAttempts > 0, userCodeWindow > 0 else { throw .invalid("user code throttle limits must be positive") }
    }
}
