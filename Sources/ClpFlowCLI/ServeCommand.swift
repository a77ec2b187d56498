import ArgumentParser
import ClpFlowCore
import ClpFlowServe
import ClpFlowSteps
import Foundation

/// `clp-flow serve`: the steering playground and a JSON API over HTTP for a trained run.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a run's steerable policies over HTTP: a JSON API and a playground page.",
        discussion: """
            GET / is the playground (pick a weighting, see the generations next to those at the \
            extremes and where the weighting sits on the run's Pareto front); POST /v1/generate takes \
            {input, method, weights, kl, samples, temperature, max_new_tokens, seed, top_p, reference} \
            and returns each generation with every reward's score and its log-probability; GET /v1/run \
            describes the run. Binds to 127.0.0.1 unless --host says otherwise; the address is printed \
            on standard output once the server listens (--port 0 picks a free port). See docs/serve.md.
            """
    )

    @Option(name: .customLong("run-dir"), help: "A run directory whose training and evaluation have finished.")
    var runDir: String

    @Option(help: "Address to bind (default: loopback only). Use 0.0.0.0 or :: to listen on every interface.")
    var host: String = "127.0.0.1"

    @Option(help: "TCP port (0: any free port).")
    var port: Int = 8080

    @Option(name: .customLong("max-input-chars"), help: "Longest input (and reference) in characters.")
    var maxInputChars: Int = ServeLimits().maxInputCharacters

    @Option(name: .customLong("max-samples"), help: "Most samples per request.")
    var maxSamples: Int = ServeLimits().maxSamples

    @Option(name: .customLong("max-new-tokens"), help: "Most new tokens per sample.")
    var maxNewTokens: Int = ServeLimits().maxNewTokens

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body in bytes.")
    var maxBodyBytes: Int = ServeLimits().maxBodyBytes

    @Option(name: .customLong("max-concurrent"), help: "Generations running at once (others wait).")
    var maxConcurrent: Int = ServeLimits().maxConcurrent

    @Option(name: .customLong("max-queued"), help: "Requests waiting for a generation; beyond this the answer is 503.")
    var maxQueued: Int = ServeLimits().maxQueued

    @Option(name: .customLong("request-timeout"), help: "Seconds a request may take, waiting included.")
    var requestTimeout: Double = 300

    @Flag(help: "Log one line per generation on standard error.")
    var verbose = false

    func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        return ExitCode(ClpFlowExit.invalidInput)
    }

    func run() async throws {
        guard (0...65535).contains(port) else { throw fail("--port must be in 0...65535") }
        for (flag, v) in [("--max-input-chars", maxInputChars), ("--max-samples", maxSamples), ("--max-new-tokens", maxNewTokens),
                          ("--max-body-bytes", maxBodyBytes), ("--max-concurrent", maxConcurrent)] where v < 1 {
            throw fail("\(flag) must be at least 1")
        }
        guard maxQueued >= 0 else { throw fail("--max-queued must be at least 0") }
        guard requestTimeout > 0 else { throw fail("--request-timeout must be positive") }
        var limits = ServeLimits()
        limits.maxInputCharacters = maxInputChars
        limits.maxSamples = maxSamples
        limits.maxNewTokens = maxNewTokens
        limits.maxBodyBytes = maxBodyBytes
        limits.maxConcurrent = maxConcurrent
        limits.maxQueued = maxQueued
        let service: PlaygroundService
        do {
            service = try PlaygroundService(run: try TrainedRun(path: runDir), limits: limits)
        } catch let e as TrainedRunError {
            throw fail(e.description)
        }
        let err = FileHandle.standardError
        for s in service.skipped { err.write(Data("warning: method \(s.method) is not served: \(s.reason)\n".utf8)) }
        if !PlaygroundServer.isLoopback(host) {
            err.write(Data("warning: --host \(host) is reachable from other machines; the API has no authentication\n".utf8))
        }
        let verbose = self.verbose
        do {
            try await PlaygroundServer.run(
                service: service, host: host, port: UInt16(port), requestTimeout: requestTimeout,
                log: { line in if verbose { FileHandle.standardError.write(Data("\(line)\n".utf8)) } },
                onListening: { url in
                    // Tests and scripts read this line to find the port.
                    FileHandle.standardOutput.write(Data("listening on \(url)\n".utf8))
                    FileHandle.standardError.write(Data("serving \(service.methodOrder.joined(separator: ", ")) of \(service.run.root.path); playground at \(url)/\n".utf8))
                })
        } catch let e as ServeError {
            throw fail(e.message)
        } catch {
            throw fail("cannot serve on \(host):\(port): \(error)")
        }
    }
}
