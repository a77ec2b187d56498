import ClpFlowCLI

// Calling `main()` from an async function makes overload resolution pick the async entry point of
// the AsyncParsableCommand root (top-level code picks the synchronous one, which refuses to run).
func clpFlowMain() async { await ClpFlowCommand.main() }
await clpFlowMain()
