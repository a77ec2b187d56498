import ClpFlowCore
import FlyingFox
import FlyingSocks
import Foundation

/// The HTTP side of `clp-flow serve` (FlyingFox): routes, body limits, JSON errors and the gate
/// that bounds how many generations run at once.
///
///   GET  /               the playground page (self-contained HTML)
///   GET  /v1/run         methods, rewards, limits and Pareto fronts of the run
///   POST /v1/generate    generations for one weighting
///   GET  /healthz        `{"ok": true}`
public struct PlaygroundHandler: HTTPHandler {
    let service: PlaygroundService
    let gate: GenerationGate
    let page: Data
    let log: @Sendable (String) -> Void

    public init(service: PlaygroundService, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.service = service
        self.gate = GenerationGate(limit: service.limits.maxConcurrent, maxQueued: service.limits.maxQueued)
        self.page = Data(PlaygroundPage.html.utf8)
        self.log = log
    }

    public func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        let route: [String: [HTTPMethod]] = ["/": [.GET, .HEAD], "/v1/run": [.GET], "/v1/generate": [.POST], "/healthz": [.GET]]
        guard let allowed = route[request.path] else {
            return Self.error(ServeError(404, "no such path \(request.path); try GET / (playground), GET /v1/run or POST /v1/generate"))
        }
        guard allowed.contains(request.method) else {
            var r = Self.error(ServeError(405, "\(request.method.rawValue) is not allowed on \(request.path); use \(allowed.map(\.rawValue).joined(separator: " or "))"))
            r.headers[HTTPHeader("Allow")] = allowed.map(\.rawValue).joined(separator: ", ")
            return r
        }
        switch request.path {
        case "/":
            return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/html; charset=utf-8",
                                                            HTTPHeader("Cache-Control"): "no-store"], body: page)
        case "/healthz":
            return Self.json(.object(["ok": .bool(true)]))
        case "/v1/run":
            return Self.json(service.describe())
        default:
            return await generate(request)
        }
    }

    func generate(_ request: HTTPRequest) async -> HTTPResponse {
        let limit = service.limits.maxBodyBytes
        do {
            if let n = request.bodySequence.count, n > limit {
                throw ServeError.badRequest("request body of \(n) bytes exceeds the limit of \(limit) bytes (--max-body-bytes)")
            }
            var body = Data()
            for try await chunk in request.bodySequence {
                body.append(chunk)
                if body.count > limit {
                    throw ServeError.badRequest("request body exceeds the limit of \(limit) bytes (--max-body-bytes)")
                }
            }
            let parsed = try service.parse(body)
            try await gate.enter()
            let started = Date()
            let result: ClpFlowCore.JSONValue
            do {
                result = try await Self.offExecutor { [service] in try service.generate(parsed) }
            } catch {
                await gate.leave()
                throw error
            }
            await gate.leave()
            log("generate \(parsed.method) w=\(parsed.weights.map { ClpFlowCore.JSONValue.formatNumber($0) }.joined(separator: ",")) samples=\(parsed.samples) in \(String(format: "%.0f", Date().timeIntervalSince(started) * 1000)) ms")
            return Self.json(result)
        } catch let e as ServeError {
            return Self.error(e)
        } catch {
            log("generate failed: \(error)")
            return Self.error(ServeError(500, "generation failed: \(error)"))
        }
    }

    /// Runs blocking work on a Dispatch thread so the server's executor keeps accepting connections.
    static func offExecutor<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { cont in
            DispatchQueue.global(qos: .userInitiated).async {
                do { cont.resume(returning: try body()) } catch { cont.resume(throwing: error) }
            }
        }
    }

    static func json(_ v: ClpFlowCore.JSONValue, status: Int = 200) -> HTTPResponse {
        HTTPResponse(statusCode: HTTPStatusCode(status, phrase: phrase(status)),
                     headers: [.contentType: "application/json; charset=utf-8", HTTPHeader("Cache-Control"): "no-store"],
                     body: Data(v.canonical.utf8))
    }

    static func error(_ e: ServeError) -> HTTPResponse {
        json(.object(["error": .string(e.message), "status": .number(Double(e.status))]), status: e.status)
    }

    static func phrase(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 400: return "Bad Request"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 503: return "Service Unavailable"
        default: return "Internal Server Error"
        }
    }
}

/// At most `limit` generations at once; up to `maxQueued` more wait in arrival order, the rest are
/// refused with 503.
actor GenerationGate {
    let limit: Int
    let maxQueued: Int
    var running = 0
    var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int, maxQueued: Int) { self.limit = max(1, limit); self.maxQueued = max(0, maxQueued) }

    func enter() async throws {
        if running < limit { running += 1; return }
        guard waiting.count < maxQueued else {
            throw ServeError(503, "the server is busy: \(running) generations running and \(waiting.count) waiting (--max-concurrent, --max-queued); retry later")
        }
        await withCheckedContinuation { waiting.append($0) }   // the slot is handed over by leave()
    }

    func leave() {
        if waiting.isEmpty { running -= 1 } else { waiting.removeFirst().resume() }
    }
}

/// Starts the server and calls `onListening` with the bound address once it accepts connections.
public enum PlaygroundServer {
    /// Addresses that only this machine can reach.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public static func run(service: PlaygroundService, host: String, port: UInt16, requestTimeout: Double,
                           log: @escaping @Sendable (String) -> Void,
                           onListening: @escaping @Sendable (String) -> Void) async throws {
        let address: any SocketAddress
        do {
            if host == "localhost" {
                address = try sockaddr_in.inet(ip4: "127.0.0.1", port: port)
            } else if host.contains(":") {
                address = try sockaddr_in6.inet6(ip6: host, port: port)
            } else {
                address = try sockaddr_in.inet(ip4: host, port: port)
            }
        } catch {
            throw ServeError(400, "--host \(host) is not an IPv4 or IPv6 address (or localhost)")
        }
        let server = HTTPServer(config: HTTPServer.Configuration(address: address, timeout: requestTimeout),
                                handler: PlaygroundHandler(service: service, log: log))
        let listening = Task {
            try await server.waitUntilListening()
            if let a = await server.listeningAddress {
                switch a {
                case .ip4(let ip, let p): onListening("http://\(ip):\(p)")
                case .ip6(let ip, let p): onListening("http://[\(ip)]:\(p)")
                default: onListening("\(a)")
                }
            }
        }
        defer { listening.cancel() }
        try await server.run()
    }
}
