// ClpFlowWorkflow: see the files of this folder.
