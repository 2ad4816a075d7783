import Testing
@testable import Catalog

@Suite struct MomentRuleTests {
    @Test func growsOverNeighboursAboveTheFloor() {
        // median 0.1; peak 0.9 at index 4; floor = 0.9 - 0.5 * 0.8 = 0.5
        let scores: [Float] = [0.1, 0.1, 0.2, 0.6, 0.9, 0.5, 0.49, 0.1, 0.1]
        #expect(MomentRule(keep: 0.5).grow(around: 4, scores: scores, median: 0.1) == 3...5)
    }

    @Test func keepZeroIsThePeakAlone() {
        let scores: [Float] = [0.8, 0.9, 0.8]
        #expect(MomentRule(keep: 0).grow(around: 1, scores: scores, median: 0.8) == 1...1)
    }

    @Test func stopsAtTheEnds() {
        let scores: [Float] = [0.9, 0.9, 0.1, 0.1, 0.1]
        #expect(MomentRule().moments(peaks: [0], scores: scores) == [0...1])
    }

    @Test func peaksInsideAnEarlierMomentAreSkipped() {
        let scores: [Float] = [0.1, 0.8, 0.9, 0.1, 0.1, 0.7, 0.1]
        #expect(MomentRule().moments(peaks: [2, 1, 5], scores: scores) == [1...2, 5...5])
    }

    @Test func eventsSideBySideStayTwoMoments() {
        // keep 0.5, median 0.1. The best peak (0.9, floor 0.5) grows over 6...9. The second (0.7 at 4, floor 0.4) would
        // grow over 4...9, through the first moment; it stops where the first begins instead.
        let scores: [Float] = [0.1, 0.1, 0.1, 0.1, 0.7, 0.45, 0.55, 0.7, 0.9, 0.6, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
        #expect(MomentRule(keep: 0.5).grow(around: 4, scores: scores, median: 0.1) == 4...9)
        #expect(MomentRule(keep: 0.5).moments(peaks: [8, 4], scores: scores) == [6...9, 4...5])
    }

    @Test func theDefaultKeepsNeighboursWithin30PercentOfThePeaksHeight() {
        // median 0.1; peak 0.9; default floor = 0.9 - 0.3 * 0.8 = 0.66: 0.7 stays, 0.6 (kept at 0.5) does not.
        let scores: [Float] = [0.1, 0.1, 0.6, 0.9, 0.7, 0.1, 0.1]
        #expect(MomentRule().grow(around: 3, scores: scores, median: 0.1) == 3...4)
        #expect(MomentRule(keep: 0.5).grow(around: 3, scores: scores, median: 0.1) == 2...4)
    }

    @Test func aMomentSpansFromCentreToCentreOfItsEdgeWindowsAndTheirNeighbours() {
        // 2 s windows every second: the run of windows 3...4 covers 3-6 s, but its neighbours overlap it by a
        // second on each side; the moment is cut midway between centres, 3.5-5.5 s.
        let w = (0..<8).map { Segment(start: Double($0), end: Double($0) + 2) }
        let span = Segment.span(first: w[3], last: w[4], before: w[2], after: w[5])
        #expect(span == (3.5, 5.5))
        // At the video's edges the moment reaches the first window's start and the last one's end.
        let whole = Segment.span(first: w[0], last: w[7], before: nil, after: nil)
        #expect(whole == (0, 9))
        #expect(Segment.boundary(w[0], w[1]) == 1.5)
    }

    @Test func medianOfEvenCountAveragesTheMiddle() {
        #expect(MomentRule.median([4, 1, 3, 2]) == 2.5)
        #expect(MomentRule.median([5, 1, 3]) == 3)
    }
}
