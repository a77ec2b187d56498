import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A small real run (synthetic data, byte tokenizer, attention-CLP with Rewarded Soups, logit
/// mixing and prompt conditioning), trained once per test process by the `clp-flow` binary, and
/// helpers to run `clp-flow serve` on it and talk to it over HTTP.
enum ServeFixture {
    static let workflow = """
        name: serve-fixture
        seed: 5
        data: {source: synthetic, synthetic_examples: 300, valid: 16, test: 8, max_document_tokens: 32, max_summary_tokens: 8}
        model: {size: nano, context: 64, tokenizer: {kind: byte}}
        reference: {steps: 30, batch: 8}
        rewards:
          - {name: rouge, kind: rouge1}
          - {name: novel, kind: novelty, n: 1}
        conditioning: attn
        weights: {train: uniform, eval: {points_per_edge: 3}}
        stages: [{steps: 6, batch: 2, samples: 2, max_new_tokens: 8, learning_rate: 0.01}]
        baselines: [rewarded-soups, logit-mixing, prompt]
        evaluate: {prompts: 4, max_new_tokens: 6, sample_prompts: 1}
        """

    nonisolated(unsafe) private static var cached: URL?
    private static let lock = NSLock()

    /// The directory holding `wf.yaml` and the finished run `run/`.
    static func directory() throws -> URL {
        lock.lock(); defer { lock.unlock() }
        if let cached { return cached }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try workflow.write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)
        let r = try EndToEndTests.clpFlow(["run", "wf.yaml", "--run-dir", "run", "--max-parallel", "2", "--quiet"], cwd: dir)
        guard r.status == 0 else { throw FixtureError("clp-flow run failed (\(r.status)): \(r.err)") }
        cached = dir
        return dir
    }

    static var runDir: String { get throws { try directory().appendingPathComponent("run").path } }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A running `clp-flow serve` process; `stop()` ends it (SIGTERM, then SIGKILL).
final class ServerProcess: @unchecked Sendable {
    let process: Process
    let base: String
    let stderrPipe: Pipe

    init(_ extra: [String] = []) throws {
        let p = Process()
        p.executableURL = EndToEndTests.binary
        p.arguments = ["serve", "--run-dir", try ServeFixture.runDir, "--port", "0"] + extra
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        process = p
        stderrPipe = err
        // The first line on standard output is "listening on URL".
        var buffer = Data()
        let deadline = Date().addingTimeInterval(120)
        var url: String? = nil
        while url == nil && Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }   // end of file: the server exited
            buffer.append(chunk)
            let text = String(decoding: buffer, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) {
                url = String(line.dropFirst("listening on ".count))
            }
        }
        guard let url else {
            if p.isRunning { p.terminate() }
            p.waitUntilExit()
            let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw FixtureError("clp-flow serve did not start (status \(p.terminationStatus)): \(e)")
        }
        base = url
    }

    var port: Int { Int(base.split(separator: ":").last!)! }

    func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// Minimal HTTP client over URLSession.
enum HTTP {
    struct Response { var status: Int; var body: Data; var headers: [String: String]
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    static let session: URLSession = {
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = 300
        c.httpMaximumConnectionsPerHost = 32
        return URLSession(configuration: c)
    }()

    static func request(_ method: String, _ url: String, body: Data? = nil) async throws -> Response {
        var r = URLRequest(url: URL(string: url)!)
        r.httpMethod = method
        if let body { r.httpBody = body; r.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        return try await withCheckedThrowingContinuation { cont in
            session.dataTask(with: r) { data, response, error in
                if let error { cont.resume(throwing: error); return }
                let h = response as! HTTPURLResponse
                var headers: [String: String] = [:]
                for (k, v) in h.allHeaderFields { headers["\(k)".lowercased()] = "\(v)" }
                cont.resume(returning: Response(status: h.statusCode, body: data ?? Data(), headers: headers))
            }.resume()
        }
    }

    static func get(_ url: String) async throws -> Response { try await request("GET", url) }

    static func post(_ url: String, json: [String: Any]) async throws -> Response {
        try await request("POST", url, body: try JSONSerialization.data(withJSONObject: json))
    }
}
