import Foundation

/// Conditioned-policy checkpoints: one safetensors file holding the network under its Hugging Face
/// names, the copies of the conditioned slices as `clp.copies` [copies, width] and the soft-token
/// vectors as `clp.soft_tokens` [copies, k, C]; the metadata holds the GPT config and the
/// conditioning (`clp_policy`: mechanism, reward names, multi-KL flag, attention matrices,
/// slices, and for the `interpolate` KL encoding `kl_encoding` and `alpha_min`; a checkpoint
/// without `kl_encoding` uses the `linear` encoding). `exportHuggingFace(at:to:)` writes a plain GPT-2 directory for one weighting.
public struct PolicyMetadata: Codable, Sendable, Hashable {
    public var mechanism: ConditioningKind
    public var rewardNames: [String]
    public var multiKL: Bool
    public var attnMatrices: [AttnMatrix]
    public var softTokens: Int
    public var slices: [ParamSlice]
    public var copies: Int
    /// `interpolate`, or nil for the `linear` encoding (written only when not linear, so that
    /// checkpoints of the linear encoding are unchanged).
    public var klEncoding: KLEncoding.Kind?
    /// α_min of the `interpolate` encoding.
    public var alphaMin: Double?

    enum CodingKeys: String, CodingKey {
        case mechanism, slices, copies
        case rewardNames = "reward_names", multiKL = "multi_kl", attnMatrices = "attn_matrices", softTokens = "soft_tokens"
        case klEncoding = "kl_encoding", alphaMin = "alpha_min"
    }

    /// The encoding these fields describe.
    public func encoding(source: String) throws -> KLEncoding {
        switch klEncoding ?? .linear {
        case .linear: return .linear
        case .interpolate:
            guard let a = alphaMin, a > 0, a.isFinite else {
                throw PolicyError.invalid("\(source): kl_encoding is interpolate but alpha_min is missing or not positive")
            }
            return .interpolate(alphaMin: a)
        }
    }
}

extension ConditionedPolicy {
    public static let fileName = "policy.safetensors"
    static let metadataKey = "clp_policy"

    public var metadata: PolicyMetadata {
        PolicyMetadata(mechanism: mechanism, rewardNames: rewardNames, multiKL: multiKL, attnMatrices: attnMatrices,
                       softTokens: softTokenCount, slices: copies?.slices ?? [], copies: copyCount,
                       klEncoding: klEncoding.kind == .linear ? nil : klEncoding.kind, alphaMin: klEncoding.alphaMin)
    }

    /// Writes `policy.safetensors` into `directory` (created if needed).
    public func save(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var tensors = model.namedTensors()
        if let copies {
            tensors.append(("clp.copies", SafeTensors.Tensor(shape: [copies.copyCount, copies.width], values: copies.copies)))
        }
        if softTokenCount > 0 {
            tensors.append(("clp.soft_tokens", SafeTensors.Tensor(shape: [copyCount, softTokenCount, model.config.dModel],
                                                                  values: softTokens)))
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        var meta: [String: String] = ["format": "pt"]
        meta[GPTModel.configKey] = try model.configJSON()
        meta[ConditionedPolicy.metadataKey] = String(decoding: try enc.encode(metadata), as: UTF8.self)
        try SafeTensors.write(tensors, metadata: meta, to: directory.appendingPathComponent(ConditionedPolicy.fileName))
    }

    /// Loads a policy written by `save(to:)`.
    public static func load(from directory: URL) throws -> ConditionedPolicy {
        let url = directory.appendingPathComponent(fileName)
        let file = try SafeTensors.read(url)
        guard let cfgText = file.metadata[GPTModel.configKey], let polText = file.metadata[metadataKey] else {
            throw PolicyError.invalid("\(url.path): not a clp-flow policy checkpoint (no \(metadataKey) metadata)")
        }
        let config = try JSONDecoder().decode(GPTConfig.self, from: Data(cfgText.utf8))
        let meta: PolicyMetadata
        do { meta = try JSONDecoder().decode(PolicyMetadata.self, from: Data(polText.utf8)) } catch {
            throw PolicyError.invalid("\(url.path): unreadable \(metadataKey) metadata: \(error)")
        }
        let encoding = try meta.encoding(source: url.path)
        var tensors = file.tensors
        let copyTensor = tensors.removeValue(forKey: "clp.copies")
        let softTensor = tensors.removeValue(forKey: "clp.soft_tokens")
        let model = try GPTModel.fromTensors(tensors, config: config, source: url.path)
        var copies: ConditionedCopies? = nil
        if !meta.slices.isEmpty {
            guard let t = copyTensor, t.shape.count == 2, t.shape[0] == meta.copies else {
                throw PolicyError.invalid("\(url.path): clp.copies is missing or has the wrong shape")
            }
            let width = t.shape[1]
            guard meta.slices.reduce(0, { $0 + $1.count }) == width else {
                throw PolicyError.invalid("\(url.path): clp.copies width \(width) does not match the slices")
            }
            copies = ConditionedCopies(slices: meta.slices,
                                       copies: (0..<meta.copies).map { Array(t.values[($0 * width)..<(($0 + 1) * width)]) })
        }
        let soft = softTensor?.values ?? []
        if meta.softTokens > 0 && soft.count != meta.copies * meta.softTokens * config.dModel {
            throw PolicyError.invalid("\(url.path): clp.soft_tokens is missing or has the wrong size")
        }
        do {
            return try ConditionedPolicy(model: model, mechanism: meta.mechanism, rewardNames: meta.rewardNames, multiKL: meta.multiKL,
                                         klEncoding: encoding, attnMatrices: meta.attnMatrices, copies: copies, softTokens: soft,
                                         softTokenCount: meta.softTokens)
        } catch let e as PolicyError { throw PolicyError.invalid("\(url.path): \(e.description)") }
    }

    /// A plain GPT-2 directory (model.safetensors + config.json) of π(·|c) for parameter-conditioned
    /// policies; prompt and soft-token policies need their input conditioning and are exported as
    /// the shared network.
    public func exportHuggingFace(at c: ConditioningInput, to directory: URL) throws {
        try activate(c)
        try model.exportHuggingFace(to: directory)
    }
}
