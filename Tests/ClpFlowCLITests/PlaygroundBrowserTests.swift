import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Headless Chromium driven over the DevTools protocol (`--remote-debugging-pipe`: JSON messages
/// separated by NUL bytes on file descriptors 3 and 4): the playground loads from a running
/// `clp-flow serve`, renders generations, a real mouse click moves the weighting slider, and the
/// generations shown change.
@Suite(.serialized) struct PlaygroundBrowserTests {
    @Test func changingTheWeightingChangesTheRenderedGenerations() throws {
        let server = try ServerProcess(["--max-new-tokens", "24"])
        defer { server.stop() }
        let chrome = try DevToolsPipe()
        defer { chrome.close() }

        let target = try chrome.send("Target.createTarget", ["url": "about:blank"])
        let targetId = try #require(target["targetId"] as? String)
        let attached = try chrome.send("Target.attachToTarget", ["targetId": targetId, "flatten": true])
        let session = try #require(attached["sessionId"] as? String)
        _ = try chrome.send("Emulation.setDeviceMetricsOverride",
                            ["width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false], session: session)
        _ = try chrome.send("Page.navigate", ["url": server.base + "/"], session: session)

        func eval(_ js: String) throws -> Any? {
            let r = try chrome.send("Runtime.evaluate", ["expression": js, "returnByValue": true], session: session)
            if let ex = r["exceptionDetails"] { throw FixtureError("page exception: \(ex)") }
            return (r["result"] as? [String: Any])?["value"]
        }
        /// Waits for the generations of the current weighting and of both extremes to be rendered.
        func rendered(notWeights: String?) throws -> (weights: String, texts: String, marker: String) {
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                let v = try eval("""
                    (() => {
                      const c = document.getElementById('gen-current');
                      const ex = document.querySelectorAll('.gen-extreme[data-state=done]').length;
                      if (!c || c.dataset.state !== 'done' || ex !== 2) return null;
                      const m = document.getElementById('front-marker');
                      return [c.dataset.weights, [...c.querySelectorAll('.gen .text')].map(e => e.textContent).join('\\n'),
                              m ? m.dataset.weights : ''];
                    })()
                    """) as? [String]
                if let v, v.count == 3, v[0] != notWeights { return (v[0], v[1], v[2]) }
                // Before the page has loaded there is no status element yet.
                let err = try eval("(() => { const s = document.getElementById('status'); return s && s.className === 'error' ? s.textContent : ''; })()") as? String
                if let err, !err.isEmpty { throw FixtureError("the page shows an error: \(err)") }
                Thread.sleep(forTimeInterval: 0.2)
            }
            throw FixtureError("the playground did not render generations within 120 s")
        }

        let first = try rendered(notWeights: nil)
        #expect(first.weights == "0.50,0.50")
        #expect(first.marker == "0.50,0.50")
        #expect(!first.texts.isEmpty)
        let title = try eval("document.getElementById('runname').textContent") as? String
        #expect(title?.contains("serve-fixture") == true)

        // A real click near the right end of the two-reward slider.
        let rect = try #require(try eval("""
            (() => { const r = document.getElementById('w-slider').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()
            """) as? [Double])
        let x = rect[0] + rect[2] * 0.97, y = rect[1] + rect[3] / 2
        for type in ["mousePressed", "mouseReleased"] {
            _ = try chrome.send("Input.dispatchMouseEvent", ["type": type, "x": x, "y": y, "button": "left", "clickCount": 1],
                                session: session)
        }
        let second = try rendered(notWeights: first.weights)
        let w0 = Double(second.weights.split(separator: ",")[0]) ?? 0
        #expect(w0 > 0.9, "the click should move the weighting towards the first reward: \(second.weights)")
        #expect(second.marker == "1.00,0.00", "front marker at \(second.marker)")
        #expect(second.texts != first.texts, "the rendered generations did not change:\n\(first.texts)\n---\n\(second.texts)")

        let shot = try chrome.send("Page.captureScreenshot", ["format": "png"], session: session)
        let png = try #require(Data(base64Encoded: shot["data"] as? String ?? ""))
        #expect(png.count > 10_000 && png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        if let keep = ProcessInfo.processInfo.environment["CLP_FLOW_KEEP_SCREENSHOT"], !keep.isEmpty {
            try png.write(to: URL(fileURLWithPath: keep).appendingPathComponent("playground.png"))
        }
    }
}

/// Headless Chromium with the DevTools protocol on a pipe (no port, no WebSocket).
final class DevToolsPipe {
    let pid: pid_t
    let toChrome: Int32, fromChrome: Int32
    var buffer: [UInt8] = []
    var nextId = 1
    let profile: URL

    init() throws {
        let chromium = try Self.findChromium()
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("clp-chrome-\(UUID().uuidString)")
        var a: [Int32] = [0, 0], b: [Int32] = [0, 0]
        guard pipe(&a) == 0, pipe(&b) == 0 else { throw FixtureError("pipe() failed") }
        // Child ends moved above 9 so that dup2 onto 3 and 4 cannot clobber one another.
        let childRead = fcntl(a[0], F_DUPFD, 10), childWrite = fcntl(b[1], F_DUPFD, 10)
        Glibc.close(a[0]); Glibc.close(b[1])
        _ = fcntl(a[1], F_SETFD, FD_CLOEXEC); _ = fcntl(b[0], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, childRead, 3)
        posix_spawn_file_actions_adddup2(&actions, childWrite, 4)
        posix_spawn_file_actions_addclose(&actions, childRead)
        posix_spawn_file_actions_addclose(&actions, childWrite)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                    "--user-data-dir=\(profile.path)", "--no-first-run", "--disable-extensions",
                    "--disable-background-networking", "--disable-component-update", "--hide-scrollbars", "about:blank"]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, chromium, &actions, nil, &argv, environ)
        Glibc.close(childRead); Glibc.close(childWrite)
        guard rc == 0 else { throw FixtureError("could not start \(chromium): \(String(cString: strerror(rc)))") }
        pid = child
        toChrome = a[1]; fromChrome = b[0]
    }

    static func findChromium() throws -> String {
        let env = ProcessInfo.processInfo.environment
        if let p = env["CLP_FLOW_CHROMIUM"], !p.isEmpty { return p }
        for dir in (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            for name in ["chromium", "chromium-browser"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
                return "\(dir)/\(name)"
            }
        }
        throw FixtureError("Chromium not found: install it with `CLP_FLOW_EXTRA_APT=chromium bash scripts/setup.sh` or set CLP_FLOW_CHROMIUM")
    }

    /// Sends one command and returns its `result` (events that arrive meanwhile are skipped).
    func send(_ method: String, _ params: [String: Any], session: String? = nil, timeout: Double = 60) throws -> [String: Any] {
        let id = nextId
        nextId += 1
        var msg: [String: Any] = ["id": id, "method": method, "params": params]
        if let session { msg["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: msg))
        bytes.append(0)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { write(toChrome, $0.baseAddress, $0.count) }
            guard n > 0 else { throw FixtureError("writing to Chromium failed") }
            off += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let reply = try readMessage(deadline: deadline)
            guard reply["id"] as? Int == id else { continue }
            if let err = reply["error"] { throw FixtureError("\(method): \(err)") }
            return reply["result"] as? [String: Any] ?? [:]
        }
    }

    func readMessage(deadline: Date) throws -> [String: Any] {
        while true {
            if let z = buffer.firstIndex(of: 0) {
                let msg = Array(buffer[..<z])
                buffer.removeSubrange(...z)
                return (try JSONSerialization.jsonObject(with: Data(msg)) as? [String: Any]) ?? [:]
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw FixtureError("no answer from Chromium in time") }
            var p = pollfd(fd: fromChrome, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(min(left, 1) * 1000)) >= 0 else { throw FixtureError("poll failed") }
            if p.revents == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = read(fromChrome, &chunk, chunk.count)
            guard n > 0 else { throw FixtureError("Chromium closed the DevTools pipe") }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    func close() {
        _ = try? send("Browser.close", [:], timeout: 5)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(10)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline { kill(pid, SIGKILL); waitpid(pid, &status, 0); break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Glibc.close(toChrome); Glibc.close(fromChrome)
        try? FileManager.default.removeItem(at: profile)
    }
}
