import CLibCrypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SHA-256 (FIPS 180-4) for cache keys, fingerprints and artifact checksums, computed by the
/// system's libcrypto (OpenSSL's EVP interface). Every digest in clp-flow goes through
/// `SHA256Hasher`; the functions here are its one-shot and file forms. Digests are written as
/// 64 lowercase hex characters.
public enum Digest {
    /// Hex SHA-256 of a string's UTF-8 bytes.
    public static func sha256Hex(_ string: String) -> String {
        let h = SHA256Hasher()
        h.update(string)
        return h.finalizeHex()
    }

    /// Hex SHA-256 of a byte sequence.
    public static func sha256Hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let h = SHA256Hasher()
        h.update(bytes)
        return h.finalizeHex()
    }

    /// Hex SHA-256 and size of a file, read `chunkSize` bytes at a time (memory use does not grow
    /// with the file).
    public static func sha256Hex(fileAt url: URL, chunkSize: Int = 1 << 20) throws -> (hex: String, size: Int64) {
        precondition(chunkSize > 0, "Digest.sha256Hex(fileAt:): chunk size must be positive")
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw DigestError(message: "cannot open \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let h = SHA256Hasher()
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        var total: Int64 = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, chunkSize) }
            if n < 0 {
                if errno == EINTR { continue }
                throw DigestError(message: "cannot read \(url.path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            buffer.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            total += Int64(n)
        }
        return (h.finalizeHex(), total)
    }

    /// Lowercase hex of digest bytes.
    public static func hex(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(digest.count * 2)
        for b in digest { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xf)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A file could not be opened or read while hashing it.
public struct DigestError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// Streaming SHA-256: feed bytes in any pieces, then take the digest once.
public final class SHA256Hasher {
    private let context: OpaquePointer
    private var finished = false

    /// The SHA-256 implementation, looked up once.
    nonisolated(unsafe) private static let algorithm: OpaquePointer = {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil) else { fatalError("libcrypto has no SHA256 digest") }
        return md
    }()

    public init() {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("libcrypto: cannot allocate a digest context") }
        context = ctx
        guard EVP_DigestInit_ex(context, SHA256Hasher.algorithm, nil) == 1 else { fatalError("libcrypto: SHA-256 initialisation failed") }
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ raw: UnsafeRawBufferPointer) {
        precondition(!finished, "SHA256Hasher: update after finalize")
        guard let base = raw.baseAddress, raw.count > 0 else { return }
        guard EVP_DigestUpdate(context, base, raw.count) == 1 else { fatalError("libcrypto: SHA-256 update failed") }
    }

    public func update<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if handled != nil { return }
        var chunk: [UInt8] = []
        chunk.reserveCapacity(4096)
        for b in bytes {
            chunk.append(b)
            if chunk.count == 4096 { chunk.withUnsafeBytes { update($0) }; chunk.removeAll(keepingCapacity: true) }
        }
        if !chunk.isEmpty { chunk.withUnsafeBytes { update($0) } }
    }

    public func update(_ string: String) {
        var s = string
        s.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// The 32 digest bytes. A hasher gives its digest once.
    public func finalize() -> [UInt8] {
        precondition(!finished, "SHA256Hasher: finalize called twice")
        finished = true
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = out.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
        guard ok == 1, length == 32 else { fatalError("libcrypto: SHA-256 finalisation failed") }
        return out
    }

    public func finalizeHex() -> String { Digest.hex(finalize()) }
}
