import Foundation
import Hummingbird
import Logging

/// One log line per request: method, path (the token left out), status and milliseconds.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var status: HTTPResponse.Status = .internalServerError
        defer {
            let ms = Double((ContinuousClock.now - start).components.attoseconds) * 1e-15
                + Double((ContinuousClock.now - start).components.seconds) * 1e3
            logger.info("request", metadata: [
                "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(status.code)",
                "ms": "\(String(format: "%.1f", ms))",
            ])
        }
        do {
            let response = try await next(request, context)
            status = response.status
            return response
        } catch let error as HTTPError {
            status = error.status
            throw error
        }
    }
}

/// The page may load nothing from elsewhere, and browsers must not guess content types.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] =
            "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self'; media-src 'self'; connect-src 'self'; frame-ancestors 'none'"
        response.headers[.init("X-Content-Type-Options")!] = "nosniff"
        response.headers[.init("Referrer-Policy")!] = "no-referrer"
        return response
    }
}

/// Off loopback every request needs the token: `Authorization: Bearer TOKEN`, the `vjsearch_token` cookie, or
/// `?token=TOKEN` (which, on the page, also sets the cookie, so that images and the player need nothing more).
/// Compared in constant time; anything else is 401.
struct TokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String

    static var cookieName: String { "vjsearch_token" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let fromQuery = request.uri.queryParameters["token"].map(String.init)
        let fromHeader = request.headers[.authorization].flatMap { value -> String? in
            value.hasPrefix("Bearer ") ? String(value.dropFirst(7)) : nil
        }
        let fromCookie = request.cookies[Self.cookieName]?.value
        guard [fromHeader, fromCookie, fromQuery].contains(where: { $0.map { Self.equal($0, token) } ?? false }) else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"],
                            message: "a token is required: pass Authorization: Bearer TOKEN or ?token=TOKEN (vjsearch serve printed it)")
        }
        var response = try await next(request, context)
        if let fromQuery, Self.equal(fromQuery, token), request.uri.path == "/" {
            response.setCookie(Cookie(name: Self.cookieName, value: token, path: "/", httpOnly: true, sameSite: .strict))
        }
        return response
    }

    /// Equal strings, in time that depends on their lengths only.
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return difference == 0
    }
}
