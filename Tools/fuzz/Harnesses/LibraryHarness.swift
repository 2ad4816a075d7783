import Catalog
import Foundation

/// `lmdb`: a library folder whose `data.mdb` is the input, opened as `vjsearch status` and `verify` open it,
/// then asked for its status and verified.
///
/// liblmdb trusts its pages: a damaged file can make it read out of bounds or loop, so `Library` walks the file
/// first (`LMDBFileCheck`) and refuses a damaged one. Whatever the walk lets through must not crash LMDB or us.
/// - Returns: whether the library opened and verified consistent.
@discardableResult
public func fuzzLibrary(_ input: UnsafeRawBufferPointer) -> Bool {
    let dataFile = Scratch.write(input, to: "library/data.mdb")
    do {
        let library = try checkedOpen(dataFile: dataFile)
        let status = try library.status()
        let verification = try library.verify()
        precondition(status.videos == verification.videos, "status and verify count videos differently")
        return verification.isConsistent
    } catch {
        return false
    }
}

/// Opens the library whose data file is `dataFile` (`<library>/data.mdb`) as `status` does: walked first, no model
/// check.
func checkedOpen(dataFile: String) throws -> Library {
    try Library(path: (dataFile as NSString).deletingLastPathComponent, model: nil, create: false)
}
