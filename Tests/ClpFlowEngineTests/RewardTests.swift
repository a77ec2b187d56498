import Foundation
import Testing
@testable import ClpFlowEngine

func input(response: String, document: String = "", reference: String = "") -> RewardInput {
    RewardInput(prompt: document + "<|summary|>", document: document, response: response, reference: reference)
}

func approx(_ a: Double, _ b: Double, _ tol: Double = 1e-9) -> Bool { abs(a - b) <= tol }

@Test func wordTokenisation() {
    #expect(Words.words("Don't STOP: GPT-2 café, e\u{301}cole; 日本語") == ["don", "t", "stop", "gpt", "2", "café", "école", "日本語"])
    #expect(Words.words("  ...  ") == [])
    #expect(Words.contentWords("The cat is on the mat") == ["cat", "mat"])
    #expect(Words.ngrams(["a", "b", "c"], 2) == [["a", "b"], ["b", "c"]])
    #expect(Words.ngrams(["a"], 2) == [])
}

@Test func rougeHandComputed() throws {
    let ref = "The cat sat on the mat."
    let r1 = try RougeReward(name: "r1", variant: .n(1)), r2 = try RougeReward(name: "r2", variant: .n(2))
    let rl = try RougeReward(name: "rl", variant: .l)
    let batch = [input(response: "the cat lay on the mat", reference: ref)]
    // Unigram matches: the×2, cat, on, mat = 5 of 6 on both sides.
    #expect(approx(try r1.score(batch)[0], 5.0 / 6.0))
    // Bigrams: the cat, on the, the mat match; 3 of 5 on both sides.
    #expect(approx(try r2.score(batch)[0], 3.0 / 5.0))
    // LCS: the cat on the mat = 5.
    #expect(approx(try rl.score(batch)[0], 5.0 / 6.0))
    // Clipping: "the" ×4 against one "the": P = 1/4, R = 1/2, F = 1/3.
    #expect(approx(try r1.score([input(response: "the the the the", reference: "the cat")])[0], 1.0 / 3.0))
    // Different lengths: response "cat mat" vs reference: P = 1, R = 2/6, F = 0.5.
    #expect(approx(try r1.score([input(response: "cat mat", reference: ref)])[0], 0.5))
    // LCS is order sensitive: "mat cat" has LCS 1 → P = 1/2, R = 1/6, F = 0.25.
    #expect(approx(try rl.score([input(response: "mat cat", reference: ref)])[0], 0.25))
    #expect(try r1.score([input(response: "", reference: ref)]) == [0])
    #expect(try r2.score([input(response: "cat", reference: ref)]) == [0])
    #expect(RougeReward.lcs(["a", "b", "c", "b", "d", "a", "b"], ["b", "d", "c", "a", "b", "a"]) == 4)
}

@Test func faithfulnessHandComputed() throws {
    let f = FaithfulnessReward()
    let doc = "The cat sat on the mat."
    // Content words of the response: dog, sat, mat; sat and mat are in the document.
    #expect(approx(try f.score([input(response: "The dog sat on the mat", document: doc)])[0], 2.0 / 3.0))
    #expect(try f.score([input(response: "the of and", document: doc)]) == [0])
    #expect(try f.score([input(response: "Cat! MAT?", document: doc)]) == [1])
}

let ln2 = 0.6931471805599453

@Test func coverageHandComputed() throws {
    let c = CoverageReward(idfCorpus: ["cat dog", "cat fish", "the cat bird"])
    // N = 3: idf(cat) = ln(4/4) + 1 = 1, idf(dog) = ln(4/2) + 1; unseen words ln(4) + 1.
    #expect(approx(c.idf("cat"), 1))
    #expect(approx(c.idf("dog"), ln2 + 1))
    #expect(approx(c.idf("zebra"), (2 * ln2) + 1))
    let doc = "cat dog dog"
    let dogWeight = 2 * (ln2 + 1)
    #expect(approx(try c.score([input(response: "a dog", document: doc)])[0], dogWeight / (1 + dogWeight)))
    #expect(approx(try c.score([input(response: "cat", document: doc)])[0], 1 / (1 + dogWeight)))
    #expect(try c.score([input(response: "cat dog", document: doc)]) == [1])
    #expect(try c.score([input(response: "cat", document: "the of")]) == [0])
}

