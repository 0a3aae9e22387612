import Foundation
import HTTP

/// The browser dashboard: `/` and its few static files, compiled into the binary from
/// `Sources/Service/Dashboard` (SwiftPM `embedInCode`), so an installed binary needs no files beside it.
/// The pages read only the public /v1 API, with the same token as any other client; these routes are
/// open, since they hold nothing but code.
enum Dashboard {
    struct Asset {
        let bytes: [UInt8]
        let contentType: String
    }

    /// File name under `/dashboard/` → content; `index.html` is served at `/`.
    static let assets: [String: Asset] = [
        "index.html": Asset(bytes: PackageResources.index_html, contentType: "text/html; charset=utf-8"),
        "dashboard.js": Asset(bytes: PackageResources.dashboard_js, contentType: "text/javascript; charset=utf-8"),
        "dashboard.css": Asset(bytes: PackageResources.dashboard_css, contentType: "text/css; charset=utf-8"),
        "icon.svg": Asset(bytes: PackageResources.icon_svg, contentType: "image/svg+xml"),
    ]

    /// Scripts, styles, images and requests from this origin only; no inline script or style, no frames,
    /// no form posts or plugins.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        + "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    static func register(on router: inout Router) {
        router.get("/", description: RouteDescription("The dashboard's page", tag: "dashboard"),
                   APIRoutes.mappingErrors { _ in try response("index.html") })
        router.get("/dashboard/{file}", description: RouteDescription("The dashboard's script, style and icon", tag: "dashboard"),
                   APIRoutes.mappingErrors { request in try response(request.pathParameters["file"] ?? "") })
    }

    private static func response(_ name: String) throws -> Response {
        guard let asset = assets[name] else {
            throw APIError(status: 404, type: "not_found_error", code: "file_not_found", message: "no dashboard file with this name")
        }
        // Revalidated on every load, so a new binary's pages are never mixed with a cached script.
        return .bytes(asset.bytes, contentType: asset.contentType, headers: HTTPHeaders([
            ("Content-Security-Policy", contentSecurityPolicy), ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"), ("Cache-Control", "no-cache"),
        ]))
    }
}
