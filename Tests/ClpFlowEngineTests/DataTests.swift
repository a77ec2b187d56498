import Foundation
import Testing
import ClpFlowCore
@testable import ClpFlowEngine

func temporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("clpflow-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

let translationSample = """
    Package: alpha
    Description-md5: 11111111111111111111111111111111
    Description-en: Alpha   tool for  testing
     Alpha is a small tool. It   does
     several things.
     .
     Second paragraph\there.

    Package: beta
    Description-md5: 11111111111111111111111111111111
    Description-en: Alpha tool for testing
     Alpha is a small tool. It does
     several things.

    Package: gamma
    Description-md5: 33333333333333333333333333333333
    Description-en: Gamma library
     Gamma provides functions.

    Package: delta
    Description-md5: 44444444444444444444444444444444
    Description-en: Delta without long description

    Package: epsilon
    Description-md5: 55555555555555555555555555555555
    Description-en: Epsilon, same long text as gamma
     Gamma provides  functions.

    """

@Test func debianStanzasAreParsedNormalisedAndDeduplicated() {
    let second = """
        Package: gamma
        Description-md5: 66666666666666666666666666666666
        Description-en: Gamma library (updated)
         Gamma provides more functions.
        """
    let (examples, stats) = DebianDescriptions.build(from: [translationSample, second])
    #expect(stats.stanzas == 6)
    #expect(stats.uniqueDescriptions == 4)  // beta repeats alpha's md5; delta has no long description
    #expect(stats.uniqueDocuments == 3)     // epsilon's document equals gamma's
    #expect(examples == [
        SummaryExample(id: "alpha", document: "Alpha is a small tool. It does several things.\nSecond paragraph here.",
                       summary: "Alpha tool for testing"),
        SummaryExample(id: "gamma", document: "Gamma provides functions.", summary: "Gamma library"),
        SummaryExample(id: "gamma@66666666", document: "Gamma provides more functions.", summary: "Gamma library (updated)"),
    ])
}

@Test func debianMissingIndexNamesTheFetchCommand() throws {
    let dir = try temporaryDirectory("lists")
    defer { try? FileManager.default.removeItem(at: dir) }
    let source = DebianDescriptions(listsDirectory: dir.path)
    #expect(throws: DataError.debianIndexMissing(directory: dir.path)) { try source.indexFiles() }
    #expect(DataError.debianIndexMissing(directory: dir.path).description.contains("apt-get -o Acquire::Languages=en update"))
}

@Test func debianIndexIsReadThroughAptHelper() throws {
    // A plain (uncompressed) index in a temporary lists directory, read by apt-helper cat-file.
    let helper = "/usr/lib/apt/apt-helper"
    guard FileManager.default.isExecutableFile(atPath: helper) else { return }
    let dir = try temporaryDirectory("lists")
    defer { try? FileManager.default.removeItem(at: dir) }
    try translationSample.write(to: dir.appendingPathComponent("example.org_debian_dists_x_main_i18n_Translation-en"),
                                atomically: true, encoding: .utf8)
    let (examples, stats) = try DebianDescriptions(listsDirectory: dir.path).load()
    #expect(stats.files == 1)
    #expect(examples.map(\.id) == ["alpha", "gamma"])
}

@Test func jsonlSourceMapsFields() throws {
    let text = """
        {"text": "A long document.", "ref": "Short.", "key": 7}
        {"text": "Another document.", "ref": "Other.", "key": "b"}

        """
    let src = JSONLSource(path: "user.jsonl", documentField: "text", summaryField: "ref", idField: "key")
    #expect(try src.parse(text) == [
        SummaryExample(id: "7", document: "A long document.", summary: "Short."),
        SummaryExample(id: "b", document: "Another document.", summary: "Other."),
    ])
    let noId = JSONLSource(path: "user.jsonl", documentField: "text", summaryField: "ref")
    #expect(try noId.parse(text).map(\.id) == ["line-1", "line-2"])
}

@Test func jsonlSourceReportsEveryBadLine() throws {
    let text = """
        {"document": "ok", "summary": "fine", "id": "a"}
        {"document": "broken",
        [1, 2]
        {"summary": "no document", "id": "c"}
        {"document": 3, "summary": null, "id": "d"}
        {"document": "dup", "summary": "dup", "id": "a"}
        """
    let src = JSONLSource(path: "bad.jsonl", idField: "id")
    do {
        _ = try src.parse(text)
        Issue.record("expected an error")
    } catch let DataError.badLines(file, problems) {
        #expect(file == "bad.jsonl")
        #expect(problems.map(\.line) == [2, 3, 4, 5, 6])
        #expect(problems[0].message == "invalid JSON")
        #expect(problems[1].message == "expected a JSON object")
        #expect(problems[2].message == "missing field \"document\"")
        #expect(problems[3].message == "field \"document\" must be a string, got a number; field \"summary\" must be a string, got null")
        #expect(problems[4].message.contains("duplicate id \"a\" (first seen on line 1)"))
        #expect(DataError.badLines(file: file, problems: problems).description.contains("bad.jsonl:4: missing field"))
    }
}