@Test func lengthHandComputed() throws {
    let lin = try LengthReward(target: 10, tolerance: 2)
    #expect(lin.value(words: 10) == 1 && lin.value(words: 8) == 1 && lin.value(words: 12) == 1)
    #expect(approx(lin.value(words: 15), 0.7))   // d = 3, scale 10
    #expect(approx(lin.value(words: 5), 0.7))    // d = 3
    #expect(lin.value(words: 30) == 0)
    let ex = try LengthReward(target: 10, tolerance: 2, decay: .exponential, scale: 4)
    #expect(approx(ex.value(words: 16), exp(-1)))
    #expect(try lin.score([input(response: "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen")]).map { ($0 * 1e9).rounded() } == [7e8])
    #expect(throws: RewardError.self) { try LengthReward(target: -1) }
}

@Test func noveltyAndRepetitionHandComputed() throws {
    let nov = try NoveltyReward(n: 2)
    // Response bigrams: a b, b x, x c, c d; b x and x c are not in the document.
    #expect(approx(try nov.score([input(response: "a b x c d", document: "A b c d")])[0], 0.5))
    #expect(try nov.score([input(response: "a", document: "a b")]) == [0])
    let nov1 = try NoveltyReward(n: 1)
    #expect(approx(try nov1.score([input(response: "a z z", document: "a b")])[0], 2.0 / 3.0))
    let rep = try RepetitionReward(n: 2)
    // a b a b a b: 5 bigrams, 2 distinct, 3 repeated → share 0.6.
    #expect(approx(try rep.score([input(response: "a b a b a b")])[0], 0.4))
    #expect(try rep.score([input(response: "a b c d")]) == [1])
    #expect(try rep.score([input(response: "")]) == [1])
    let pen = try RepetitionReward(n: 1, mode: .negative)
    #expect(approx(try pen.score([input(response: "x x x y")])[0], -0.5))
}

@Test func normalizerFreezesStatistics() throws {
    let z = try RewardNormalizer.fit(kind: .zscore, scores: [1, 2, 3, 4])
    #expect(approx(z.mean, 2.5) && approx(z.std, (1.25).squareRoot()))
    #expect(approx(z.apply(4), 1.5 / (1.25).squareRoot()))
    let constant = try RewardNormalizer.fit(kind: .zscore, scores: [3, 3, 3])
    #expect(constant.std == 1 && constant.apply(5) == 2)
    #expect(try RewardNormalizer.fit(kind: .none, scores: []).apply([1, -2]) == [1, -2])
    #expect(throws: RewardError.emptySample(reward: "reward")) { try RewardNormalizer.fit(kind: .zscore, scores: []) }
    let data = try JSONEncoder().encode(z)
    #expect(try JSONDecoder().decode(RewardNormalizer.self, from: data) == z)
}

@Test func factoryBuildsEveryKind() throws {
    for kind in RewardFactory.kinds {
        let r = try RewardFactory.make(kind: kind, name: "x-\(kind)", target: 8, command: ["/bin/cat"])
        #expect(r.name == "x-\(kind)")
    }
    #expect(throws: RewardError.self) { try RewardFactory.make(kind: "bleu", name: "b") }
    #expect(throws: RewardError.self) { try RewardFactory.make(kind: "length", name: "l") }
}

// MARK: external command rewards

let exampleReward = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("examples/custom-reward/reward.py").path

