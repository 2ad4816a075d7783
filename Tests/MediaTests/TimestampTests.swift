import Testing
@testable import Media

/// The frame sampled at time t is the one a player shows at t, and its reported time is its pts.
@Suite struct TimestampTests {
    @Test func constantRateWithBFrames() throws {
        let (samples, grey, sampler) = try sampleGrey(try Fixtures.constantRate(), rate: 4)
        #expect(samples.count == 16)  // targets 0, 0.25, …, 3.75 in a 4 s video
        #expect(sampler.framesDecoded == 100)
        for (s, g) in zip(samples, grey) {
            let frame = Int((s.time * 25).rounded())
            #expect(mod50Distance(g, frame) == 0, "content shows frame \(g), pts says \(frame)")
            #expect(s.time <= s.target + 1e-6 && s.target - s.time < 1.0 / 25 + 1e-6, "\(s)")
        }
    }

    @Test func everyFrameInPresentationOrder() throws {
        let (samples, grey, _) = try sampleGrey(try Fixtures.constantRate(), rate: 0)
        #expect(samples.count == 100)
        for (i, (s, g)) in zip(samples, grey).enumerated() {
            #expect(abs(s.time - Double(i) / 25) < 1e-6)
            #expect(mod50Distance(g, i % 50) == 0)
        }
    }

    @Test func skippingNonReferenceFramesKeepsTimesExact() throws {
        let (samples, grey, sampler) = try sampleGrey(
            try Fixtures.constantRate(), rate: 4, options: .init(skipNonReference: true))
        #expect(sampler.skipsNonReference)
        #expect(sampler.framesDecoded < 100)
        #expect(samples.count == 16)
        for (s, g) in zip(samples, grey) {
            #expect(mod50Distance(g, Int((s.time * 25).rounded())) == 0)
            // x264's default B-frame runs are at most 3 long: the shown frame is at most 4 frames back.
            #expect(s.time <= s.target + 1e-6 && s.target - s.time < 4.0 / 25 + 1e-6, "\(s)")
        }
    }

    @Test func skipIsChosenWhenSamplingFarBelowTheFrameRate() throws {
        let file = try MediaFile(path: try Fixtures.constantRate())
        let slow = try FrameSampler(file: file, rate: 4, shortSide: 32, crop: 28)
        #expect(slow.skipsNonReference)
        let fast = try FrameSampler(file: try MediaFile(path: try Fixtures.constantRate()), rate: 12.5, shortSide: 32, crop: 28)
        #expect(!fast.skipsNonReference)
    }

    @Test func variableFrameRate() throws {
        let (samples, grey, _) = try sampleGrey(try Fixtures.variableRate(), rate: 10, phase: 0.01)
        #expect(samples.count == 36)  // the last kept frame, 179, shows until 3.60 s
        for (s, g) in zip(samples, grey) {
            let expected = (0...Int(s.target * 50)).last(where: Fixtures.variableRateKept)!
            let reported = Int((s.time * 50).rounded())
            #expect(reported == expected, "at \(s.target) s expected source frame \(expected), got \(reported)")
            #expect(mod50Distance(g, expected) == 0)
        }
    }

    @Test func streamNotStartingAtZero() throws {
        let path = try Fixtures.offsetStart()
        let info = try MediaFile.probe(path)
        #expect(info.startTime >= 10)
        let (samples, grey, _) = try sampleGrey(path, rate: 4)
        #expect(samples.first?.time == 0)
        #expect(samples.count == 16)
        for (s, g) in zip(samples, grey) {
            #expect(mod50Distance(g, Int((s.time * 25).rounded())) == 0)
            #expect(s.time <= s.target + 1e-6 && s.target - s.time < 1.0 / 25 + 1e-6)
        }
    }

    @Test func missingContainerTimestamps() throws {
        let (samples, grey, _) = try sampleGrey(try Fixtures.rawStream(), rate: 4)
        #expect(samples.count >= 15)
        for (s, g) in zip(samples, grey) {
            // Within one frame of the target, and the content agrees with the time reported.
            #expect(abs(s.time - s.target) <= 1.0 / 25 + 1e-6, "\(s)")
            #expect(mod50Distance(g, Int((s.time * 25).rounded())) <= 1)
        }
    }

    @Test func seekingSkipsDecodingButNotAccuracy() throws {
        let path = try Fixtures.keyframeEverySecond()
        let seeking = try sampleGrey(path, rate: 0.2, options: .init(skipNonReference: false, seek: true))
        let linear = try sampleGrey(path, rate: 0.2, options: .init(skipNonReference: false, seek: false))
        #expect(linear.sampler.framesDecoded == 500)
        #expect(seeking.sampler.framesDecoded < 250)
        #expect(seeking.samples == linear.samples)
        #expect(seeking.grey == linear.grey)
        for (s, g) in zip(seeking.samples, seeking.grey) {
            #expect(abs(s.time - s.target) < 1e-6)
            #expect(mod50Distance(g, Int((s.time * 25).rounded())) == 0)
        }
    }
}
