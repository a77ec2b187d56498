import ClpFlowCLI

func entry() async { await ClpFlowCommand.main() }
await entry()
