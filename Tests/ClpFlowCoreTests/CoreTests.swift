import Testing
@testable import ClpFlowCore

@Test func sha256KnownVectors() {
    #expect(Digest.sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(Digest.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(Digest.sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
        == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    // One million 'a' exercises many blocks.
    #expect(Digest.sha256Hex(String(repeating: "a", count: 1_000_000))
        == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
}

@Test func canonicalJSONSortsKeysAndFormatsNumbers() throws {
    let v: JSONValue = ["b": 1, "a": [1.5, "x\n\"y\"", true, nil], "c": ["z": 2, "y": 3.0]]
    #expect(v.canonical == #"{"a":[1.5,"x\n\"y\"",true,null],"b":1,"c":{"y":3,"z":2}}"#)
    let parsed = try JSONValue.parse(v.canonical)
    #expect(parsed == v)
    #expect(parsed.canonical == v.canonical)
}

@Test func seededRandomIsDeterministicAndStreamed() {
    var a = SeededRandom(seed: 42), b = SeededRandom(seed: 42), c = SeededRandom(seed: 43)
    let xa = (0..<5).map { _ in a.next() }, xb = (0..<5).map { _ in b.next() }, xc = (0..<5).map { _ in c.next() }
    #expect(xa == xb)
    #expect(xa != xc)
    var s1 = SeededRandom(seed: 1, stream: "train"), s2 = SeededRandom(seed: 1, stream: "eval")
    #expect(s1.next() != s2.next())
}

@Test func gammaMomentsMatch() {
    var r = SeededRandom(seed: 7)
    for shape in [0.3, 1.0, 3.0] {
        let n = 40_000
        var sum = 0.0, sumSq = 0.0
        for _ in 0..<n { let g = r.gamma(shape: shape); sum += g; sumSq += g * g }
        let mean = sum / Double(n), variance = sumSq / Double(n) - mean * mean
        // Gamma(k, 1): mean k, variance k.
        #expect(abs(mean - shape) < 0.05 * max(shape, 1))
        #expect(abs(variance - shape) < 0.1 * max(shape, 1))
    }
}
