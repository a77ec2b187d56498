// libFuzzer harness for the workflow loader (built and run by scripts/fuzz.sh).
//
// Each input is loaded as the workflow file `$CLP_FLOW_FUZZ_DIR/valid/fuzz.yaml`, next to a copy
// of the test fixtures (so `extends: ../templates/base.yaml`, jsonl data paths and checkpoint
// paths resolve). The loader must never crash, hang or read without bound, and must either
// accept the input (at least one cell, a resolved form that encodes) or reject it with at least
// one error, every diagnostic at a real 1-based position. Any other outcome aborts, which
// libFuzzer reports with the input that caused it.
import ClpFlowWorkflow
import Foundation

nonisolated(unsafe) private var fuzzFile: String = {
    let dir = ProcessInfo.processInfo.environment["CLP_FLOW_FUZZ_DIR"] ?? FileManager.default.currentDirectoryPath
    return (dir as NSString).appendingPathComponent("valid/fuzz.yaml")
}()

private func check(_ ok: Bool, _ what: @autoclosure () -> String) {
    if !ok {
        FileHandle.standardError.write(Data("loader fuzz: \(what())\n".utf8))
        abort()
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func loaderFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        let loaded = try WorkflowLoader.load(bytes: bytes, file: fuzzFile)
        check(!loaded.cells.isEmpty, "an accepted workflow has no cells")
        check(!loaded.resolvedJSON.canonical.isEmpty, "an accepted workflow has no resolved form")
        for w in loaded.warnings { check(w.line >= 1 && w.column >= 1, "a warning without a position: \(w.rendered)") }
    } catch {
        check(!error.errors.isEmpty, "the input was rejected without an error")
        for d in error.diagnostics {
            check(d.line >= 1 && d.column >= 1, "a diagnostic without a position: \(d.rendered)")
            check(!d.rendered.isEmpty && !d.message.isEmpty, "an empty diagnostic at \(d.file):\(d.line)")
        }
    }
    return 0
}
