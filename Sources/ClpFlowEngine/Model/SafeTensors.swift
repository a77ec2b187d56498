import ClpFlowCore
import Foundation

/// Reader and writer for the safetensors format: an 8-byte little-endian header length N, N bytes
/// of JSON header ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
/// padded with spaces to a multiple of 8), then the raw little-endian tensor bytes.
public enum SafeTensors {
    public struct Tensor: Equatable, Sendable {
        public var shape: [Int]
        public var values: [Float]
        public init(shape: [Int], values: [Float]) { self.shape = shape; self.values = values }
    }

    public struct File: Sendable {
        public var tensors: [String: Tensor]
        /// Tensor names in file (offset) order.
        public var order: [String]
        public var metadata: [String: String]
    }

    /// Serialises F32 tensors (in the given order) with string metadata.
    public static func encode(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) throws -> Data {
        var entries: [String] = []
        var offset = 0
        for (name, t) in tensors {
            guard t.shape.reduce(1, *) == t.values.count else {
                throw GPTModelError.checkpoint("tensor \(name): shape \(t.shape) does not match \(t.values.count) values")
            }
            let end = offset + 4 * t.values.count
            entries.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",")
            entries.insert("\"__metadata__\":{\(m)}", at: 0)
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var data = Data(capacity: 8 + header.count + offset)
        var n = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &n) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        for (_, t) in tensors {
            t.values.withUnsafeBufferPointer { bp in
                // Float storage is little-endian on every supported platform.
                data.append(UnsafeBufferPointer(start: UnsafeRawPointer(bp.baseAddress!).assumingMemoryBound(to: UInt8.self),
                                                count: 4 * bp.count))
            }
        }
        return data
    }

    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:], to url: URL) throws {
        try encode(tensors, metadata: metadata).write(to: url, options: .atomic)
    }

    public static func read(_ url: URL) throws -> File {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw GPTModelError.checkpoint("cannot read \(url.path): \(error.localizedDescription)")
        }
        return try decode(data, source: url.path)
    }

    /// Parses safetensors bytes; F32, F16, BF16 and F64 tensors are converted to Float.
    public static func decode(_ data: Data, source: String = "<data>") throws -> File {
        func fail(_ s: String) -> GPTModelError { .checkpoint("\(source): \(s)") }
        guard data.count >= 8 else { throw fail("file too short for a safetensors header") }
        let n = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) }
        guard n <= UInt64(data.count - 8) else { throw fail("header length \(n) exceeds file size \(data.count)") }
        let headerData = data.subdata(in: 8 ..< 8 + Int(n))
        guard let obj = try? JSONSerialization.jsonObject(with: headerData), let header = obj as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        let base = 8 + Int(n)
        var file = File(tensors: [:], order: [], metadata: [:])
        var located: [(String, Int)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                if let m = value as? [String: Any] {
                    for (k, v) in m { if let s = v as? String { file.metadata[k] = s } }
                }
                continue
            }
            guard let d = value as? [String: Any], let dtype = d["dtype"] as? String,
                  let shape = (d["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  let offs = (d["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }), offs.count == 2 else {
                throw fail("tensor \(name): malformed header entry")
            }
            let count = shape.reduce(1, *)
            let width: Int
            switch dtype {
            case "F32": width = 4
            case "F16", "BF16": width = 2
            case "F64": width = 8
            default: throw fail("tensor \(name): unsupported dtype \(dtype) (F32, F16, BF16, F64 are read)")
            }
            guard offs[1] - offs[0] == count * width, base + offs[1] <= data.count, offs[0] >= 0 else {
                throw fail("tensor \(name): data_offsets \(offs) do not match shape \(shape) × \(dtype)")
            }
            var values = [Float](repeating: 0, count: count)
            data.withUnsafeBytes { raw in
                let p = raw.baseAddress! + base + offs[0]
                values.withUnsafeMutableBufferPointer { out in
                    switch dtype {
                    case "F32":
                        memcpy(out.baseAddress!, p, 4 * count)
                    case "F64":
                        for i in 0..<count { out[i] = Float(p.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
                    case "BF16":
                        for i in 0..<count {
                            let h = p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                            out[i] = Float(bitPattern: UInt32(h) << 16)
                        }
                    default: // F16
                        for i in 0..<count {
                            let h = p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                            out[i] = halfToFloat(h)
                        }
                    }
                }
            }
            file.tensors[name] = Tensor(shape: shape, values: values)
            located.append((name, offs[0]))
        }
        file.order = located.sorted { $0.1 < $1.1 }.map(\.0)
        return file
    }

    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exp = Int((h >> 10) & 0x1F), frac = UInt32(h & 0x3FF)
        if exp == 0 {
            let v = Float(frac) * 0x1p-24
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (frac << 13)) }
        return Float(bitPattern: sign | (UInt32(exp - 15 + 127) << 23) | (frac << 13))
    }

    static func jsonString(_ s: String) -> String { JSONValue.quoted(s) }
}
