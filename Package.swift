// swift-tools-version: 6.0
import PackageDescription

// Kernels are compiled with optimization even in debug builds so that `swift test` stays fast.
// Dynamic exclusivity checks are off by default; CLP_FLOW_CHECKED=1 turns them on with the same
// optimization (what `make test` and CI build, so the whole suite runs with them), and
// CLP_FLOW_CHECKED=onone turns them on unoptimised (scripts/exclusivity-onone.sh).
let optimized: [SwiftSetting] = {
    switch Context.environment["CLP_FLOW_CHECKED"] {
    case "1": return [.unsafeFlags(["-O", "-enforce-exclusivity=checked"])]
    case "onone": return [.unsafeFlags(["-Onone", "-enforce-exclusivity=checked"])]
    default: return [.unsafeFlags(["-O", "-enforce-exclusivity=unchecked"])]
    }
}()

let package = Package(
    name: "clp-flow",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "clp-flow", targets: ["clp-flow"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        // HTTP server of `clp-flow serve` (no further dependencies; see docs/architecture.md).
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        // System libraries.
        .systemLibrary(name: "CLibYAML", pkgConfig: "yaml-0.1",
                       providers: [.apt(["libyaml-dev"]), .brew(["libyaml"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),
        // SHA-256 (OpenSSL's libcrypto; see docs/architecture.md, "Dependencies").
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]),
        // PNG decoding in the report tests (screenshots of the rendered report).
        .systemLibrary(name: "CLibPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"]), .brew(["libpng"])]),

        // Shared foundations: JSON values, canonical JSON, SHA-256, seeded random numbers, child
        // processes, PATH lookup, Pareto dominance, the executor kind.
        .target(name: "ClpFlowCore", dependencies: ["CLibCrypto"], swiftSettings: optimized),
        // Numeric kernels (elementwise ops, softmax, layer norm, GELU, Adam) and BLAS wrappers.
        .target(name: "ClpFlowKernels", dependencies: ["COpenBLAS", "ClpFlowSmallGemm"], swiftSettings: optimized),
        // Products with few rows (token-by-token decoding) without OpenBLAS's packing: C, optimised
        // in every build, with AVX2 + FMA code chosen at run time and a portable fallback.
        .target(name: "ClpFlowSmallGemm", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]),
        // The workflow language: YAML document tree, typed model, validation, templates, schema.
        .target(name: "ClpFlowWorkflow", dependencies: ["CLibYAML", "ClpFlowCore"]),
        // Planner: workflow -> DAG of steps with cache keys.
        .target(name: "ClpFlowPlanner", dependencies: ["ClpFlowWorkflow", "ClpFlowCore"]),
        // Engine: transformer, tokenizer, data, sampling, RL, CLP conditioning, rewards, evaluation.
        .target(name: "ClpFlowEngine", dependencies: ["ClpFlowKernels", "ClpFlowCore"],
                swiftSettings: optimized),
        // Report: self-contained HTML with Pareto fronts, steerability and curves.
        .target(name: "ClpFlowReport", dependencies: ["ClpFlowCore"]),
        // Runner: step execution (local / Slurm), artifact store, SQLite run store.
        .target(name: "ClpFlowRunner", dependencies: [
            "ClpFlowPlanner", "ClpFlowCore",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        // Steps: what each step kind does (prepare data, train tokenizer / reference / policies,
        // evaluate, ablate, report), run inside a `clp-flow step` process.
        .target(name: "ClpFlowSteps", dependencies: [
            "ClpFlowEngine", "ClpFlowKernels", "COpenBLAS", "ClpFlowWorkflow", "ClpFlowPlanner", "ClpFlowRunner",
            "ClpFlowReport", "ClpFlowCore",
        ]),
        // HTTP server of `clp-flow serve`: JSON API, playground page, per-request θ(w).
        .target(name: "ClpFlowServe", dependencies: [
            "ClpFlowSteps", "ClpFlowEngine", "ClpFlowKernels", "ClpFlowWorkflow", "ClpFlowCore",
            .product(name: "FlyingFox", package: "FlyingFox"),
        ]),
        // Command-line interface: one command per file.
        .target(name: "ClpFlowCLI", dependencies: [
            "ClpFlowWorkflow", "ClpFlowPlanner", "ClpFlowEngine", "ClpFlowRunner", "ClpFlowReport",
            "ClpFlowSteps", "ClpFlowServe", "ClpFlowCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "clp-flow", dependencies: ["ClpFlowCLI"]),
        // Runs plans of shell-script steps through the runner in a separate process, so tests can
        // kill it (-9, SIGTERM) and check that runs resume cleanly.
        .executableTarget(name: "clp-flow-runner-testhost", dependencies: ["ClpFlowRunner", "ClpFlowPlanner"]),
        // Planner benchmark (bench/planner/run.sh builds it in release mode).
        .executableTarget(name: "clp-flow-bench-planner",
                          dependencies: ["ClpFlowPlanner", "ClpFlowWorkflow", "ClpFlowCore"],
                          path: "bench/planner/Sources"),
        // Engine benchmarks (bench/run.sh builds them with -c release).
        .executableTarget(name: "clp-flow-bench", dependencies: ["ClpFlowEngine", "ClpFlowKernels", "ClpFlowCore"],
                          path: "bench/clp-flow-bench"),

        .testTarget(name: "ClpFlowCoreTests", dependencies: ["ClpFlowCore"]),
        .testTarget(name: "ClpFlowWorkflowTests", dependencies: ["ClpFlowWorkflow"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "ClpFlowPlannerTests", dependencies: ["ClpFlowPlanner", "ClpFlowWorkflow"],
                    exclude: ["Golden"]),
        .testTarget(name: "ClpFlowEngineTests", dependencies: ["ClpFlowEngine", "ClpFlowKernels"]),
        .testTarget(name: "ClpFlowRunnerTests", dependencies: ["ClpFlowRunner", "ClpFlowPlanner", "ClpFlowCore"]),
        .testTarget(name: "ClpFlowReportTests", dependencies: ["ClpFlowReport", "ClpFlowCore", "CLibPNG"]),
        .testTarget(name: "ClpFlowStepsTests", dependencies: ["ClpFlowSteps", "ClpFlowRunner", "ClpFlowPlanner", "ClpFlowEngine"]),
        .testTarget(name: "ClpFlowCLITests", dependencies: ["ClpFlowCLI"]),
    ]
)
