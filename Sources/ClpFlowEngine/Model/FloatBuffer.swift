/// A fixed-size, zero-initialised, manually managed Float buffer (no bounds checks in hot loops).
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: Swift.max(count, 1))
        pointer.initialize(repeating: 0, count: Swift.max(count, 1))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { pointer.deallocate() }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    public var array: [Float] { Array(buffer) }

    public subscript(i: Int) -> Float {
        get { precondition(i >= 0 && i < count); return pointer[i] }
        set { precondition(i >= 0 && i < count); pointer[i] = newValue }
    }

    public func zero() { pointer.update(repeating: 0, count: count) }

    /// Copies `values` into elements offset ..< offset + values.count.
    public func copy(from values: [Float], at offset: Int = 0) {
        precondition(offset >= 0 && offset + values.count <= count)
        values.withUnsafeBufferPointer { (pointer + offset).update(from: $0.baseAddress!, count: values.count) }
    }

    /// The values of one slice.
    public func values(_ s: ParamSlice) -> [Float] {
        Array(UnsafeBufferPointer(start: pointer + s.offset, count: s.count))
    }
}