func script(_ dir: URL, _ name: String, _ body: String) throws -> String {
    let url = dir.appendingPathComponent(name)
    try body.write(to: url, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
    return url.path
}

@Test func exampleReadabilityReward() throws {
    let r = try CommandReward(name: "readability", argv: ["python3", exampleReward], timeout: 30)
    let scores = try r.score([
        input(response: "Reading plain words helps."),
        input(response: "Documentation helps people."),
        input(response: ""),
        input(response: "Simple tools work well. Complex ones break.", document: "line\nbreaks \"and\" quotes"),
    ])
    // 4 words, 1 sentence, 5 syllables: 206.835 − 1.015·4 − 84.6·1.25 = 97.025.
    #expect(approx(scores[0], 0.97025, 1e-6))
    // 3 words, 8 syllables: reading ease below 0, clipped.
    #expect(scores[1] == 0)
    #expect(scores[2] == 0)
    // 7 words, 2 sentences, 10 syllables: 206.835 − 1.015·3.5 − 84.6·10/7 = 82.4253…
    #expect(approx(scores[3], 0.824254, 1e-6))
}

@Test func commandRewardErrors() throws {
    let dir = try temporaryDirectory("rewards")
    defer { try? FileManager.default.removeItem(at: dir) }
    let batch = [input(response: "a"), input(response: "b"), input(response: "c")]

    let fails = try script(dir, "fails.sh", "#!/bin/sh\ncat > /dev/null\necho 'first line' >&2\necho 'model file missing' >&2\nexit 3\n")
    do { _ = try CommandReward(name: "f", argv: [fails]).score(batch); Issue.record("expected failure") } catch let e as RewardError {
        guard case .exitStatus(_, 3, let tail) = e else { Issue.record("wrong error \(e)"); return }
        #expect(tail.contains("model file missing"))
    }

    let nan = try script(dir, "nan.sh", "#!/bin/sh\ncat > /dev/null\nprintf '0.5\\nabc\\n1\\n'\n")
    #expect(throws: RewardError.notANumber(reward: "n", line: 2, text: "abc")) { try CommandReward(name: "n", argv: [nan]).score(batch) }

    let short = try script(dir, "short.sh", "#!/bin/sh\ncat > /dev/null\necho 1\necho 2\n")
    #expect(throws: RewardError.wrongCount(reward: "s", expected: 3, got: 2)) { try CommandReward(name: "s", argv: [short]).score(batch) }

    let slow = try script(dir, "slow.sh", "#!/bin/sh\nexec sleep 30\n")
    let t0 = Date()
    #expect(throws: RewardError.timeout(reward: "t", seconds: 0.5)) { try CommandReward(name: "t", argv: [slow], timeout: 0.5).score(batch) }
    #expect(Date().timeIntervalSince(t0) < 5)

    #expect(throws: RewardError.self) { try CommandReward(name: "m", argv: [dir.appendingPathComponent("missing.sh").path]).score(batch) }
    do { _ = try CommandReward(name: "m", argv: ["clp-flow-no-such-program"]).score(batch) } catch {
        #expect("\(error)".contains("executable \"clp-flow-no-such-program\" not found"))
    }
    #expect(throws: RewardError.self) { try CommandReward(name: "e", argv: []) }

    // No shell: the argument reaches the program verbatim, so `;` and `$HOME` are not interpreted.
    #expect(throws: RewardError.notANumber(reward: "echo", line: 1, text: "$HOME; exit 0")) {
        try CommandReward(name: "echo", argv: ["echo", "$HOME; exit 0"]).score([input(response: "x")])
    }

    // A program that ignores its input and answers still works (its closed stdin is not fatal).
    let ignores = try script(dir, "ignores.sh", "#!/bin/sh\necho 1\necho 2\necho 3\n")
    let big = (0..<200).map { _ in input(response: String(repeating: "word ", count: 2000)) }
    #expect(throws: RewardError.wrongCount(reward: "i", expected: 200, got: 3)) { try CommandReward(name: "i", argv: [ignores]).score(big) }
    #expect(try CommandReward(name: "i", argv: [ignores]).score(batch) == [1, 2, 3])

    // Relative paths resolve against the working directory; stdin carries one JSON object per item.
    _ = try script(dir, "len.py", """
        #!/usr/bin/env python3
        import json, sys
        for line in sys.stdin:
            item = json.loads(line)
            print(len(item["response"]) + len(item["reference"]) + (1 if set(item) == {"prompt", "document", "response", "reference"} else 0))
        """)
    let rel = try CommandReward(name: "len", argv: ["./len.py"], workingDirectory: dir.path)
    #expect(try rel.score([input(response: "héllo\n", reference: "ab")]) == [9])
}
