import ClpFlowCLI

await ClpFlowCommand.main()
