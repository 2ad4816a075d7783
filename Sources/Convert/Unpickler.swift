import Foundation
import Neural

/// A restricted reader of the pickle in a `torch.save` archive (`<prefix>/data.pkl`, protocols 2 to 5) that builds
/// plain data and tensors and never runs anything.
///
/// It knows the opcodes a state dict or a checkpoint dict needs (Python's `pickletools` documents each) and five
/// kinds of global: `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`, `_rebuild_tensor` and
/// `_rebuild_parameter`, and the typed storage classes `torch.FloatStorage` and friends, which appear only inside
/// persistent ids. `REDUCE` calls only those, by their meaning in PyTorch, on checked arguments; any other opcode or
/// global is refused with its name and byte offset. A persistent id `('storage', class, key, location, numel)` is
/// the zip entry `<prefix>/data/<key>`, read in place.
///
/// Hostile input costs time and memory linear in the pickle's size: every read is checked against the bytes left,
/// the stack, memo and containers are capped (`Limit`), dict keys are short scalars, tuples nest at most
/// `Limit.depth` deep, and the result is built with a depth cap (which also stops cycles) and a node budget (which
/// stops shared references from blowing up exponentially).
struct Unpickler {
    /// Caps against hostile input, far above what a checkpoint needs.
    enum Limit {
        /// Objects on the stack, and marks.
        static let stack = 1 << 20
        /// Memo slots.
        static let memo = 1 << 22
        /// Items put into containers, all together, and nodes of the result.
        static let elements = 1 << 22
        /// Nesting of tuples, and of the result.
        static let depth = 200
        /// Dimensions of a tensor.
        static let dimensions = 64
        /// Bytes of a dict key (state-dict keys are parameter names).
        static let keyLength = 4096
        /// Bytes of a global's module or name, and of a storage key.
        static let nameLength = 256
    }

    private let pickle: UnsafeRawBufferPointer
    private let archive: ZipArchive
    /// The pickle's entry name, e.g. `best/data.pkl`.
    private let entryName: String
    /// Where storages are, e.g. `best/data/`.
    private let storagePrefix: String
    private let path: String
    private let file: MappedFile

    private var position = 0
    /// Where the opcode being run starts, for errors.
    private var opcodeAt = 0
    private var stack: [Object] = []
    /// Stack heights at each `MARK`.
    private var marks: [Int] = []
    private var memo: [Int: Object] = [:]
    private var lists: [[Object]] = []
    private var dicts: [Dict] = []
    private var storages: [String: Storage] = [:]
    /// Items put into containers so far.
    private var elements = 0

    /// - Parameters:
    ///   - entry: the `data.pkl` entry of `archive`; storages are looked up beside it in `<folder>/data/`.
    ///   - file: the mapped checkpoint that `archive` reads, kept alive by the tensors.
    init(archive: ZipArchive, entry: ZipArchive.Entry, file: MappedFile) {
        self.archive = archive
        self.pickle = archive.data(of: entry)
        self.entryName = entry.name
        self.storagePrefix = String(entry.name.dropLast("data.pkl".count)) + "data/"
        self.path = file.path
        self.file = file
    }

