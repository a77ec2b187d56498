import ArgumentParser
import ClpFlowCore
import ClpFlowEngine
import Foundation

/// Hidden developer command: trains or loads a tokenizer and encodes strings, printing JSON ids.
/// Used by scripts/checks/tokenizer-hf.sh to compare clp-flow's BPE with Hugging Face's.
struct DebugTokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug-tokenize",
        abstract: "Train or load a tokenizer and print the token ids of strings (developer tool).",
        discussion: """
            --train FILE learns byte-level BPE merges from the file's text (one document per line) \
            and writes vocab.json, merges.txt and clp_tokenizer.json to --out. --load DIR uses \
            an existing tokenizer directory instead. --encode FILE reads JSON Lines, one JSON \
            string per line, and prints one JSON array of ids per line on stdout.
            """,
        shouldDisplay: false
    )

    @Option(name: .customLong("train"), help: "Corpus to train BPE on (UTF-8 text, one document per line).")
    var trainFile: String?

    @Option(name: .customLong("vocab-size"), help: "Vocabulary size including 256 bytes and 2 special tokens.")
    var vocabSize: Int = 1024

    @Option(name: .customLong("min-frequency"), help: "Stop when no pair occurs at least this often.")
    var minFrequency: Int = 2

    @Option(name: .customLong("out"), help: "Directory to write the trained tokenizer to.")
    var outDir: String?

    @Option(name: .customLong("load"), help: "Tokenizer directory to load instead of training.")
    var loadDir: String?

    @Flag(name: .customLong("byte"), help: "Use the byte tokenizer.")
    var byte = false

    @Option(name: .customLong("encode"), help: "JSON Lines file of strings to encode.")
    var encodeFile: String?

    @Flag(name: .customLong("allow-special"), help: "Recognise <|endoftext|> and <|summary|> in the input.")
    var allowSpecial = false

    func validate() throws {
        let sources = [trainFile != nil, loadDir != nil, byte].filter { $0 }.count
        if sources != 1 { throw ValidationError("give exactly one of --train FILE, --load DIR or --byte") }
        if trainFile != nil && outDir == nil && encodeFile == nil {
            throw ValidationError("--train needs --out DIR or --encode FILE")
        }
    }

    func run() throws {
        let tokenizer: any Tokenizer
        if let trainFile {
            let text = try String(contentsOfFile: trainFile, encoding: .utf8)
            let docs = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            let bpe = try BPETrainer(vocabSize: vocabSize, minFrequency: minFrequency).train(docs)
            if let outDir { try bpe.save(to: URL(fileURLWithPath: outDir)) }
            FileHandle.standardError.write(Data("trained \(bpe.merges.count) merges, vocabulary size \(bpe.vocabSize)\n".utf8))
            tokenizer = bpe
        } else if let loadDir {
            tokenizer = try loadTokenizer(from: URL(fileURLWithPath: loadDir))
        } else {
            tokenizer = ByteTokenizer()
        }
        guard let encodeFile else { return }
        let content = try String(contentsOfFile: encodeFile, encoding: .utf8)
        var out = ""
        for (i, line) in content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            guard case .string(let s)? = try? JSONValue.parse(String(line)) else {
                throw ValidationError("\(encodeFile):\(i + 1): expected a JSON string")
            }
            let ids = tokenizer.encode(s, allowSpecial: allowSpecial)
            out += "[" + ids.map(String.init).joined(separator: ",") + "]\n"
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
