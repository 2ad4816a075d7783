import Foundation

/// The synthetic reels in Samples/synth and their ground truth (the manifests `Tools/synth/generate.py` writes next
/// to them): what the quality tests of `chapters`, `classify` and `ask` check answers against.
enum SynthReels {
    struct Reel: Decodable {
        var video: String
        var duration: Double
        var events: [Event]

        var path: String { QualityTests.synth.appendingPathComponent(video).path }
        /// The colours and objects that appear in the reel.
        var colours: Set<String> { Set(events.flatMap { [$0.event.colour, $0.event.colour2].compactMap { $0 } }) }
        var objects: Set<String> { Set(events.flatMap { [$0.event.obj, $0.event.obj2].compactMap { $0 } }) }
    }

    struct Event: Decodable {
        var start: Double
        var end: Double
        var key: String
        var captions: [String]
        var event: Scene
        /// Questions about the event with their answers (`Tools/synth/qa.py`, held-out templates for these reels).
        var qa: [Question]?

        var middle: Double { (start + end) / 2 }
    }

    /// What happens in an event (`world.Event`'s fields).
    struct Scene: Decodable {
        var kind: String  // motion, count or interaction
        var colour: String
        var obj: String
        var motion: String?
        var count: Int?
        var relation: String?
        var colour2: String?
        var obj2: String?
    }

    struct Question: Decodable {
        var type: String  // colour, shape, motion, count, relation or yesno
        var question: String
        var answer: String
    }

    static let colours = ["red", "green", "blue", "yellow", "purple", "orange", "white"]
    static let objects = ["ball", "square", "triangle", "star", "ring"]
    static let counts = [2: "two", 3: "three", 4: "four"]
    /// The closed answer set of each question type that the tests ask (`qa.ANSWERS`): the choices ranked.
    static let answers = ["colour": colours, "shape": objects.map { "a \($0)" }, "count": counts.keys.sorted().map { counts[$0]! }]

    /// Every reel of every manifest.
    static func reels() throws -> [Reel] {
        try QualityTests.manifests.flatMap { manifest in
            try String(contentsOf: manifest, encoding: .utf8).split(separator: "\n").map {
                try JSONDecoder().decode(Reel.self, from: Data($0.utf8))
            }
        }
    }

    /// The event's canonical caption, as `Tools/synth/vocabulary.py` writes it into the bundle's vocabulary.txt: the
    /// first template of its kind with the first phrase of each slot ("a white star moves up", "four white balls
    /// move to the right", "a purple ball passes behind a red square").
    static func canonical(_ s: Scene) -> String {
        let singular = ["left": "moves to the left", "right": "moves to the right", "up": "moves up", "down": "moves down",
                        "bounce": "bounces", "rotate": "rotates", "grow": "grows", "shrink": "shrinks",
                        "appear": "appears", "disappear": "disappears"]
        let plural = ["left": "move to the left", "right": "move to the right", "up": "move up", "down": "move down"]
        let relations = ["collide": "collides with", "follow": "follows", "pass_behind": "passes behind"]
        let text: String
        switch s.kind {
        case "count": text = "\(counts[s.count ?? 0] ?? "?") \(s.colour) \(s.obj)s \(plural[s.motion ?? ""] ?? "?")"
        case "interaction": text = "a \(s.colour) \(s.obj) \(relations[s.relation ?? ""] ?? "?") a \(s.colour2 ?? "?") \(s.obj2 ?? "?")"
        default: text = "a \(s.colour) \(s.obj) \(singular[s.motion ?? ""] ?? "?")"
        }
        return text.replacing(#/\b([Aa]) (?=[aeiou])/#) { "\($0.output.1)n " }
    }
}
