// ClpFlowKernels: see the files of this folder.
