import CLibPNG

// Decodes browser screenshots with libpng's simplified reading API: 8-bit samples, greyscale or
// colour, with or without alpha, as the file has them.

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
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        let begun = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard begun != 0 else { throw PNGError("not a readable PNG: \(message(image))") }
        // Keep the file's colour and alpha; 8-bit samples, no colour map.
        image.format &= png_uint_32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
        let color = image.format & png_uint_32(PNG_FORMAT_FLAG_COLOR) != 0
        let alpha = image.format & png_uint_32(PNG_FORMAT_FLAG_ALPHA) != 0
        let channels = (color ? 3 : 1) + (alpha ? 1 : 0)
        let width = Int(image.width), height = Int(image.height)
        var samples = [UInt8](repeating: 0, count: width * height * channels)
        let done = samples.withUnsafeMutableBytes {
            png_image_finish_read(&image, nil, $0.baseAddress, png_int_32(width * channels), nil)
        }
        guard done != 0 else { throw PNGError("corrupt PNG: \(message(image))") }
        return PNGImage(width: width, height: height, channels: channels, samples: samples)
    }

    /// libpng's error or warning text of `image`.
    private static func message(_ image: png_image) -> String {
        withUnsafeBytes(of: image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