@Test func syntheticTaskIsDeterministic() throws {
    let task = SyntheticTask(examples: 50, vocabularySize: 20, minWords: 5, maxWords: 9, rule: .firstWords(3))
    let a = try task.generate(seed: 1), b = try task.generate(seed: 1), c = try task.generate(seed: 2)
    #expect(a == b)
    #expect(a != c)
    #expect(task.vocabulary(seed: 1).count == 20)
    for e in a {
        let words = e.document.split(separator: " ").map(String.init)
        #expect((5...9).contains(words.count))
        #expect(e.summary == words.prefix(3).joined(separator: " "))
    }
    #expect(SyntheticTask.summarize(["b", "a", "c", "a", "c", "d"], rule: .mostFrequent(3)) == ["a", "c", "b"])
    #expect(SyntheticTask.summarize(["x"], rule: .firstWords(4)) == ["x"])
}

@Test func splitsAreDeterministicAndStable() throws {
    let examples = (0..<400).map { SummaryExample(id: "e\($0)", document: "doc \($0)", summary: "s") }
    let s1 = try DataSplitter.split(examples, sizes: .fractions(train: 0.8, valid: 0.1, test: 0.1), seed: 9)
    let s2 = try DataSplitter.split(examples.reversed(), sizes: .fractions(train: 0.8, valid: 0.1, test: 0.1), seed: 9)
    #expect(s1 == s2)
    #expect(s1.train.count + s1.valid.count + s1.test.count == 400)
    #expect((280...360).contains(s1.train.count))
    // An example's split does not depend on the others.
    let sub = try DataSplitter.split(Array(examples.prefix(200)), sizes: .fractions(train: 0.8, valid: 0.1, test: 0.1), seed: 9)
    #expect(Set(sub.valid.map(\.id)).isSubset(of: Set(s1.valid.map(\.id))))
    let other = try DataSplitter.split(examples, sizes: .fractions(train: 0.8, valid: 0.1, test: 0.1), seed: 10)
    #expect(other.valid != s1.valid)

    let counts = try DataSplitter.split(examples, sizes: .counts(train: nil, valid: 30, test: 20), seed: 9)
    #expect(counts.valid.count == 30 && counts.test.count == 20 && counts.train.count == 350)
    let ids = counts.train.map(\.id) + counts.valid.map(\.id) + counts.test.map(\.id)
    #expect(Set(ids).count == 400)
    let limited = try DataSplitter.split(examples, sizes: .counts(train: 10, valid: 5, test: 5), seed: 9, limit: 100)
    #expect(limited.train.count == 10)
    #expect(limited.valid == Array(DataSplitter.hashOrder(examples, seed: 9).prefix(5)))
    #expect(throws: DataError.self) { try DataSplitter.split(examples, sizes: .counts(train: nil, valid: 300, test: 100), seed: 9) }
    #expect(throws: DataError.self) { try DataSplitter.split(examples, sizes: .fractions(train: 0.9, valid: 0.2, test: 0), seed: 9) }
}

@Test func preparationFiltersSplitsAndSavesJSONL() throws {
    let prep = DataPreparation(source: .synthetic(SyntheticTask(examples: 120, minWords: 4, maxWords: 12)),
                               filter: LengthFilter(minDocumentChars: 20, maxDocumentChars: 60, minSummaryChars: 1, maxSummaryChars: 40),
                               sizes: .counts(train: nil, valid: 10, test: 10), seed: 3)
    let (splits, report) = try prep.run()
    #expect(report.loaded == 120)
    #expect(report.afterFilter < 120 && report.afterFilter == report.train + 20)
    for e in splits.train + splits.valid + splits.test { #expect((20...60).contains(e.document.count)) }
    let dir = try temporaryDirectory("splits")
    defer { try? FileManager.default.removeItem(at: dir) }
    var withUnicode = splits
    withUnicode.test[0].document = "Ünïcode \"quotes\"\nnew line\ttab 日本 \u{1}\u{1F} back\\slash \r 👩‍👩‍👧"
    let line = SummaryJSONL.encode([withUnicode.test[0]])
    let e = withUnicode.test[0]
    let canonical: JSONValue = ["id": .string(e.id), "document": .string(e.document), "summary": .string(e.summary)]
    #expect(line == canonical.canonical + "\n")
    try withUnicode.save(to: dir)
    #expect(try DatasetSplits.load(from: dir) == withUnicode)
    let firstLine = try String(contentsOf: dir.appendingPathComponent("valid.jsonl"), encoding: .utf8).split(separator: "\n")[0]
    #expect(firstLine.hasPrefix("{\"document\":"))
}
