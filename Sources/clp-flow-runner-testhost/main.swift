// Test host for the runner: executes a plan whose steps are shell scripts (`config.script`).
//
//   clp-flow-runner-testhost run --plan PLAN.json --run-dir DIR [--parallel N] [--keep-going]
//                                [--slurm] [--display auto|live|plain|quiet]
//   clp-flow-runner-testhost publish --run-dir DIR --step ID --work-dir W
//   clp-flow-runner-testhost digest --file F     (prints SHA-256, size and throughput)
import ClpFlowPlanner
import ClpFlowRunner
import Foundation

func fail(_ message: String, code: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data("clp-flow-runner-testhost: \(message)\n".utf8))
    exit(code)
}

var args = Array(CommandLine.arguments.dropFirst())
guard let mode = args.first else { fail("usage: run|publish ...") }
args.removeFirst()
var values: [String: String] = [:]
var flags = Set<String>()
var i = 0
while i < args.count {
    let a = args[i]
    if ["--keep-going", "--slurm"].contains(a) { flags.insert(a); i += 1; continue }
    guard a.hasPrefix("--"), i + 1 < args.count else { fail("unexpected argument '\(a)'") }
    values[a] = args[i + 1]
    i += 2
}
let selfURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL

do {
    switch mode {
    case "run":
        guard let planPath = values["--plan"], let runDir = values["--run-dir"] else { fail("run needs --plan and --run-dir") }
        guard let data = FileManager.default.contents(atPath: planPath) else { fail("cannot read \(planPath)") }
        let plan = try JSONDecoder().decode(Plan.self, from: data)
        var options = RunOptions(maxParallel: Int(values["--parallel"] ?? "1") ?? 1,
                                 keepGoing: flags.contains("--keep-going"),
                                 display: DisplayMode(rawValue: values["--display"] ?? "plain") ?? .plain)
        if flags.contains("--slurm") { options.executor = .slurm; options.slurm = SlurmOptions(pollInterval: 0.3) }
        let result = try Runner.run(plan: plan, runDir: URL(fileURLWithPath: runDir), options: options,
                                    launcher: ShellScriptLauncher(publisher: selfURL))
        exit(result.exitCode)
    case "publish":
        guard let runDir = values["--run-dir"], let step = values["--step"], let work = values["--work-dir"] else {
            fail("publish needs --run-dir, --step and --work-dir")
        }
        try ArtifactPublisher.publish(runDir: URL(fileURLWithPath: runDir), stepId: step, workDir: URL(fileURLWithPath: work))
    case "digest":
        guard let file = values["--file"] else { fail("digest needs --file") }
        let start = Date()
        let d = try ArtifactStore.digest(of: URL(fileURLWithPath: file))
        let seconds = Date().timeIntervalSince(start)
        print("\(d.sha256)  \(d.size) bytes  \(String(format: "%.2f", seconds)) s  \(String(format: "%.1f", Double(d.size) / 1e6 / seconds)) MB/s")
    default:
        fail("unknown mode '\(mode)'")
    }
} catch {
    fail("\(error)", code: 1)
}