    /// Runs the pickle to its `STOP` and returns the object it built.
    mutating func load() throws(ConvertError) -> PickleValue {
        while true {
            opcodeAt = position
            guard position < pickle.count else { throw fail("the pickle ends without STOP (is the file truncated?)") }
            let op = pickle[position]
            position += 1
            switch op {
            case Op.proto:
                let version = try readByte()
                guard version <= 5 else { throw fail("pickle protocol \(version) is newer than 5, the newest read") }
            case Op.frame:
                _ = try read(8)   // Frames only group opcodes for buffered reading.
            case Op.stop:
                guard marks.isEmpty, stack.count == 1 else {
                    throw fail("STOP leaves \(stack.count) objects and \(marks.count) marks on the stack, not one object")
                }
                var budget = min(Limit.elements, (1 << 16) + 4 * pickle.count)
                return try result(stack[0], depth: 0, budget: &budget)

            case Op.mark:
                guard marks.count < Limit.stack else { throw fail("more than \(Limit.stack) marks") }
                marks.append(stack.count)
            case Op.pop:
                if stack.count > floor { stack.removeLast() } else { _ = try popMark() }
            case Op.popMark:
                _ = try popMark()
            case Op.dup:
                try push(try top())

            case Op.none: try push(.value(.none))
            case Op.newTrue: try push(.value(.bool(true)))
            case Op.newFalse: try push(.value(.bool(false)))
            case Op.binInt:
                try push(.value(.int(Int(Int32(bitPattern: UInt32(truncatingIfNeeded: try readLittleEndian(4)))))))
            case Op.binInt1: try push(.value(.int(Int(try readByte()))))
            case Op.binInt2: try push(.value(.int(Int(try readLittleEndian(2)))))
            case Op.long1: try push(.value(.int(try readLong1())))
            case Op.binFloat:
                let bytes = try read(8)
                let bits = bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }   // big-endian
                try push(.value(.float(Double(bitPattern: bits))))
            case Op.shortBinUnicode: try push(.value(.string(try utf8(try read(Int(try readByte()))))))
            case Op.binUnicode: try push(.value(.string(try utf8(try read(try readLength(4))))))
            case Op.binUnicode8: try push(.value(.string(try utf8(try read(try readLength(8))))))
            case Op.shortBinBytes: try push(.value(.bytes([UInt8](try read(Int(try readByte()))))))
            case Op.binBytes: try push(.value(.bytes([UInt8](try read(try readLength(4))))))
            case Op.binBytes8: try push(.value(.bytes([UInt8](try read(try readLength(8))))))

            case Op.emptyTuple: try push(.tuple(try tuple([])))
            case Op.tuple: try push(.tuple(try tuple(try popMark())))
            case Op.tuple1, Op.tuple2, Op.tuple3: try push(.tuple(try tuple(try pop(Int(op - Op.tuple1) + 1))))
            case Op.emptyList: try push(.list(try newList()))
            case Op.list:
                let items = try popMark()
                let list = try newList()
                try append(items, to: list)
                try push(.list(list))
            case Op.append:
                let item = try pop()
                try append([item], to: try listOnTop())
            case Op.appends:
                let items = try popMark()
                try append(items, to: try listOnTop())
            case Op.emptyDict: try push(.dict(try newDict()))
            case Op.dict:
                let items = try popMark()
                let dict = try newDict()
                try setItems(items, in: dict)
                try push(.dict(dict))
            case Op.setItem:
                let items = try pop(2)
                try setItems(items, in: try dictOnTop())
            case Op.setItems:
                let items = try popMark()
                try setItems(items, in: try dictOnTop())

            case Op.binPut: try put(Int(try readByte()))
            case Op.longBinPut: try put(Int(try readLittleEndian(4)))
            case Op.memoize: try put(memo.count)
            case Op.binGet: try get(Int(try readByte()))
            case Op.longBinGet: try get(Int(try readLittleEndian(4)))

            case Op.global:
                let module = try readLine()
                let name = try readLine()
                try push(.global(try global(module: module, name: name)))
            case Op.stackGlobal:
                let parts = try pop(2)
                guard case .value(.string(let module)) = parts[0], case .value(.string(let name)) = parts[1] else {
                    throw fail("STACK_GLOBAL on a \(kind(parts[0])) and a \(kind(parts[1])), not two strings")
                }
                try push(.global(try global(module: module, name: name)))
            case Op.reduce:
                let parts = try pop(2)
                guard case .global(let callable) = parts[0] else {
                    throw fail("REDUCE calls a \(kind(parts[0])); only the allowed globals are called")
                }
                guard case .tuple(let arguments) = parts[1] else {
                    throw fail("REDUCE of \(callable.name) with a \(kind(parts[1])) for arguments, not a tuple")
                }
                try push(try call(callable, arguments.items))
            case Op.build:
                let state = try pop()
                let target = try top()
                // A state dict's OrderedDict carries `_metadata` (versions for `load_state_dict`): not needed here.
                guard case .dict = target else {
                    throw fail("BUILD on a \(kind(target)) is refused (only a dict's state is accepted, and ignored)")
                }
                guard case .dict = state else { throw fail("BUILD of a dict with a \(kind(state)) for state, not a dict") }
            case Op.binPersId:
                try push(.storage(try persistentLoad(try pop())))

            default:
                let name = Op.names[op].map { " (\($0))" } ?? ""
                throw fail("refuses pickle opcode 0x\(String(op, radix: 16, uppercase: true))\(name): not used by "
                    + "torch.save for tensors and plain data")
            }
        }
    }
}

