// ClpFlowEngine: see the files of this folder.
