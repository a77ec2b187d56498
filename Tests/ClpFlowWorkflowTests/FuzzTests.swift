import ClpFlowCore
import Foundation
import Testing
@testable import ClpFlowWorkflow

/// Seeded mutations of the valid fixtures: the loader never crashes; it either accepts the input
/// or reports at least one error at a real (1-based) position.
enum Mutator {
    static let punctuation: [[UInt8]] = [":", "-", "[", "]", "{", "}", "&a", "*a", "!", "!!str ", "|", ">", "'", "\"",
                                         "#", ",", "?", "%", "@", "`", "\t", "\n", "<<: ", "---\n", "${x}", ": ", "- ", "\u{0}"]
        .map { Array($0.utf8) }

    static func mutate(_ input: [UInt8], _ rng: inout SeededRandom) -> [UInt8] {
        var b = input
        let rounds = 1 + Int(rng.next() % 3)
        for _ in 0..<rounds {
            if b.isEmpty { b = Array("name: x\n".utf8) }
            let at = Int(rng.next() % UInt64(b.count))
            switch rng.next() % 6 {
            case 0: b[at] ^= UInt8(1 << (rng.next() % 8))  // bit flip
            case 1: b[at] = UInt8(truncatingIfNeeded: rng.next())  // random byte
            case 2: b = Array(b[..<at])  // truncation
            case 3: b.insert(contentsOf: punctuation[Int(rng.next() % UInt64(punctuation.count))], at: at)
            case 4:  // indentation change of a line: add or remove spaces at its start
                var start = at
                while start > 0, b[start - 1] != 10 { start -= 1 }
                if rng.next() % 2 == 0 { b.insert(contentsOf: [UInt8](repeating: 32, count: 1 + Int(rng.next() % 4)), at: start) }
                else { var n = 0; while start < b.count, b[start] == 32, n < 2 { b.remove(at: start); n += 1 } }
            default:  // delete a span
                let end = min(b.count, at + 1 + Int(rng.next() % 8))
                b.removeSubrange(at..<end)
            }
        }
        return b
    }
}

@Test func fuzzedFixturesNeverCrashTheLoader() throws {
    let files = Paths.files(Paths.fixtures + "/valid", ext: "yaml")
    let inputs = files.map { [UInt8](FileManager.default.contents(atPath: $0)!) }
    var rng = SeededRandom(seed: 20_261_129)
    let count = 6000
    var accepted = 0, rejected = 0
    for i in 0..<count {
        let which = i % files.count
        let mutated = Mutator.mutate(inputs[which], &rng)
        do {
            let loaded = try WorkflowLoader.load(bytes: mutated, file: files[which])
            #expect(!loaded.cells.isEmpty)
            accepted += 1
        } catch {
            rejected += 1
            #expect(!error.errors.isEmpty)
            for d in error.diagnostics {
                #expect(d.line >= 1 && d.column >= 1)
                #expect(!d.rendered.isEmpty)
            }
        }
    }
    #expect(accepted + rejected == count)
    #expect(rejected > count / 10, "mutations should break many inputs (accepted \(accepted), rejected \(rejected))")
    #expect(accepted > 0, "some mutations (e.g. in comments) keep the input valid")
}
