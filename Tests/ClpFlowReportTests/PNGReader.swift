// A minimal PNG reader for checking browser screenshots: chunk parsing with CRC checks, IHDR,
// zlib (RFC 1950) with an Adler-32 check, DEFLATE (RFC 1951: stored, fixed and dynamic Huffman
// blocks) and the five scanline filters. 8-bit greyscale, grey+alpha, RGB and RGBA, not
// interlaced — what Chromium writes.

struct PNGError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

struct PNGImage {
    let width: Int
    let height: Int
    /// 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA).
    let channels: Int
    /// Row-major samples, `channels` bytes per pixel.
    let samples: [UInt8]

    /// (r, g, b) of pixel (x, y); grey is replicated, alpha ignored.
    func rgb(_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
        let o = (y * width + x) * channels
        if channels <= 2 { return (samples[o], samples[o], samples[o]) }
        return (samples[o], samples[o + 1], samples[o + 2])
    }

    static func decode(_ bytes: [UInt8]) throws -> PNGImage {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count > 8, Array(bytes[0..<8]) == signature else { throw PNGError("not a PNG file (bad signature)") }
        var pos = 8
        var width = 0, height = 0, bitDepth = 0, colorType = -1, interlace = 0
        var idat: [UInt8] = []
        var sawEnd = false
        func u32(_ p: Int) -> Int { Int(bytes[p]) << 24 | Int(bytes[p + 1]) << 16 | Int(bytes[p + 2]) << 8 | Int(bytes[p + 3]) }
        while pos + 12 <= bytes.count {
            let length = u32(pos)
            guard pos + 12 + length <= bytes.count else { throw PNGError("truncated chunk at byte \(pos)") }
            let type = String(decoding: bytes[(pos + 4)..<(pos + 8)], as: UTF8.self)
            let data = bytes[(pos + 8)..<(pos + 8 + length)]
            let crc = UInt32(truncatingIfNeeded: u32(pos + 8 + length))
            guard CRC32.checksum(bytes[(pos + 4)..<(pos + 8 + length)]) == crc else { throw PNGError("CRC mismatch in \(type) chunk") }
            switch type {
            case "IHDR":
                guard length == 13 else { throw PNGError("IHDR has \(length) bytes, expected 13") }
                let d = Array(data)
                width = Int(d[0]) << 24 | Int(d[1]) << 16 | Int(d[2]) << 8 | Int(d[3])
                height = Int(d[4]) << 24 | Int(d[5]) << 16 | Int(d[6]) << 8 | Int(d[7])
                bitDepth = Int(d[8]); colorType = Int(d[9]); interlace = Int(d[12])
            case "IDAT": idat.append(contentsOf: data)
            case "IEND": sawEnd = true
            default: break
            }
            pos += 12 + length
            if sawEnd { break }
        }
        guard sawEnd else { throw PNGError("no IEND chunk") }
        guard width > 0, height > 0 else { throw PNGError("missing or empty IHDR") }
        guard bitDepth == 8 else { throw PNGError("bit depth \(bitDepth) not supported (8 only)") }
        guard interlace == 0 else { throw PNGError("interlaced PNG not supported") }
        let channels: Int
        switch colorType {
        case 0: channels = 1
        case 2: channels = 3
        case 4: channels = 2
        case 6: channels = 4
        default: throw PNGError("colour type \(colorType) not supported")
        }
        let raw = try Zlib.decompress(idat)
        let stride = width * channels
        guard raw.count == height * (stride + 1) else {
            throw PNGError("image data has \(raw.count) bytes, expected \(height * (stride + 1))")
        }
        return PNGImage(width: width, height: height, channels: channels,
                        samples: try unfilter(raw, height: height, stride: stride, bpp: channels))
    }

    static func unfilter(_ raw: [UInt8], height: Int, stride: Int, bpp: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: height * stride)
        try raw.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let filter = src[y * (stride + 1)]
                    let s = y * (stride + 1) + 1, d = y * stride, prev = d - stride
                    for i in 0..<stride {
                        let x = src[s + i]
                        let a = i >= bpp ? Int(dst[d + i - bpp]) : 0
                        let b = y > 0 ? Int(dst[prev + i]) : 0
                        let c = (i >= bpp && y > 0) ? Int(dst[prev + i - bpp]) : 0
                        let predictor: Int
                        switch filter {
                        case 0: predictor = 0
                        case 1: predictor = a
                        case 2: predictor = b
                        case 3: predictor = (a + b) / 2
                        case 4:
                            let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                            predictor = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                        default: throw PNGError("unknown filter type \(filter) on row \(y)")
                        }
                        dst[d + i] = x &+ UInt8(truncatingIfNeeded: predictor)
                    }
                }
            }
        }
        return out
    }
}

enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum<C: Collection>(_ data: C) -> UInt32 where C.Element == UInt8 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

enum Zlib {
    /// Decompresses a zlib stream and checks its Adler-32 trailer.
    static func decompress(_ data: [UInt8]) throws -> [UInt8] {
        guard data.count >= 6 else { throw PNGError("zlib stream too short") }
        let cmf = Int(data[0]), flg = Int(data[1])
        guard cmf & 0x0F == 8 else { throw PNGError("zlib compression method \(cmf & 0x0F) is not DEFLATE") }
        guard (cmf << 8 | flg) % 31 == 0 else { throw PNGError("zlib header check failed") }
        guard flg & 0x20 == 0 else { throw PNGError("zlib preset dictionary not supported") }
        var inflater = Inflater(data, start: 2)
        let out = try inflater.run()
        let p = inflater.alignedBytePosition
        guard p + 4 <= data.count else { throw PNGError("zlib stream lacks its Adler-32 trailer") }
        let expected = UInt32(data[p]) << 24 | UInt32(data[p + 1]) << 16 | UInt32(data[p + 2]) << 8 | UInt32(data[p + 3])
        guard adler32(out) == expected else { throw PNGError("Adler-32 mismatch: corrupt image data") }
        return out
    }

    static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        var i = 0
        while i < data.count {
            let end = min(i + 5552, data.count)
            while i < end { a += UInt32(data[i]); b += a; i += 1 }
            a %= 65521; b %= 65521
        }
        return b << 16 | a
    }
}

/// DEFLATE decoder (RFC 1951).
struct Inflater {
    private let input: [UInt8]
    private var pos: Int
    private var bitBuffer: UInt64 = 0
    private var bitCount = 0
    private var out: [UInt8] = []

    init(_ input: [UInt8], start: Int) {
        self.input = input
        self.pos = start
    }

    /// Byte offset just after the last consumed bit, rounded up to a byte boundary.
    var alignedBytePosition: Int { pos - bitCount / 8 }

    private static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
                                     67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
                                   1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    private static let distExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    mutating func run() throws -> [UInt8] {
        var last = false
        while !last {
            last = try bits(1) == 1
            switch try bits(2) {
            case 0: try storedBlock()
            case 1: try huffmanBlock(Inflater.fixedLiteral, Inflater.fixedDistance)
            case 2:
                let (lit, dist) = try dynamicTables()
                try huffmanBlock(lit, dist)
            default: throw PNGError("invalid DEFLATE block type 3")
            }
        }
        return out
    }

    private mutating func need(_ n: Int) throws {
        while bitCount < n {
            guard pos < input.count else { throw PNGError("DEFLATE stream ends early") }
            bitBuffer |= UInt64(input[pos]) << UInt64(bitCount)
            pos += 1
            bitCount += 8
        }
    }

    private mutating func bits(_ n: Int) throws -> Int {
        if n == 0 { return 0 }
        try need(n)
        let v = Int(bitBuffer & ((1 << UInt64(n)) - 1))
        bitBuffer >>= UInt64(n)
        bitCount -= n
        return v
    }

    private mutating func storedBlock() throws {
        bitBuffer = 0
        pos -= bitCount / 8  // give back whole unread bytes, drop the partial one
        bitCount = 0
        guard pos + 4 <= input.count else { throw PNGError("stored block header truncated") }
        let len = Int(input[pos]) | Int(input[pos + 1]) << 8
        let nlen = Int(input[pos + 2]) | Int(input[pos + 3]) << 8
        guard len == (~nlen & 0xFFFF) else { throw PNGError("stored block length check failed") }
        pos += 4
        guard pos + len <= input.count else { throw PNGError("stored block truncated") }
        out.append(contentsOf: input[pos..<(pos + len)])
        pos += len
    }

