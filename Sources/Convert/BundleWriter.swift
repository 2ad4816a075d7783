import Foundation
import JEPA
import Neural
import SystemCall

/// What a conversion puts into a bundle, before it is written.
struct BundleContents {
    /// `config.json`'s object (without `model_id`, which stamping adds).
    var config: PythonJSON
    /// Bundle tensor name → source tensor.
    var weights: [(name: String, tensor: SourceTensor)]
    /// The `tokenizer.json` to copy (the Y-encoder's).
    var tokenizer: URL
    var card: String
}

/// Writes a bundle folder as `convert.py`'s `write_bundle` does, byte for byte: `config.json` as
/// `json.dump(indent=2, sort_keys=True)` plus a newline, `model.safetensors` as `save_file` of the weights cast to
/// one dtype (mode 0644), `tokenizer.json` copied, `MODEL_CARD.md`, then the content hash stamped into
/// `config.json` by `ModelBundle.stamp` (what `vjsearch model stamp` runs). Every file and the folder are
/// `fsync`ed before the id is returned.
enum BundleWriter {
    /// Writes `contents` into the existing folder `directory`.
    /// - Returns: the model id.
    /// - Throws: `SystemCallError` naming the file for a failed write (a full disk included), `ConvertError` or a
    ///   reader's error for a tensor that cannot be read, `BundleError` when the written bundle does not load.
    static func write(_ contents: BundleContents, dtype: SafeTensors.DType, to directory: URL,
                      progress: ((_ done: Int, _ total: Int) -> Void)?) throws -> String {
        let config = try OutputFile(path: directory.appendingPathComponent("config.json").path)
        try config.write(contents.config.pythonDump())
        try config.finish()

        let weights = try OutputFile(path: directory.appendingPathComponent("model.safetensors").path)
        try SafeTensorsStreamWriter(dtype: dtype, tensors: contents.weights).write(to: weights, progress: progress)
        try weights.setPermissions(0o644)
        try weights.finish()

        let tokenizer = try OutputFile(path: directory.appendingPathComponent("tokenizer.json").path)
        let source = try MappedFile(path: contents.tokenizer.path)
        try withExtendedLifetime(source) { () throws(SystemCallError) in try tokenizer.write(source.bytes) }
        try tokenizer.finish()

        let card = try OutputFile(path: directory.appendingPathComponent("MODEL_CARD.md").path)
        try card.write(contents.card)
        try card.finish()

        let id = try ModelBundle.stamp(directory: directory)
        try OutputFile.sync(path: directory.appendingPathComponent("config.json").path)
        try OutputFile.sync(path: directory.path)
        return id
    }
}
