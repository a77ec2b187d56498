import Foundation

/// The JSON coding of the files steps write into their artifacts (evaluation.json, summary.json,
/// curve.json, MANIFEST.json, …): keys are snake_case, like the workflow language and every `--json`
/// output. Property names are converted; keys of dictionaries (metric and reward names such as
/// `reward/rougeL` or `valid_loss`) are data and stay as they are.
///
/// Reading accepts both spellings of a key, so artifacts written before the files were snake_case
/// (camelCase keys such as `tokensPerSecond`) still load: every key is brought to the camelCase
/// form of its snake_case spelling before it is matched. A property whose name holds an acronym
/// (`meanKL`) therefore names its key in that form (`meanKl`), which covers `mean_kl` and `meanKL`.
public enum ArtifactJSON {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        e.keyEncodingStrategy = .convertToSnakeCase
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .custom { path in AnyKey(ArtifactJSON.matchingKey(path.last!.stringValue)) }
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    /// `tokens_per_second` and `tokensPerSecond` → `tokensPerSecond`; `mean_kl` and `meanKL` → `meanKl`.
    public static func matchingKey(_ key: String) -> String { camelCase(snakeCase(key)) }

    /// `tokensPerSecond` → `tokens_per_second`, `meanKL` → `mean_kl`, `runIDValue` → `run_id_value`;
    /// a key without capitals is returned unchanged.
    public static func snakeCase(_ key: String) -> String {
        let chars = Array(key)
        var out = ""
        for (i, c) in chars.enumerated() {
            if c.isUppercase, i > 0 {
                let prev = chars[i - 1]
                let nextIsLower = i + 1 < chars.count && chars[i + 1].isLowercase
                if prev.isLowercase || prev.isNumber || (prev.isUppercase && nextIsLower) { out += "_" }
            }
            out += c.lowercased()
        }
        return out
    }

    /// `tokens_per_second` → `tokensPerSecond`; a key without an inner underscore is returned unchanged.
    public static func camelCase(_ key: String) -> String {
        let parts = key.split(separator: "_", omittingEmptySubsequences: true)
        guard parts.count > 1, !key.hasPrefix("_"), !key.hasSuffix("_") else { return key }
        return String(parts[0]) + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
