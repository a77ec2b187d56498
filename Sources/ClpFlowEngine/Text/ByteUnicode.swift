/// GPT-2's reversible byte ↔ Unicode mapping, used to write byte-level tokens as printable strings
/// in `vocab.json` and `merges.txt`. Bytes that are printable (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) map to
/// the scalar with the same value; the remaining 68 bytes (controls, space, DEL, NBSP, soft hyphen)
/// map, in increasing byte order, to U+0100, U+0101, … (256 + n). So space becomes `Ġ` (U+0120)
/// and newline becomes `Ċ` (U+010A).
public enum ByteUnicode {
    /// `scalarOf[b]` is the scalar that stands for byte `b`.
    public static let scalarOf: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var n: UInt32 = 0
        for b in 0..<256 {
            if isPrintable(UInt8(b)) {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(256 + n)!
                n += 1
            }
        }
        return table
    }()

    /// Inverse of `scalarOf`.
    public static let byteOf: [Unicode.Scalar: UInt8] = {
        var d: [Unicode.Scalar: UInt8] = [:]
        for b in 0..<256 { d[scalarOf[b]] = UInt8(b) }
        return d
    }()

    static func isPrintable(_ b: UInt8) -> Bool {
        (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
    }

    /// The printable string that stands for a byte sequence.
    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(scalarOf[Int(b)]) }
        return String(s)
    }

    /// The bytes a printable token string stands for, or nil if it holds a scalar outside the map.
    public static func decode(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        for u in token.unicodeScalars {
            guard let b = byteOf[u] else { return nil }
            out.append(b)
        }
        return out
    }
}
