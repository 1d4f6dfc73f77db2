import Foundation
import Yams

// Where a configuration error points: a key path located in the YAML document, and decoding
// errors described by their key path (used by ChorusConfiguration and the request decoders).

extension ChorusConfiguration {
    /// One step of a key path: a mapping key or a sequence index.
    enum KeyStep: Equatable { case key(String), index(Int) }

    /// `cluster.nodes[1].name` as steps.
    static func keyPath(_ key: String) -> [KeyStep] {
        var steps: [KeyStep] = []
        for part in key.split(separator: ".") {
            var name = Substring(part)
            var indexes: [Int] = []
            while let open = name.lastIndex(of: "["), name.hasSuffix("]"), let index = Int(name[name.index(after: open)..<name.index(before: name.endIndex)]) {
                indexes.insert(index, at: 0)
                name = name[..<open]
            }
            if !name.isEmpty { steps.append(.key(String(name))) }
            steps += indexes.map(KeyStep.index)
        }
        return steps
    }

    /// The line of the deepest node of `path` present in `document` (a missing key gives its parent's line).
    static func line(of path: [KeyStep], in document: Yams.Node?) -> Int? {
        guard var node = document else { return nil }
        var line = node.mark?.line
        for step in path {
            switch (step, node) {
            case (.key(let key), .mapping(let mapping)):
                // The key's own line: a nested mapping's value starts on the line after it.
                guard let pair = mapping.first(where: { $0.key.string == key }) else { return line }
                node = pair.value
                line = pair.key.mark?.line ?? line
                continue
            case (.index(let index), .sequence(let sequence)) where index < sequence.count:
                node = sequence[index]
            default:
                return line
            }
            line = node.mark?.line ?? line
        }
        return line
    }
}

/// The key path of a decoding error, as steps.
func codingPathKeys(of error: DecodingError) -> [ChorusConfiguration.KeyStep] {
    let context: DecodingError.Context? =
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context), .dataCorrupted(let context): context
        @unknown default: nil
        }
    var keys = context?.codingPath ?? []
    if case .keyNotFound(let key, _) = error { keys.append(key) }
    return keys.map { key in key.intValue.map(ChorusConfiguration.KeyStep.index) ?? .key(key.stringValue) }
}

/// A one-line description of a decoding error with its key path.
func describe(_ error: DecodingError) -> String {
    func path(_ codingPath: [any CodingKey]) -> String {
        let keys = codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        return keys.isEmpty ? "the document" : keys.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }
    switch error {
    case .typeMismatch(let type, let context):
        return "\(path(context.codingPath)): expected \(jsonTypeName(type))"
    case .valueNotFound(let type, let context):
        return "\(path(context.codingPath)): expected \(jsonTypeName(type)), found null"
    case .keyNotFound(let key, let context):
        return "\(path(context.codingPath + [key])): is required"
    case .dataCorrupted(let context):
        if context.codingPath.isEmpty {
            return "not valid JSON"
        }
        return "\(path(context.codingPath)): \(context.debugDescription)"
    @unknown default:
        return "invalid value"
    }
}

private func jsonTypeName(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: return "a string"
    case is Bool.Type: return "a boolean"
    case is Int.Type, is Int64.Type, is UInt64.Type, is Double.Type: return "a number"
    case is [Any].Type: return "an array"
    default: return "an object"
    }
}