// MARK: - Objects

extension Unpickler {
    /// An object on the stack or in the memo. Lists and dicts live in `lists` and `dicts` and are referred to by
    /// index, so the memo shares them as Python does (a dict is memoized before it is filled) and a cycle costs no
    /// reference counting; tuples are immutable values whose nesting is capped at `Limit.depth`.
    fileprivate enum Object {
        /// None, a bool, an int, a float, a string, bytes or a tensor.
        case value(PickleValue)
        case tuple(Tuple)
        case list(Int)
        case dict(Int)
        case global(Global)
        case storage(Storage)
    }

    fileprivate struct Tuple {
        let items: [Object]
        /// 1 for a tuple of no tuples.
        let depth: Int
    }

    /// A dict's items in insertion order, indexed by key (a repeated key replaces the value, as in Python).
    fileprivate struct Dict {
        var items: [(key: Object, value: Object)] = []
        var index: [Key: Int] = [:]
    }

    /// A dict key: a scalar, with Python's equalities (`True == 1 == 1.0`).
    fileprivate enum Key: Hashable {
        case none
        case int(Int)
        /// A float that is not an integer, by its bits.
        case float(UInt64)
        case string(String)
        case bytes([UInt8])
    }

    /// A storage of the archive: `count` elements of `dtype` in place in the file.
    fileprivate struct Storage {
        let key: String
        let dtype: SafeTensors.DType
        let count: Int
        let bytes: UnsafeRawBufferPointer
    }

    /// The globals a checkpoint may name, and nothing else.
    fileprivate enum Global: Equatable {
        case orderedDict
        case rebuildTensorV2
        case rebuildTensor
        case rebuildParameter
        /// `torch.FloatStorage` and the other typed storage classes, by element type.
        case storage(SafeTensors.DType)

        static let storageClasses: [String: SafeTensors.DType] = [
            "FloatStorage": .f32, "DoubleStorage": .f64, "HalfStorage": .f16, "BFloat16Storage": .bf16,
            "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
            "ByteStorage": .u8, "BoolStorage": .bool,
        ]

        init?(module: String, name: String) {
            switch (module, name) {
            case ("collections", "OrderedDict"): self = .orderedDict
            case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensorV2
            case ("torch._utils", "_rebuild_tensor"): self = .rebuildTensor
            case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
            case ("torch", _):
                guard let dtype = Self.storageClasses[name] else { return nil }
                self = .storage(dtype)
            default: return nil
            }
        }

        /// Python's dotted name.
        var name: String {
            switch self {
            case .orderedDict: "collections.OrderedDict"
            case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
            case .rebuildTensor: "torch._utils._rebuild_tensor"
            case .rebuildParameter: "torch._utils._rebuild_parameter"
            case .storage(let dtype): "torch." + (Self.storageClasses.first { $0.value == dtype }?.key ?? "?")
            }
        }
    }

