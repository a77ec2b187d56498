import ClpFlowCore
import ClpFlowWorkflow
import Foundation
import Testing
@testable import ClpFlowPlanner

@Suite struct PlannerStructureTests {
    @Test func singleCellPlanHasEveryKindInDependencyOrder() {
        let plan = Fixtures.plan(Fixtures.twoRewards())
        #expect(plan.workflowName == "two-rewards")
        #expect(plan.ids(.prepareData) == ["prepare-data"])
        #expect(plan.ids(.trainTokenizer).isEmpty, "the byte tokenizer needs no training")
        #expect(plan.ids(.trainReference) == ["train-reference"])
        #expect(plan.ids(.trainSoft) == ["train-soft[reward=rougeL]", "train-soft[reward=length]"])
        #expect(plan.ids(.trainCLP) == ["train-clp", "train-clp[conditioning.mechanism=prompt]"])
        #expect(plan.ids(.evaluate) == ["evaluate[method=clp]", "evaluate[method=soft]",
                                        "evaluate[method=rewarded-soups]", "evaluate[method=logit-mixing]",
                                        "evaluate[method=prompt]"])
        #expect(plan.ids(.ablate).isEmpty)
        #expect(plan.ids(.report) == ["report"])
        var seen = Set<String>()
        for s in plan.steps {
            for i in s.inputs { #expect(seen.contains(i), "\(s.id) reads \(i) before it is planned") }
            #expect(seen.insert(s.id).inserted, "duplicate id \(s.id)")
        }
        #expect(Set(plan.steps.map(\.cacheKey)).count == plan.steps.count)
    }

    @Test func configsHoldOnlyTheirSections() {
        let plan = Fixtures.plan(Fixtures.twoRewards())
        func keys(_ id: String) -> [String] { plan[id: id]!.config.objectValue!.keys.sorted() }
        #expect(keys("prepare-data") == ["data", "seed"])
        #expect(keys("train-reference") == ["data", "model", "reference", "seed"])
        #expect(keys("train-soft[reward=length]") == ["data", "kl", "model", "rewards", "seed", "stage"])
        #expect(keys("train-clp") == ["conditioning", "data", "kl", "model", "rewards", "seed", "stage", "weights"])
        #expect(keys("evaluate[method=clp]")
            == ["conditioning", "data", "evaluate", "kl", "method", "rewards", "seed", "weights"])
        let clp = plan[id: "train-clp"]!.config
        #expect(clp["conditioning"] == ["mechanism": "attn", "attn_matrices": ["qkv", "proj"]])
        #expect(clp["weights"]?["eval"] == nil)
        #expect(plan[id: "evaluate[method=clp]"]!.config["weights"]?.objectValue?.keys.sorted() == ["eval"])
        #expect(plan[id: "evaluate[method=clp]"]!.config["evaluate"]?["seeds"] == nil)
        #expect(plan[id: "train-clp[conditioning.mechanism=prompt]"]!.config["conditioning"] == ["mechanism": "prompt"])
        let soft = plan[id: "train-soft[reward=length]"]!.config
        #expect(soft["rewards"]?.arrayValue?.count == 1)
        #expect(soft["rewards"]?.arrayValue?.first?["name"] == "length")
        #expect(plan[id: "train-reference"]!.config["reference"]?["steps"] == 100)
    }

    @Test func inputsWireTheBaselines() {
        let plan = Fixtures.plan(Fixtures.twoRewards())
        let softs = ["train-soft[reward=rougeL]", "train-soft[reward=length]"]
        #expect(plan[id: "train-reference"]!.inputs == ["prepare-data"])
        #expect(plan[id: "train-clp"]!.inputs == ["prepare-data", "train-reference"])
        for m in ["soft", "rewarded-soups", "logit-mixing"] {
            #expect(plan[id: "evaluate[method=\(m)]"]!.inputs == ["prepare-data", "train-reference"] + softs)
        }
        #expect(plan[id: "evaluate[method=prompt]"]!.inputs.last == "train-clp[conditioning.mechanism=prompt]")
        #expect(plan[id: "evaluate[method=clp]"]!.inputs.last == "train-clp")
        let report = plan[id: "report"]!
        #expect(report.inputs.count == 1 + 2 + 2 + 5)
    }

    @Test func softBudgetSplitsTheClpStepsAcrossRewards() {
        let plan = Fixtures.plan(Fixtures.twoRewards())
        // 101 CLP steps, 2 rewards: each SOFT policy trains ceil(101 / 2) = 51 steps.
        #expect(plan[id: "train-clp"]!.config["stage"]?["steps"] == 101)
        for id in plan.ids(.trainSoft) {
            #expect(plan[id: id]!.config["stage"]?["steps"] == 51)
            #expect(plan[id: id]!.config["stage"]?["batch"] == plan[id: "train-clp"]!.config["stage"]?["batch"])
            #expect(plan[id: id]!.config["kl"] == ["alpha": 0.05])
        }
        #expect(Planner.softSteps(stageSteps: 200, rewards: 3) == 67)
        #expect(Planner.softSteps(stageSteps: 200, rewards: 1) == 200)
    }

    @Test func multiKLDeraUsesOneSoftAtTheSmallestAlphaWithTheFullBudget() {
        let plan = Fixtures.plan(Fixtures.multiKL())
        let softs = plan.ids(.trainSoft)
        #expect(softs == ["train-soft[reward=judge,seed=0]/rl", "train-soft[reward=judge,seed=0]/rl-long",
                          "train-soft[reward=judge,seed=1]/rl", "train-soft[reward=judge,seed=1]/rl-long"])
        let first = plan[id: "train-soft[reward=judge,seed=0]/rl"]!
        #expect(first.config["kl"] == ["alpha": 0.01])
        #expect(first.config["stage"]?["steps"] == 200)
        #expect(plan[id: "train-soft[reward=judge,seed=0]/rl-long"]!.inputs.last == first.id)
        #expect(plan[id: "evaluate[method=dera,seed=1]"]!.inputs
            == ["prepare-data", "train-tokenizer", "train-reference", "train-soft[reward=judge,seed=1]/rl-long"])
    }

    @Test func stagesChainAndSeedsReplicateTraining() {
        let plan = Fixtures.plan(Fixtures.multiKL())
        #expect(plan.ids(.trainTokenizer) == ["train-tokenizer"])
        #expect(plan.ids(.trainReference) == ["train-reference"], "the reference is shared by the seeds")
        #expect(plan.ids(.trainCLP) == ["train-clp[seed=0]/rl", "train-clp[seed=0]/rl-long",
                                        "train-clp[seed=1]/rl", "train-clp[seed=1]/rl-long"])
        let s0 = plan[id: "train-clp[seed=0]/rl"]!, s1 = plan[id: "train-clp[seed=1]/rl"]!
        #expect(s0.config["seed"] == 3, "replica 0 keeps the workflow seed")
        #expect(s1.config["seed"] != s0.config["seed"])
        #expect(s1.config["seed"] == .number(Double(Planner.replicaSeed(workflowSeed: 3, replica: 1))))
        #expect(plan[id: "train-clp[seed=1]/rl-long"]!.inputs
            == ["prepare-data", "train-tokenizer", "train-reference", "train-clp[seed=1]/rl"])
        #expect(plan[id: "train-clp[seed=1]/rl-long"]!.config["stage"]?["name"] == "rl-long")
        #expect(plan.ids(.evaluate) == ["evaluate[method=clp,seed=0]", "evaluate[method=dera,seed=0]",
                                        "evaluate[method=clp,seed=1]", "evaluate[method=dera,seed=1]"])
        #expect(plan[id: "prepare-data"]!.config["seed"] == 3)
    }

    @Test func replicaSeedsAreDeterministicDistinctAndExact() {
        let seeds = (0..<50).map { Planner.replicaSeed(workflowSeed: 11, replica: $0) }
        #expect(seeds[0] == 11)
        #expect(Set(seeds).count == 50)
        #expect(seeds == (0..<50).map { Planner.replicaSeed(workflowSeed: 11, replica: $0) })
        #expect(seeds.allSatisfy { $0 < (1 << 53) })
    }

    @Test func resourcesComeFromTheExecutorAndGlobOverrides() {
        let plan = Fixtures.plan(Fixtures.multiKL())
        let prep = plan[id: "prepare-data"]!.resources
        #expect(prep == StepResources(cpus: 2, partition: "cpu"))
        let clp = plan[id: "train-clp[seed=1]/rl-long"]!.resources
        #expect(clp == StepResources(cpus: 8, timeMinutes: 120, partition: "cpu", checkpointEvery: 0, checkpointMinutes: 5))
        #expect(plan[id: "evaluate[method=clp,seed=0]"]!.resources.cpus == 2)
    }

    @Test func laterOverridesWinForTheFieldsTheySet() {
        var ex = ExecutorSpec()
        ex.resources.memoryMB = 1000; ex.resources.retries = 1
        var a = SlurmResources(); a.cpus = 4; a.memoryMB = 2000
        var b = SlurmResources(); b.memoryMB = 3000; b.account = "lab"
        ex.overrides = [StepOverride(match: "evaluate*", resources: a), StepOverride(match: "*method=dera*", resources: b)]
        #expect(StepResources.resolve(stepId: "evaluate[method=dera]", executor: ex)
            == StepResources(cpus: 4, memoryMB: 3000, account: "lab", retries: 1))
        #expect(StepResources.resolve(stepId: "evaluate[method=clp]", executor: ex)
            == StepResources(cpus: 4, memoryMB: 2000, retries: 1))
        #expect(StepResources.resolve(stepId: "report", executor: ex) == StepResources(memoryMB: 1000, retries: 1))
    }

    @Test func globMatchesStarAndQuestionMarkOnly() {
        #expect(Glob.matches("train-*", "train-clp[seed=0]/rl"))
        #expect(Glob.matches("*[method=dera*", "evaluate[method=dera,seed=1]"))
        #expect(Glob.matches("evaluate[method=cl?]", "evaluate[method=clp]"))
        #expect(!Glob.matches("evaluate[method=cl?]", "evaluate[method=clpp]"))
        #expect(!Glob.matches("train-*", "evaluate[method=clp]"))
        #expect(Glob.matches("*", ""))
        #expect(!Glob.matches("?", ""))
        #expect(Glob.matches("a*b*c", "a-x-b-y-c"))
        #expect(!Glob.matches("a*b*c", "a-x-c-y-b"))
    }

    @Test func planningIsDeterministic() {
        let (wf, cells) = Fixtures.withAblation(Fixtures.twoRewards(), mechanisms: [.attn, .logit], sizes: [.nano, .micro])
        #expect(Fixtures.plan(wf, cells: cells) == Fixtures.plan(wf, cells: cells))
    }
}

