// ClpFlowRunner: see the files of this folder.