    /// A canonical Huffman code as a direct lookup table indexed by the next `maxBits` input bits
    /// (LSB first); each entry packs symbol << 4 | code length.
    struct Table {
        var entries: [Int32]
        var maxBits: Int

        init(lengths: [Int]) throws {
            let maxBits = max(1, lengths.max() ?? 0)
            var count = [Int](repeating: 0, count: 16)
            for l in lengths where l > 0 { count[l] += 1 }
            var next = [Int](repeating: 0, count: 16)
            var code = 0
            for l in 1...15 {
                code = (code + count[l - 1]) << 1
                next[l] = code
            }
            var left = 1
            for l in 1...15 { left <<= 1; left -= count[l]; if left < 0 { throw PNGError("over-subscribed Huffman code") } }
            entries = [Int32](repeating: -1, count: 1 << maxBits)
            for (symbol, l) in lengths.enumerated() where l > 0 {
                var c = next[l]; next[l] += 1
                var reversed = 0
                for _ in 0..<l { reversed = reversed << 1 | (c & 1); c >>= 1 }
                var i = reversed
                while i < entries.count { entries[i] = Int32(symbol << 4 | l); i += 1 << l }
            }
            self.maxBits = maxBits
        }
    }

    private static let fixedLiteral = try! Table(lengths: (0..<288).map { $0 < 144 ? 8 : $0 < 256 ? 9 : $0 < 280 ? 7 : 8 })
    private static let fixedDistance = try! Table(lengths: [Int](repeating: 5, count: 30))

    private mutating func decode(_ t: Table) throws -> Int {
        // Fill what is available; near the end fewer than maxBits bits may remain.
        while bitCount < t.maxBits && pos < input.count {
            bitBuffer |= UInt64(input[pos]) << UInt64(bitCount)
            pos += 1
            bitCount += 8
        }
        let e = t.entries[Int(bitBuffer & ((1 << UInt64(t.maxBits)) - 1))]
        guard e >= 0 else { throw PNGError("invalid Huffman code") }
        let l = Int(e & 15)
        guard l <= bitCount else { throw PNGError("DEFLATE stream ends inside a code") }
        bitBuffer >>= UInt64(l)
        bitCount -= l
        return Int(e >> 4)
    }

    private mutating func dynamicTables() throws -> (Table, Table) {
        let hlit = try bits(5) + 257, hdist = try bits(5) + 1, hclen = try bits(4) + 4
        var clLengths = [Int](repeating: 0, count: 19)
        for k in 0..<hclen { clLengths[Inflater.codeLengthOrder[k]] = try bits(3) }
        let clTable = try Table(lengths: clLengths)
        var lengths: [Int] = []
        while lengths.count < hlit + hdist {
            let sym = try decode(clTable)
            switch sym {
            case 0...15: lengths.append(sym)
            case 16:
                guard let prev = lengths.last else { throw PNGError("repeat code with no previous length") }
                lengths += [Int](repeating: prev, count: 3 + (try bits(2)))
            case 17: lengths += [Int](repeating: 0, count: 3 + (try bits(3)))
            default: lengths += [Int](repeating: 0, count: 11 + (try bits(7)))
            }
        }
        guard lengths.count == hlit + hdist else { throw PNGError("code lengths overrun") }
        guard lengths[256] > 0 else { throw PNGError("no end-of-block code") }
        return (try Table(lengths: Array(lengths[0..<hlit])), try Table(lengths: Array(lengths[hlit...])))
    }

    private mutating func huffmanBlock(_ lit: Table, _ dist: Table) throws {
        while true {
            let sym = try decode(lit)
            if sym < 256 { out.append(UInt8(sym)); continue }
            if sym == 256 { return }
            let li = sym - 257
            guard li < 29 else { throw PNGError("invalid length symbol \(sym)") }
            let length = Inflater.lengthBase[li] + (try bits(Inflater.lengthExtra[li]))
            let di = try decode(dist)
            guard di < 30 else { throw PNGError("invalid distance symbol \(di)") }
            let distance = Inflater.distBase[di] + (try bits(Inflater.distExtra[di]))
            guard distance <= out.count else { throw PNGError("distance \(distance) before start of output") }
            // Byte by byte: overlapping copies (distance < length) repeat the recent bytes, and
            // appending a slice of `out` to itself would copy the whole buffer every time.
            let start = out.count - distance
            for k in 0..<length { out.append(out[start + k]) }
        }
    }
}