@Suite struct SharingTests {
    @Test func fourConditioningCellsShareOneReferenceAndTheSoftPolicies() {
        let (wf, cells) = Fixtures.withAblation(Fixtures.twoRewards(), mechanisms: [.full, .attn, .logit, .none])
        let plan = Fixtures.plan(wf, cells: cells)
        #expect(plan.ids(.prepareData) == ["prepare-data"])
        #expect(plan.ids(.trainReference) == ["train-reference"])
        #expect(plan.ids(.trainSoft) == ["train-soft[reward=rougeL]", "train-soft[reward=length]"])
        #expect(plan.ids(.trainCLP) == [
            "train-clp[conditioning.mechanism=full]", "train-clp[conditioning.mechanism=prompt]",
            "train-clp[conditioning.mechanism=attn]", "train-clp[conditioning.mechanism=logit]",
            "train-clp[conditioning.mechanism=none]",
        ])
        // Baselines do not depend on the cell's mechanism: one evaluation each, shared.
        #expect(plan.ids(.evaluate).filter { !$0.hasPrefix("evaluate[method=clp") } == [
            "evaluate[method=soft]", "evaluate[method=rewarded-soups]", "evaluate[method=logit-mixing]",
            "evaluate[method=prompt]",
        ])
        #expect(plan.ids(.evaluate).filter { $0.hasPrefix("evaluate[method=clp") }.count == 4)
        #expect(plan.ids(.ablate) == ["ablate"])
        #expect(plan[id: "ablate"]!.inputs.count == 8)
        let ablate = plan[id: "ablate"]!.config
        #expect(ablate["cells"]?.arrayValue?.count == 4)
        #expect(ablate["ablate"]?["matrix"]?.arrayValue?.first?["path"] == "conditioning.mechanism")
    }

    @Test func promptCellAndPromptBaselineAreOneStep() {
        let (wf, cells) = Fixtures.withAblation(Fixtures.twoRewards(), mechanisms: [.prompt, .attn])
        let plan = Fixtures.plan(wf, cells: cells)
        #expect(plan.ids(.trainCLP) == ["train-clp[conditioning.mechanism=prompt]", "train-clp[conditioning.mechanism=attn]"])
        #expect(plan[id: "evaluate[method=prompt]"]!.inputs.last == "train-clp[conditioning.mechanism=prompt]")
    }

    @Test func sizeAxisSplitsTheReferenceButNotAcrossMechanisms() {
        let (wf, cells) = Fixtures.withAblation(Fixtures.twoRewards(), mechanisms: [.attn, .logit], sizes: [.nano, .micro])
        let plan = Fixtures.plan(wf, cells: cells)
        #expect(plan.ids(.prepareData) == ["prepare-data"])
        #expect(plan.ids(.trainReference) == ["train-reference[model.size=nano]", "train-reference[model.size=micro]"])
        #expect(plan.ids(.trainSoft) == ["train-soft[reward=rougeL,model.size=nano]", "train-soft[reward=length,model.size=nano]",
                                         "train-soft[reward=rougeL,model.size=micro]", "train-soft[reward=length,model.size=micro]"])
        #expect(plan.ids(.trainCLP).contains("train-clp[conditioning.mechanism=logit,model.size=micro]"))
        #expect(plan.ids(.trainCLP).contains("train-clp[conditioning.mechanism=prompt,model.size=nano]"))
        #expect(plan[id: "evaluate[method=rewarded-soups,model.size=micro]"]!.inputs.contains("train-reference[model.size=micro]"))
        // Logit conditioning unties the head: a separate shape per size.
        #expect(plan.models?.map(\.name) == ["nano", "micro", "nano", "micro"])
        #expect(plan.models?.map(\.tiedHead) == [true, true, false, false])
        let nano = plan.models![0], nanoUntied = plan.models![2]
        #expect(nanoUntied.parameters - nano.parameters == nano.vocabulary * nano.dModel)
    }

    @Test func axesThatChangeNothingLeaveTheIdsAlone() {
        // Two cells whose assignments differ only in a value that maps to the same workflow.
        var base = Fixtures.twoRewards()
        base.baselines = []
        let cells = [
            PlannerCell(name: "a", assignments: [("description", .string("first"))], workflow: base),
            PlannerCell(name: "b", assignments: [("description", .string("second"))], workflow: base),
        ]
        let plan = Fixtures.plan(base, cells: cells)
        #expect(plan.ids(.trainCLP) == ["train-clp"])
        #expect(plan.ids(.evaluate) == ["evaluate[method=clp]"])
    }
}

