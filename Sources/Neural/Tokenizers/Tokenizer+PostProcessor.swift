extension Tokenizer {
    /// What the `post_processor` adds around a single sequence when special tokens are requested:
    /// the ids before it and the ids after it (pairs of sequences are not supported).
    struct PostProcessor: Sendable {
        var prefix: [Int32] = []
        var suffix: [Int32] = []

        init() {}

        init(json: JSONValue) throws(ConfigurationError) {
            guard let type = json["type"]?.string else { throw .invalid("post_processor without a 'type'") }
            switch type {
            case "TemplateProcessing":
                guard let single = json["single"]?.array else {
                    throw .invalid("post_processor TemplateProcessing needs 'single'")
                }
                let specials = json["special_tokens"]
                var seenSequence = false
                for item in single {
                    if item["Sequence"] != nil {
                        guard !seenSequence else {
                            throw .unsupported("post_processor TemplateProcessing: more than one sequence in 'single'")
                        }
                        seenSequence = true
                    } else if let name = item["SpecialToken"]?["id"]?.string {
                        guard let ids = specials?[name]?["ids"]?.array else {
                            throw .invalid("post_processor TemplateProcessing: special token '\(name)' is not in 'special_tokens'")
                        }
                        var resolved: [Int32] = []
                        for id in ids {
                            guard let v = id.int, v >= 0, v <= Int(Int32.max) else {
                                throw .invalid("post_processor TemplateProcessing: bad id for '\(name)'")
                            }
                            resolved.append(Int32(v))
                        }
                        if seenSequence { suffix += resolved } else { prefix += resolved }
                    } else {
                        throw .invalid("post_processor TemplateProcessing: unknown template item")
                    }
                }
                guard seenSequence else { throw .invalid("post_processor TemplateProcessing: 'single' has no sequence") }
            case "BertProcessing", "RobertaProcessing":
                func id(_ key: String) throws(ConfigurationError) -> Int32 {
                    guard let pair = json[key]?.array, pair.count == 2, let v = pair[1].int, v >= 0, v <= Int(Int32.max) else {
                        throw .invalid("post_processor \(type): '\(key)' must be [token, id]")
                    }
                    return Int32(v)
                }
                prefix = [try id("cls")]
                suffix = [try id("sep")]
            case "ByteLevel":
                break  // Only adjusts offsets, which we do not report.
            case "Sequence":
                guard let items = json["processors"]?.array else {
                    throw .invalid("post_processor Sequence needs 'processors'")
                }
                for item in items {
                    let inner = try PostProcessor(json: item)
                    prefix = inner.prefix + prefix
                    suffix += inner.suffix
                }
            default:
                throw .unsupported("unsupported post_processor type '\(type)'")
            }
        }

        var addedCount: Int { prefix.count + suffix.count }
    }
}
