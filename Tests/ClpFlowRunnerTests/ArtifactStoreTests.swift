import ClpFlowCore
@testable import ClpFlowRunner
import Foundation
import Testing

extension RunnerTests {
    @Suite struct ArtifactStoreTests {
        let temp = TemporaryDirectories()

        let key = String(repeating: "ab", count: 32)

        func makeWork(_ root: URL, files: [String: String]) throws -> URL {
            let work = root.appendingPathComponent("work/\(key).tmp-1-1", isDirectory: true)
            for (path, content) in files {
                let url = work.appendingPathComponent(path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(content.utf8).write(to: url)
            }
            return work
        }

        @Test func publishWritesManifestAndRenamesAtomically() throws {
            let root = try makeTempDir(temp)
            let work = try makeWork(root, files: ["a.txt": "hello", "sub/b.bin": "world!"])
            let store = ArtifactStore(root: root.appendingPathComponent("artifacts"))
            #expect(store.verify(cacheKey: key) == .missing)
            let manifest = try store.publish(workDir: work, cacheKey: key, stepId: "s[x=1]")
            #expect(!FileManager.default.fileExists(atPath: work.path), "work dir is renamed, not copied")
            #expect(manifest.files.map(\.path) == ["a.txt", "sub/b.bin"])
            #expect(manifest.files[0].size == 5)
            #expect(manifest.files[0].sha256 == Digest.sha256Hex("hello"))
            #expect(manifest.files[1].sha256 == Digest.sha256Hex("world!"))
            guard case .valid(let m) = store.verify(cacheKey: key) else { Issue.record("artifact should verify"); return }
            #expect(m == manifest)
            let text = try #require(readText(store.root.appendingPathComponent("\(key)/MANIFEST.json")))
            #expect(text.contains("\"step_id\": \"s[x=1]\""))
            #expect(text.contains("\"cache_key\": \"\(key)\""))
        }

        /// Manifests written by older versions (camelCase keys) still verify, and one naming another
        /// cache key in that spelling is still caught.
        @Test func camelCaseManifestStillVerifies() throws {
            let root = try makeTempDir(temp)
            let store = ArtifactStore(root: root.appendingPathComponent("artifacts"))
            let manifest = try store.publish(workDir: try makeWork(root, files: ["a.txt": "hello"]), cacheKey: key, stepId: "s")
            let url = store.root.appendingPathComponent("\(key)/MANIFEST.json")
            let new = try #require(readText(url))
            #expect(!(new.contains("cacheKey") || new.contains("stepId")), "\(new)")
            func oldStyle(_ cacheKey: String) -> String {
                #"{"cacheKey": "\#(cacheKey)", "files": [{"path": "a.txt", "sha256": "\#(Digest.sha256Hex("hello"))", "size": 5}], "format": 1, "stepId": "s"}"#
            }
            try Data(oldStyle(key).utf8).write(to: url)
            #expect(store.verify(cacheKey: key) == .valid(manifest))
            try Data(oldStyle(String(repeating: "cd", count: 32)).utf8).write(to: url)
            guard case .corrupt(let why) = store.verify(cacheKey: key) else { Issue.record("a manifest of another key must not verify"); return }
            #expect(why.contains("cache key"), "\(why)")
        }

        @Test func corruptionIsDetected() throws {
            let cases: [(String, (URL) throws -> Void)] = [
                ("altered byte", { try Data("hellp".utf8).write(to: $0.appendingPathComponent("a.txt")) }),
                ("truncated", { try Data("hel".utf8).write(to: $0.appendingPathComponent("a.txt")) }),
                ("missing file", { try FileManager.default.removeItem(at: $0.appendingPathComponent("sub/b.bin")) }),
                ("extra file", { try Data("x".utf8).write(to: $0.appendingPathComponent("extra")) }),
                ("no manifest", { try FileManager.default.removeItem(at: $0.appendingPathComponent("MANIFEST.json")) }),
                ("garbage manifest", { try Data("{".utf8).write(to: $0.appendingPathComponent("MANIFEST.json")) }),
            ]
            for (label, damage) in cases {
                let root = try makeTempDir(temp)
                let work = try makeWork(root, files: ["a.txt": "hello", "sub/b.bin": "world!"])
                let store = ArtifactStore(root: root.appendingPathComponent("artifacts"))
                try store.publish(workDir: work, cacheKey: key, stepId: "s")
                try damage(try store.url(for: key))
                guard case .corrupt(let why) = store.verify(cacheKey: key) else { Issue.record("\(label) not detected"); continue }
                #expect(!why.isEmpty)
                try store.remove(cacheKey: key)
                #expect(store.verify(cacheKey: key) == .missing)
            }
        }

        @Test func republishReplacesCorruptCopy() throws {
            let root = try makeTempDir(temp)
            let store = ArtifactStore(root: root.appendingPathComponent("artifacts"))
            try store.publish(workDir: try makeWork(root, files: ["a.txt": "one"]), cacheKey: key, stepId: "s")
            try Data("zzz".utf8).write(to: try store.url(for: key).appendingPathComponent("a.txt"))
            try store.publish(workDir: try makeWork(root, files: ["a.txt": "two"]), cacheKey: key, stepId: "s")
            #expect(store.verify(cacheKey: key).isValid)
            #expect(readText(try store.url(for: key).appendingPathComponent("a.txt")) == "two")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.root.path).filter { $0 != key }
            #expect(leftovers == [])
        }

        @Test func symlinkOutputsAreRefused() throws {
            let root = try makeTempDir(temp)
            let work = try makeWork(root, files: ["a.txt": "x"])
            try FileManager.default.createSymbolicLink(atPath: work.appendingPathComponent("link").path, withDestinationPath: "/etc/passwd")
            let store = ArtifactStore(root: root.appendingPathComponent("artifacts"))
            do {
                let e = try #require(throws: (any Error).self) { try store.publish(workDir: work, cacheKey: key, stepId: "s") }
                #expect("\(e)".contains("symbolic link"), "\(e)")
            }
            #expect(store.verify(cacheKey: key) == .missing)
        }

        @Test func streamingDigestMatchesSha256sumOnMultiChunkFile() throws {
            let root = try makeTempDir(temp)
            var rng = SeededRandom(seed: 7)
            let bytes = (0..<(ArtifactStore.chunkSize * 2 + 12345)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let url = root.appendingPathComponent("big.bin")
            try Data(bytes).write(to: url)
            let d = try ArtifactStore.digest(of: url)
            #expect(d.size == Int64(bytes.count))
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/sha256sum") {
                let (_, out) = try shell(["/usr/bin/sha256sum", url.path])
                #expect(d.sha256 == String(out.prefix(64)))
            } else {
                #expect(d.sha256 == Digest.sha256Hex(bytes))
            }
        }

        @Test func invalidCacheKeysNeverBecomePaths() throws {
            let store = ArtifactStore(root: URL(fileURLWithPath: "/tmp/none"))
            for bad in ["../x", "/etc", "ABC", "", "a/b", "0g"] {
                #expect(throws: (any Error).self, "\(bad)") { try store.url(for: bad) }
            }
        }
    }
}

extension RunnerTests {
    @Suite struct SafeNameTests {
        @Test func hostileIdsGiveSingleSafeComponents() {
            let ids = ["../../x", "/etc/passwd", "..", ".", "train-clp[conditioning=attn,model.size=micro]",
                       "a/b/../../c", "émoji 🚀 ∑", "\u{202E}rtl", "-rf", " ", "x\ny", String(repeating: "z", count: 500)]
            var names = Set<String>()
            for id in ids {
                let n = SafeName.fileName(for: id)
                #expect(!n.contains("/"), "\(n)")
                #expect(!n.hasPrefix("."), "\(n)")
                #expect(!n.hasPrefix("-"), "\(n)")
                #expect(n != "..")
                #expect(n.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }, "\(n)")
                #expect(n.count <= 100)
                names.insert(n)
            }
            #expect(names.count == ids.count, "distinct ids give distinct names")
            #expect(SafeName.fileName(for: "a[b]") != SafeName.fileName(for: "a_b_"))
            #expect(SafeName.fileName(for: "train-clp[conditioning=attn]").hasPrefix("train-clp_conditioning_attn-"))
        }

