// ClpFlowReport: see the files of this folder.
