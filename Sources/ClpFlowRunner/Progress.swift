import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How progress is shown on stderr.
public enum DisplayMode: String, Sendable, CaseIterable {
    /// `live` on a terminal, `plain` otherwise.
    case auto
    /// One line per running step redrawn in place, then a summary table.
    case live
    /// Timestamped lines.
    case plain
    /// Only errors and the summary.
    case quiet

    public func resolved(isTTY: Bool = isatty(STDERR_FILENO) != 0) -> DisplayMode {
        self == .auto ? (isTTY ? .live : .plain) : self
    }
}

/// What the live display knows about a running step.
public struct StepProgressState: Sendable, Equatable {
    public var id: String
    public var started: Date
    public var attempt: Int
    public var step: Int?
    public var total: Int?
    /// Latest value of each metric reported with progress.
    public var metrics: [String: Double]
    /// The step's reward names in workflow order (the order rewards are shown in).
    public var rewardOrder: [String]

    public init(id: String, started: Date, attempt: Int = 1, step: Int? = nil, total: Int? = nil, metrics: [String: Double] = [:],
                rewardOrder: [String] = []) {
        self.id = id; self.started = started; self.attempt = attempt; self.step = step; self.total = total; self.metrics = metrics
        self.rewardOrder = rewardOrder
    }
}

/// One row of the end-of-run table.
public struct SummaryRow: Sendable, Equatable {
    public var stepId: String
    public var status: StepStatus
    public var attempts: Int
    public var elapsed: Double?
    public var reason: String?

    public init(stepId: String, status: StepStatus, attempts: Int, elapsed: Double?, reason: String?) {
        self.stepId = stepId; self.status = status; self.attempts = attempts; self.elapsed = elapsed; self.reason = reason
    }
}

/// Pure rendering functions (tested with fixed inputs).
public enum ProgressRendering {
    public static let esc = "\u{1B}["

    /// `512 B`, `3.4 KB`, `12.0 MB`, `1.2 GB` (powers of 1000).
    public static func bytes(_ n: Int64) -> String {
        let x = Double(n)
        if x < 1000 { return "\(n) B" }
        if x < 1e6 { return String(format: "%.1f KB", x / 1e3) }
        if x < 1e9 { return String(format: "%.1f MB", x / 1e6) }
        return String(format: "%.1f GB", x / 1e9)
    }