        @Test func logPathsStayInsideLogs() throws {
            let rd = RunDirectory(path: "/tmp/run")
            for id in ["../../x", "/abs/path", "a/../../b"] {
                let url = rd.logURL(stepId: id)
                #expect(url.deletingLastPathComponent().path == "/tmp/run/logs")
                #expect(url.standardizedFileURL.deletingLastPathComponent().path == "/tmp/run/logs")
            }
        }

        @Test func planValidationRejectsHostileKeysAndBadInputs() {
            func plan(_ steps: [PlannedStepSpec]) -> ClpFlowPlannerPlan { ClpFlowPlannerPlan(workflowName: "w", seed: 0, steps: steps.map(\.step)) }
            let ok = PlannedStepSpec(id: "a", key: "aa", inputs: [])
            #expect(throws: Never.self) { try plan([ok]).validateForExecution() }
            #expect(throws: (any Error).self) { try plan([PlannedStepSpec(id: "a", key: "../../x", inputs: [])]).validateForExecution() }
            #expect(throws: (any Error).self) { try plan([ok, PlannedStepSpec(id: "a", key: "bb", inputs: [])]).validateForExecution() }
            #expect(throws: (any Error).self) { try plan([PlannedStepSpec(id: "b", key: "bb", inputs: ["a"]), ok]).validateForExecution() }
        }
    }
}

extension RunnerTests {
    @Suite struct DigestFastPathTests {
        /// The raw-buffer update used for files gives the same digest as the byte-sequence update,
        /// whatever the chunk boundaries.
        @Test func rawBufferUpdateMatchesSequenceUpdate() {
            var rng = SeededRandom(seed: 3)
            let bytes = (0..<1000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            for n in [0, 1, 55, 56, 63, 64, 65, 127, 128, 1000] {
                let data = Array(bytes.prefix(n))
                for chunk in [1, 7, 64, 100, 1000] {
                    let h = SHA256Hasher()
                    var i = 0
                    while i < data.count {
                        let j = min(data.count, i + chunk)
                        data.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[i..<j])) }
                        i = j
                    }
                    #expect(h.finalize() == { let g = SHA256Hasher(); g.update(data); return g.finalize() }(), "n=\(n) chunk=\(chunk)")
                }
            }
            let h = SHA256Hasher()
            Array("abc".utf8).withUnsafeBytes { h.update($0) }
            #expect(h.finalize().map { String(format: "%02x", $0) }.joined() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        }
    }
}
