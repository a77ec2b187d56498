import ClpFlowCore

/// Cache keys: hex SHA-256 of the canonical JSON of
/// `{"config": <step config>, "engine_format": <ClpFlowVersion.engineFormat>, "inputs": [<upstream keys in input order>]}`.
/// Every field of the config takes part; nothing is left out by name.
public enum CacheKey {
    /// The JSON object whose canonical form is hashed.
    public static func material(config: JSONValue, upstreamKeys: [String],
                                engineFormat: Int = ClpFlowVersion.engineFormat) -> JSONValue {
        .object([
            "config": config,
            "engine_format": .number(Double(engineFormat)),
            "inputs": .array(upstreamKeys.map { .string($0) }),
        ])
    }

    public static func compute(config: JSONValue, upstreamKeys: [String],
                               engineFormat: Int = ClpFlowVersion.engineFormat) -> String {
        compute(canonicalConfig: config.canonical, upstreamKeys: upstreamKeys, engineFormat: engineFormat)
    }

    /// Same key from an already canonicalised config. The material's keys are written in sorted
    /// order (`config` < `engine_format` < `inputs`), so the text equals `material(...).canonical`.
    public static func compute(canonicalConfig: String, upstreamKeys: [String],
                               engineFormat: Int = ClpFlowVersion.engineFormat) -> String {
        // One contiguous buffer hashes faster than many small updates.
        var text = "{\"config\":"
        text.reserveCapacity(canonicalConfig.utf8.count + 40 + upstreamKeys.count * 67)
        text += canonicalConfig
        text += ",\"engine_format\":"
        text += JSONValue.formatNumber(Double(engineFormat))
        text += ",\"inputs\":["
        for (i, k) in upstreamKeys.enumerated() {
            if i > 0 { text += "," }
            text += Canon.quoted(k)
        }
        text += "]}"
        return Digest.sha256Hex(text)
    }
}