    /// The Python type of `object`, for errors.
    fileprivate func kind(_ object: Object) -> String {
        switch object {
        case .value(.none): "None"
        case .value(.bool): "bool"
        case .value(.int): "int"
        case .value(.float): "float"
        case .value(.string): "str"
        case .value(.bytes): "bytes"
        case .value(.tensor): "tensor"
        case .value(.list): "list"
        case .value(.tuple), .tuple: "tuple"
        case .value(.dict), .dict: "dict"
        case .list: "list"
        case .global(let global): "global '\(global.name)'"
        case .storage: "storage"
        }
    }
}

// MARK: - The machine

extension Unpickler {
    /// An error at the opcode being run.
    fileprivate func fail(_ reason: String) -> ConvertError {
        ConvertError(path: path, reason: "\(entryName), byte \(opcodeAt): \(reason)")
    }

    /// The stack height below which the current opcode may not pop: the last mark.
    private var floor: Int { marks.last ?? 0 }

    private mutating func push(_ object: Object) throws(ConvertError) {
        guard stack.count < Limit.stack else { throw fail("more than \(Limit.stack) objects on the stack") }
        stack.append(object)
    }

    private func top() throws(ConvertError) -> Object {
        guard stack.count > floor else { throw fail("an opcode needs an object, but the stack is empty") }
        return stack[stack.count - 1]
    }

    private mutating func pop() throws(ConvertError) -> Object { try pop(1)[0] }

    private mutating func pop(_ count: Int) throws(ConvertError) -> [Object] {
        guard stack.count - floor >= count else {
            let needed = count == 1 ? "an object" : "\(count) objects"
            throw fail("an opcode needs \(needed), but the stack holds \(stack.count - floor)")
        }
        defer { stack.removeLast(count) }
        return Array(stack[(stack.count - count)...])
    }

