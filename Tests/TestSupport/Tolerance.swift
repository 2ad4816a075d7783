/// Where `actual` departs from `expected` by more than `abs + rel·|expected|`, described in one line; nil when
/// every value is within it. A non-finite value matches only the same infinity, or NaN against NaN: a comparison
/// through `max` or `>` would let NaN pass, so non-finite values are counted on their own.
public func toleranceMismatch<A: BinaryFloatingPoint, E: BinaryFloatingPoint>(
    _ actual: [A], _ expected: [E], rel: Double, abs: Double
) -> String? {
    guard actual.count == expected.count else { return "\(actual.count) values, expected \(expected.count)" }
    var failures = 0, first = -1
    for i in actual.indices {
        let a = Double(actual[i]), e = Double(expected[i])
        let ok = a.isFinite && e.isFinite ? Swift.abs(a - e) <= abs + rel * Swift.abs(e) : (a == e || (a.isNaN && e.isNaN))
        if !ok {
            failures += 1
            if first < 0 { first = i }
        }
    }
    guard failures > 0 else { return nil }
    return "\(failures) of \(actual.count) values off, first at index \(first): \(actual[first]) vs \(expected[first])"
}