    /// `12s`, `3m05s`, `1h02m`.
    public static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded()))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }

    /// A bar of `width` cells, e.g. `[######......]`.
    public static func bar(fraction: Double, width: Int) -> String {
        let f = min(1, max(0, fraction.isFinite ? fraction : 0))
        let filled = Int((f * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }

    /// Estimated seconds left, from the rate so far.
    public static func eta(elapsed: Double, step: Int, total: Int) -> Double? {
        guard step > 0, total > step, elapsed > 0 else { return total > 0 && step >= total ? 0 : nil }
        return elapsed / Double(step) * Double(total - step)
    }

    /// The metrics whose name starts with `reward` (the current mean rewards), formatted: the
    /// rewards named in `order` (the workflow's order) first, in that order, then any others by name.
    public static func rewards(_ metrics: [String: Double], order: [String] = [], maxItems: Int = 3) -> String {
        func rank(_ k: String) -> Int {
            let short = k.hasPrefix("reward/") ? String(k.dropFirst(7)) : k
            return order.firstIndex(of: short) ?? order.count
        }
        let keys = metrics.keys.filter { $0.hasPrefix("reward") }.sorted { (rank($0), $0) < (rank($1), $1) }
        let shown = keys.prefix(maxItems).map { k -> String in
            let short = k.hasPrefix("reward/") ? String(k.dropFirst(7)) : k
            return "\(short)=\(String(format: "%.3f", metrics[k]!))"
        }
        return shown.joined(separator: " ") + (keys.count > maxItems ? " …" : "")
    }

    static func fit(_ s: String, _ width: Int) -> String {
        guard width > 1, s.count > width else { return s }
        return String(s.prefix(width - 1)) + "…"
    }

    /// A step id shortened to `width` characters so that ablation cells stay apart: the key
    /// paths of its `[…]` part are shortened to their last segment
    /// (`train-clp[conditioning.mechanism=attn]` → `train-clp[mechanism=attn]`), then only the
    /// values are kept (`train-clp[attn]`), then the middle is cut.
    static func fitId(_ id: String, _ width: Int) -> String {
        guard width > 1, id.count > width else { return id }
        var candidate = id
        if let open = id.firstIndex(of: "["), id.hasSuffix("]") {
            let kind = id[..<open]
            let assignments = id[id.index(after: open)..<id.index(before: id.endIndex)].split(separator: ",")
            let short = assignments.map { a -> String in
                guard let eq = a.firstIndex(of: "=") else { return String(a) }
                return (a[..<eq].split(separator: ".").last.map(String.init) ?? "") + String(a[eq...])
            }
            candidate = kind + "[" + short.joined(separator: ",") + "]"
            if candidate.count <= width { return candidate }
            let values = assignments.map { a -> String in a.firstIndex(of: "=").map { String(a[a.index(after: $0)...]) } ?? String(a) }
            candidate = kind + "[" + values.joined(separator: ",") + "]"
            if candidate.count <= width { return candidate }
        }
        let room = width - 1
        var head = room / 3
        if let bracket = candidate.firstIndex(of: "[") {
            let kind = candidate.distance(from: candidate.startIndex, to: bracket) + 1
            if kind <= room / 2 { head = kind }
        }
        return String(candidate.prefix(head)) + "…" + String(candidate.suffix(room - head))
    }

    /// One line of the live display.
    public static func liveLine(_ p: StepProgressState, now: Date, width: Int = 100) -> String {
        let elapsed = now.timeIntervalSince(p.started)
        var parts: [String] = []
        let nameWidth = max(12, min(40, width / 3))
        let name = fitId(p.id, nameWidth)
        parts.append(name + String(repeating: " ", count: max(0, nameWidth - name.count)))
        if let step = p.step, let total = p.total, total > 0 {
            parts.append(bar(fraction: Double(step) / Double(total), width: 20))
            parts.append("\(step)/\(total)")
            parts.append(duration(elapsed))
            if let e = eta(elapsed: elapsed, step: step, total: total) { parts.append("ETA " + duration(e)) }
        } else {
            parts.append(bar(fraction: 0, width: 20))
            parts.append("starting")
            parts.append(duration(elapsed))
        }
        if p.attempt > 1 { parts.append("(attempt \(p.attempt))") }
        let r = rewards(p.metrics, order: p.rewardOrder)
        if !r.isEmpty { parts.append(r) }
        return fit(parts.joined(separator: " "), width)
    }

    /// The in-place redraw: moves up over the previous block, clears and writes the new lines.
    public static func redraw(previousLineCount: Int, lines: [String]) -> String {
        var out = ""
        if previousLineCount > 0 { out += "\(esc)\(previousLineCount)A" }
        for l in lines { out += "\r\(esc)2K" + l + "\n" }
        // Clear leftovers when the block shrank, then return to just below the new block.
        let extra = previousLineCount - lines.count
        if extra > 0 {
            for _ in 0..<extra { out += "\r\(esc)2K\n" }
            out += "\(esc)\(extra)A"
        }
        return out
    }

    /// Clears a live block (before printing a permanent line).
    public static func clear(previousLineCount: Int) -> String {
        guard previousLineCount > 0 else { return "" }
        var out = "\(esc)\(previousLineCount)A"
        for _ in 0..<previousLineCount { out += "\r\(esc)2K\n" }
        return out + "\(esc)\(previousLineCount)A"
    }

    /// A timestamped line for non-terminal output: `2026-11-29T02:30:00Z message`.
    public static func plainLine(_ message: String, at date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        return "\(f.string(from: date)) \(message)"
    }

    /// The end-of-run table, aligned, with a totals line.
    public static func summaryTable(_ rows: [SummaryRow], status: RunStatus) -> String {
        let header = ["STEP", "STATUS", "ATTEMPTS", "TIME", "NOTE"]
        let body = rows.map { r in
            [r.stepId, r.status.rawValue, r.attempts == 0 ? "-" : String(r.attempts),
             r.elapsed.map(duration) ?? "-", r.status == .done || r.status == .cached ? "" : (r.reason ?? "")]
        }
        var widths = header.map(\.count)
        for row in body { for (i, c) in row.enumerated() where i < 4 { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            var s = ""
            for (i, c) in cells.enumerated() {
                s += i < 4 ? c + String(repeating: " ", count: widths[i] - c.count + 2) : c
            }
            while s.hasSuffix(" ") { s.removeLast() }
            return s
        }
        var out = line(header) + "\n"
        for row in body { out += line(row) + "\n" }
        var counts: [StepStatus: Int] = [:]
        for r in rows { counts[r.status, default: 0] += 1 }
        let parts = StepStatus.allCases.compactMap { s in counts[s].map { "\($0) \(s.rawValue)" } }
        out += "run \(status.rawValue): " + parts.joined(separator: ", ") + "\n"
        return out
    }
}

/// Writes progress to stderr in the chosen mode. Live mode keeps one line per running step.
public final class ProgressDisplay {
    public let mode: DisplayMode
    private let write: (String) -> Void
    private var running: [String: StepProgressState] = [:]
    private var order: [String] = []
    private var drawnLines = 0
    private var lastDraw = Date.distantPast
    private var lastPlainProgress: [String: Date] = [:]
    public var width: Int

    public init(mode: DisplayMode, write: @escaping (String) -> Void) {
        self.mode = mode.resolved()
        self.write = write
        var ws = winsize()
        width = ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &ws) == 0 && ws.ws_col > 20 ? Int(ws.ws_col) : 100
    }

    private func permanent(_ text: String, now: Date = Date(), isError: Bool = false) {
        switch mode {
        case .quiet: if isError { write(text + "\n") }
        case .plain, .auto: write(ProgressRendering.plainLine(text, at: now) + "\n")
        case .live:
            write(ProgressRendering.clear(previousLineCount: drawnLines) + text + "\n")
            drawnLines = 0
            draw(now: now)
        }
    }

    public func note(_ text: String) { permanent(text) }

    public func runStarted(runId: Int64, workflow: String, total: Int, cached: Int) {
        permanent("run \(runId) of \(workflow): \(total) steps, \(cached) cached")
    }

    public func stepStarted(id: String, attempt: Int, jobId: String?, now: Date, rewardOrder: [String] = []) {
        running[id] = StepProgressState(id: id, started: now, attempt: attempt, rewardOrder: rewardOrder)
        if !order.contains(id) { order.append(id) }
        let job = jobId.map { " (slurm job \($0))" } ?? ""
        if mode == .plain { permanent("start \(id)" + (attempt > 1 ? " attempt \(attempt)" : "") + job, now: now) }
        else if mode == .live { draw(now: now) }
    }

    public func stepEvent(id: String, _ e: StepEvent, now: Date = Date()) {
        guard var p = running[id] else { return }
        switch e {
        case .progress(let step, let total, let metrics):
            p.step = step; p.total = total
            for (k, v) in metrics { p.metrics[k] = v }
            running[id] = p
            if mode == .plain, now.timeIntervalSince(lastPlainProgress[id] ?? .distantPast) >= 5 || step == total {
                lastPlainProgress[id] = now
                permanent(ProgressRendering.liveLine(p, now: now, width: 200), now: now)
            }
        case .metric: break
        case .message(let text): if mode != .quiet { permanent("\(id): \(text)", now: now) }
        }
    }

    public func stepFinished(id: String, status: StepStatus, reason: String?, logTail: [String], now: Date) {
        let started = running[id]?.started
        running[id] = nil
        order.removeAll { $0 == id }
        let took = started.map { " in " + ProgressRendering.duration(now.timeIntervalSince($0)) } ?? ""
        if status == .failed {
            var text = "error: step \(id) failed\(took): \(reason ?? "unknown error")"
            if !logTail.isEmpty { text += "\n  last lines of its log:\n" + logTail.map { "  | " + $0 }.joined(separator: "\n") }
            permanent(text, now: now, isError: true)
        } else if mode != .quiet {
            let note = status == .done ? "" : (reason.map { " (\($0))" } ?? "")
            permanent("\(status.rawValue) \(id)\(took)" + note, now: now)
        }
    }

    public func tick(now: Date) {
        guard mode == .live, now.timeIntervalSince(lastDraw) >= 0.2 else { return }
        draw(now: now)
    }

    private func draw(now: Date) {
        guard mode == .live else { return }
        lastDraw = now
        let lines = order.compactMap { running[$0] }.map { ProgressRendering.liveLine($0, now: now, width: width - 1) }
        write(ProgressRendering.redraw(previousLineCount: drawnLines, lines: lines))
        drawnLines = lines.count
    }

    public func finished(rows: [SummaryRow], status: RunStatus) {
        if mode == .live { write(ProgressRendering.clear(previousLineCount: drawnLines)); drawnLines = 0 }
        write(ProgressRendering.summaryTable(rows, status: status))
    }
}
