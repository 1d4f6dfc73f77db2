/// Decoding of configuration sections (each module decodes its own with these): every key optional (a missing key keeps its default), no
/// key unknown (a typo is an error that names the key and suggests the closest known one).
extension Decoder {
    /// The keyed container of a configuration section whose keys are exactly `Keys`; throws a
    /// `DecodingError` at the first unknown key (its coding path ends with that key, so the
    /// error names its line).
    public func configurationSection<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type) throws -> KeyedDecodingContainer<Keys> {
        let known = Keys.allCases.map(\.stringValue)
        let present = try container(keyedBy: AnyConfigurationKey.self).allKeys
        if let unknown = present.filter({ !known.contains($0.stringValue) }).min(by: { $0.stringValue < $1.stringValue }) {
            let suggestion = closestKey(to: unknown.stringValue, among: known).map { "; did you mean \($0)?" } ?? ""
            throw DecodingError.dataCorrupted(
                .init(codingPath: codingPath + [unknown], debugDescription: "unknown key\(suggestion) (known: \(known.joined(separator: ", ")))"))
        }
        return try container(keyedBy: Keys.self)
    }
}

extension KeyedDecodingContainer {
    /// Replaces `value` with the one at `key`, if the key is there.
    public func update<Value: Decodable>(_ value: inout Value, _ key: Key) throws {
        if let decoded = try decodeIfPresent(Value.self, forKey: key) { value = decoded }
    }
}

/// Any key of a mapping, to list every key a section holds.
struct AnyConfigurationKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The known key closest to `key` by edit distance, if it is close enough to be a typo.
func closestKey(to key: String, among known: [String]) -> String? {
    let scored = known.map { (candidate: $0, distance: editDistance(key, $0)) }
    guard let best = scored.min(by: { $0.distance < $1.distance }) else { return nil }
    return best.distance <= min(3, max(2, key.count / 3)) ? best.candidate : nil
}

/// Levenshtein distance over characters.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in stride(from: 1, through: b.count, by: 1) {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return a.isEmpty ? b.count : previous[b.count]
}
