import HallpassJOSE

/// The stored form of a ``StoredSigningKey``: one JSON object per key, field `kid` of the
/// signing-key hash.
enum SigningKeyCodec {
    static func encode(_ key: StoredSigningKey) -> String {
        var object: [String: JSONValue] = [
            "alg": .string(key.algorithm),
            "jwk": .string(key.publicJWK),
            "private": .string(key.privateKey),
            "sealed": .bool(key.isSealed),
            "created": .integer(key.createdAt),
            "activates": .integer(key.activatesAt),
        ]
        if let retires = key.retiresAt { object["retires"] = .integer(retires) }
        // Primary keys are written as before, so hubs of the previous version read them.
        if key.use != .primary { object["use"] = .string(key.use.rawValue) }
        return JSONValue.object(object).serializedString
    }

    /// The record validators read: everything but the private key.
    static func encodePublic(_ key: StoredSigningKey) -> String {
        var object: [String: JSONValue] = [
            "alg": .string(key.algorithm),
            "jwk": .string(key.publicJWK),
            "created": .integer(key.createdAt),
            "activates": .integer(key.activatesAt),
        ]
        if let retires = key.retiresAt { object["retires"] = .integer(retires) }
        // Primary keys are written as before, so hubs of the previous version read them.
        if key.use != .primary { object["use"] = .string(key.use.rawValue) }
        return JSONValue.object(object).serializedString
    }

    /// A public record as a key that cannot sign: its private key is empty and marked sealed,
    /// so ``StoredSigningKey/signer(kek:)`` refuses it and a ``SigningKeySet`` only verifies with it.
    static func decodePublic(kid: String, _ text: String) -> StoredSigningKey? {
        guard let json = try? JSONParser.parse(Array(text.utf8)), let object = json.objectValue,
            let algorithm = object["alg"]?.stringValue, let jwk = object["jwk"]?.stringValue,
            let created = object["created"]?.integerValue, let activates = object["activates"]?.integerValue,
            let use = object["use"].map({ $0.stringValue.flatMap(SigningKeyUse.init(rawValue:)) }) ?? .primary
        else { return nil }
        return StoredSigningKey(
            keyID: kid, algorithm: algorithm, publicJWK: jwk, privateKey: "", isSealed: true,
            createdAt: created, activatesAt: activates, retiresAt: object["retires"]?.integerValue,
            use: use)
    }

    static func decode(kid: String, _ text: String) -> StoredSigningKey? {
        guard let json = try? JSONParser.parse(Array(text.utf8)), let object = json.objectValue,
            let algorithm = object["alg"]?.stringValue, let jwk = object["jwk"]?.stringValue,
            let privateKey = object["private"]?.stringValue, let sealed = object["sealed"]?.boolValue,
            let created = object["created"]?.integerValue, let activates = object["activates"]?.integerValue,
            let use = object["use"].map({ $0.stringValue.flatMap(SigningKeyUse.init(rawValue:)) }) ?? .primary
        else { return nil }
        return StoredSigningKey(
            keyID: kid, algorithm: algorithm, publicJWK: jwk, privateKey: privateKey, isSealed: sealed,
            createdAt: created, activatesAt: activates, retiresAt: object["retires"]?.integerValue,
            use: use)
    }
}
