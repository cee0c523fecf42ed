import Foundation
@testable import HallpassHub
import HallpassJOSE
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Testing

/// The OpenAPI description (docs/OPENAPI.md) is the committed file, and it describes exactly
/// the routes the hub registers: a route added without its description, or a description
/// left behind by a removed route, fails here.
@Suite("OpenAPI: the served description is the committed file and matches the hub's routes")
struct OpenAPIDocumentTests {
    /// Sources/HallpassHub/Resources/openapi.json, read from the source tree.
    static func committedFile(file: StaticString = #filePath) throws -> [UInt8] {
        // This file is Tests/HallpassHubTests/OpenAPIDocumentTests.swift.
        let root = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return Array(try Data(contentsOf: root.appendingPathComponent("Sources/HallpassHub/Resources/openapi.json")))
    }

    /// Every `METHOD path` the document describes.
    static func describedOperations(_ document: [String: JSONValue]) throws -> Set<String> {
        let paths = try #require(document["paths"]?.objectValue)
        var operations: Set<String> = []
        let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        for (path, item) in paths {
            let item = try #require(item.objectValue, "\(path)")
            for method in methods where item[method] != nil { operations.insert(method.uppercased() + " " + path) }
        }
        return operations
    }

    @Test("GET /openapi.json answers the committed file, as cacheable JSON, and it is OpenAPI 3.1")
    func served() async throws {
        let committed = try Self.committedFile()
        try await withHub { hub in
            let reply = try await hub.get("/openapi.json")
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type") == "application/json")
            #expect(reply.header("Cache-Control") == "public, max-age=3600")
            #expect(reply.body == committed, "the served document differs from Sources/HallpassHub/Resources/openapi.json: rebuild")
            let document = try #require(reply.json?.objectValue)
            #expect(document["openapi"]?.stringValue?.hasPrefix("3.1.") == true)
            #expect(document["info"]?.objectValue?["title"] != nil)
        }
    }

    @Test("every route the hub registers is described, and every described operation is a route")
    func routesMatch() async throws {
        let document = try #require(try JSONParser.parse(Self.committedFile()).objectValue)
        let described = try Self.describedOperations(document)

        // The router alone, built as the hub builds it; nothing here reaches Redis.
        let configuration = HubConfiguration()
        let redis = RedisClient(configuration: try configuration.redisConfiguration(), logger: quietLogger)
        let passwords = try PasswordVerifier(parameters: HubFixture.fastPasswords, threads: 1)
        let services = HubServices(
            configuration: configuration, store: HallpassStore(redis: redis), passwords: passwords, metrics: HubMetrics(),
            logger: quietLogger)
        let registered = Set(Hub.makeRouter(services).routes.map { "\($0.method.rawValue) \($0.path)" })
        await passwords.shutdown()
        await redis.shutdown()

        #expect(registered.count > 30, "\(registered.sorted())")
        #expect(registered.subtracting(described).isEmpty, "routes without a description: \(registered.subtracting(described).sorted())")
        #expect(described.subtracting(registered).isEmpty, "described but not routes: \(described.subtracting(registered).sorted())")
    }

    @Test("every $ref resolves, every operation has an id and responses (431 among them), and form bodies are form-encoded")
    func wellFormed() throws {
        let root = try JSONParser.parse(Self.committedFile())
        var references: [String] = []
        func walk(_ value: JSONValue) {
            if let object = value.objectValue {
                if let target = object["$ref"]?.stringValue { references.append(target) }
                object.values.forEach(walk)
            } else if let array = value.arrayValue {
                array.forEach(walk)
            }
        }
        walk(root)
        #expect(!references.isEmpty)
        for reference in references {
            #expect(reference.hasPrefix("#/"), "\(reference)")
            var node: JSONValue? = root
            for part in reference.dropFirst(2).split(separator: "/") { node = node?.objectValue?[String(part)] }
            #expect(node != nil, "unresolved \(reference)")
        }
        let paths = try #require(root.objectValue?["paths"]?.objectValue)
        var operationIDs: Set<String> = []
        for (path, item) in paths {
            for (method, operation) in item.objectValue ?? [:] {
                let operation = try #require(operation.objectValue, "\(method) \(path)")
                let id = try #require(operation["operationId"]?.stringValue, "\(method) \(path) has no operationId")
                #expect(operationIDs.insert(id).inserted, "operationId \(id) repeats")
                #expect(operation["responses"]?.objectValue?.isEmpty == false, "\(method) \(path) has no responses")
                // The connection layer (HeaderOverflowReply) answers 431 before any route runs,
                // so every operation can give it.
                #expect(operation["responses"]?.objectValue?["431"] != nil, "\(method) \(path) does not document 431")
                if let body = operation["requestBody"]?.objectValue?["content"]?.objectValue {
                    #expect(Array(body.keys) == ["application/x-www-form-urlencoded"], "\(method) \(path)")
                }
            }
        }
    }
}