@Suite struct FingerprintTests {
    @Test func dataFileContentsChangeTheDataStepAndEverythingDownstream() {
        let wf = Fixtures.multiKL()
        let a = Fixtures.plan(wf)
        var fs = Fixtures.files()
        fs.files["/project/workflows/data/pairs.jsonl"] = Array(#"{"document": "x y z", "summary": "x"}"#.utf8)
        let b = Fixtures.plan(wf, fs: fs)
        #expect(a[id: "prepare-data"]!.config["fingerprints"]?["data_file"]
            == .string(Digest.sha256Hex(#"{"document": "a b c", "summary": "a"}"# + "\n")))
        for s in a.steps { #expect(b[id: s.id]!.cacheKey != s.cacheKey, "\(s.id) must change with the data file") }
        #expect(b[id: "train-reference"]!.config == a[id: "train-reference"]!.config)
    }

    @Test func rewardScriptChangesOnlyTheStepsThatScoreWithIt() {
        let wf = Fixtures.multiKL()
        let a = Fixtures.plan(wf)
        var fs = Fixtures.files()
        fs.files["/project/workflows/scripts/judge.py"] = Array("import sys\nprint(2)\n".utf8)
        let b = Fixtures.plan(wf, fs: fs)
        for id in ["prepare-data", "train-tokenizer", "train-reference"] {
            #expect(a[id: id]!.cacheKey == b[id: id]!.cacheKey)
        }
        for s in a.steps where [.trainSoft, .trainCLP, .evaluate, .report].contains(s.kind) {
            #expect(b[id: s.id]!.cacheKey != s.cacheKey)
        }
        let fp = a[id: "train-clp[seed=0]/rl"]!.config["fingerprints"]?["reward_scripts"]?["judge"]
        #expect(fp?.objectValue?.keys.sorted() == ["scripts/judge.py"], "python3 and --fast are not files")

        // An absolute script path is fingerprinted too; an installed interpreter is not.
        var abs = wf
        abs.rewards[0].command = ["/usr/bin/python3", "/data/judge2.py"]
        var fs2 = Fixtures.files()
        fs2.files["/usr/bin/python3"] = [0x7f]
        fs2.files["/data/judge2.py"] = Array("print(3)".utf8)
        let c = Fixtures.plan(abs, fs: fs2)
        #expect(c[id: "train-clp[seed=0]/rl"]!.config["fingerprints"]?["reward_scripts"]?["judge"]
            == ["/data/judge2.py": .string(Digest.sha256Hex("print(3)"))])
    }

    @Test func initCheckpointAndAptIndexAreFingerprinted() {
        var wf = Fixtures.twoRewards()
        wf.model.initFrom = "ckpt"
        var fs = Fixtures.files()
        fs.files["/project/workflows/ckpt/config.json"] = Array(#"{"vocab_size": 300, "n_positions": 64, "n_layer": 1, "n_embd": 32, "n_head": 2}"#.utf8)
        fs.files["/project/workflows/ckpt/model.safetensors"] = [1, 2, 3]
        let a = Fixtures.plan(wf, fs: fs)
        #expect(a[id: "train-reference"]!.config["fingerprints"]?["init_checkpoint"]?.objectValue?.keys.sorted()
            == ["config.json", "model.safetensors"])
        #expect(a.models == [PlannedModel(name: "checkpoint", layers: 1, dModel: 32, heads: 2, context: 64, vocabulary: 300, tiedHead: true)])
        fs.files["/project/workflows/ckpt/model.safetensors"] = [1, 2, 4]
        let b = Fixtures.plan(wf, fs: fs)
        #expect(a[id: "prepare-data"]!.cacheKey == b[id: "prepare-data"]!.cacheKey)
        #expect(a[id: "train-reference"]!.cacheKey != b[id: "train-reference"]!.cacheKey)

        var deb = Fixtures.twoRewards()
        deb.data.source = .debianDescriptions
        let c = Fixtures.plan(deb)
        #expect(c[id: "prepare-data"]!.config["fingerprints"]?["apt_index"] == Fixtures.files().aptIndex)
        var fs2 = Fixtures.files()
        fs2.aptIndex = [["name": "deb_Translation-en.lz4", "size": 101, "mtime": 1_700_000_500]]
        #expect(Fixtures.plan(deb, fs: fs2)[id: "prepare-data"]!.cacheKey != c[id: "prepare-data"]!.cacheKey)
    }

    @Test func systemFileSystemHashesRealFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-planner-fs-\(getpid())")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = String(repeating: "abcdefghij", count: 5_000)  // spans several 4 KiB read chunks
        try big.write(to: dir.appendingPathComponent("sub/big.txt"), atomically: true, encoding: .utf8)
        try "x".write(to: dir.appendingPathComponent("a.txt"), atomically: true, encoding: .utf8)
        let fs = SystemFileSystem(aptListsDirectory: dir, chunkSize: 4096)
        #expect(fs.fileSHA256(dir.appendingPathComponent("sub/big.txt")) == Digest.sha256Hex(big))
        #expect(fs.fileSHA256(dir.appendingPathComponent("nope")) == nil)
        #expect(fs.fileSHA256(dir) == nil)
        #expect(fs.directoryFingerprint(dir) == ["a.txt": .string(Digest.sha256Hex("x")), "sub/big.txt": .string(Digest.sha256Hex(big))])
        #expect(fs.aptIndexFingerprint() == [])
        try "y".write(to: dir.appendingPathComponent("x_i18n_Translation-en.lz4"), atomically: true, encoding: .utf8)
        #expect(fs.aptIndexFingerprint() == [.string(Digest.sha256Hex("y"))])
    }
}

@Suite struct PretrainPlanningTests {
    static func withPretrain() -> Workflow {
        var wf = Fixtures.twoRewards()
        var p = PretrainSpec()
        p.steps = 50
        wf.pretrain = p
        return wf
    }

    @Test func pretrainSitsBetweenTheTokenizerAndTheReference() {
        let plan = Fixtures.plan(Self.withPretrain())
        #expect(plan.ids(.pretrain) == ["pretrain"])
        let pre = plan[id: "pretrain"]!
        #expect(pre.inputs == ["prepare-data"])
        #expect(pre.config.objectValue!.keys.sorted() == ["data", "model", "pretrain", "seed"])
        #expect(pre.config["pretrain"]?["checkpoint_every"] == nil, "the resume interval changes no output")
        #expect(pre.config["pretrain"]?["path"] == nil)
        #expect(plan[id: "train-reference"]!.inputs == ["prepare-data", "pretrain"])
        #expect(plan[id: "report"]!.inputs.contains("pretrain"))
        #expect(Fixtures.plan(Fixtures.twoRewards()).ids(.pretrain).isEmpty)
    }

    @Test func pretrainKeyChangesOnlyWithWhatChangesItsOutput() {
        let base = Self.withPretrain()
        let key = Fixtures.plan(base)[id: "pretrain"]!.cacheKey
        var resumeOften = base
        resumeOften.pretrain!.checkpointEvery = 7
        #expect(Fixtures.plan(resumeOften)[id: "pretrain"]!.cacheKey == key)
        var rlChanged = base
        rlChanged.kl.alpha = 0.3
        rlChanged.reference.steps = 7
        #expect(Fixtures.plan(rlChanged)[id: "pretrain"]!.cacheKey == key, "RL and fine-tuning settings do not retrain the base")
        var longer = base
        longer.pretrain!.steps = 51
        let changed = Fixtures.plan(longer)
        #expect(changed[id: "pretrain"]!.cacheKey != key)
        #expect(changed[id: "train-reference"]!.cacheKey != Fixtures.plan(base)[id: "train-reference"]!.cacheKey)
    }

    /// Resume intervals reach training steps through their resources, never their keys.
    @Test func resumeIntervalsAreResourcesNotKeys() throws {
        let base = Self.withPretrain()
        let plan = Fixtures.plan(base)
        var often = base
        often.pretrain!.checkpointEvery = 7
        often.reference.checkpointEvery = 9
        for i in often.stages.indices { often.stages[i].checkpointEvery = 3 }
        often.executor.resources.checkpointMinutes = 0.5
        let oftenPlan = Fixtures.plan(often)
        #expect(oftenPlan.steps.map(\.cacheKey) == plan.steps.map(\.cacheKey))
        #expect(oftenPlan.steps.map(\.config) == plan.steps.map(\.config))
        for step in oftenPlan.steps {
            switch step.kind {
            case .pretrain: #expect(step.resources.checkpointEvery == 7)
            case .trainReference: #expect(step.resources.checkpointEvery == 9)
            case .trainSoft, .trainCLP: #expect(step.resources.checkpointEvery == 3)
            default: #expect(step.resources.checkpointEvery == nil && step.resources.checkpointMinutes == nil, "\(step.id)")
            }
            if step.resources.checkpointEvery != nil { #expect(step.resources.checkpointMinutes == 0.5) }
        }
        #expect(plan.steps.filter { $0.resources.checkpointMinutes != nil }.allSatisfy { $0.resources.checkpointMinutes == 5 })
        #expect(plan[id: "train-reference"]!.config["reference"]?["checkpoint_every"] == nil)
        // They survive plan.json, which is how step processes receive them.
        let decoded = try JSONDecoder().decode(Plan.self, from: JSONEncoder().encode(oftenPlan))
        #expect(decoded.steps.map(\.resources) == oftenPlan.steps.map(\.resources))
    }

    @Test func cellsShareOnePretrainStep() {
        let (wf, cells) = Fixtures.withAblation(Self.withPretrain(), mechanisms: [.attn, .full, .logit])
        let plan = Fixtures.plan(wf, cells: cells)
        #expect(plan.ids(.pretrain) == ["pretrain"])
    }
}
