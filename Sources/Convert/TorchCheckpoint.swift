import Foundation
import Neural

/// A PyTorch checkpoint as `torch.save` writes it since torch 1.6, read without Python and without running anything.
///
/// The file is a zip archive of stored entries under one folder (`best/`, `archive/`: whatever name it was saved
/// under): `data.pkl`, the pickled object; `data/<key>`, one entry per storage; `byteorder`, `version` and others.
/// The pickle is read by `Unpickler`, which accepts only plain data (None, bools, ints, floats, strings, bytes,
/// lists, tuples, dicts and OrderedDicts) and tensors, and refuses any other global with its name: loading a hostile
/// checkpoint is an error, never code run. Tensors point into the mapped file, which they keep alive.
public final class TorchCheckpoint: Sendable {
    /// The checkpoint file.
    public let path: String
    /// The object that was saved: for a state dict, a `.dict` of parameter names to `.tensor`s.
    public let root: PickleValue

    /// Maps and reads the checkpoint at `path`.
    /// - Throws: `ConvertError` naming the file and the cause: not a zip archive (for instance the legacy format of
    ///   torch < 1.6), a damaged or compressed archive, a big-endian one, a refused pickle opcode or global, a tensor
    ///   outside its storage.
    public init(path: String) throws(ConvertError) {
        self.path = path
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch let NeuralError.io(error) {
            throw ConvertError(path: path, reason: "cannot read the checkpoint: \(error.call) failed: \(error.cause)")
        } catch NeuralError.notRegularFile {
            throw ConvertError(path: path, reason: "is not a regular file")
        } catch {
            throw ConvertError(path: path, reason: "cannot read the checkpoint")
        }
        let bytes = file.bytes
        guard bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) else {   // "PK\3\4": the first entry's local header
            let legacy = bytes.starts(with: Self.legacyMagic)
                ? ": this is the legacy format of torch < 1.6 (or _use_new_zipfile_serialization=False); save it again "
                    + "with a current torch"
                : ""
            throw ConvertError(path: path, reason: "not a PyTorch zip archive (torch.save of torch ≥ 1.6)\(legacy)")
        }
        let archive = try ZipArchive(bytes: bytes, path: path)
        let pickle = try Self.pickleEntry(archive, path: path)
        let folder = String(pickle.name.dropLast("data.pkl".count))
        if let byteOrder = archive.entry(named: folder + "byteorder") {
            let value = byteOrder.size <= 16
                ? String(decoding: archive.data(of: byteOrder), as: UTF8.self) : "<\(byteOrder.size) bytes>"
            guard value == "little" else {
                throw ConvertError(path: path, reason: "'\(byteOrder.name)' says '\(displayed(value))': only little-endian "
                    + "checkpoints are read")
            }
        }
        var unpickler = Unpickler(archive: archive, entry: pickle, file: file)
        root = try unpickler.load()
        withExtendedLifetime(file) {}   // `archive` reads the mapping without owning it
    }

    /// The one `<folder>/data.pkl` entry.
    private static func pickleEntry(_ archive: ZipArchive, path: String) throws(ConvertError) -> ZipArchive.Entry {
        let pickles = archive.entries.filter { entry in
            let parts = entry.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && !parts[0].isEmpty && parts[1] == "data.pkl"
        }
        guard let pickle = pickles.first else {
            throw ConvertError(path: path, reason: "a zip archive without a '<folder>/data.pkl' entry: not a torch.save "
                + "checkpoint")
        }
        guard pickles.count == 1 else {
            let names = pickles.prefix(4).map { "'\(displayed($0.name))'" }.joined(separator: ", ")
                + (pickles.count > 4 ? ", …" : "")
            throw ConvertError(path: path, reason: "a zip archive with \(pickles.count) data.pkl entries (\(names)), "
                + "not one")
        }
        return pickle
    }

    /// How the legacy (pre-zip) format begins: PROTO 2, then LONG1 of 10 bytes holding its magic number
    /// 0x1950a86a20f9469cfc6c.
    private static let legacyMagic: [UInt8] = [
        0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19,
    ]
}