    /// The objects above the last mark, and the mark, removed.
    private mutating func popMark() throws(ConvertError) -> [Object] {
        guard let mark = marks.popLast() else { throw fail("an opcode needs a MARK, but none is set") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    /// Counts `count` more items put into containers against `Limit.elements`.
    private mutating func grow(_ count: Int) throws(ConvertError) {
        guard count <= Limit.elements - elements else {
            throw fail("more than \(Limit.elements) items in containers")
        }
        elements += count
    }

    private mutating func tuple(_ items: [Object]) throws(ConvertError) -> Tuple {
        var depth = 1
        for case .tuple(let inner) in items { depth = max(depth, inner.depth + 1) }
        guard depth <= Limit.depth else { throw fail("tuples nest deeper than \(Limit.depth) levels") }
        try grow(items.count + 1)
        return Tuple(items: items, depth: depth)
    }

    private mutating func newList() throws(ConvertError) -> Int {
        try grow(1)
        lists.append([])
        return lists.count - 1
    }

    private mutating func newDict() throws(ConvertError) -> Int {
        try grow(1)
        dicts.append(Dict())
        return dicts.count - 1
    }

    private func listOnTop() throws(ConvertError) -> Int {
        let target = try top()
        guard case .list(let list) = target else { throw fail("APPEND to a \(kind(target)), not a list") }
        return list
    }

    private func dictOnTop() throws(ConvertError) -> Int {
        let target = try top()
        guard case .dict(let dict) = target else { throw fail("SETITEM on a \(kind(target)), not a dict") }
        return dict
    }

    private mutating func append(_ items: [Object], to list: Int) throws(ConvertError) {
        try grow(items.count)
        lists[list].append(contentsOf: items)
    }

    /// Sets each key-value pair of `items` (keys at even places) in the dict `dict`.
    private mutating func setItems(_ items: [Object], in dict: Int) throws(ConvertError) {
        guard items.count % 2 == 0 else { throw fail("a dict is given \(items.count) objects, not key-value pairs") }
        try grow(items.count / 2)
        for pair in stride(from: 0, to: items.count, by: 2) {
            let key = try key(items[pair])
            if let at = dicts[dict].index[key] {
                dicts[dict].items[at].value = items[pair + 1]
            } else {
                dicts[dict].index[key] = dicts[dict].items.count
                dicts[dict].items.append((items[pair], items[pair + 1]))
            }
        }
    }

    private func key(_ object: Object) throws(ConvertError) -> Key {
        switch object {
        case .value(.none): return .none
        case .value(.bool(let value)): return .int(value ? 1 : 0)
        case .value(.int(let value)): return .int(value)
        case .value(.float(let value)): return Int(exactly: value).map { .int($0) } ?? .float(value.bitPattern)
        case .value(.string(let value)) where value.utf8.count <= Limit.keyLength: return .string(value)
        case .value(.bytes(let value)) where value.count <= Limit.keyLength: return .bytes(value)
        case .value(.string), .value(.bytes): throw fail("a dict key longer than \(Limit.keyLength) bytes")
        default: throw fail("a dict key of type \(kind(object)) (only None, bool, int, float, str and bytes are read)")
        }
    }

    private mutating func put(_ slot: Int) throws(ConvertError) {
        guard memo.count < Limit.memo || memo[slot] != nil else { throw fail("more than \(Limit.memo) memo slots") }
        memo[slot] = try top()
    }

    private mutating func get(_ slot: Int) throws(ConvertError) {
        guard let object = memo[slot] else { throw fail("memo slot \(slot) is read before it is stored") }
        try push(object)
    }
}

// MARK: - Reading bytes

extension Unpickler {
    private mutating func read(_ count: Int) throws(ConvertError) -> UnsafeRawBufferPointer {
        guard count <= pickle.count - position else {
            throw fail("the pickle ends inside an opcode's \(count)-byte argument (is the file truncated?)")
        }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: pickle[position..<position + count])
    }

    private mutating func readByte() throws(ConvertError) -> UInt8 { try read(1)[0] }

    /// An unsigned little-endian integer of `size` bytes (at most 8).
    private mutating func readLittleEndian(_ size: Int) throws(ConvertError) -> UInt64 {
        try read(size).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// A length argument of `size` bytes, which must fit in what is left of the pickle.
    private mutating func readLength(_ size: Int) throws(ConvertError) -> Int {
        let length = try readLittleEndian(size)
        guard length <= UInt64(pickle.count - position) else {
            throw fail("a string of \(length) bytes runs past the end of the pickle (is the file truncated?)")
        }
        return Int(length)
    }

    /// LONG1: a little-endian two's-complement integer of up to 8 bytes (Python's ints are unbounded; ours are not).
    private mutating func readLong1() throws(ConvertError) -> Int {
        let size = Int(try readByte())
        guard size <= 8 else { throw fail("an integer of \(size) bytes (LONG1); integers beyond 64 bits are refused") }
        let bytes = try read(size)
        guard let last = bytes.last else { return 0 }
        var value: UInt64 = last >= 0x80 ? ~0 : 0   // sign extension
        for byte in bytes.reversed() { value = value << 8 | UInt64(byte) }
        return Int(Int64(bitPattern: value))
    }

    /// A GLOBAL argument: the bytes up to the next newline.
    private mutating func readLine() throws(ConvertError) -> String {
        let rest = UnsafeRawBufferPointer(rebasing: pickle[position...])
        guard let newline = rest.firstIndex(of: 0x0A) else {
            throw fail("GLOBAL's name runs past the end of the pickle (is the file truncated?)")
        }
        position += newline + 1
        return String(decoding: UnsafeRawBufferPointer(rebasing: rest[..<newline]), as: UTF8.self)
    }

    /// `bytes` as a string; pickles hold UTF-8.
    private func utf8(_ bytes: UnsafeRawBufferPointer) throws(ConvertError) -> String {
        let string = String(decoding: bytes, as: UTF8.self)
        guard string.utf8.elementsEqual(bytes) else { throw fail("a string that is not valid UTF-8") }
        return string
    }
}

// MARK: - PyTorch

extension Unpickler {
    /// The allowed global `module.name`, or the error that refuses it.
    private func global(module: String, name: String) throws(ConvertError) -> Global {
        guard module.utf8.count <= Limit.nameLength, name.utf8.count <= Limit.nameLength,
              let global = Global(module: module, name: name)
        else {
            throw fail("refuses the pickle global '\(displayed(module)).\(displayed(name))' (only tensors, storages "
                + "and OrderedDict are allowed; nothing in a checkpoint is executed)")
        }
        return global
    }

    /// REDUCE: what PyTorch's function would build from `arguments`, checked.
    private mutating func call(_ callable: Global, _ arguments: [Object]) throws(ConvertError) -> Object {
        func expect(_ counts: ClosedRange<Int>) throws(ConvertError) {
            guard counts.contains(arguments.count) else {
                throw fail("\(callable.name) is given \(arguments.count) arguments, not \(counts.lowerBound)"
                    + (counts.count > 1 ? " to \(counts.upperBound)" : ""))
            }
        }
        switch callable {
        case .orderedDict:
            // OrderedDict() (items follow by SETITEMS) or OrderedDict([[key, value], ...]).
            try expect(0...1)
            let dict = try newDict()
            if let items = arguments.first {
                guard case .list(let list) = items else {
                    throw fail("OrderedDict of a \(kind(items)), not a list of pairs")
                }
                for pair in lists[list] {
                    switch pair {
                    case .tuple(let tuple) where tuple.items.count == 2: try setItems(tuple.items, in: dict)
                    case .list(let inner) where lists[inner].count == 2: try setItems(lists[inner], in: dict)
                    default: throw fail("OrderedDict of a list holding a \(kind(pair)), not a key-value pair")
                    }
                }
            }
            return .dict(dict)
        case .rebuildTensorV2:
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            try expect(6...7)
            try requireBool(arguments[4], "requires_grad")
            try requireDict(arguments[5], "backward_hooks")
            if arguments.count == 7 {
                if case .value(.none) = arguments[6] {} else { try requireDict(arguments[6], "metadata") }
            }
            return .value(.tensor(try tensor(arguments)))
        case .rebuildTensor:
            // (storage, storage_offset, size, stride)
            try expect(4...4)
            return .value(.tensor(try tensor(arguments)))
        case .rebuildParameter:
            // (data, requires_grad, backward_hooks): the parameter is its tensor.
            try expect(3...3)
            guard case .value(.tensor) = arguments[0] else {
                throw fail("\(callable.name) of a \(kind(arguments[0])), not a tensor")
            }
            try requireBool(arguments[1], "requires_grad")
            try requireDict(arguments[2], "backward_hooks")
            return arguments[0]
        case .storage:
            throw fail("refuses to call \(callable.name) (storages come only from the archive's data/ entries)")
        }
    }

    private func requireBool(_ object: Object, _ what: String) throws(ConvertError) {
        guard case .value(.bool) = object else { throw fail("a tensor's \(what) is a \(kind(object)), not a bool") }
    }

    private func requireDict(_ object: Object, _ what: String) throws(ConvertError) {
        guard case .dict = object else { throw fail("a tensor's \(what) is a \(kind(object)), not a dict") }
    }

    /// A tensor from `(storage, storage_offset, size, stride, …)`, with every element inside its storage.
    private func tensor(_ arguments: [Object]) throws(ConvertError) -> TorchTensor {
        guard case .storage(let storage) = arguments[0] else {
            throw fail("a tensor's storage is a \(kind(arguments[0])), not a storage")
        }
        guard case .value(.int(let offset)) = arguments[1] else {
            throw fail("a tensor's storage offset is a \(kind(arguments[1])), not an int")
        }
        let shape = try integers(arguments[2], "size")
        let strides = try integers(arguments[3], "stride")
        let tensor = TorchTensor(dtype: storage.dtype, shape: shape, strides: strides, storageOffset: offset,
                                 storage: storage.bytes, file: file)
        if let problem = tensor.boundsProblem {
            throw fail("a tensor of size \(shape) on storage '\(displayed(storage.key))': \(problem)")
        }
        return tensor
    }

    /// A tuple of at most `Limit.dimensions` ints.
    private func integers(_ object: Object, _ what: String) throws(ConvertError) -> [Int] {
        guard case .tuple(let tuple) = object, tuple.items.count <= Limit.dimensions else {
            throw fail("a tensor's \(what) is a \(kind(object)), not a tuple of at most \(Limit.dimensions) ints")
        }
        var values: [Int] = []
        for item in tuple.items {
            guard case .value(.int(let value)) = item else {
                throw fail("a tensor's \(what) holds a \(kind(item)), not an int")
            }
            values.append(value)
        }
        return values
    }

    /// BINPERSID: the storage `('storage', class, key, location, numel)` names, at `<prefix>/data/<key>`.
    private mutating func persistentLoad(_ id: Object) throws(ConvertError) -> Storage {
        guard case .tuple(let tuple) = id, tuple.items.count == 5, case .value(.string("storage")) = tuple.items[0],
              case .global(.storage(let dtype)) = tuple.items[1], case .value(.string(let key)) = tuple.items[2],
              key.utf8.count <= Limit.nameLength, case .value(.string) = tuple.items[3],
              case .value(.int(let count)) = tuple.items[4], count >= 0
        else {
            throw fail("a persistent id that is not ('storage', storage class, key, location, element count)")
        }
        if let known = storages[key] {
            // Views share a storage: each names it again, with the same class and size.
            guard known.dtype == dtype, known.count == count else {
                throw fail("storage '\(displayed(key))' is named as \(count) \(dtype.rawValue) elements and as "
                    + "\(known.count) \(known.dtype.rawValue) elements")
            }
            return known
        }
        let entryName = storagePrefix + key
        guard let entry = archive.entry(named: entryName) else {
            throw fail("storage '\(displayed(key))' has no zip entry '\(displayed(entryName))'")
        }
        let (size, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, size <= entry.size else {
            throw fail("storage '\(displayed(key))' of \(count) \(dtype.rawValue) elements is larger than its zip entry "
                + "'\(displayed(entryName))' of \(entry.size) bytes")
        }
        let storage = Storage(key: key, dtype: dtype, count: count,
                              bytes: UnsafeRawBufferPointer(rebasing: archive.data(of: entry)[..<size]))
        storages[key] = storage
        return storage
    }
}

// MARK: - The result

extension Unpickler {
    /// `object` as plain data, nested at most `Limit.depth` deep (which also ends a cycle) and at most `budget`
    /// nodes in all (which ends the blow-up of shared references).
    private func result(_ object: Object, depth: Int, budget: inout Int) throws(ConvertError) -> PickleValue {
        budget -= 1
        guard budget >= 0 else { throw fail("the pickled object expands to too many values (shared references)") }
        guard depth < Limit.depth else {
            throw fail("the pickled object nests deeper than \(Limit.depth) levels (or contains itself)")
        }
        switch object {
        case .value(let value):
            return value
        case .tuple(let tuple):
            var items: [PickleValue] = []
            items.reserveCapacity(tuple.items.count)
            for item in tuple.items { items.append(try result(item, depth: depth + 1, budget: &budget)) }
            return .tuple(items)
        case .list(let list):
            var items: [PickleValue] = []
            items.reserveCapacity(lists[list].count)
            for item in lists[list] { items.append(try result(item, depth: depth + 1, budget: &budget)) }
            return .list(items)
        case .dict(let dict):
            var items: [(key: PickleValue, value: PickleValue)] = []
            items.reserveCapacity(dicts[dict].items.count)
            for (key, value) in dicts[dict].items {
                items.append((try result(key, depth: depth + 1, budget: &budget),
                              try result(value, depth: depth + 1, budget: &budget)))
            }
            return .dict(items)
        case .global(let global):
            throw fail("the pickled object holds the global \(global.name) itself, not data")
        case .storage(let storage):
            throw fail("the pickled object holds storage '\(displayed(storage.key))' itself, not a tensor")
        }
    }
}

// MARK: - Opcodes

/// Pickle opcodes, as `pickletools` names them.
private enum Op {
    static let mark: UInt8 = 0x28           // (
    static let stop: UInt8 = 0x2E           // .
    static let pop: UInt8 = 0x30            // 0
    static let popMark: UInt8 = 0x31        // 1
    static let dup: UInt8 = 0x32            // 2
    static let binBytes: UInt8 = 0x42       // B
    static let shortBinBytes: UInt8 = 0x43  // C
    static let binFloat: UInt8 = 0x47       // G
    static let binInt: UInt8 = 0x4A         // J
    static let binInt1: UInt8 = 0x4B        // K
    static let binInt2: UInt8 = 0x4D        // M
    static let none: UInt8 = 0x4E           // N
    static let binPersId: UInt8 = 0x51      // Q
    static let reduce: UInt8 = 0x52         // R
    static let binUnicode: UInt8 = 0x58     // X
    static let emptyList: UInt8 = 0x5D      // ]
    static let append: UInt8 = 0x61         // a
    static let build: UInt8 = 0x62          // b
    static let global: UInt8 = 0x63         // c
    static let dict: UInt8 = 0x64           // d
    static let appends: UInt8 = 0x65        // e
    static let binGet: UInt8 = 0x68         // h
    static let longBinGet: UInt8 = 0x6A     // j
    static let list: UInt8 = 0x6C           // l
    static let binPut: UInt8 = 0x71         // q
    static let longBinPut: UInt8 = 0x72     // r
    static let setItem: UInt8 = 0x73        // s
    static let tuple: UInt8 = 0x74          // t
    static let setItems: UInt8 = 0x75       // u
    static let emptyTuple: UInt8 = 0x29     // )
    static let emptyDict: UInt8 = 0x7D      // }
    static let proto: UInt8 = 0x80
    static let tuple1: UInt8 = 0x85
    static let tuple2: UInt8 = 0x86
    static let tuple3: UInt8 = 0x87
    static let newTrue: UInt8 = 0x88
    static let newFalse: UInt8 = 0x89
    static let long1: UInt8 = 0x8A
    static let shortBinUnicode: UInt8 = 0x8C
    static let binUnicode8: UInt8 = 0x8D
    static let binBytes8: UInt8 = 0x8E
    static let stackGlobal: UInt8 = 0x93
    static let memoize: UInt8 = 0x94
    static let frame: UInt8 = 0x95

    /// Every opcode's name, for the error that refuses one.
    static let names: [UInt8: String] = [
        0x28: "MARK", 0x2E: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT",
        0x4A: "BININT", 0x4B: "BININT1", 0x4C: "LONG", 0x4D: "BININT2", 0x4E: "NONE", 0x50: "PERSID",
        0x51: "BINPERSID", 0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
        0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND", 0x62: "BUILD", 0x63: "GLOBAL", 0x64: "DICT",
        0x7D: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET", 0x69: "INST", 0x6A: "LONG_BINGET",
        0x6C: "LIST", 0x5D: "EMPTY_LIST", 0x6F: "OBJ", 0x70: "PUT", 0x71: "BINPUT", 0x72: "LONG_BINPUT",
        0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE", 0x75: "SETITEMS", 0x47: "BINFLOAT", 0x80: "PROTO",
        0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3",
        0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8A: "LONG1", 0x8B: "LONG4", 0x42: "BINBYTES", 0x43: "SHORT_BINBYTES",
        0x8C: "SHORT_BINUNICODE", 0x8D: "BINUNICODE8", 0x8E: "BINBYTES8", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS",
        0x91: "FROZENSET", 0x92: "NEWOBJ_EX", 0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME",
        0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
    ]
}
