import HallpassTestSupport
import Testing

@Suite("hallpass-device-demo: the command-line sample of the device flow")
struct DeviceDemoTests {
    @Test("it prints the code and the URIs, waits for approval at the page, and prints who signed in (exit 0)")
    func approved() async throws {
        let demo = try builtExecutable("hallpass-device-demo")
        try await withAddressedHub(configure: DeviceFlow.fast) { hub in
            let user = try await hub.addUser("kim", password: "pw-kim-1")
            try await hub.addDeviceClient("device-demo")
            let program = try RunningProgram(demo, ["--hub", hub.baseURL])
            let complete = try await program.line(startingWith: "Or open: ")
            let userCode = try await program.line(startingWith: "and enter the code: ")
            #expect(complete == hub.baseURL + DeviceFlow.verificationPath + "?user_code=" + userCode)
            #expect(program.standardOutput.contains("To sign in, open " + hub.baseURL + DeviceFlow.verificationPath))
            let done = try await hub.decideDevice(complete, browser: TestBrowser(), username: "kim", password: "pw-kim-1")
            #expect(done.status == 200)
            let status = try await program.wait()
            #expect(status == 0, "stdout: \(program.standardOutput)\nstderr: \(program.standardError)")
            #expect(program.standardOutput.contains("Signed in as kim (sub \(user.id))."))
        }
    }

    @Test("denied at the page, it says so and exits 1; HALLPASS_HUB_URL and HALLPASS_CLIENT_ID work like the flags")
    func denied() async throws {
        let demo = try builtExecutable("hallpass-device-demo")
        try await withAddressedHub(configure: DeviceFlow.fast) { hub in
            try await hub.addUser("lou", password: "pw-lou-1")
            try await hub.addDeviceClient("other-tv")
            let program = try RunningProgram(demo, [], environment: ["HALLPASS_HUB_URL": hub.baseURL, "HALLPASS_CLIENT_ID": "other-tv"])
            let complete = try await program.line(startingWith: "Or open: ")
            _ = try await hub.decideDevice(complete, browser: TestBrowser(), username: "lou", password: "pw-lou-1", approve: false)
            let status = try await program.wait()
            #expect(status == 1, "stdout: \(program.standardOutput)")
            #expect(program.standardError.contains("denied"))
            #expect(!program.standardOutput.contains("Signed in"))
        }
    }

    @Test("when the code expires before approval, it says so and exits 1")
    func expired() async throws {
        let demo = try builtExecutable("hallpass-device-demo")
        try await withAddressedHub(configure: { configuration in
            DeviceFlow.fast(&configuration)
            configuration.deviceAuthorization.lifetime = 2
        }) { hub in
            try await hub.addDeviceClient("device-demo")
            let program = try RunningProgram(demo, ["--hub", hub.baseURL])
            let status = try await program.wait(seconds: 30)
            #expect(status == 1, "stdout: \(program.standardOutput)")
            #expect(program.standardError.contains("expired"))
        }
    }
}
